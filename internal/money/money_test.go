package money_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/money"
)

var (
	jpy = money.MustParseCurrency("JPY")
	gbp = money.MustParseCurrency("GBP")
	eur = money.MustParseCurrency("EUR")
	usd = money.MustParseCurrency("USD")
	kwd = money.MustParseCurrency("KWD")
	bhd = money.MustParseCurrency("BHD")
	clf = money.MustParseCurrency("CLF") // exponent 4
)

var allSentinels = []error{
	money.ErrInvalidAmount,
	money.ErrTooManyDecimals,
	money.ErrNegative,
	money.ErrOverflow,
	money.ErrUnknownCurrency,
	money.ErrCurrencyMismatch,
	money.ErrInvalidRoundingMode,
}

// checkErr asserts that err wraps want and no other sentinel, and that its
// message starts with "money: " and contains every string in contains.
func checkErr(t *testing.T, err, want error, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want %v", want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %q does not wrap %v", err, want)
	}
	for _, s := range allSentinels {
		if s != want && errors.Is(err, s) {
			t.Errorf("error %q also wraps %v", err, s)
		}
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "money: ") {
		t.Errorf("message %q lacks \"money: \" prefix", msg)
	}
	for _, c := range contains {
		if !strings.Contains(msg, c) {
			t.Errorf("message %q does not contain %q", msg, c)
		}
	}
}

func TestParseCurrency(t *testing.T) {
	tests := []struct {
		code string
		exp  int
	}{
		{"JPY", 0}, {"KRW", 0}, {"ISK", 0},
		{"EUR", 2}, {"GBP", 2}, {"USD", 2},
		{"KWD", 3}, {"BHD", 3}, {"JOD", 3}, {"OMR", 3}, {"TND", 3},
		{"CLF", 4}, {"UYW", 4},
	}
	for _, tt := range tests {
		c, err := money.ParseCurrency(tt.code)
		if err != nil {
			t.Errorf("ParseCurrency(%q): %v", tt.code, err)
			continue
		}
		if c.Code() != tt.code || c.String() != tt.code || c.Exponent() != tt.exp || c.IsZero() {
			t.Errorf("ParseCurrency(%q) = {%q, %d, zero=%v}, want {%q, %d}", tt.code, c.Code(), c.Exponent(), c.IsZero(), tt.code, tt.exp)
		}
		if c != money.MustParseCurrency(tt.code) {
			t.Errorf("ParseCurrency(%q) not comparable-equal to MustParseCurrency", tt.code)
		}
	}
}

func TestParseCurrencyRejects(t *testing.T) {
	for _, code := range []string{
		"", "gbp", "Gbp", " GBP", "GBP ", "GB", "GBPX", "XYZ", "AAA", "ZZZ",
		"XAU", "XXX", // ISO codes without minor units
		"G\x00P", "GB1", "ＧＢＰ", "826",
	} {
		_, err := money.ParseCurrency(code)
		checkErr(t, err, money.ErrUnknownCurrency)
	}
}

func TestMustParseCurrencyPanics(t *testing.T) {
	defer func() {
		r := recover()
		err, ok := r.(error)
		if !ok || !errors.Is(err, money.ErrUnknownCurrency) {
			t.Errorf("recovered %v, want ErrUnknownCurrency", r)
		}
	}()
	money.MustParseCurrency("XYZ")
}

