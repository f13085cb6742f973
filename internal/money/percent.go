package money

import (
	"math/bits"
	"strconv"
)

// RoundingMode selects how PercentOf rounds a result that falls between two
// integer numbers of minor units. The zero RoundingMode is invalid, so a mode
// must always be chosen explicitly.
//
// All modes are symmetric around zero: rounding -x gives the negation of
// rounding x.
type RoundingMode int

const (
	// RoundHalfUp rounds to the nearest integer, ties away from zero
	// ("commercial rounding"): 2.5 → 3, -2.5 → -3, 2.4 → 2.
	RoundHalfUp RoundingMode = iota + 1
	// RoundHalfEven rounds to the nearest integer, ties to the even neighbour
	// ("banker's rounding"): 2.5 → 2, 3.5 → 4, -2.5 → -2.
	RoundHalfEven
	// RoundTowardZero truncates the fraction: 2.9 → 2, -2.9 → -2.
	RoundTowardZero
	// RoundAwayFromZero rounds any non-zero fraction away from zero:
	// 2.1 → 3, -2.1 → -3.
	RoundAwayFromZero
)

// String returns the constant's name, e.g. "RoundHalfEven".
func (m RoundingMode) String() string {
	switch m {
	case RoundHalfUp:
		return "RoundHalfUp"
	case RoundHalfEven:
		return "RoundHalfEven"
	case RoundTowardZero:
		return "RoundTowardZero"
	case RoundAwayFromZero:
		return "RoundAwayFromZero"
	}
	return "RoundingMode(" + strconv.Itoa(int(m)) + ")"
}

// basisPointsPerUnit is the number of basis points in 100%.
const basisPointsPerUnit = 10000

// PercentOf returns minor × basisPoints / 10000, rounded to an integer number
// of minor units with mode. One basis point is 0.01%, so 250 basis points is
// 2.5% and 10000 is 100%: PercentOf(1999, 250, RoundHalfUp) = 50 (49.975
// rounded), PercentOf(1000, 15, RoundHalfEven) = 2 (1.5 rounded to even).
//
// Both arguments may be negative; the sign of the result is the sign of the
// exact product and rounding is symmetric around zero (see RoundingMode).
//
// The computation uses a 128-bit intermediate product (math/bits), so it is
// exact for every int64 input and never overflows internally. The error wraps
// ErrOverflow if the rounded result does not fit in an int64, and
// ErrInvalidRoundingMode if mode is not one of the defined constants.
func PercentOf(minor int64, basisPoints int64, mode RoundingMode) (int64, error) {
	if mode < RoundHalfUp || mode > RoundAwayFromZero {
		return 0, newError(ErrInvalidRoundingMode, "invalid rounding mode %d", int(mode))
	}
	neg := (minor < 0) != (basisPoints < 0)
	hi, lo := bits.Mul64(absU(minor), absU(basisPoints))

	// 128-by-64-bit long division in two steps so that bits.Div64's
	// precondition (hi < divisor) always holds.
	if hi >= basisPointsPerUnit {
		return 0, percentOverflow(minor, basisPoints)
	}
	q, rem := bits.Div64(hi, lo, basisPointsPerUnit)

	var up bool
	switch mode {
	case RoundHalfUp:
		up = 2*rem >= basisPointsPerUnit
	case RoundHalfEven:
		up = 2*rem > basisPointsPerUnit || (2*rem == basisPointsPerUnit && q%2 == 1)
	case RoundTowardZero:
		up = false
	case RoundAwayFromZero:
		up = rem != 0
	}
	if up {
		q++
		if q == 0 { // wrapped past MaxUint64
			return 0, percentOverflow(minor, basisPoints)
		}
	}

	// q is the magnitude; it must fit int64 with the result's sign.
	const maxNeg = uint64(1) << 63
	if neg && q != 0 {
		if q > maxNeg {
			return 0, percentOverflow(minor, basisPoints)
		}
		return int64(-q), nil // -(2^63) wraps to math.MinInt64 as intended
	}
	if q > maxNeg-1 {
		return 0, percentOverflow(minor, basisPoints)
	}
	return int64(q), nil
}

func percentOverflow(minor, basisPoints int64) error {
	return newError(ErrOverflow, "%d basis points of %d overflows int64", basisPoints, minor)
}

// absU returns |x| as a uint64; it is exact for math.MinInt64.
func absU(x int64) uint64 {
	if x < 0 {
		return -uint64(x)
	}
	return uint64(x)
}
