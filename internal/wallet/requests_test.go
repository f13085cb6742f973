package wallet_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// merchantSite records callbacks and acknowledges them after failing the
// first fail ones.
type merchantSite struct {
	mu     sync.Mutex
	bodies [][]byte
	fail   int
	srv    *httptest.Server
}

func newMerchantSite(t *testing.T, fail int) *merchantSite {
	m := &merchantSite{fail: fail}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.fail > 0 {
			m.fail--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		m.bodies = append(m.bodies, b)
		_, _ = io.WriteString(w, "OK")
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *merchantSite) received() [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([][]byte(nil), m.bodies...)
}

func (e *env) runDue() {
	e.t.Helper()
	if _, err := e.runner.RunDue(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

func TestMoneyRequestApproveCallbackRefund(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		site := newMerchantSite(t, 1) // the first attempt fails: the callback is retried
		shop := e.corporate("shop", false)
		alice := e.customer("alice")
		e.topUp(alice, "50.00")
		if _, err := e.w.SetRate(e.ctx, "USD", "0.9"); err != nil {
			t.Fatal(err)
		}
		req, err := e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: "20.00", Currency: "USD",
			Description: "Order 42", CallbackURL: site.srv.URL + "/cb", OrderID: "42", TimeFrame: 600})
		ok(t, err)
		if req.Amount != "18.00" || req.Status != wallet.StatusPending || req.OriginalAmount != "20.00" {
			t.Fatalf("request %+v", req)
		}
		// Wrong PIN: refused, nothing paid.
		_, err = e.w.Approve(e.ctx, alice.ID, req.ID, "9999")
		if !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("wrong PIN: %v", err)
		}
		got, err := e.w.Approve(e.ctx, alice.ID, req.ID, "1234")
		ok(t, err)
		// 1.5 % of 18.00 = 0.27, + 0.20.
		if got.Status != wallet.StatusApproved || got.Fee != "0.47" {
			t.Fatalf("approved %+v", got)
		}
		if e.balance(alice.ID) != "32.00" || e.balance(shop.User.ID) != "17.53" {
			t.Fatalf("balances %s %s", e.balance(alice.ID), e.balance(shop.User.ID))
		}
		// Approving twice is a conflict.
		if _, err := e.w.Approve(e.ctx, alice.ID, req.ID, "1234"); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("second approval: %v", err)
		}
		e.runDue() // first attempt: 503
		if len(site.received()) != 0 {
			t.Fatal("the failed attempt was recorded")
		}
		e.clk.Advance(time.Minute)
		e.runDue() // retried and acknowledged
		bodies := site.received()
		if len(bodies) != 1 {
			t.Fatalf("%d callbacks", len(bodies))
		}
		cb, err := wallet.VerifyCallback(shop.MerchantSecret, bodies[0])
		ok(t, err)
		if cb.Status != "approved" || cb.RequestID != req.ID || cb.OrderID != "42" || cb.Amount != "18.00" || cb.Fee != "0.47" {
			t.Fatalf("callback %+v", cb)
		}
		e.clk.Advance(24 * time.Hour)
		e.runDue()
		if len(site.received()) != 1 {
			t.Fatal("an acknowledged callback was sent again")
		}

		// Refunds: partial, then the rest; never more than paid. The receive
		// fee comes back pro rata: 0.47 × 5/18 = 0.13, then the other 0.34,
		// so the shop, which holds 17.53 €, can refund all 18.00 €.
		_, err = e.w.Refund(e.ctx, shop.TenantID, req.ID, 500, "one item")
		ok(t, err)
		if _, err := e.w.Refund(e.ctx, shop.TenantID, req.ID, 1301, ""); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("over-refund: %v", err)
		}
		if got := e.balance(shop.User.ID); got != "12.66" {
			t.Fatalf("shop after refunding 5.00: %s, want 12.66 (17.53 − 5.00 + 0.13 fee returned)", got)
		}
		_, err = e.w.Refund(e.ctx, shop.TenantID, req.ID, 0, "")
		ok(t, err)
		st, err := e.w.MerchantRequest(e.ctx, shop.TenantID, req.ID)
		ok(t, err)
		if st.Status != wallet.StatusRefunded || st.Refunded != "18.00" || st.FeeRefunded != "0.47" {
			t.Fatalf("status %+v", st)
		}
		if got := e.balance(shop.User.ID); got != "0.00" {
			t.Fatalf("shop after the full refund: %s", got)
		}
		if _, err := e.w.Refund(e.ctx, shop.TenantID, req.ID, 1, ""); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("refund after full refund: %v", err)
		}
		if e.balance(alice.ID) != "50.00" {
			t.Fatalf("alice got back %s", e.balance(alice.ID))
		}
		// Another merchant cannot see or refund it.
		other := e.corporate("other", false)
		if _, err := e.w.MerchantRequest(e.ctx, other.TenantID, req.ID); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("another merchant sees the request: %v", err)
		}
		// The merchant's transaction list: filters by type and amount.
		page, err := e.w.Transactions(e.ctx, shop.User.ID, wallet.TxFilter{Type: "refund", MinAmount: 600})
		ok(t, err)
		if len(page.Transactions) != 1 || page.Transactions[0].Amount != "13.00" {
			t.Fatalf("refund list %+v", page.Transactions)
		}
		all, err := e.w.Transactions(e.ctx, shop.User.ID, wallet.TxFilter{Limit: 2})
		ok(t, err)
		if len(all.Transactions) != 2 || all.NextCursor == "" {
			t.Fatalf("page 1 %+v", all)
		}
		rest, err := e.w.Transactions(e.ctx, shop.User.ID, wallet.TxFilter{Limit: 2, Cursor: all.NextCursor})
		ok(t, err)
		// Two refunds on page 1, the payment on page 2 (the shop needed no top-up to refund).
		if len(rest.Transactions) != 1 || rest.Transactions[0].ID == all.Transactions[1].ID || rest.Transactions[0].Type != "payment" {
			t.Fatalf("page 2 %+v", rest)
		}
	})
}