func TestZeroCurrency(t *testing.T) {
	var c money.Currency
	if !c.IsZero() || c.Code() != "" || c.Exponent() != 0 {
		t.Errorf("zero Currency = {%q, %d, zero=%v}", c.Code(), c.Exponent(), c.IsZero())
	}
	_, err := money.ParseDecimal("1", c)
	checkErr(t, err, money.ErrUnknownCurrency, `"1"`)
	if got := money.Format(money.Amount{Minor: -12}); got != "-12" {
		t.Errorf("Format with zero currency = %q", got)
	}
}

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in   string
		cur  money.Currency
		want int64
	}{
		{"10.00", gbp, 1000},
		{"10", gbp, 1000},
		{"10.5", gbp, 1050},
		{"10.05", gbp, 1005},
		{"1000", jpy, 1000},
		{"0", jpy, 0},
		{"1.000", kwd, 1000},
		{"1.5", kwd, 1500},
		{"0.001", bhd, 1},
		{"0.01", eur, 1},
		{"0", eur, 0},
		{"0.0", eur, 0},
		{"0.00", eur, 0},
		{"007.50", gbp, 750},
		{"000", usd, 0},
		{"1.2345", clf, 12345},
		{"12345678.90", usd, 1234567890},
		// Boundaries at math.MaxInt64 = 9223372036854775807 minor units.
		{"9223372036854775807", jpy, math.MaxInt64},
		{"92233720368547758.07", gbp, math.MaxInt64},
		{"92233720368547758.00", gbp, math.MaxInt64 - 7},
		{"92233720368547758", gbp, math.MaxInt64 - 7},
		{"9223372036854775.807", kwd, math.MaxInt64},
		{"922337203685477.5807", clf, math.MaxInt64},
		{"0009223372036854775807", jpy, math.MaxInt64},
	}
	for _, tt := range tests {
		got, err := money.ParseDecimal(tt.in, tt.cur)
		if err != nil {
			t.Errorf("ParseDecimal(%q, %s): %v", tt.in, tt.cur, err)
			continue
		}
		if want := money.New(tt.want, tt.cur); got != want {
			t.Errorf("ParseDecimal(%q, %s) = %+v, want %+v", tt.in, tt.cur, got, want)
		}
	}
}

func TestParseDecimalRejects(t *testing.T) {
	tests := []struct {
		in   string
		cur  money.Currency
		want error
	}{
		// Too many decimals, including trailing zeros.
		{"10.001", gbp, money.ErrTooManyDecimals},
		{"10.000", gbp, money.ErrTooManyDecimals},
		{"1.5", jpy, money.ErrTooManyDecimals},
		{"1.0", jpy, money.ErrTooManyDecimals},
		{"0.0001", kwd, money.ErrTooManyDecimals},
		{"99999999999999999999.001", gbp, money.ErrTooManyDecimals},

		// Negative.
		{"-1.00", gbp, money.ErrNegative},
		{"-1", jpy, money.ErrNegative},
		{"-0", jpy, money.ErrNegative},
		{"-0.00", gbp, money.ErrNegative},
		{"-1.001", gbp, money.ErrNegative},

		// Malformed.
		{"", gbp, money.ErrInvalidAmount},
		{"+1.00", gbp, money.ErrInvalidAmount},
		{"+", gbp, money.ErrInvalidAmount},
		{"-", gbp, money.ErrInvalidAmount},
		{"--1", gbp, money.ErrInvalidAmount},
		{"-+1", gbp, money.ErrInvalidAmount},
		{"-.5", gbp, money.ErrInvalidAmount},
		{"-1e3", gbp, money.ErrInvalidAmount},
		{" 1.00", gbp, money.ErrInvalidAmount},
		{"1.00 ", gbp, money.ErrInvalidAmount},
		{"1 000", gbp, money.ErrInvalidAmount},
		{"\t1", gbp, money.ErrInvalidAmount},
		{"1\n", gbp, money.ErrInvalidAmount},
		{"1e3", gbp, money.ErrInvalidAmount},
		{"1E3", gbp, money.ErrInvalidAmount},
		{"1.0e2", gbp, money.ErrInvalidAmount},
		{"1,000.00", gbp, money.ErrInvalidAmount},
		{"1,00", eur, money.ErrInvalidAmount},
		{"1_000", gbp, money.ErrInvalidAmount},
		{"1'000", gbp, money.ErrInvalidAmount},
		{".5", gbp, money.ErrInvalidAmount},
		{"5.", gbp, money.ErrInvalidAmount},
		{".", gbp, money.ErrInvalidAmount},
		{"1..0", gbp, money.ErrInvalidAmount},
		{"1.2.3", kwd, money.ErrInvalidAmount},
		{"NaN", gbp, money.ErrInvalidAmount},
		{"nan", gbp, money.ErrInvalidAmount},
		{"Inf", gbp, money.ErrInvalidAmount},
		{"+Inf", gbp, money.ErrInvalidAmount},
		{"-Inf", gbp, money.ErrInvalidAmount},
		{"Infinity", gbp, money.ErrInvalidAmount},
		{"0x10", gbp, money.ErrInvalidAmount},
		{"0b1", gbp, money.ErrInvalidAmount},
		{"£10", gbp, money.ErrInvalidAmount},
		{"10GBP", gbp, money.ErrInvalidAmount},
		{"١٢", gbp, money.ErrInvalidAmount}, // Arabic-Indic digits
		{"１２", gbp, money.ErrInvalidAmount}, // full-width digits
		{"1\x00", gbp, money.ErrInvalidAmount},
		{"\xff", gbp, money.ErrInvalidAmount},
		{"abc", gbp, money.ErrInvalidAmount},

		// Overflow beyond math.MaxInt64 minor units.
		{"9223372036854775808", jpy, money.ErrOverflow},
		{"92233720368547758.08", gbp, money.ErrOverflow},
		{"92233720368547758.1", gbp, money.ErrOverflow},
		{"92233720368547759", gbp, money.ErrOverflow},
		{"9223372036854775.808", kwd, money.ErrOverflow},
		{"18446744073709551616", jpy, money.ErrOverflow},
		{"99999999999999999999999999999999", jpy, money.ErrOverflow},
		{"10000000000000000000", jpy, money.ErrOverflow},
	}
	for _, tt := range tests {
		got, err := money.ParseDecimal(tt.in, tt.cur)
		if err == nil {
			t.Errorf("ParseDecimal(%q, %s) = %+v, want error %v", tt.in, tt.cur, got, tt.want)
			continue
		}
		t.Run("", func(t *testing.T) {
			checkErr(t, err, tt.want)
		})
		if got != (money.Amount{}) {
			t.Errorf("ParseDecimal(%q, %s) returned non-zero %+v with error", tt.in, tt.cur, got)
		}
	}
}

