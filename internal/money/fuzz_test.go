package money_test

import (
	"errors"
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/money"
)

// fuzzCurrencies covers every exponent present in the ISO 4217 table.
var fuzzCurrencies = []money.Currency{jpy, gbp, kwd, clf}

func fuzzCurrency(i uint8) money.Currency {
	return fuzzCurrencies[int(i)%len(fuzzCurrencies)]
}

// decimalSyntax is the grammar ParseDecimal accepts, written independently
// of the implementation.
var decimalSyntax = regexp.MustCompile(`^([0-9]+)(?:\.([0-9]+))?$`)

// canonical returns the canonical rendering of a syntactically valid input
// with exp decimals: integer part without leading zeros (but at least one
// digit), fraction right-padded with zeros.
func canonical(intPart, frac string, exp int) string {
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	if exp == 0 {
		return intPart
	}
	return intPart + "." + frac + strings.Repeat("0", exp-len(frac))
}

func FuzzParseDecimal(f *testing.F) {
	seeds := []string{
		"0", "00", "0.0", "0.00", "0.000", "0.0000", "1", "10", "10.5", "10.00",
		"10.001", "1.000", "0.01", "007.50", "1000", "12345678.90",
		"9223372036854775807", "9223372036854775808", "92233720368547758.07",
		"92233720368547758.08", "9223372036854775.807", "922337203685477.5807",
		"18446744073709551615", "18446744073709551616", "99999999999999999999",
		"-1.00", "-0", "+1", "", " ", " 1", "1 ", ".5", "5.", ".", "-", "+",
		"1e3", "1E-3", "1,000.00", "1_000", "NaN", "Inf", "-Inf", "0x1F",
		"1..0", "1.2.3", "١٢", "１", "\x00", "\xff", "£10",
	}
	for i, s := range seeds {
		for c := range fuzzCurrencies {
			f.Add(s, uint8(c+i))
		}
	}

	f.Fuzz(func(t *testing.T, s string, ci uint8) {
		cur := fuzzCurrency(ci)
		exp := cur.Exponent()
		got, err := money.ParseDecimal(s, cur)

		// Independent oracle for the expected outcome.
		var wantErr error
		var intPart, frac string
		if m := decimalSyntax.FindStringSubmatch(s); m == nil {
			if strings.HasPrefix(s, "-") && decimalSyntax.MatchString(s[1:]) {
				wantErr = money.ErrNegative
			} else {
				wantErr = money.ErrInvalidAmount
			}
		} else {
			intPart, frac = m[1], m[2]
			if len(frac) > exp {
				wantErr = money.ErrTooManyDecimals
			}
		}
		var want big.Int
		if wantErr == nil {
			want.SetString(intPart+frac+strings.Repeat("0", exp-len(frac)), 10)
			if !want.IsInt64() {
				wantErr = money.ErrOverflow
			}
		}

		if wantErr != nil {
			if err == nil {
				t.Fatalf("ParseDecimal(%q, %s) = %+v, want error %v", s, cur, got, wantErr)
			}
			for _, sentinel := range allSentinels {
				if errors.Is(err, sentinel) != (sentinel == wantErr) {
					t.Fatalf("ParseDecimal(%q, %s) error %q: errors.Is(%v) = %v", s, cur, err, sentinel, !(sentinel == wantErr))
				}
			}
			if got != (money.Amount{}) {
				t.Fatalf("ParseDecimal(%q, %s) returned %+v with error", s, cur, got)
			}
			return
		}

		if err != nil {
			t.Fatalf("ParseDecimal(%q, %s): unexpected error %v", s, cur, err)
		}
		if got.Minor < 0 {
			t.Fatalf("ParseDecimal(%q, %s) = %d, negative", s, cur, got.Minor)
		}
		if got.Currency != cur {
			t.Fatalf("ParseDecimal(%q, %s) has currency %s", s, cur, got.Currency)
		}
		if got.Minor != want.Int64() {
			t.Fatalf("ParseDecimal(%q, %s) = %d, want %s", s, cur, got.Minor, want.String())
		}

		formatted := money.Format(got)
		if c := canonical(intPart, frac, exp); formatted != c {
			t.Fatalf("Format(ParseDecimal(%q, %s)) = %q, want canonical %q", s, cur, formatted, c)
		}
		back, err := money.ParseDecimal(formatted, cur)
		if err != nil || back != got {
			t.Fatalf("ParseDecimal(Format(%+v) = %q) = %+v, %v", got, formatted, back, err)
		}
	})
}

