package wallet_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// TestPrivateTierOwnSide: private users have a tier of their own with the
// documented defaults, and each party's limits apply to its own side of a
// movement: a private payer's maximum caps what it pays (until the
// operator raises it), not what a Corporate+ merchant may receive; a
// Corporate merchant's 200 € caps what it receives from anyone.
func TestPrivateTierOwnSide(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		site := newMerchantSite(t, 0)
		alice := e.customer("alice")
		plus, basic := e.corporate("plus", true), e.corporate("basic", false)
		e.topUp(alice, "1000.00")
		l, err := e.w.Limits(e.ctx, wallet.TierPrivate)
		ok(t, err)
		if l != wallet.DefaultPrivateLimits() || l.PurchasesPerDay != 10 || l.TransactionsPerDay != 20 || l.MaxPerTransaction != 20000 {
			t.Fatalf("private limits %+v, want the defaults", l)
		}
		request := func(c wallet.CorporateCreated, amount string) (wallet.MoneyRequest, error) {
			return e.w.CreateRequest(e.ctx, c.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: amount, Currency: "EUR",
				Description: "order", CallbackURL: site.srv.URL})
		}
		// 300 € from alice: her own maximum (the payer's side) refuses it.
		_, err = request(plus, "300.00")
		wantSide(t, err, wallet.LimitMaxPerTransaction, wallet.TierPrivate, wallet.SidePayer)
		// The operator raises the private maximum: the Corporate+ merchant
		// (no maximum of its own) receives 300 €.
		raised := wallet.DefaultPrivateLimits()
		raised.MaxPerTransaction = 50000
		_, err = e.w.SetPrivateLimits(e.ctx, raised)
		ok(t, err)
		r, err := request(plus, "300.00")
		ok(t, err)
		a, err := e.w.Approve(e.ctx, alice.ID, r.ID, "1234")
		ok(t, err)
		if a.Status != wallet.StatusApproved || a.Fee != "3.15" { // 1 % + 0.15 €
			t.Fatalf("approved %+v", a)
		}
		// A Corporate merchant's own 200 € per transaction caps its side.
		_, err = request(basic, "200.01")
		wantSide(t, err, wallet.LimitMaxPerTransaction, wallet.TierCorporate, wallet.SideRecipient)
		_, err = request(basic, "200.00")
		ok(t, err)
		// A send is the same: alice may pay 300 € to the Corporate+ wallet,
		// not to the Corporate one.
		_, err = e.w.Send(e.ctx, alice.ID, wallet.WalletSend{To: "basic", Amount: "300.00"})
		wantSide(t, err, wallet.LimitMaxPerTransaction, wallet.TierCorporate, wallet.SideRecipient)
		_, err = e.w.Send(e.ctx, alice.ID, wallet.WalletSend{To: "plus", Amount: "300.00"})
		ok(t, err)
		// The receiving side counts nothing: the merchant's daily counts are
		// about what it pays (the Corporate's 5 transactions a day).
		var n int
		ok(t, db.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM wallet_usage WHERE user_id = $1`, plus.User.ID).Scan(&n))
		if n != 0 {
			t.Fatalf("the merchant's receipts counted %d usage rows", n)
		}
		// The limits are the wallet app's /me.
		me, err := e.w.Me(meRequest(e), alice.ID)
		ok(t, err)
		if me.Limits != raised {
			t.Fatalf("/me limits %+v, want %+v", me.Limits, raised)
		}
	})
}

// TestPrivateLimitsValidate: limits that cannot be applied are refused and
// change nothing.
func TestPrivateLimitsValidate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		for _, c := range []struct {
			name  string
			set   func(*wallet.TierLimits)
			field string
		}{
			{"below unlimited", func(l *wallet.TierLimits) { l.PurchasesPerDay = -2 }, wallet.LimitPurchasesPerDay},
			{"huge", func(l *wallet.TierLimits) { l.TopUpPerYear = 1 << 62 }, wallet.LimitTopUpPerYear},
			{"no minimum", func(l *wallet.TierLimits) { l.MinPerTransaction = 0 }, wallet.LimitMinPerTransaction},
			{"unlimited minimum", func(l *wallet.TierLimits) { l.MinPerTransaction = wallet.Unlimited }, wallet.LimitMinPerTransaction},
			{"maximum below minimum", func(l *wallet.TierLimits) { l.MaxPerTransaction = 10 }, wallet.LimitMaxPerTransaction},
			{"withdrawal below minimum", func(l *wallet.TierLimits) { l.MaxWithdrawalPerTrans = 19 }, wallet.LimitMaxWithdrawalPerTrans},
		} {
			l := wallet.DefaultPrivateLimits()
			c.set(&l)
			_, err := e.w.SetPrivateLimits(e.ctx, l)
			if e := apperr.From(err); e.Code != apperr.Invalid || e.Field != c.field {
				t.Fatalf("%s: %v, want invalid %s", c.name, err, c.field)
			}
		}
		got, err := e.w.PrivateLimits(e.ctx)
		ok(t, err)
		if got != wallet.DefaultPrivateLimits() {
			t.Fatalf("refused limits changed the setting: %+v", got)
		}
		// 0 forbids; unlimited has no bound.
		l := wallet.DefaultPrivateLimits()
		l.TopUpsPerDay, l.MaxPerTransaction = 0, wallet.Unlimited
		_, err = e.w.SetPrivateLimits(e.ctx, l)
		ok(t, err)
		alice := e.customer("alice")
		_, err = e.w.CreditTopUp(e.ctx, wallet.TopUp{Reference: alice.TopUpReference, Amount: "1.00", BankReference: "B-1"})
		wantLimit(t, err, wallet.LimitTopUpsPerDay)
	})
}

// TestPrivateLimitsConcurrent: approvals and sends of one private payer
// at once cannot pass the operator's daily counts together.
func TestPrivateLimitsConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		site := newMerchantSite(t, 0)
		alice, _ := e.customer("alice"), e.customer("bob")
		shop := e.corporate("shop", true)
		e.topUp(alice, "500.00")
		l := wallet.DefaultPrivateLimits()
		l.PurchasesPerDay, l.TransactionsPerDay = 3, 7
		_, err := e.w.SetPrivateLimits(e.ctx, l)
		ok(t, err)
		var ids []string
		for i := 0; i < 10; i++ {
			r, err := e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: "2.00", Currency: "EUR",
				Description: fmt.Sprintf("order %d", i), CallbackURL: site.srv.URL})
			ok(t, err)
			ids = append(ids, r.ID)
		}
		at := func(n int, fn func(i int) error) int {
			var wg sync.WaitGroup
			var mu sync.Mutex
			passed := 0
			for i := 0; i < n; i++ {
				wg.Go(func() {
					err := fn(i)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						passed++
					case apperr.Is(err, apperr.LimitExceeded), apperr.Is(err, apperr.RateLimited):
					default:
						t.Errorf("%d: %v", i, err)
					}
				})
			}
			wg.Wait()
			return passed
		}
		// Approvals run one PIN check at a time per wallet; retry those the
		// check turned away until every one is judged by the limits.
		approved := at(len(ids), func(i int) error {
			for {
				_, err := e.w.Approve(e.ctx, alice.ID, ids[i], "1234")
				if !apperr.Is(err, apperr.RateLimited) {
					return err
				}
				time.Sleep(time.Millisecond)
			}
		})
		if approved != 3 {
			t.Fatalf("%d concurrent approvals passed the purchases per day, want 3", approved)
		}
		// Sends: 7 outgoing payments a day, 3 used by the purchases.
		sent := at(10, func(int) error {
			_, err := e.w.Send(e.ctx, alice.ID, wallet.WalletSend{To: "bob", Amount: "1.00"})
			return err
		})
		if sent != 4 {
			t.Fatalf("%d concurrent sends passed, want 4", sent)
		}
		if got := e.balance(alice.ID); got != "489.00" { // 500 − 3×2.00 − 4×1.25
			t.Fatalf("alice has %s", got)
		}
	})
}

// TestPrivateLimitsAcrossProcesses: a change made through one process
// applies in another on the same database within LimitsCacheTTL.
func TestPrivateLimitsAcrossProcesses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		other := newEnv(t, db) // a second wallet service: another process
		alice := e.customer("alice")
		e.topUp(alice, "100.00")
		e.customer("bob")
		send := func(w *wallet.Service) error {
			_, err := w.Send(e.ctx, alice.ID, wallet.WalletSend{To: "bob", Amount: "50.00"})
			return err
		}
		ok(t, send(other.w)) // other has read the defaults now
		l := wallet.DefaultPrivateLimits()
		l.MaxPerTransaction = 4000
		_, err := e.w.SetPrivateLimits(e.ctx, l)
		ok(t, err)
		wantLimit(t, send(e.w), wallet.LimitMaxPerTransaction) // at once here
		other.clk.Advance(wallet.LimitsCacheTTL)
		wantLimit(t, send(other.w), wallet.LimitMaxPerTransaction) // within the TTL there
	})
}

// meRequest is a request for the wallet app's /me.
func meRequest(e *env) *http.Request {
	return httptest.NewRequest("GET", "/wallet/app/v1/me", nil).WithContext(e.ctx)
}