func TestParseDecimalMessages(t *testing.T) {
	tests := []struct {
		in   string
		cur  money.Currency
		want string
	}{
		{"10.001", gbp, `money: "10.001" has more than 2 decimals for GBP`},
		{"1.5", jpy, `money: "1.5" has more than 0 decimals for JPY`},
		{"-1.00", gbp, `money: "-1.00" is negative`},
		{"", gbp, `money: empty amount`},
		{"1,000", gbp, `money: "1,000" is not a valid amount: unexpected ',' at byte 1`},
		{"1e3", gbp, `money: "1e3" is not a valid amount: unexpected 'e' at byte 1`},
		{"£1", gbp, `money: "£1" is not a valid amount: unexpected '£' at byte 0`},
		{".5", gbp, `money: ".5" is not a valid amount: missing digits before '.'`},
		{"5.", gbp, `money: "5." is not a valid amount: missing digits after '.'`},
		{"92233720368547758.08", gbp, `money: "92233720368547758.08" overflows int64 minor units for GBP`},
	}
	for _, tt := range tests {
		_, err := money.ParseDecimal(tt.in, tt.cur)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseDecimal(%q, %s) error = %v, want %s", tt.in, tt.cur, err, tt.want)
		}
	}

	// Huge inputs are truncated in messages.
	long := strings.Repeat("9", 10000)
	_, err := money.ParseDecimal(long, jpy)
	checkErr(t, err, money.ErrOverflow)
	if len(err.Error()) > 200 {
		t.Errorf("message for long input is %d bytes", len(err.Error()))
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		a    money.Amount
		want string
	}{
		{money.New(1000, gbp), "10.00"},
		{money.New(1050, gbp), "10.50"},
		{money.New(1000, jpy), "1000"},
		{money.New(1000, kwd), "1.000"},
		{money.New(1, kwd), "0.001"},
		{money.New(5, eur), "0.05"},
		{money.New(50, eur), "0.50"},
		{money.New(100, eur), "1.00"},
		{money.New(0, eur), "0.00"},
		{money.New(0, jpy), "0"},
		{money.New(0, kwd), "0.000"},
		{money.New(-5, eur), "-0.05"},
		{money.New(-1050, gbp), "-10.50"},
		{money.New(-1000, jpy), "-1000"},
		{money.New(-1, kwd), "-0.001"},
		{money.New(12345, clf), "1.2345"},
		{money.New(math.MaxInt64, jpy), "9223372036854775807"},
		{money.New(math.MaxInt64, gbp), "92233720368547758.07"},
		{money.New(math.MaxInt64, kwd), "9223372036854775.807"},
		{money.New(math.MinInt64, jpy), "-9223372036854775808"},
		{money.New(math.MinInt64, gbp), "-92233720368547758.08"},
		{money.New(math.MinInt64+1, gbp), "-92233720368547758.07"},
	}
	for _, tt := range tests {
		if got := money.Format(tt.a); got != tt.want {
			t.Errorf("Format(%d %s) = %q, want %q", tt.a.Minor, tt.a.Currency, got, tt.want)
		}
		if got := tt.a.Decimal(); got != tt.want {
			t.Errorf("Decimal(%d %s) = %q, want %q", tt.a.Minor, tt.a.Currency, got, tt.want)
		}
		if got, want := tt.a.String(), tt.want+" "+tt.a.Currency.Code(); got != want {
			t.Errorf("String(%d %s) = %q, want %q", tt.a.Minor, tt.a.Currency, got, want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	minors := []int64{0, 1, 5, 9, 10, 99, 100, 101, 999, 1000, 1001, 123456789, math.MaxInt64 - 1, math.MaxInt64}
	for _, cur := range []money.Currency{jpy, gbp, eur, kwd, bhd, clf} {
		for _, m := range minors {
			a := money.New(m, cur)
			s := money.Format(a)
			got, err := money.ParseDecimal(s, cur)
			if err != nil {
				t.Errorf("ParseDecimal(Format(%d %s) = %q): %v", m, cur, s, err)
				continue
			}
			if got != a {
				t.Errorf("round trip of %d %s via %q = %+v", m, cur, s, got)
			}
		}
	}
}

func TestAddSub(t *testing.T) {
	tests := []struct {
		a, b        int64
		sum, diff   int64
		sumOK, diOK bool
	}{
		{1, 2, 3, -1, true, true},
		{-5, 3, -2, -8, true, true},
		{math.MaxInt64, 0, math.MaxInt64, math.MaxInt64, true, true},
		{math.MaxInt64, 1, 0, math.MaxInt64 - 1, false, true},
		{math.MaxInt64, -1, math.MaxInt64 - 1, 0, true, false},
		{math.MinInt64, -1, 0, math.MinInt64 + 1, false, true},
		{math.MinInt64, 1, math.MinInt64 + 1, 0, true, false},
		{math.MinInt64, math.MinInt64, 0, 0, false, true},
		{math.MaxInt64, math.MaxInt64, 0, 0, false, true},
		{0, math.MinInt64, math.MinInt64, 0, true, false},
		{-1, math.MinInt64, 0, math.MaxInt64, false, true},
		{math.MaxInt64, math.MinInt64, -1, 0, true, false},
		{-1, math.MaxInt64, math.MaxInt64 - 1, math.MinInt64, true, true},
	}
	for _, tt := range tests {
		s, err := money.Add(tt.a, tt.b)
		if tt.sumOK {
			if err != nil || s != tt.sum {
				t.Errorf("Add(%d, %d) = %d, %v; want %d", tt.a, tt.b, s, err, tt.sum)
			}
		} else {
			checkErr(t, err, money.ErrOverflow, "overflows")
		}
		d, err := money.Sub(tt.a, tt.b)
		if tt.diOK {
			if err != nil || d != tt.diff {
				t.Errorf("Sub(%d, %d) = %d, %v; want %d", tt.a, tt.b, d, err, tt.diff)
			}
		} else {
			checkErr(t, err, money.ErrOverflow, "overflows")
		}
	}
}

func TestAmountArithmetic(t *testing.T) {
	a, b := money.New(1050, gbp), money.New(-75, gbp)
	if got, err := a.Add(b); err != nil || got != money.New(975, gbp) {
		t.Errorf("Add = %v, %v", got, err)
	}
	if got, err := a.Sub(b); err != nil || got != money.New(1125, gbp) {
		t.Errorf("Sub = %v, %v", got, err)
	}
	if got, err := a.Neg(); err != nil || got != money.New(-1050, gbp) {
		t.Errorf("Neg = %v, %v", got, err)
	}

	_, err := a.Add(money.New(1, eur))
	checkErr(t, err, money.ErrCurrencyMismatch, "GBP", "EUR")
	_, err = a.Sub(money.New(1, eur))
	checkErr(t, err, money.ErrCurrencyMismatch, "GBP", "EUR")
	_, err = a.Add(money.Amount{Minor: 1})
	checkErr(t, err, money.ErrUnknownCurrency)
	_, err = money.Amount{}.Sub(money.Amount{})
	checkErr(t, err, money.ErrUnknownCurrency)

	_, err = money.New(math.MaxInt64, gbp).Add(money.New(1, gbp))
	checkErr(t, err, money.ErrOverflow)
	_, err = money.New(math.MinInt64, gbp).Sub(money.New(1, gbp))
	checkErr(t, err, money.ErrOverflow)
	_, err = money.New(math.MinInt64, gbp).Neg()
	checkErr(t, err, money.ErrOverflow)
	if got, err := money.New(math.MinInt64+1, gbp).Neg(); err != nil || got.Minor != math.MaxInt64 {
		t.Errorf("Neg(MinInt64+1) = %v, %v", got, err)
	}
}

func TestPercentOf(t *testing.T) {
	const (
		hu = money.RoundHalfUp
		he = money.RoundHalfEven
		tz = money.RoundTowardZero
		az = money.RoundAwayFromZero
	)
	tests := []struct {
		minor, bp int64
		mode      money.RoundingMode
		want      int64
	}{
		// 2.5% of 19.99: 49.975 minor units.
		{1999, 250, hu, 50},
		{1999, 250, he, 50},
		{1999, 250, tz, 49},
		{1999, 250, az, 50},
		// Exact results are unaffected by the mode.
		{10000, 250, hu, 250},
		{10000, 250, he, 250},
		{10000, 250, tz, 250},
		{10000, 250, az, 250},
		{0, 250, az, 0},
		{1000, 0, az, 0},
		{1234, 10000, he, 1234},
		// Ties: 0.15% of 1000 = 1.5; 0.25% of 1000 = 2.5.
		{1000, 15, hu, 2},
		{1000, 15, he, 2},
		{1000, 25, hu, 3},
		{1000, 25, he, 2},
		{1000, 35, he, 4},
		{1000, 5, he, 0},      // 0.5 → 0
		{1000, 5, hu, 1},      // 0.5 → 1
		{1000, 4, hu, 0},      // 0.4 → 0
		{1000, 6, he, 1},      // 0.6 → 1
		{1000, 1, az, 1},      // 0.1 → 1
		{1000, 1, tz, 0},      // 0.1 → 0
		{1000, 9, tz, 0},      // 0.9 → 0
		{1001, 5000, he, 500}, // 500.5 → 500
		{1003, 5000, he, 502}, // 501.5 → 502
		// Negative inputs round symmetrically.
		{-1000, 25, hu, -3},
		{-1000, 25, he, -2},
		{-1000, 15, he, -2},
		{1000, -25, hu, -3},
		{-1000, -25, hu, 3},
		{-1999, 250, tz, -49},
		{-1999, 250, az, -50},
		// Large values: the 128-bit intermediate product is exact.
		{math.MaxInt64, 10000, tz, math.MaxInt64},
		{math.MaxInt64, 5000, tz, math.MaxInt64 / 2},
		{math.MaxInt64, 5000, hu, math.MaxInt64/2 + 1}, // ...3.5 → ...4
		{math.MaxInt64, 5000, he, math.MaxInt64/2 + 1},
		{math.MaxInt64, 1, he, 922337203685478}, // 922337203685477.5807
		{math.MinInt64, 10000, tz, math.MinInt64},
		{math.MinInt64, 5000, hu, math.MinInt64 / 2},
		{math.MinInt64, -5000, hu, -(math.MinInt64 / 2)},
		{10000, math.MaxInt64, tz, math.MaxInt64},
		{-10000, math.MaxInt64, tz, -math.MaxInt64},
		{-1, math.MinInt64, tz, -(math.MinInt64 / 10000)},
	}
	for _, tt := range tests {
		got, err := money.PercentOf(tt.minor, tt.bp, tt.mode)
		if err != nil || got != tt.want {
			t.Errorf("PercentOf(%d, %d, %v) = %d, %v; want %d", tt.minor, tt.bp, tt.mode, got, err, tt.want)
		}
	}

	overflows := []struct {
		minor, bp int64
		mode      money.RoundingMode
	}{
		{math.MaxInt64, 10001, tz},
		{math.MaxInt64, 20000, tz},
		{math.MaxInt64, math.MaxInt64, tz},
		{math.MinInt64, math.MinInt64, tz},
		{math.MinInt64, math.MaxInt64, tz},
		{math.MinInt64, -10000, tz}, // |MinInt64| does not fit
		{math.MinInt64, 10001, az},
		{math.MaxInt64 / 2, 20001, tz},
	}
	for _, tt := range overflows {
		got, err := money.PercentOf(tt.minor, tt.bp, tt.mode)
		if err == nil {
			t.Errorf("PercentOf(%d, %d, %v) = %d, want overflow", tt.minor, tt.bp, tt.mode, got)
			continue
		}
		checkErr(t, err, money.ErrOverflow, "overflows")
	}

	// Overflow caused by rounding alone. 9222449791875588249 × 10001 bp is
	// exactly MaxInt64 + 0.8249 and -9222449791875588250 × 10001 bp is
	// exactly MinInt64 - 0.8250: truncation fits, rounding up does not.
	if got, err := money.PercentOf(9222449791875588249, 10001, money.RoundTowardZero); err != nil || got != math.MaxInt64 {
		t.Errorf("PercentOf at MaxInt64 toward zero = %d, %v", got, err)
	}
	if got, err := money.PercentOf(-9222449791875588250, 10001, money.RoundTowardZero); err != nil || got != math.MinInt64 {
		t.Errorf("PercentOf at MinInt64 toward zero = %d, %v", got, err)
	}
	for _, mode := range []money.RoundingMode{money.RoundHalfUp, money.RoundHalfEven, money.RoundAwayFromZero} {
		_, err := money.PercentOf(9222449791875588249, 10001, mode)
		checkErr(t, err, money.ErrOverflow)
		_, err = money.PercentOf(-9222449791875588250, 10001, mode)
		checkErr(t, err, money.ErrOverflow)
	}

	for _, m := range []money.RoundingMode{0, -1, 5, 100} {
		_, err := money.PercentOf(100, 100, m)
		checkErr(t, err, money.ErrInvalidRoundingMode)
	}
}

func TestPercentOfBruteForce(t *testing.T) {
	// Compare against a straightforward implementation for small inputs,
	// where minor*bp fits in int64.
	modes := []money.RoundingMode{money.RoundHalfUp, money.RoundHalfEven, money.RoundTowardZero, money.RoundAwayFromZero}
	for minor := int64(-300); minor <= 300; minor += 7 {
		for bp := int64(-20000); bp <= 20000; bp += 137 {
			for _, mode := range modes {
				got, err := money.PercentOf(minor, bp, mode)
				if err != nil {
					t.Fatalf("PercentOf(%d, %d, %v): %v", minor, bp, mode, err)
				}
				if want := naivePercent(minor, bp, mode); got != want {
					t.Fatalf("PercentOf(%d, %d, %v) = %d, want %d", minor, bp, mode, got, want)
				}
			}
		}
	}
}

func naivePercent(minor, bp int64, mode money.RoundingMode) int64 {
	p := minor * bp
	neg := p < 0
	if neg {
		p = -p
	}
	q, r := p/10000, p%10000
	switch mode {
	case money.RoundHalfUp:
		if r*2 >= 10000 {
			q++
		}
	case money.RoundHalfEven:
		if r*2 > 10000 || (r*2 == 10000 && q%2 == 1) {
			q++
		}
	case money.RoundAwayFromZero:
		if r != 0 {
			q++
		}
	}
	if neg {
		return -q
	}
	return q
}

func TestRoundingModeString(t *testing.T) {
	tests := map[money.RoundingMode]string{
		money.RoundHalfUp:       "RoundHalfUp",
		money.RoundHalfEven:     "RoundHalfEven",
		money.RoundTowardZero:   "RoundTowardZero",
		money.RoundAwayFromZero: "RoundAwayFromZero",
		0:                       "RoundingMode(0)",
	}
	for m, want := range tests {
		if got := m.String(); got != want {
			t.Errorf("String(%d) = %q, want %q", int(m), got, want)
		}
	}
}
