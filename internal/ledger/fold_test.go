package ledger_test

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// hotFixture is a fixture whose ledger keeps unfolded postings on both
// engines, with a hot clearing account and a hot merchant account.
func hotFixture(t *testing.T, db *store.DB) (f *fixture, world, merchant string) {
	t.Helper()
	f = newFixture(t, db)
	f.l = ledger.New(db, f.clk, ids.New(nil), ledger.Folding(true))
	ensure := func(owner, purpose string, overdraft bool) string {
		a, err := f.l.Standalone().EnsureAccount(f.ctx, ledger.AccountSpec{TenantID: f.tenant, Owner: owner, Purpose: purpose,
			Currency: "EUR", AllowOverdraft: overdraft, Hot: true})
		if err != nil || !a.Hot {
			t.Fatalf("ensure hot %s/%s: %+v, %v", owner, purpose, a, err)
		}
		return a.ID
	}
	return f, ensure("world", "clearing", true), ensure("merchant", "pending", false)
}

// TestHotAccounts checks that postings to hot accounts that cannot be
// refused wait unfolded, that balances, entries, statements, refusable
// debits and holds see them exactly, and that folding keeps every
// invariant and every balance.
func TestHotAccounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f, world, merchant := hotFixture(t, db)
		alice := f.wallet(t, "alice", "EUR", 0)
		var first string
		for i := range 5 {
			id := f.transfer(t, world, merchant, "EUR", 100)
			if i == 0 {
				first = id
			}
		}
		if n, p := f.count(t, "ledger_unfolded"), f.count(t, "ledger_postings"); n != 10 || p != 0 {
			t.Fatalf("%d unfolded and %d folded postings, want 10 and 0", n, p)
		}
		f.check(t)
		a, err := f.l.Account(f.ctx, db.Read(), f.tenant, merchant)
		if err != nil || a.Balance != bal(500, 0, 0) || a.PostingCount != 5 {
			t.Fatalf("merchant with unfolded credits: %+v, %v; want posted 500 in 5 postings", a, err)
		}
		e, err := f.l.EntryByID(f.ctx, db.Read(), f.tenant, first)
		if err != nil || len(e.Postings) != 2 || e.Postings[0].Amount != -100 || e.Postings[1].AccountID != merchant {
			t.Fatalf("entry with unfolded postings: %+v, %v", e, err)
		}

		// A debit the folded balance (0) refuses but the unfolded credits cover.
		f.transfer(t, merchant, alice, "EUR", 450)
		if got := f.balance(t, merchant); got != bal(50, 0, 0) {
			t.Fatalf("merchant after a debit: %+v, want posted 50", got)
		}
		// A hold likewise.
		f.transfer(t, world, merchant, "EUR", 100)
		h, err := f.l.Standalone().Hold(f.ctx, ledger.HoldSpec{TenantID: f.tenant, From: merchant, To: alice, Currency: "EUR", Amount: 120})
		if err != nil {
			t.Fatalf("hold covered by an unfolded credit: %v", err)
		}
		if got := f.balance(t, merchant); got != bal(150, 120, 0) {
			t.Fatalf("merchant after a hold: %+v", got)
		}
		// Still no overdraft: refused, and nothing changed.
		f.transfer(t, world, merchant, "EUR", 5)
		_, err = f.l.Standalone().Transfer(f.ctx, ledger.TransferSpec{TenantID: f.tenant, From: merchant, To: alice, Currency: "EUR", Amount: 36})
		if apperr.CodeOf(err) != apperr.InsufficientFunds {
			t.Fatalf("overdraw of a hot account: %v, want insufficient_funds", err)
		}
		if got := f.balance(t, merchant); got != bal(155, 120, 0) {
			t.Fatalf("merchant after a refused debit: %+v", got)
		}
		if _, err := f.l.Standalone().PostHold(f.ctx, f.tenant, h.ID, 120, true); err != nil {
			t.Fatal(err)
		}
		f.check(t)

		// A statement folds first: contiguous sequence, running balances.
		page, err := f.l.Statement(f.ctx, db.Read(), f.tenant, world, ledger.StatementQuery{Limit: 100})
		if err != nil || len(page.Lines) != 7 {
			t.Fatalf("world statement: %d lines, %v; want 7", len(page.Lines), err)
		}
		var run int64
		for i, ln := range page.Lines {
			run += ln.Amount
			if ln.AccountSeq != int64(i+1) || ln.BalanceAfter != run {
				t.Fatalf("line %d: seq %d balance %d, want %d and %d", i, ln.AccountSeq, ln.BalanceAfter, i+1, run)
			}
		}
		if _, err := f.l.FoldAll(f.ctx); err != nil {
			t.Fatal(err)
		}
		if n := f.count(t, "ledger_unfolded"); n != 0 {
			t.Fatalf("%d unfolded postings after FoldAll", n)
		}
		if got, want := f.balance(t, merchant), bal(35, 0, 0); got != want {
			t.Fatalf("merchant after folding: %+v, want %+v", got, want)
		}
		f.check(t)
	})
}

