package ledger

import (
	"context"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// hotWorld is a folding ledger on db with a world clearing account, a hot
// account of owner "shop" that refuses overdrafts, and alice's (not hot),
// of tenant ten_1 in EUR.
func hotWorld(t *testing.T, db *store.DB) (l *Ledger, world, shop, alice string) {
	t.Helper()
	l = New(db, clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)), ids.New(nil), Folding(true))
	ensure := func(owner string, overdraft, hot bool) string {
		a, err := l.Standalone().EnsureAccount(t.Context(), AccountSpec{TenantID: "ten_1", Owner: owner, Purpose: "wallet", Currency: "EUR",
			AllowOverdraft: overdraft, Hot: hot})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	return l, ensure("world", true, true), ensure("shop", false, true), ensure("alice", false, false)
}

// TestRefusedDuringAConcurrentFold: a debit and a hold the row refuses
// while another transaction folds the account (it has taken the unfolded
// credits but not yet put them in the row) fold too; their fold waits for
// the other one and then finds nothing, and they must try the row again,
// which by then holds the credits, instead of refusing.
func TestRefusedDuringAConcurrentFold(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		l, world, merchant, alice := hotWorld(t, db)
		s := l.Standalone()
		if _, err := s.Transfer(ctx, TransferSpec{TenantID: "ten_1", From: world, To: merchant, Currency: "EUR", Amount: 1000}); err != nil {
			t.Fatal(err)
		}
		taken, release := make(chan struct{}), make(chan struct{})
		folder := make(chan error, 1)
		go func() { // the other fold, paused between its two halves
			folder <- db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
				rows, err := takeUnfolded(ctx, tx, merchant, foldBatch)
				if err != nil {
					return err
				}
				select {
				case <-taken:
				default:
					close(taken)
				}
				<-release
				return foldTaken(ctx, tx, merchant, rows)
			})
		}()
		<-taken
		debit, hold := make(chan error, 1), make(chan error, 1)
		go func() {
			_, err := s.Transfer(ctx, TransferSpec{TenantID: "ten_1", From: merchant, To: alice, Currency: "EUR", Amount: 10})
			debit <- err
		}()
		go func() {
			_, err := s.Hold(ctx, HoldSpec{TenantID: "ten_1", From: merchant, To: alice, Currency: "EUR", Amount: 20})
			hold <- err
		}()
		waitForLockWaits(t, db, 2)
		close(release)
		for what, ch := range map[string]chan error{"the other fold": folder, "the debit": debit, "the hold": hold} {
			if err := <-ch; err != nil {
				t.Errorf("%s: %v", what, err)
			}
		}
		a, err := l.Account(ctx, db.Read(), "ten_1", merchant)
		if err != nil || a.Balance.Posted != 990 || a.Balance.PendingOut != 20 {
			t.Fatalf("merchant %+v (%v), want posted 990 and 20 held", a.Balance, err)
		}
		if err := CheckInvariants(ctx, db.Read()); err != nil {
			t.Fatal(err)
		}
	})
}

// waitForLockWaits returns once n PostgreSQL backends of db wait for a lock
// (on SQLite, where the other writers queue behind the committer, at once).
func waitForLockWaits(t *testing.T, db *store.DB, n int) {
	t.Helper()
	if db.Dialect() != store.Postgres {
		return
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var waiting int
		if err := db.Read().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d transactions wait for a lock", waiting, n)
		}
	}
}

// TestClosingWaitsForUnfoldedCredits: a credit to a hot account waits
// unfolded and locks no row, so a closing (LockOwnerAccounts) that judges
// the owner's balances waits for the credit's transaction and then sees
// it; a credit that comes while the closing holds waits for it.
func TestClosingWaitsForUnfoldedCredits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		l, world, shop, _ := hotWorld(t, db)
		credit := TransferSpec{TenantID: "ten_1", From: world, To: shop, Currency: "EUR", Amount: 100}
		written, release := make(chan struct{}), make(chan struct{})
		payment := make(chan error, 1)
		go func() { // the credit, written unfolded and not yet committed
			payment <- db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
				if _, err := l.Transfer(ctx, tx, credit); err != nil {
					return err
				}
				if err := l.Apply(ctx, tx); err != nil {
					return err
				}
				select {
				case <-written:
				default:
					close(written)
				}
				<-release
				return nil
			})
		}()
		<-written
		seen := make(chan int64, 1)
		closing := make(chan error, 1)
		go func() {
			closing <- db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
				accounts, err := l.LockOwnerAccounts(ctx, tx, "ten_1", "shop")
				if err == nil && len(accounts) == 1 {
					seen <- accounts[0].Balance.Posted
				}
				return err
			})
		}()
		waitForLockWaits(t, db, 1)
		close(release)
		if err := <-payment; err != nil {
			t.Fatal(err)
		}
		if err := <-closing; err != nil {
			t.Fatal(err)
		}
		if got := <-seen; got != 100 {
			t.Fatalf("the closing saw posted %d, want the 100 credited before it", got)
		}
	})
}
