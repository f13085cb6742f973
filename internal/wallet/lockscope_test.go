package wallet_test

import (
	"context"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// TestRequestLocksOnlyTheRequest: deciding or refunding a money request
// locks the request row only, not the customer's user row nor the
// merchant's corporate row it is read with. On PostgreSQL another
// transaction holds those two rows locked while the customer denies one
// request and the merchant refunds another: both go through (with a plain
// FOR UPDATE on the joined query they would wait for the other transaction).
// SQLite has no row locks (one writer); there the flows run unobstructed.
func TestRequestLocksOnlyTheRequest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		shop := e.corporate("shop", false)
		alice := e.customer("alice")
		e.topUp(alice, "50.00")
		mk := func(order string) wallet.MoneyRequest {
			r, err := e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: "10.00", Currency: "EUR",
				Description: "item", OrderID: order, CallbackURL: "http://127.0.0.1:9/cb"})
			ok(t, err)
			return r
		}
		toDeny, toRefund := mk("o-1"), mk("o-2")
		_, err := e.w.Approve(e.ctx, alice.ID, toRefund.ID, "1234")
		ok(t, err)

		release := make(chan struct{})
		holding := make(chan error, 1)
		done := make(chan error, 1)
		if db.Dialect() == store.Postgres {
			go func() {
				done <- db.Transact(context.Background(), func(ctx context.Context, tx *store.Tx) error {
					var id string
					if err := tx.QueryRowContext(e.ctx, `SELECT id FROM wallet_users WHERE id = $1 FOR UPDATE`, alice.ID).Scan(&id); err != nil {
						holding <- err
						return err
					}
					if err := tx.QueryRowContext(e.ctx, `SELECT tenant_id FROM wallet_corporates WHERE tenant_id = $1 FOR UPDATE`, shop.TenantID).Scan(&id); err != nil {
						holding <- err
						return err
					}
					holding <- nil
					<-release
					return nil
				})
			}()
			ok(t, <-holding)
		} else {
			close(release)
			done <- nil
		}
		ctx, cancel := context.WithTimeout(e.ctx, 3*time.Second)
		denied, err := e.w.Deny(ctx, alice.ID, toDeny.ID)
		if err == nil {
			_, err = e.w.Refund(ctx, shop.TenantID, toRefund.ID, 250, "partial")
		}
		cancel()
		if db.Dialect() == store.Postgres {
			close(release)
		}
		ok(t, <-done)
		if err != nil {
			t.Fatalf("deny and refund while the customer's and merchant's rows are locked elsewhere: %v", err)
		}
		if denied.Status != wallet.StatusDenied {
			t.Fatalf("denied request is %s", denied.Status)
		}
		if got := e.balance(alice.ID); got != "42.50" {
			t.Fatalf("alice has %s, want 42.50 (50.00 − 10.00 paid + 2.50 refunded)", got)
		}
	})
}
