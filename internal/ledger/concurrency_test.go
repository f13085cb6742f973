package ledger_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// trackedHold is a hold one worker created and alone posts or voids, so
// the worker knows exactly what must happen to it.
type trackedHold struct {
	id       string
	from, to int
	amount   int64
	posted   int64
}

// workerResult is what one worker did that succeeded or was refused.
type workerResult struct {
	ok, insufficient, conflicts int
	posted                      []int64 // per account: net of the worker's successful postings
	holds                       []trackedHold
	err                         error
}

// TestConcurrentOperations runs 32 workers × 1,000 random operations (100
// with -short) over a world account and four small no-overdraft wallets:
// transfers, holds, partial and final posts, over-posts and voids. Many
// must be refused. Afterwards the invariants hold and every balance equals
// the sum of the operations that succeeded.
func TestConcurrentOperations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const workers = 32
		opsEach := 1000
		if testing.Short() {
			opsEach = 100
		}
		const seed = 20260301
		f := newFixture(t, db)
		const funds = 300
		accts := []string{f.world(t, "EUR")} // accts[0] may be overdrawn
		for i := 1; i <= 4; i++ {
			accts = append(accts, f.wallet(t, fmt.Sprintf("customer:%d", i), "EUR", funds))
		}
		initial := make([]int64, len(accts))
		for i, id := range accts {
			initial[i] = f.balance(t, id).Posted
		}

		start := time.Now()
		results := make([]workerResult, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				results[w] = runWorker(f, accts, rand.New(rand.NewPCG(seed, uint64(w))), opsEach)
			})
		}
		wg.Wait()

		want := slices.Clone(initial)
		wantOut := make([]int64, len(accts))
		wantIn := make([]int64, len(accts))
		var total workerResult
		for w, r := range results {
			if r.err != nil {
				t.Fatalf("worker %d (seed %d): %v", w, seed, r.err)
			}
			total.ok += r.ok
			total.insufficient += r.insufficient
			total.conflicts += r.conflicts
			for i, d := range r.posted {
				want[i] += d
			}
			for _, h := range r.holds {
				wantOut[h.from] += h.amount - h.posted
				wantIn[h.to] += h.amount - h.posted
			}
		}
		t.Logf("%d ops in %v: %d succeeded, %d refused for insufficient funds, %d refused as conflicts",
			workers*opsEach, time.Since(start).Round(time.Millisecond), total.ok, total.insufficient, total.conflicts)
		if total.ok == 0 || total.insufficient == 0 || total.conflicts == 0 {
			t.Fatalf("want some successes, some insufficient funds and some conflicts, got %+v", total)
		}
		cs := time.Now()
		f.check(t)
		t.Logf("CheckInvariants took %v", time.Since(cs))
		for i, id := range accts {
			if got, w := f.balance(t, id), bal(want[i], wantOut[i], wantIn[i]); got != w {
				t.Errorf("account %d: %+v, want %+v from the operations that succeeded", i, got, w)
			}
		}
	})
}

// runWorker performs n random operations and records their outcomes.
func runWorker(f *fixture, accts []string, rng *rand.Rand, n int) workerResult {
	res := workerResult{posted: make([]int64, len(accts))}
	s := f.l.Standalone()
	pair := func() (int, int) {
		a := rng.IntN(len(accts))
		b := (a + 1 + rng.IntN(len(accts)-1)) % len(accts)
		return a, b
	}
	for op := 0; op < n; op++ {
		r := rng.IntN(100)
		if r >= 65 && len(res.holds) == 0 { // nothing to post or void: transfer or hold
			r = rng.IntN(65)
		}
		switch {
		case r < 40: // transfer
			from, to := pair()
			amount := 1 + rng.Int64N(150)
			_, err := s.Transfer(f.ctx, ledger.TransferSpec{TenantID: f.tenant, From: accts[from], To: accts[to], Currency: "EUR", Amount: amount})
			switch {
			case err == nil:
				res.ok++
				res.posted[from] -= amount
				res.posted[to] += amount
			case apperr.Is(err, apperr.InsufficientFunds) && from != 0:
				res.insufficient++
			default:
				res.err = fmt.Errorf("op %d: transfer %d from %d to %d: %w", op, amount, from, to, err)
				return res
			}
		case r < 65: // hold
			from, to := pair()
			amount := 1 + rng.Int64N(150)
			h, err := s.Hold(f.ctx, ledger.HoldSpec{TenantID: f.tenant, From: accts[from], To: accts[to], Currency: "EUR", Amount: amount})
			switch {
			case err == nil:
				res.ok++
				res.holds = append(res.holds, trackedHold{id: h.ID, from: from, to: to, amount: amount})
			case apperr.Is(err, apperr.InsufficientFunds) && from != 0:
				res.insufficient++
			default:
				res.err = fmt.Errorf("op %d: hold %d from %d to %d: %w", op, amount, from, to, err)
				return res
			}
		case r < 90: // post part, all or too much of one of our holds
			i := rng.IntN(len(res.holds))
			h := &res.holds[i]
			rest := h.amount - h.posted
			amount := 1 + rng.Int64N(rest+10)
			final := rng.IntN(3) == 0
			_, err := s.PostHold(f.ctx, f.tenant, h.id, amount, final)
			want := apperr.Code("")
			switch {
			case amount > h.amount:
				want = apperr.Invalid
			case amount > rest:
				want = apperr.Conflict
			}
			if got := apperr.CodeOf(err); got != want {
				res.err = fmt.Errorf("op %d: post %d (final %t) of hold %+v: got %v, want code %q", op, amount, final, *h, err, want)
				return res
			}
			if err != nil {
				res.conflicts++
				continue
			}
			res.ok++
			res.posted[h.from] -= amount
			res.posted[h.to] += amount
			h.posted += amount
			if final || h.posted == h.amount {
				res.holds = append(res.holds[:i], res.holds[i+1:]...)
			}
		default: // void one of our holds
			i := rng.IntN(len(res.holds))
			if err := s.VoidHold(f.ctx, f.tenant, res.holds[i].id); err != nil {
				res.err = fmt.Errorf("op %d: void hold %+v: %w", op, res.holds[i], err)
				return res
			}
			res.ok++
			res.holds = append(res.holds[:i], res.holds[i+1:]...)
		}
	}
	return res
}
