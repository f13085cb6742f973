package ledger_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestCheckReport: Check counts what it covered and reports violations as
// findings; the report survives as the last result.
func TestCheckReport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		if _, ok, err := ledger.LastCheck(ctx, db); err != nil || ok {
			t.Fatalf("last check before any: ok %v, err %v", ok, err)
		}
		w := f.wallet(t, "alice", "EUR", 500)
		f.transfer(t, w, f.wallet(t, "bob", "EUR", 0), "EUR", 200)
		r, err := ledger.Check(ctx, db, f.clk.Now)
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK() || r.Accounts != 3 || r.Entries != 2 || r.Postings != 4 || !r.StartedAt.Equal(f.clk.Now()) {
			t.Fatalf("report %+v, want ok with 3 accounts, 2 entries, 4 postings at %v", r, f.clk.Now())
		}
		if err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE ledger_accounts SET posted = posted + 1 WHERE id = $1`, w)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if r, err = ledger.Check(ctx, db, f.clk.Now); err != nil {
			t.Fatal(err)
		}
		if r.OK() || !strings.Contains(strings.Join(r.Violations, "\n"), "account posted differs from the sum of its postings: "+w) {
			t.Fatalf("violations %q, want the changed balance of %s", r.Violations, w)
		}
		if err := ledger.SaveCheck(ctx, db, r); err != nil {
			t.Fatal(err)
		}
		last, ok, err := ledger.LastCheck(ctx, db)
		if err != nil || !ok || len(last.Violations) != len(r.Violations) || !last.StartedAt.Equal(r.StartedAt) {
			t.Fatalf("last check %+v ok %v err %v, want %+v", last, ok, err, r)
		}
	})
}

// TestCheckWhileWriting: checks running beside a stream of transfers never
// see a half-written entry (the counts and the invariants come from one
// snapshot), on both engines.
func TestCheckWhileWriting(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		a, b := f.wallet(t, "alice", "EUR", 1_000_000), f.wallet(t, "bob", "EUR", 1_000_000)
		var stop atomic.Bool
		var written atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; !stop.Load(); i++ {
					from, to := a, b
					if (i+w)%2 == 0 {
						from, to = b, a
					}
					if _, err := f.l.Standalone().Transfer(ctx, ledger.TransferSpec{TenantID: f.tenant, From: from, To: to, Currency: "EUR", Amount: 1, Reference: "load"}); err != nil {
						errs <- err
						return
					}
					written.Add(1)
				}
			}(w)
		}
		// At least 10 checks, and until 100 transfers ran beside them.
		for i := 0; i < 10 || (written.Load() < 100 && i < 100_000); i++ {
			r, err := ledger.Check(ctx, db, f.clk.Now)
			if err != nil {
				t.Fatal(err)
			}
			if !r.OK() || r.Postings != 2*r.Entries {
				stop.Store(true)
				wg.Wait()
				t.Fatalf("check %d under load: %d entries, %d postings, violations %q", i, r.Entries, r.Postings, r.Violations)
			}
		}
		stop.Store(true)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("transfer under the checks: %v", err)
		}
		if n := written.Load(); n < 100 {
			t.Fatalf("only %d transfers ran beside the checks", n)
		}
	})
}