func TestMoneyRequestDenyExpireAndPurchaseLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		site := newMerchantSite(t, 0)
		shop := e.corporate("shop", true) // Corporate+: 1.0 % + 0.15
		alice := e.customer("alice")
		e.topUp(alice, "100.00")
		request := func(amount string, frame int) wallet.MoneyRequest {
			t.Helper()
			r, err := e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: amount, Currency: "EUR",
				Description: "coffee", CallbackURL: site.srv.URL, TimeFrame: frame})
			ok(t, err)
			return r
		}
		// Deny.
		r1 := request("3.00", 300)
		d, err := e.w.Deny(e.ctx, alice.ID, r1.ID)
		ok(t, err)
		if d.Status != wallet.StatusDenied {
			t.Fatal(d.Status)
		}
		// Expiry: the job runs at the end of the time frame.
		r2 := request("3.00", 60)
		e.clk.Advance(59 * time.Second)
		e.runDue()
		if st, _ := e.w.MerchantRequest(e.ctx, shop.TenantID, r2.ID); st.Status != wallet.StatusPending {
			t.Fatalf("expired early: %s", st.Status)
		}
		e.clk.Advance(time.Second)
		e.runDue()
		if st, _ := e.w.MerchantRequest(e.ctx, shop.TenantID, r2.ID); st.Status != wallet.StatusExpired {
			t.Fatalf("not expired: %s", st.Status)
		}
		if _, err := e.w.Approve(e.ctx, alice.ID, r2.ID, "1234"); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("approving an expired request: %v", err)
		}
		var statuses []string
		for _, b := range site.received() {
			cb, err := wallet.VerifyCallback(shop.MerchantSecret, b)
			ok(t, err)
			statuses = append(statuses, cb.Status)
		}
		if len(statuses) != 2 || statuses[0] != "denied" || statuses[1] != "expired" {
			t.Fatalf("callbacks %v", statuses)
		}
		// Receive fee boundaries: 0.99 € free, 1.00 € charged (1 ct + 15 ct).
		r3 := request("0.99", 300)
		a3, err := e.w.Approve(e.ctx, alice.ID, r3.ID, "1234")
		ok(t, err)
		r4 := request("1.00", 300)
		a4, err := e.w.Approve(e.ctx, alice.ID, r4.ID, "1234")
		ok(t, err)
		if a3.Fee != "0.00" || a4.Fee != "0.16" {
			t.Fatalf("fees %s %s", a3.Fee, a4.Fee)
		}
		// Purchases per day: the payer's, a private user's (10 by default;
		// the operator set 3: two made, one more allowed).
		three := wallet.DefaultPrivateLimits()
		three.PurchasesPerDay = 3
		_, err = e.w.SetPrivateLimits(e.ctx, three)
		ok(t, err)
		r5 := request("0.20", 300)
		_, err = e.w.Approve(e.ctx, alice.ID, r5.ID, "1234")
		ok(t, err)
		r6 := request("0.20", 300)
		_, err = e.w.Approve(e.ctx, alice.ID, r6.ID, "1234")
		wantLimit(t, err, wallet.LimitPurchasesPerDay)
		if st, _ := e.w.MerchantRequest(e.ctx, shop.TenantID, r6.ID); st.Status != wallet.StatusPending {
			t.Fatalf("a refused approval changed the request: %s", st.Status)
		}
		// Requests below the minimum or above the payer's maximum are refused at once.
		_, err = e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: "0.19", Currency: "EUR", Description: "x", CallbackURL: site.srv.URL})
		wantLimit(t, err, wallet.LimitMinPerTransaction)
		_, err = e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: "200.01", Currency: "EUR", Description: "x", CallbackURL: site.srv.URL})
		wantLimit(t, err, wallet.LimitMaxPerTransaction)
		_, err = e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: "1.00", Currency: "GBP", Description: "x", CallbackURL: site.srv.URL})
		if !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("a currency without rate: %v", err)
		}
	})
}

