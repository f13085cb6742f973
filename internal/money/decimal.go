package money

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// ParseDecimal parses a non-negative decimal string in the scale of cur and
// returns it as an Amount of minor units.
//
// The accepted syntax is one or more ASCII digits, optionally followed by a
// '.' and one or more ASCII digits, with at most cur.Exponent() fraction
// digits: for GBP "10", "10.5" and "10.00" all give 1000/1050/1000 minor
// units, "1000" JPY gives 1000 and "1.000" KWD gives 1000. Leading zeros are
// allowed ("007.50"); missing fraction digits are implied zeros.
//
// Errors wrap:
//   - ErrUnknownCurrency if cur is the zero Currency;
//   - ErrInvalidAmount for anything outside the syntax above: the empty
//     string, whitespace, a '+' sign, exponent notation ("1e3"), thousands
//     separators, a leading or trailing '.', "NaN", "Inf", non-ASCII digits;
//   - ErrNegative for an otherwise valid amount with a leading '-';
//   - ErrTooManyDecimals for more fraction digits than the exponent, even if
//     they are zeros ("10.001" or "10.000" GBP, "1.5" JPY);
//   - ErrOverflow if the value exceeds math.MaxInt64 minor units.
//
// Parsing uses only integer arithmetic and does not allocate on success.
func ParseDecimal(s string, cur Currency) (Amount, error) {
	if cur.IsZero() {
		return Amount{}, newError(ErrUnknownCurrency, "cannot parse %s: currency not set", quote(s))
	}
	if s == "" {
		return Amount{}, newError(ErrInvalidAmount, "empty amount")
	}

	// Syntax: ['-'] digits ['.' digits]. A '-' is recognised only so that
	// negative amounts get the more helpful ErrNegative.
	neg := s[0] == '-'
	i := 0
	if neg {
		i = 1
	}
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intEnd := i
	fracStart, fracEnd := i, i
	if i < len(s) && s[i] == '.' {
		if intEnd == intStart {
			return Amount{}, newError(ErrInvalidAmount, "%s is not a valid amount: missing digits before '.'", quote(s))
		}
		i++
		fracStart = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		fracEnd = i
		if fracEnd == fracStart && i == len(s) {
			return Amount{}, newError(ErrInvalidAmount, "%s is not a valid amount: missing digits after '.'", quote(s))
		}
	}
	if i < len(s) {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return Amount{}, newError(ErrInvalidAmount, "%s is not a valid amount: unexpected %q at byte %d", quote(s), r, i)
	}
	if intEnd == intStart {
		return Amount{}, newError(ErrInvalidAmount, "%s is not a valid amount: no digits", quote(s))
	}
	if neg {
		return Amount{}, newError(ErrNegative, "%s is negative", quote(s))
	}
	exp := cur.Exponent()
	nfrac := fracEnd - fracStart
	if nfrac > exp {
		return Amount{}, newError(ErrTooManyDecimals, "%s has more than %d decimals for %s", quote(s), exp, cur.code)
	}

	// Accumulate all digits, then scale by the missing fraction digits.
	var v int64
	for j := intStart; j < intEnd; j++ {
		if v = mul10Add(v, s[j]-'0'); v < 0 {
			return Amount{}, overflowError(s, cur)
		}
	}
	for j := fracStart; j < fracEnd; j++ {
		if v = mul10Add(v, s[j]-'0'); v < 0 {
			return Amount{}, overflowError(s, cur)
		}
	}
	for j := nfrac; j < exp; j++ {
		if v = mul10Add(v, 0); v < 0 {
			return Amount{}, overflowError(s, cur)
		}
	}
	return Amount{Minor: v, Currency: cur}, nil
}

// mul10Add returns v*10 + d for 0 <= v and 0 <= d <= 9, or -1 if the result
// would exceed math.MaxInt64.
func mul10Add(v int64, d byte) int64 {
	if v > (math.MaxInt64-int64(d))/10 {
		return -1
	}
	return v*10 + int64(d)
}

func overflowError(s string, cur Currency) error {
	return newError(ErrOverflow, "%s overflows int64 minor units for %s", quote(s), cur.code)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// Format returns a.Minor in the scale of a.Currency with exactly
// Exponent() fraction digits and no grouping: 1000 GBP is "10.00", 1000 JPY
// is "1000", 1000 KWD is "1.000", 5 EUR is "0.05" and -5 EUR is "-0.05".
// The zero Currency formats like an exponent-0 currency.
//
// For non-negative amounts ParseDecimal(Format(a), a.Currency) returns a.
func Format(a Amount) string {
	// Largest output: '-' + 19 digits + '.' + padding zeros (exponent <= 18).
	var buf [48]byte
	exp := a.Currency.Exponent()

	// Magnitude as uint64 so that math.MinInt64 is handled.
	mag := uint64(a.Minor)
	if a.Minor < 0 {
		mag = -mag
	}
	var digits [20]byte
	d := strconv.AppendUint(digits[:0], mag, 10)

	out := buf[:0]
	if a.Minor < 0 {
		out = append(out, '-')
	}
	if exp == 0 {
		return string(append(out, d...))
	}
	if len(d) <= exp {
		// Pure fraction: "0." followed by zero padding.
		out = append(out, '0', '.')
		for k := len(d); k < exp; k++ {
			out = append(out, '0')
		}
		return string(append(out, d...))
	}
	out = append(out, d[:len(d)-exp]...)
	out = append(out, '.')
	out = append(out, d[len(d)-exp:]...)
	return string(out)
}
