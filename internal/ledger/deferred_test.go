package ledger_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestDeferredPostings checks that postings which cannot be refused wait
// for the commit (their postings are not in the transaction yet) and that
// nothing in the transaction can tell: reads, debits and holds through it
// see them, a rollback drops them, and the invariants hold after each case.
func TestDeferredPostings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		world := f.world(t, "EUR")
		merchant := f.account(t, "merchant", "available", "EUR", false)
		alice := f.wallet(t, "alice", "EUR", 1000)
		f.transfer(t, world, merchant, "EUR", 1) // the ledger has seen both accounts
		errRollback := errors.New("roll back")
		for _, tc := range []struct {
			name     string
			run      func(ctx context.Context, tx *store.Tx) error
			wantErr  error
			merchant int64 // change of the merchant's posted balance
		}{
			{"a credit from clearing waits for the commit", func(ctx context.Context, tx *store.Tx) error {
				id := f.mustTransfer(ctx, t, tx, world, merchant, 100)
				if n := postingsOf(ctx, t, tx, id); n != 0 {
					t.Errorf("%d postings before the commit, want them deferred", n)
				}
				a, err := f.l.Account(ctx, tx, f.tenant, merchant)
				if err != nil || a.Balance.Posted != 101 {
					t.Errorf("read through the transaction: %+v, %v; want posted 101", a.Balance, err)
				}
				if n := postingsOf(ctx, t, tx, id); n != 2 {
					t.Errorf("%d postings after a read, want 2", n)
				}
				return nil
			}, nil, 100},
			{"a debit sees the deferred credits before it", func(ctx context.Context, tx *store.Tx) error {
				f.mustTransfer(ctx, t, tx, world, merchant, 50)
				f.mustTransfer(ctx, t, tx, merchant, alice, 151)
				return nil
			}, nil, -101},
			{"a refused debit keeps the deferred credit", func(ctx context.Context, tx *store.Tx) error {
				f.mustTransfer(ctx, t, tx, world, merchant, 10)
				_, err := f.l.Transfer(ctx, tx, ledger.TransferSpec{TenantID: f.tenant, From: merchant, To: alice, Currency: "EUR", Amount: 1_000_000})
				if apperr.CodeOf(err) != apperr.InsufficientFunds {
					t.Errorf("overdraw: %v, want insufficient_funds", err)
				}
				return nil
			}, nil, 10},
			{"a hold sees the deferred credit", func(ctx context.Context, tx *store.Tx) error {
				f.mustTransfer(ctx, t, tx, world, merchant, 40)
				h, err := f.l.Hold(ctx, tx, ledger.HoldSpec{TenantID: f.tenant, From: merchant, To: alice, Currency: "EUR", Amount: 40})
				if err != nil {
					return err
				}
				_, err = f.l.PostHold(ctx, tx, f.tenant, h.ID, 40, true)
				return err
			}, nil, 0},
			{"a rollback drops the deferred credit", func(ctx context.Context, tx *store.Tx) error {
				f.mustTransfer(ctx, t, tx, world, merchant, 70)
				return errRollback
			}, errRollback, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := f.balance(t, merchant).Posted
				err := db.Transact(f.ctx, tc.run)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("transaction: %v, want %v", err, tc.wantErr)
				}
				if got := f.balance(t, merchant).Posted - before; got != tc.merchant {
					t.Fatalf("merchant changed by %d, want %d", got, tc.merchant)
				}
				f.check(t)
			})
		}
	})
}

// TestDeferralKeepsLockOrder checks the rule that keeps deferral free of
// deadlocks: in an entry that debits a wallet now, the credit waits only
// when its account comes after the wallet in the lock order (descending
// ids), so each entry still takes its account rows in that order.
func TestDeferralKeepsLockOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		x, y := f.wallet(t, "x", "EUR", 1000), f.wallet(t, "y", "EUR", 1000)
		deferred := 0
		// One of the two directions has its credit come after the debit
		// in the lock order, whatever the two ids are.
		for _, p := range [][2]string{{x, y}, {y, x}} {
			from, to := p[0], p[1]
			err := db.Transact(f.ctx, func(ctx context.Context, tx *store.Tx) error {
				id := f.mustTransfer(ctx, t, tx, from, to, 1)
				waits := postingsOf(ctx, t, tx, id) == 0
				if want := to < from; waits != want {
					t.Errorf("from %s to %s: the credit waits %t, want %t", from, to, waits, want)
				}
				if waits {
					deferred++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if deferred != 1 {
			t.Fatalf("%d of the two directions deferred their credit, want 1", deferred)
		}
		f.check(t)
	})
}

func (f *fixture) mustTransfer(ctx context.Context, t *testing.T, tx *store.Tx, from, to string, amount int64) string {
	t.Helper()
	id, err := f.l.Transfer(ctx, tx, ledger.TransferSpec{TenantID: f.tenant, From: from, To: to, Currency: "EUR", Amount: amount})
	if err != nil {
		t.Fatalf("transfer %d from %s to %s: %v", amount, from, to, err)
	}
	return id
}

// postingsOf counts the entry's postings written so far in tx, with SQL the
// ledger does not see (so it does not apply deferred postings first).
func postingsOf(ctx context.Context, t *testing.T, tx *store.Tx, entryID string) int {
	t.Helper()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM ledger_postings WHERE entry_id = $1", entryID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
