package money_test

import (
	"math"
	"testing"

	"github.com/cashgate/cashgate/internal/money"
)

func TestProRata(t *testing.T) {
	for _, c := range []struct {
		total, part, whole, want int64
	}{
		{47, 500, 1800, 13}, // 13.06
		{47, 1800, 1800, 47},
		{35, 500, 1000, 18}, // 17.5 rounds half up
		{0, 5, 10, 0},
		{100, 0, 1000, 0},
		{math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MaxInt64},
		{math.MaxInt64 - 1, math.MaxInt64 / 2, math.MaxInt64, math.MaxInt64 / 2},
	} {
		got, err := money.ProRata(c.total, c.part, c.whole, money.RoundHalfUp)
		if err != nil || got != c.want {
			t.Errorf("ProRata(%d, %d, %d) = %d, %v; want %d", c.total, c.part, c.whole, got, err, c.want)
		}
	}
	for _, bad := range [][3]int64{{1, 2, 1}, {-1, 1, 2}, {1, -1, 2}, {1, 0, 0}} {
		if _, err := money.ProRata(bad[0], bad[1], bad[2], money.RoundHalfUp); err == nil {
			t.Errorf("ProRata%v: no error", bad)
		}
	}
}

// TestProRataCumulativeSplits: returning, at each partial refund, the
// cumulative share minus what earlier refunds returned gives back exactly
// the total once the whole is refunded, whatever the split.
func TestProRataCumulativeSplits(t *testing.T) {
	const total, whole = 47, 1800
	for _, split := range [][]int64{{1800}, {1, 1799}, {600, 600, 600}, {333, 333, 333, 801}, {7, 11, 13, 1769}} {
		var done, returned int64
		for _, x := range split {
			done += x
			cum, err := money.ProRata(total, done, whole, money.RoundHalfUp)
			if err != nil {
				t.Fatal(err)
			}
			if r := cum - returned; r < 0 || r > x {
				t.Fatalf("split %v: return %d for a refund of %d", split, r, x)
			}
			returned = cum
		}
		if returned != total {
			t.Errorf("split %v returned %d, want %d", split, returned, total)
		}
	}
}
