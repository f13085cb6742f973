package ids_test

import (
	"math/rand/v2"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ids"
)

var idRE = regexp.MustCompile(`^acc_[0-9a-hjkmnp-tv-z]{26}$`)

func TestTimeOrderedIDsSortByCreation(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC))
	g := ids.NewWithClock(rand.NewChaCha8([32]byte{1}), clk)
	var made []string
	for i := 0; i < 200; i++ {
		made = append(made, g.ID("acc"))
		clk.Advance(time.Millisecond)
	}
	if !sort.StringsAreSorted(made) {
		t.Fatal("IDs made one millisecond apart do not sort by creation")
	}
	seen := map[string]bool{}
	for _, id := range made {
		if !idRE.MatchString(id) || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
	// Same millisecond: still distinct (80 random bits).
	a, b := g.ID("acc"), g.ID("acc")
	if a == b || a[:12] != b[:12] {
		t.Fatalf("same-millisecond ids %s %s: want a shared time prefix and different random parts", a, b)
	}
}

func TestDigits(t *testing.T) {
	g := ids.New(rand.NewChaCha8([32]byte{2}))
	for i := 0; i < 1000; i++ {
		d := g.Digits(18)
		if len(d) != 18 || d[0] == '0' || !regexp.MustCompile(`^[0-9]+$`).MatchString(d) {
			t.Fatalf("Digits(18) = %q", d)
		}
	}
}
