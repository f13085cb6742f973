package wallet_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// callbackCounts counts the decision events and the callback deliveries
// queued for them.
func (e *env) callbackCounts() (events, deliveries int) {
	e.t.Helper()
	q := e.db.Read()
	if err := q.QueryRowContext(e.ctx, `SELECT COUNT(*) FROM events WHERE type LIKE 'wallet.callback.%'`).Scan(&events); err != nil {
		e.t.Fatal(err)
	}
	if err := q.QueryRowContext(e.ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE event_type LIKE 'wallet.callback.%'`).Scan(&deliveries); err != nil {
		e.t.Fatal(err)
	}
	return events, deliveries
}

// TestRetailRequest: a request from a shop till needs no callbackUrl; it
// expires after the short retail time frame (5 minutes); the merchant polls
// its status; no callback delivery is ever queued for it.
func TestRetailRequest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		shop := e.corporate("shop", false)
		alice := e.customer("alice")
		e.topUp(alice, "50.00")
		till := func(amount string, frame int) (wallet.MoneyRequest, error) {
			return e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: amount, Currency: "EUR",
				Description: "Till 3", Retail: true, TimeFrame: frame})
		}

		// Refused: an online request without a callback URL; a retail
		// time frame beyond 5 minutes.
		_, err := e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: "1.00", Currency: "EUR", Description: "x"})
		if ae := apperr.From(err); ae.Code != apperr.Invalid || ae.Field != "callbackUrl" || !strings.Contains(ae.Message, "retail") {
			t.Fatalf("online request without callbackUrl: %v", err)
		}
		for _, frame := range []int{301, 59, 3600} {
			if _, err := till("1.00", frame); !apperr.Is(err, apperr.Invalid) || apperr.From(err).Field != "timeFrame" {
				t.Fatalf("retail timeFrame %d: %v", frame, err)
			}
		}

		// Created without a callback, approved in the wallet, polled.
		created := e.clk.Now()
		req, err := till("4.50", 0)
		ok(t, err)
		if !req.Retail || req.Status != wallet.StatusPending || !req.ExpiresAt.Equal(created.Add(5*time.Minute)) {
			t.Fatalf("retail request %+v", req)
		}
		e.clk.Advance(4 * time.Minute)
		_, err = e.w.Approve(e.ctx, alice.ID, req.ID, "1234")
		ok(t, err)
		e.runDue()
		st, err := e.w.MerchantRequest(e.ctx, shop.TenantID, req.ID)
		ok(t, err)
		if st.Status != wallet.StatusApproved || !st.Retail || st.Amount != "4.50" || e.balance(alice.ID) != "45.50" {
			t.Fatalf("polled %+v, alice %s", st, e.balance(alice.ID))
		}

		// Another one runs out of time: expired by the job at 5 minutes,
		// too late to approve.
		late, err := till("2.00", 120)
		ok(t, err)
		if !late.ExpiresAt.Equal(e.clk.Now().Add(2 * time.Minute)) {
			t.Fatalf("retail timeFrame 120: expires %v", late.ExpiresAt)
		}
		slow, err := till("3.00", 0)
		ok(t, err)
		e.clk.Advance(2 * time.Minute)
		e.runDue()
		if st, _ := e.w.MerchantRequest(e.ctx, shop.TenantID, late.ID); st.Status != wallet.StatusExpired {
			t.Fatalf("after 2 minutes: %s", st.Status)
		}
		if st, _ := e.w.MerchantRequest(e.ctx, shop.TenantID, slow.ID); st.Status != wallet.StatusPending {
			t.Fatalf("the 5-minute one after 2 minutes: %s", st.Status)
		}
		e.clk.Advance(3 * time.Minute)
		e.runDue()
		if st, _ := e.w.MerchantRequest(e.ctx, shop.TenantID, slow.ID); st.Status != wallet.StatusExpired {
			t.Fatalf("after 5 minutes: %s", st.Status)
		}
		if _, err := e.w.Approve(e.ctx, alice.ID, slow.ID, "1234"); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("approving an expired retail request: %v", err)
		}
		if got := e.balance(alice.ID); got != "45.50" {
			t.Fatalf("alice %s after the expired ones", got)
		}

		// The decisions are recorded as events; no callback is queued.
		if events, deliveries := e.callbackCounts(); events != 3 || deliveries != 0 {
			t.Fatalf("%d decision events, %d callback deliveries; want 3, 0", events, deliveries)
		}

		// A retail request may still name a callback URL: it is delivered.
		site := newMerchantSite(t, 0)
		withCB, err := e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: "1.00", Currency: "EUR",
			Description: "Till 4", Retail: true, CallbackURL: site.srv.URL})
		ok(t, err)
		_, err = e.w.Approve(e.ctx, alice.ID, withCB.ID, "1234")
		ok(t, err)
		e.runDue()
		if n := len(site.received()); n != 1 {
			t.Fatalf("%d callbacks for a retail request with a callbackUrl", n)
		}
	})
}

// TestRetailRequestOverHTTP: the till posts "retail": true without a
// callbackUrl, the customer approves in the wallet app, the till polls.
func TestRetailRequestOverHTTP(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			s := newStack(t, e)
			w := s.a.Wallet.Service
			ctx := t.Context()
			shop, err := w.CreateCorporate(ctx, wallet.CorporateSpec{CompanyName: "Corner Shop", Username: "corner", Password: "corner-password",
				PIN: "4321", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"})
			ok(t, err)
			apiForAll(t, w)
			var alice wallet.WalletUser
			s.must(t, 201, "POST", "/wallet/app/v1/signup", "", wallet.WalletSignUp{Username: "alice", Password: "alice-password", PIN: "1234"}, &alice)
			_, err = w.CreditTopUp(ctx, wallet.TopUp{Reference: alice.TopUpReference, Amount: "20.00", BankReference: "BANK-1"})
			ok(t, err)

			tok := s.merchantToken(t, shop)
			r := s.call(t, "POST", "/wallet/api/v1/requests", tok, map[string]any{"username": "alice", "amount": "3.20", "currency": "EUR", "description": "Till 1"})
			if r.status != 400 || !strings.Contains(string(r.body), `"field":"callbackUrl"`) {
				t.Fatalf("online request without callbackUrl: %d %s", r.status, r.body)
			}
			var req wallet.MoneyRequest
			s.must(t, 201, "POST", "/wallet/api/v1/requests", tok, map[string]any{"username": "alice", "amount": "3.20", "currency": "EUR",
				"description": "Till 1", "retail": true}, &req)
			if !req.Retail || req.ExpiresAt.Sub(req.CreatedAt) != 5*time.Minute {
				t.Fatalf("retail request %+v", req)
			}

			var sess wallet.WalletSession
			s.must(t, 200, "POST", "/wallet/app/v1/login", "", wallet.WalletLogin{Username: "alice", Password: "alice-password"}, &sess)
			s.must(t, 200, "POST", "/wallet/app/v1/requests/"+req.ID+"/approve", sess.Token, wallet.WalletPIN{PIN: "1234"}, nil)

			var st wallet.MoneyRequest
			s.must(t, 200, "GET", "/wallet/api/v1/requests/"+req.ID, tok, nil, &st)
			if st.Status != wallet.StatusApproved || !st.Retail {
				t.Fatalf("polled %+v", st)
			}
		})
	}
}
