package money

import "github.com/bojanz/currency"

// maxExponent is the largest exponent for which 10^exponent fits in an int64.
const maxExponent = 18

// Currency is an ISO 4217 currency together with its number of minor digits.
//
// Obtain one with ParseCurrency or MustParseCurrency. Currency values are
// small, immutable and comparable with ==. The zero Currency is "unset": it
// has an empty Code, is rejected by ParseDecimal and by Amount arithmetic.
type Currency struct {
	code     string
	exponent uint8
}

// ParseCurrency returns the Currency for an ISO 4217 alphabetic code.
//
// The code must be exactly three uppercase ASCII letters ("GBP", not "gbp"
// or " GBP") and must be present in the ISO 4217 table of
// github.com/bojanz/currency; otherwise the returned error wraps
// ErrUnknownCurrency. Currencies without minor units in ISO 4217 (such as
// XAU, XXX) are not in that table and are rejected.
func ParseCurrency(code string) (Currency, error) {
	if !isUpperAlpha3(code) {
		return Currency{}, newError(ErrUnknownCurrency, "%s is not a 3-letter uppercase ISO 4217 currency code", quote(code))
	}
	if !currency.IsValid(code) {
		return Currency{}, newError(ErrUnknownCurrency, "unknown currency %s", quote(code))
	}
	digits, ok := currency.GetDigits(code)
	if !ok {
		return Currency{}, newError(ErrUnknownCurrency, "unknown currency %s", quote(code))
	}
	if digits > maxExponent {
		return Currency{}, newError(ErrUnknownCurrency, "currency %s has unsupported exponent %d", quote(code), digits)
	}
	return Currency{code: code, exponent: digits}, nil
}

// MustParseCurrency is like ParseCurrency but panics if code is not a known
// currency. It is meant for constant codes in initialisation and tests.
func MustParseCurrency(code string) Currency {
	c, err := ParseCurrency(code)
	if err != nil {
		panic(err)
	}
	return c
}

// Code returns the ISO 4217 alphabetic code, e.g. "GBP"; "" for the zero
// Currency.
func (c Currency) Code() string { return c.code }

// Exponent returns the number of minor digits: 0 for JPY, 2 for GBP, 3 for
// KWD. It is 0 for the zero Currency.
func (c Currency) Exponent() int { return int(c.exponent) }

// IsZero reports whether c is the zero (unset) Currency.
func (c Currency) IsZero() bool { return c.code == "" }

// String returns the currency code; it implements fmt.Stringer.
func (c Currency) String() string { return c.code }

func isUpperAlpha3(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