// TestUnfoldedOnlyWhenFolding checks the default: a hot account's postings
// are unfolded on PostgreSQL and applied to the row on SQLite.
func TestUnfoldedOnlyWhenFolding(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		for _, purpose := range []string{"clearing", "pending"} {
			if _, err := f.l.Standalone().EnsureAccount(f.ctx, ledger.AccountSpec{TenantID: f.tenant, Owner: "x", Purpose: purpose,
				Currency: "EUR", AllowOverdraft: purpose == "clearing", Hot: true}); err != nil {
				t.Fatal(err)
			}
		}
		a, _ := f.l.FindAccount(f.ctx, db.Read(), ledger.AccountSpec{TenantID: f.tenant, Owner: "x", Purpose: "clearing", Currency: "EUR"})
		b, _ := f.l.FindAccount(f.ctx, db.Read(), ledger.AccountSpec{TenantID: f.tenant, Owner: "x", Purpose: "pending", Currency: "EUR"})
		f.transfer(t, a.ID, b.ID, "EUR", 10)
		want := 0
		if db.Dialect() == store.Postgres {
			want = 2
		}
		if n := f.count(t, "ledger_unfolded"); n != want {
			t.Fatalf("%d unfolded postings on %s, want %d", n, db.Dialect(), want)
		}
		// EnsureAccount marks an account hot, and never unmarks it.
		plain := f.account(t, "y", "available", "EUR", false)
		for _, hot := range []bool{true, false} {
			acc, err := f.l.Standalone().EnsureAccount(f.ctx, ledger.AccountSpec{TenantID: f.tenant, Owner: "y", Purpose: "available", Currency: "EUR", Hot: hot})
			if err != nil || acc.ID != plain || !acc.Hot {
				t.Fatalf("ensure with hot=%t: %+v, %v; want the account, hot", hot, acc, err)
			}
		}
		f.check(t)
	})
}

// TestHotAccountsConcurrent runs credits, refusable debits and folds of one
// hot account at once: every debit that succeeds is covered, none is lost,
// and the ledger stays exact.
func TestHotAccountsConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f, world, merchant := hotFixture(t, db)
		alice := f.wallet(t, "alice", "EUR", 0)
		var wg sync.WaitGroup
		var debited, refused atomic.Int64
		stop := make(chan struct{})
		for range 8 {
			wg.Go(func() {
				for range 15 {
					if _, err := f.l.Standalone().Transfer(f.ctx, ledger.TransferSpec{TenantID: f.tenant, From: world, To: merchant, Currency: "EUR", Amount: 10}); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		for range 3 {
			wg.Go(func() {
				for range 15 {
					_, err := f.l.Standalone().Transfer(f.ctx, ledger.TransferSpec{TenantID: f.tenant, From: merchant, To: alice, Currency: "EUR", Amount: 25})
					switch apperr.CodeOf(err) {
					case "":
						debited.Add(25)
					case apperr.InsufficientFunds:
						refused.Add(1)
					default:
						t.Error(err)
						return
					}
				}
			})
		}
		var folder sync.WaitGroup
		folder.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := f.l.FoldAll(f.ctx); err != nil {
					t.Error(err)
					return
				}
			}
		})
		wg.Wait()
		close(stop)
		folder.Wait()
		f.check(t)
		if got, want := f.balance(t, merchant).Posted, 8*15*10-debited.Load(); got != want || got < 0 {
			t.Fatalf("merchant posted %d, want %d (debited %d, %d refused)", got, want, debited.Load(), refused.Load())
		}
		if got := f.balance(t, alice).Posted; got != debited.Load() {
			t.Fatalf("alice posted %d, want %d", got, debited.Load())
		}
		if _, err := f.l.FoldAll(f.ctx); err != nil {
			t.Fatal(err)
		}
		f.check(t)
	})
}

// TestRunFolder: the folder folds what waits unfolded without being asked,
// and stops with its context.
func TestRunFolder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f, world, merchant := hotFixture(t, db)
		for range 3 {
			f.transfer(t, world, merchant, "EUR", 7)
		}
		if n := f.count(t, "ledger_unfolded"); n != 6 {
			t.Fatalf("%d unfolded postings, want 6", n)
		}
		ctx, cancel := context.WithCancel(f.ctx)
		done := make(chan struct{})
		go func() { f.l.RunFolder(ctx, slog.New(slog.DiscardHandler), time.Millisecond); close(done) }()
		for deadline := time.Now().Add(30 * time.Second); f.count(t, "ledger_unfolded") > 0; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the folder left postings unfolded")
			}
		}
		cancel()
		<-done
		if got := f.balance(t, merchant); got != bal(21, 0, 0) || f.count(t, "ledger_postings") != 6 {
			t.Fatalf("after the folder: %+v, %d postings", got, f.count(t, "ledger_postings"))
		}
		f.check(t)
	})
}

// TestConcurrentDebitsOfUnfoldedCredit: a hot account's money that waits
// unfolded covers every debit and hold it suffices for, however many come
// at once (the first folds it; the others wait for its row or fold after
// it). The exact interleaving where a fold finds the postings just taken
// by another is TestRefusedDuringAConcurrentFold's.
func TestConcurrentDebitsOfUnfoldedCredit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f, world, merchant := hotFixture(t, db)
		alice := f.wallet(t, "alice", "EUR", 0)
		f.transfer(t, world, merchant, "EUR", 1000)
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				for range 3 { // 16 × 3 × 10 of the 1000: none may be refused
					var err error
					if i%2 == 0 {
						_, err = f.l.Standalone().Transfer(f.ctx, ledger.TransferSpec{TenantID: f.tenant, From: merchant, To: alice, Currency: "EUR", Amount: 10})
					} else {
						_, err = f.l.Standalone().Hold(f.ctx, ledger.HoldSpec{TenantID: f.tenant, From: merchant, To: alice, Currency: "EUR", Amount: 10})
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		f.check(t)
		if b := f.balance(t, merchant); b.Posted != 1000-8*3*10 || b.PendingOut != 8*3*10 {
			t.Fatalf("merchant %+v, want posted %d and %d held", b, 1000-8*3*10, 8*3*10)
		}
	})
}
