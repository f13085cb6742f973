package wallet

import "github.com/cashgate/cashgate/internal/sepa"

// The wallet's bank details are SEPA's (internal/sepa, shared with the
// cashier's bank-transfer PSP).

// NormalizeIBAN removes blanks and upper-cases an IBAN.
func NormalizeIBAN(s string) string { return sepa.NormalizeIBAN(s) }

// ValidateIBAN checks an IBAN of a SEPA country (sepa.ValidateIBAN).
func ValidateIBAN(field, raw string) (string, error) { return sepa.ValidateIBAN(field, raw) }

// ValidateBIC checks a BIC (sepa.ValidateBIC).
func ValidateBIC(field, raw string) (string, error) { return sepa.ValidateBIC(field, raw) }
