// Package ids makes identifiers and secrets from an injected source of
// randomness (crypto/rand in production, a seeded reader in tests).
package ids

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"io"
	"sync"

	"github.com/cashgate/cashgate/internal/clock"
)

var b32 = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// Gen generates identifiers. It is safe for concurrent use.
type Gen struct {
	mu  sync.Mutex
	r   io.Reader
	clk clock.Clock // nil: IDs are fully random
}

// New returns a generator reading from r (nil means crypto/rand) whose IDs
// are fully random.
func New(r io.Reader) *Gen {
	if r == nil {
		r = rand.Reader
	}
	return &Gen{r: r}
}

// NewWithClock returns a generator whose IDs start with the time from clk
// (48 bits of Unix milliseconds, then 80 random bits). Such IDs sort by
// creation time, so database rows keyed by them are appended at the end of
// their indexes instead of scattered over random pages: fewer pages written
// per commit. 80 random bits keep them unguessable.
func NewWithClock(r io.Reader, clk clock.Clock) *Gen {
	g := New(r)
	g.clk = clk
	return g
}

func (g *Gen) read(b []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, err := io.ReadFull(g.r, b); err != nil {
		// crypto/rand never fails on supported platforms; a test reader that
		// runs dry is a test bug.
		panic(fmt.Sprintf("ids: random source failed: %v", err))
	}
}

// ID returns prefix + "_" + 26 base32 characters, e.g. "acc_3k9…": 128
// random bits, or with a clock 48 bits of time and 80 random bits. The
// base32 alphabet is in ASCII order, so IDs compare like their bytes.
func (g *Gen) ID(prefix string) string {
	b := make([]byte, 16)
	if g.clk != nil {
		ms := uint64(g.clk.Now().UnixMilli())
		for i := 0; i < 6; i++ {
			b[i] = byte(ms >> (8 * (5 - i)))
		}
		g.read(b[6:])
	} else {
		g.read(b)
	}
	return prefix + "_" + b32.EncodeToString(b)
}

// Secret returns n random bytes as lowercase hex (2n characters).
func (g *Gen) Secret(n int) string {
	b := make([]byte, n)
	g.read(b)
	return hex.EncodeToString(b)
}

// Bytes returns n random bytes.
func (g *Gen) Bytes(n int) []byte {
	b := make([]byte, n)
	g.read(b)
	return b
}

// Digits returns a uniformly random decimal string of n digits whose first
// digit is not 0 (rejection sampling, no modulo bias).
func (g *Gen) Digits(n int) string { return g.digits(n, true) }

// AnyDigits returns a uniformly random decimal string of n digits, any of
// which may be 0.
func (g *Gen) AnyDigits(n int) string { return g.digits(n, false) }

func (g *Gen) digits(n int, nonZeroFirst bool) string {
	out := make([]byte, 0, n)
	buf := make([]byte, 32)
	for len(out) < n {
		g.read(buf)
		for _, c := range buf {
			if c >= 250 || len(out) == n {
				continue
			}
			d := c % 10
			if nonZeroFirst && len(out) == 0 && d == 0 {
				continue
			}
			out = append(out, '0'+d)
		}
	}
	return string(out)
}