func FuzzFormat(f *testing.F) {
	for _, m := range []int64{0, 1, -1, 5, -5, 99, 100, 1000, -1000, math.MaxInt64, math.MinInt64, math.MinInt64 + 1} {
		for c := range fuzzCurrencies {
			f.Add(m, uint8(c))
		}
	}
	f.Fuzz(func(t *testing.T, minor int64, ci uint8) {
		cur := fuzzCurrency(ci)
		a := money.New(minor, cur)
		s := money.Format(a)
		exp := cur.Exponent()

		// Reference rendering via math/big.
		var v, scale, q, r big.Int
		v.SetInt64(minor)
		v.Abs(&v)
		scale.Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)
		q.QuoRem(&v, &scale, &r)
		want := q.String()
		if exp > 0 {
			fs := r.String()
			want += "." + strings.Repeat("0", exp-len(fs)) + fs
		}
		if minor < 0 {
			want = "-" + want
		}
		if s != want {
			t.Fatalf("Format(%d %s) = %q, want %q", minor, cur, s, want)
		}

		unsigned, neg := strings.CutPrefix(s, "-")
		if neg != (minor < 0) {
			t.Fatalf("Format(%d %s) = %q: wrong sign", minor, cur, s)
		}
		back, err := money.ParseDecimal(unsigned, cur)
		if minor == math.MinInt64 {
			if !errors.Is(err, money.ErrOverflow) {
				t.Fatalf("ParseDecimal(%q) = %+v, %v; want overflow", unsigned, back, err)
			}
			return
		}
		wantBack := minor
		if neg {
			wantBack = -minor
		}
		if err != nil || back.Minor != wantBack || back.Currency != cur {
			t.Fatalf("ParseDecimal(%q, %s) = %+v, %v; want %d", unsigned, cur, back, err, wantBack)
		}
	})
}

func FuzzPercentOf(f *testing.F) {
	f.Add(int64(1999), int64(250), uint8(0))
	f.Add(int64(1000), int64(25), uint8(1))
	f.Add(int64(-1000), int64(15), uint8(1))
	f.Add(int64(math.MaxInt64), int64(5000), uint8(2))
	f.Add(int64(math.MinInt64), int64(10000), uint8(3))
	f.Add(int64(9222449791875588249), int64(10001), uint8(0))
	f.Add(int64(-9222449791875588250), int64(10001), uint8(0))
	f.Add(int64(math.MinInt64), int64(math.MinInt64), uint8(3))
	modes := []money.RoundingMode{money.RoundHalfUp, money.RoundHalfEven, money.RoundTowardZero, money.RoundAwayFromZero}

	f.Fuzz(func(t *testing.T, minor, bp int64, mi uint8) {
		mode := modes[int(mi)%len(modes)]
		got, err := money.PercentOf(minor, bp, mode)

		// Reference: exact rational arithmetic with math/big.
		var p, q, r big.Int
		p.Mul(big.NewInt(minor), big.NewInt(bp))
		neg := p.Sign() < 0
		p.Abs(&p)
		q.QuoRem(&p, big.NewInt(10000), &r)
		twice := new(big.Int).Lsh(&r, 1)
		cmpHalf := twice.Cmp(big.NewInt(10000))
		up := false
		switch mode {
		case money.RoundHalfUp:
			up = cmpHalf >= 0
		case money.RoundHalfEven:
			up = cmpHalf > 0 || (cmpHalf == 0 && q.Bit(0) == 1)
		case money.RoundAwayFromZero:
			up = r.Sign() != 0
		}
		if up {
			q.Add(&q, big.NewInt(1))
		}
		if neg {
			q.Neg(&q)
		}

		if !q.IsInt64() {
			if !errors.Is(err, money.ErrOverflow) {
				t.Fatalf("PercentOf(%d, %d, %v) = %d, %v; want overflow (exact %s)", minor, bp, mode, got, err, q.String())
			}
			return
		}
		if err != nil || got != q.Int64() {
			t.Fatalf("PercentOf(%d, %d, %v) = %d, %v; want %s", minor, bp, mode, got, err, q.String())
		}
	})
}
