// Package money represents monetary amounts as int64 counts of minor units
// (cents, pence, fils, ...) tagged with an ISO 4217 currency.
//
// The number of minor digits of each currency (its exponent) is taken from
// the ISO 4217 table maintained in github.com/bojanz/currency; nothing here is
// hand-typed. All parsing, formatting and arithmetic is done with integers
// and explicit overflow checks: the package never uses floating point.
//
// Every error returned by this package wraps exactly one of the exported
// sentinel errors (ErrInvalidAmount, ErrTooManyDecimals, ErrNegative,
// ErrOverflow, ErrUnknownCurrency, ErrCurrencyMismatch,
// ErrInvalidRoundingMode), so callers can classify failures with errors.Is,
// while Error() gives a human-readable message that names the offending input.
package money

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of these; test
// for them with errors.Is.
var (
	// ErrInvalidAmount reports a string that is not a plain decimal amount
	// (empty, whitespace, sign '+', exponent notation, separators, ...).
	ErrInvalidAmount = errors.New("money: invalid amount")

	// ErrTooManyDecimals reports an amount with more fraction digits than
	// the currency's exponent allows.
	ErrTooManyDecimals = errors.New("money: too many decimals")

	// ErrNegative reports a negative amount where only non-negative amounts
	// are accepted.
	ErrNegative = errors.New("money: negative amount")

	// ErrOverflow reports a value or result that does not fit in an int64
	// number of minor units.
	ErrOverflow = errors.New("money: overflow")

	// ErrUnknownCurrency reports a currency code that is not a known ISO 4217
	// code, or an unset (zero) Currency.
	ErrUnknownCurrency = errors.New("money: unknown currency")

	// ErrCurrencyMismatch reports an operation on amounts of different
	// currencies.
	ErrCurrencyMismatch = errors.New("money: currency mismatch")

	// ErrInvalidRoundingMode reports a RoundingMode that is not one of the
	// defined constants.
	ErrInvalidRoundingMode = errors.New("money: invalid rounding mode")
)

// moneyError is a human-readable message wrapping one sentinel error.
type moneyError struct {
	kind error
	msg  string
}

func (e *moneyError) Error() string { return e.msg }
func (e *moneyError) Unwrap() error { return e.kind }

// newError returns an error whose message is "money: " followed by the
// formatted text and which wraps kind.
func newError(kind error, format string, args ...any) error {
	return &moneyError{kind: kind, msg: "money: " + fmt.Sprintf(format, args...)}
}

// maxQuoted bounds how much of an untrusted input is echoed in error messages.
const maxQuoted = 64

// quote returns s quoted for an error message, truncated if very long.
func quote(s string) string {
	if len(s) > maxQuoted {
		return fmt.Sprintf("%q...", s[:maxQuoted])
	}
	return fmt.Sprintf("%q", s)
}
