package money

import "math/bits"

// ProRata returns total × part / whole rounded to an integer with mode: the
// share of total that part of whole stands for, e.g. the part of a fee that
// a partial refund gives back. It needs 0 ≤ total, 0 ≤ part ≤ whole and
// whole > 0 (the result is then at most total, so it never overflows);
// otherwise it returns 0 and an error wrapping ErrOverflow.
//
// Called with the cumulative part (everything refunded so far), the
// differences of successive results add up to exactly total once part
// reaches whole, whatever the split.
func ProRata(total, part, whole int64, mode RoundingMode) (int64, error) {
	if mode < RoundHalfUp || mode > RoundAwayFromZero {
		return 0, newError(ErrInvalidRoundingMode, "invalid rounding mode %d", int(mode))
	}
	if total < 0 || part < 0 || whole <= 0 || part > whole {
		return 0, newError(ErrOverflow, "pro rata share of %d for %d of %d is undefined", total, part, whole)
	}
	hi, lo := bits.Mul64(uint64(total), uint64(part))
	// hi < whole because total × part ≤ total × whole < 2^63 × whole.
	q, rem := bits.Div64(hi, lo, uint64(whole))
	var up bool
	switch mode {
	case RoundHalfUp:
		up = 2*rem >= uint64(whole)
	case RoundHalfEven:
		up = 2*rem > uint64(whole) || (2*rem == uint64(whole) && q%2 == 1)
	case RoundTowardZero:
	case RoundAwayFromZero:
		up = rem != 0
	}
	if up {
		q++
	}
	return int64(q), nil
}
