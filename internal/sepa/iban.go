package sepa

import (
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
)

// sepaIBANLengths is the IBAN length of every country of the SEPA scheme
// (EEA, Switzerland, the United Kingdom, Monaco, San Marino, Andorra,
// Vatican City, Albania, Moldova, Montenegro, North Macedonia, and the
// territories with their own country code), from the SWIFT IBAN registry.
// Withdrawals go by SEPA credit transfer, so only these are accepted.
var sepaIBANLengths = map[string]int{
	"AD": 24, "AL": 28, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24,
	"DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23,
	"GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20,
	"LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MT": 31, "NL": 18,
	"NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
	"VA": 22,
	// French overseas departments and territories use FR-format IBANs under
	// their own codes; Åland uses Finland's.
	"GF": 27, "GP": 27, "MQ": 27, "RE": 27, "YT": 27, "PM": 27, "BL": 27, "MF": 27, "AX": 18,
	// Crown dependencies use the British format.
	"GG": 22, "IM": 22, "JE": 22,
}

// NormalizeIBAN removes blanks and upper-cases an IBAN.
func NormalizeIBAN(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(s), ""))
}

// ValidateIBAN checks an IBAN (blanks allowed, any case) of a SEPA country:
// the country's length, letters and digits only, check digits 02–98 and the
// ISO 7064 mod-97-10 checksum. It returns the IBAN in electronic form.
func ValidateIBAN(field, raw string) (string, error) {
	iban := NormalizeIBAN(raw)
	if len(iban) < 5 {
		return "", apperr.InvalidField(field, "%q is not an IBAN", raw)
	}
	for i := 0; i < len(iban); i++ {
		c := iban[i]
		isLetter, isDigit := c >= 'A' && c <= 'Z', c >= '0' && c <= '9'
		if (i < 2 && !isLetter) || (i >= 2 && i < 4 && !isDigit) || (!isLetter && !isDigit) {
			return "", apperr.InvalidField(field, "IBAN %s: must start with a two-letter country code and two check digits, then letters and digits only", iban)
		}
	}
	want, ok := sepaIBANLengths[iban[:2]]
	if !ok {
		return "", apperr.InvalidField(field, "IBAN %s: country %s is not in the SEPA area", iban, iban[:2])
	}
	if len(iban) != want {
		return "", apperr.InvalidField(field, "IBAN %s: a %s IBAN has %d characters, not %d", iban, iban[:2], want, len(iban))
	}
	if cd := iban[2:4]; cd == "00" || cd == "01" || cd == "99" {
		return "", apperr.InvalidField(field, "IBAN %s: check digits %s are never valid", iban, cd)
	}
	if ibanMod97(iban) != 1 {
		return "", apperr.InvalidField(field, "IBAN %s: the check digits do not match (mod-97 check failed)", iban)
	}
	return iban, nil
}

// ibanMod97 computes the ISO 7064 mod-97-10 remainder of an IBAN: the first
// four characters move to the end, letters become 10–35, and the number is
// reduced digit by digit so it never overflows.
func ibanMod97(iban string) int {
	rearranged := iban[4:] + iban[:4]
	r := 0
	for i := 0; i < len(rearranged); i++ {
		c := rearranged[i]
		if c >= 'A' && c <= 'Z' {
			v := int(c-'A') + 10
			r = (r*100 + v) % 97
		} else {
			r = (r*10 + int(c-'0')) % 97
		}
	}
	return r
}

// ValidateBIC checks a BIC (ISO 9362): 8 or 11 characters, four letters
// (institution), two letters (country), two letters or digits (location),
// optionally three letters or digits (branch). It returns it upper-cased.
func ValidateBIC(field, raw string) (string, error) {
	bic := strings.ToUpper(strings.TrimSpace(raw))
	if len(bic) != 8 && len(bic) != 11 {
		return "", apperr.InvalidField(field, "BIC %q must have 8 or 11 characters", raw)
	}
	for i := 0; i < len(bic); i++ {
		c := bic[i]
		isLetter, isDigit := c >= 'A' && c <= 'Z', c >= '0' && c <= '9'
		if (i < 6 && !isLetter) || (i >= 6 && !isLetter && !isDigit) {
			return "", apperr.InvalidField(field, "BIC %q: four letters of the bank, two of the country, then letters or digits", raw)
		}
	}
	return bic, nil
}