// TestConcurrentApprovalsNeverOverdraw approves 50 requests at once from a
// wallet that can pay some of them.
func TestConcurrentApprovalsNeverOverdraw(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		shop := e.corporate("shop", false)
		payer := e.corporate("payer", true) // Corporate+ payer: no daily purchase limit
		e.topUp(wallet.WalletUser{ID: payer.User.ID, TopUpReference: payer.User.TopUpReference}, "10.00")
		var ids []string
		for i := 0; i < 50; i++ {
			r, err := e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "payer", Amount: "1.00", Currency: "EUR",
				Description: "item", CallbackURL: "http://127.0.0.1:9/cb"})
			ok(t, err)
			ids = append(ids, r.ID)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		paid, poor := 0, 0
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				for { // a client retries while another PIN check of the wallet runs
					if _, err = e.w.Approve(e.ctx, payer.User.ID, id, "4321"); !apperr.Is(err, apperr.RateLimited) {
						break
					}
					time.Sleep(time.Millisecond)
				}
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					paid++
				case apperr.Is(err, apperr.InsufficientFunds):
					poor++
				default:
					t.Errorf("approve: %v", err)
				}
			}()
		}
		wg.Wait()
		if paid != 10 || poor != 40 || e.balance(payer.User.ID) != "0.00" {
			t.Fatalf("paid %d, refused %d, balance %s", paid, poor, e.balance(payer.User.ID))
		}
	})
}

func TestPINLockAndRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		shop := e.corporate("shop", false)
		alice := e.customer("alice")
		e.topUp(alice, "10.00")
		r, err := e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: "1.00", Currency: "EUR",
			Description: "x", CallbackURL: "http://127.0.0.1:9/cb", TimeFrame: 7200})
		ok(t, err)
		// A flood of wrong PINs: one check at a time per wallet (the others
		// are rate limited at once, without hashing), five wrong in a row lock it.
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[apperr.Code]int{}
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.w.Approve(e.ctx, alice.ID, r.ID, "0000")
				mu.Lock()
				defer mu.Unlock()
				codes[apperr.CodeOf(err)]++
			}()
		}
		wg.Wait()
		if codes[apperr.Unauthenticated]+codes[apperr.Forbidden]+codes[apperr.RateLimited] != 20 || codes[apperr.Unauthenticated] > 4 {
			t.Fatalf("answers to 20 wrong PINs: %v", codes)
		}
		checked := codes[apperr.Unauthenticated]
		for i := 0; i < 10; i++ {
			_, err := e.w.Approve(e.ctx, alice.ID, r.ID, "0000")
			if apperr.Is(err, apperr.Forbidden) {
				break
			}
			if !apperr.Is(err, apperr.Unauthenticated) {
				t.Fatalf("wrong PIN: %v", err)
			}
			checked++
		}
		if checked > 4 {
			t.Fatalf("%d wrong PINs answered as wrong: the 5th must lock", checked)
		}
		// Locked: even the right PIN is refused, without a hash computed.
		if _, err := e.w.Approve(e.ctx, alice.ID, r.ID, "1234"); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("locked wallet: %v", err)
		}
		e.clk.Advance(31 * time.Minute)
		_, err = e.w.Approve(e.ctx, alice.ID, r.ID, "1234")
		ok(t, err)
	})
}

// TestCallbackURLRefusedAtCreation: on an installation that does not allow
// private webhook targets, a money request whose callback URL points at a
// private address is refused when the merchant creates it, and nothing is
// stored.
func TestCallbackURLRefusedAtCreation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		shop := e.corporate("shop", false)
		e.customer("payer")
		gen := ids.New(rand.NewChaCha8([32]byte{9}))
		cipher, err := outbox.NewAESGCM(bytes.Repeat([]byte{3}, 32))
		ok(t, err)
		strict, err := outbox.NewWebhooks(e.ob, nil, outbox.WebhookOptions{Cipher: cipher})
		ok(t, err)
		w, err := wallet.New(e.ctx, wallet.Deps{DB: db, Clock: e.clk, IDs: gen, Ledger: ledger.New(db, e.clk, gen), Outbox: e.ob, Webhook: strict, Tenants: e.plat},
			wallet.Config{Pepper: bytes.Repeat([]byte{7}, 32), SecretKey: bytes.Repeat([]byte{5}, 32), Argon2: cheapArgon2()})
		ok(t, err)
		for _, u := range []string{"http://127.0.0.1:9/cb", "http://10.1.2.3/cb", "http://169.254.169.254/latest", "http://[::1]/cb"} {
			_, err := w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "payer", Amount: "1.00", Currency: "EUR",
				Description: "item", CallbackURL: u})
			if ae := apperr.From(err); err == nil || ae.Code != apperr.Invalid || ae.Field != "callbackUrl" {
				t.Fatalf("callback %s: err = %v, want Invalid on callbackUrl", u, err)
			}
		}
		// An orderId is one line of the callback's control message.
		_, err = e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "payer", Amount: "1.00", Currency: "EUR",
			Description: "item", CallbackURL: "https://shop.example/cb", OrderID: "A-1\napproved"})
		if ae := apperr.From(err); err == nil || ae.Code != apperr.Invalid || ae.Field != "orderId" {
			t.Fatalf("orderId with a line break: %v", err)
		}
		var n int
		ok(t, db.Read().QueryRowContext(e.ctx, "SELECT COUNT(*) FROM wallet_requests").Scan(&n))
		if n != 0 {
			t.Fatalf("%d money requests stored after refusals", n)
		}
	})
}
