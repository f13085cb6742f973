package money

import "math"

// Amount is an amount of money: a signed number of minor units of Currency.
// For example Amount{Minor: 1050, Currency: GBP} is £10.50.
//
// Amounts are plain values; the zero Amount has an unset Currency.
type Amount struct {
	// Minor is the amount in minor units (pence for GBP, yen for JPY, fils
	// for KWD). It may be negative, e.g. for ledger postings.
	Minor int64
	// Currency is the currency of the amount.
	Currency Currency
}

// New returns the Amount of minor units of cur.
func New(minor int64, cur Currency) Amount {
	return Amount{Minor: minor, Currency: cur}
}

// Decimal formats a in its currency's scale; see Format.
func (a Amount) Decimal() string { return Format(a) }

// String returns the decimal amount followed by the currency code, e.g.
// "10.50 GBP". It is meant for logs and messages; use Format or Decimal for
// the bare number.
func (a Amount) String() string {
	if a.Currency.IsZero() {
		return Format(a)
	}
	return Format(a) + " " + a.Currency.code
}

// Add returns a + b. Both amounts must have the same, set currency
// (otherwise the error wraps ErrCurrencyMismatch or ErrUnknownCurrency) and
// the sum must fit in an int64 (otherwise ErrOverflow).
func (a Amount) Add(b Amount) (Amount, error) {
	if err := sameCurrency(a, b, "+"); err != nil {
		return Amount{}, err
	}
	s, err := Add(a.Minor, b.Minor)
	if err != nil {
		return Amount{}, err
	}
	return Amount{Minor: s, Currency: a.Currency}, nil
}

// Sub returns a - b, with the same checks as Add.
func (a Amount) Sub(b Amount) (Amount, error) {
	if err := sameCurrency(a, b, "-"); err != nil {
		return Amount{}, err
	}
	d, err := Sub(a.Minor, b.Minor)
	if err != nil {
		return Amount{}, err
	}
	return Amount{Minor: d, Currency: a.Currency}, nil
}

// Neg returns -a. The only failure is negating math.MinInt64 minor units,
// which wraps ErrOverflow.
func (a Amount) Neg() (Amount, error) {
	if a.Minor == math.MinInt64 {
		return Amount{}, newError(ErrOverflow, "-(%d) overflows int64", a.Minor)
	}
	return Amount{Minor: -a.Minor, Currency: a.Currency}, nil
}

func sameCurrency(a, b Amount, op string) error {
	if a.Currency.IsZero() || b.Currency.IsZero() {
		return newError(ErrUnknownCurrency, "currency not set in %s %s %s", a, op, b)
	}
	if a.Currency != b.Currency {
		return newError(ErrCurrencyMismatch, "cannot compute %s %s %s: %s vs %s", a, op, b, a.Currency.code, b.Currency.code)
	}
	return nil
}

// Add returns a + b, or an error wrapping ErrOverflow if the sum does not
// fit in an int64.
func Add(a, b int64) (int64, error) {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, newError(ErrOverflow, "%d + %d overflows int64", a, b)
	}
	return a + b, nil
}

// Sub returns a - b, or an error wrapping ErrOverflow if the difference does
// not fit in an int64.
func Sub(a, b int64) (int64, error) {
	if (b < 0 && a > math.MaxInt64+b) || (b > 0 && a < math.MinInt64+b) {
		return 0, newError(ErrOverflow, "%d - %d overflows int64", a, b)
	}
	return a - b, nil
}
