package remote_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/browsertest"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/remote"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

var update = flag.Bool("update", false, "rewrite golden files")

// merchantSite is the merchant's return page: it records the query the
// payer's browser arrives with.
type merchantSite struct {
	srv  *httptest.Server
	mu   sync.Mutex
	last url.Values
}

func newMerchantSite(t *testing.T) *merchantSite {
	m := &merchantSite{}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/return" {
			http.NotFound(w, r) // the browser's /favicon.ico
			return
		}
		m.mu.Lock()
		m.last = r.URL.Query()
		m.mu.Unlock()
		_, _ = w.Write([]byte(`<!doctype html><title>Shop</title><p id="thanks">Thank you</p>`))
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *merchantSite) arrived() url.Values {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last
}

// hookSink is a webhook endpoint recording the event types it receives.
type hookSink struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []string
}

func newHookSink(t *testing.T) *hookSink {
	h := &hookSink{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Type string `json:"type"`
		}
		_ = json.NewDecoder(r.Body).Decode(&ev)
		if r.Header.Get("webhook-signature") == "" {
			http.Error(w, "unsigned", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.got = append(h.got, ev.Type)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookSink) types() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got...)
}

type app struct {
	*apptest.App
	t *testing.T
}

func (a app) api(method, path, key string, body string, hdr ...string) apptest.Reply {
	a.t.Helper()
	h := map[string]string{"api-key": key}
	for i := 0; i+1 < len(hdr); i += 2 {
		h[hdr[i]] = hdr[i+1]
	}
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	return a.Do(method, path, b, h)
}

// normalize replaces the test servers' random addresses in a wire body.
func (a app) normalize(b []byte, site *merchantSite) []byte {
	b = bytes.ReplaceAll(b, []byte(site.srv.URL), []byte("https://shop.example"))
	return bytes.ReplaceAll(b, []byte(a.Server.URL), []byte("https://pay.cashgate.test"))
}

// customer signs a private wallet user up and tops it up in currency.
func (a app) customer(name, amount, currency string) wallet.WalletUser {
	a.t.Helper()
	ctx := context.Background()
	w := a.App.App.Wallet.Service
	u, err := w.SignUp(ctx, wallet.SignUp{Username: name, Password: name + "-password", PIN: "1234"})
	if err != nil {
		a.t.Fatal(err)
	}
	if err := w.SetSandboxTopUps(ctx, true); err != nil {
		a.t.Fatal(err)
	}
	if _, err := w.SimulateTopUp(ctx, u.ID, amount, currency); err != nil {
		a.t.Fatal(err)
	}
	return u
}

// TestRemotePaymentEndToEnd: the merchant's backend creates a payment with
// its APP key (golden wire format; the same Idempotency-Key replays it); the
// user pays it in headless Chromium with the wallet (log in, PIN) and comes
// back to the merchant's redirectUrl with paymentId and status; the backend
// re-reads it by id; a refund returns the money; another tenant sees
// nothing of it.
func TestRemotePaymentEndToEnd(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			a := app{App: apptest.New(t, e, apptest.Options{Seed: 4}), t: t}
			key := a.Tenant.APIKey
			site := newMerchantSite(t)
			alice := a.customer("alice", "150.00", "USD")
			hooks := newHookSink(t)
			if r := a.api("POST", "/platform/webhooks/endpoints", key, `{"url":"`+hooks.srv.URL+`","eventTypes":["remote.*"]}`); r.Status != 201 {
				t.Fatalf("webhook endpoint: %d %s", r.Status, r.Body)
			}

			body := `{"amount":10098,"currency":"USD","note":"Order ORD-12345","metadata":{"orderId":"ORD-12345","customerId":"CUST-678"},"redirectUrl":"` + site.srv.URL + `/return"}`
			created := a.api("POST", "/remote/v1/payments", key, body, "Idempotency-Key", "order-12345")
			if created.Status != 201 {
				t.Fatalf("create: %d %s", created.Status, created.Body)
			}
			again := a.api("POST", "/remote/v1/payments", key, body, "Idempotency-Key", "order-12345")
			if again.Status != 201 || !bytes.Equal(again.Body, created.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("replay: %d %s", again.Status, again.Body)
			}
			var p remote.Payment
			if err := json.Unmarshal(created.Body, &p); err != nil {
				t.Fatal(err)
			}
			if e.Name == "sqlite" {
				apptest.Golden(t, *update, "created.json", a.normalize(created.Body, site))
			}
			if !wallet.ValidAccountNumber(p.To) {
				t.Fatalf("to %q is not a wallet account number (the merchant's receive-only wallet)", p.To)
			}

			// The user pays on the hosted page.
			bctx := browsertest.New(t, 60*time.Second)
			if err := chromedp.Do(bctx,
				chromedp.Navigate(p.PaymentURL),
				chromedp.WaitVisible(chromedp.CSS("#login")),
				chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
				chromedp.SendKeys(chromedp.CSS("#password"), "alice-password"),
				chromedp.Click(chromedp.CSS("#login")),
				chromedp.WaitVisible(chromedp.CSS("#pin")),
			); err != nil {
				t.Fatal(err)
			}
			bal, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#balance")))
			if err != nil || bal != "150.00 USD" {
				t.Fatalf("the page shows balance %q (%v)", bal, err)
			}
			if err := chromedp.Do(bctx,
				chromedp.SendKeys(chromedp.CSS("#pin"), "1234"),
				chromedp.Click(chromedp.CSS("#pay")),
				chromedp.WaitVisible(chromedp.CSS("#thanks")),
			); err != nil {
				t.Fatal(err)
			}
			if q := site.arrived(); q.Get("paymentId") != p.ID || q.Get("status") != "paid" {
				t.Fatalf("the merchant's page got %v", q)
			}

			// The backend re-reads the status before confirming the order.
			got := a.api("GET", "/remote/v1/payments/"+p.ID, key, "")
			var paid remote.Payment
			if err := json.Unmarshal(got.Body, &paid); err != nil || paid.Status != remote.StatusPaid || paid.From == nil || *paid.From != alice.AccountNumber {
				t.Fatalf("re-read: %d %s", got.Status, got.Body)
			}
			if e.Name == "sqlite" {
				apptest.Golden(t, *update, "paid.json", a.normalize(got.Body, site))
			}
			other, err := a.App.App.Platform.CreateTenant(context.Background(), platform.TenantSpec{Name: "Other Ltd", Mode: platform.Production})
			if err != nil {
				t.Fatal(err)
			}
			if r := a.api("GET", "/remote/v1/payments/"+p.ID, other.APIKey, ""); r.Status != 404 {
				t.Fatalf("another tenant read it: %d %s", r.Status, r.Body)
			}

			// The merchant's endpoint hears of each change (Standard Webhooks).
			a.RunDue()
			if got := hooks.types(); strings.Join(slices.Sorted(slices.Values(got)), ",") != "remote.payment.created,remote.payment.paid" {
				t.Fatalf("webhooks %v", got)
			}

			// A partial refund goes back to alice's wallet.
			r := a.api("POST", "/remote/v1/payments/"+p.ID+"/refunds", key, `{"amount":98,"reason":"shipping discount"}`)
			if r.Status != 201 || !strings.Contains(string(r.Body), `"refunded_amount":98`) {
				t.Fatalf("refund: %d %s", r.Status, r.Body)
			}
			w := a.App.App.Wallet.Service
			if b, err := w.BalanceIn(context.Background(), alice.ID, "USD"); err != nil || b.Available != "50.00" {
				t.Fatalf("alice's USD after paying 100.98 and 0.98 back: %+v %v", b, err)
			}
		})
	}
}

// TestRemoteCardPaymentInBrowser: the user pays by card on the hosted page,
// passes the 3-D Secure challenge (simulator) and comes back to the
// merchant with paymentId and status; the merchant's wallet holds the
// money and a refund takes part of it back to the card.
func TestRemoteCardPaymentInBrowser(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			a := app{App: apptest.New(t, e, apptest.Options{Seed: 5}), t: t}
			key := a.Tenant.APIKey
			site := newMerchantSite(t)
			r := a.api("POST", "/remote/v1/payments", key, `{"amount":2599,"currency":"EUR","note":"Concert ticket","redirectUrl":"`+site.srv.URL+`/return"}`)
			var p remote.Payment
			if r.Status != 201 || json.Unmarshal(r.Body, &p) != nil {
				t.Fatalf("create: %d %s", r.Status, r.Body)
			}
			bctx := browsertest.New(t, 60*time.Second)
			if err := chromedp.Do(bctx,
				chromedp.Navigate(p.PaymentURL),
				chromedp.WaitVisible(chromedp.CSS("#paycard")),
				chromedp.SendKeys(chromedp.CSS("#cardNumber"), "4000 0000 0000 0002"),
				chromedp.SendKeys(chromedp.CSS("#cardHolderName"), "Alice Doe"),
				chromedp.SendKeys(chromedp.CSS("#cardExpiryMonth"), "05"),
				chromedp.SendKeys(chromedp.CSS("#cardExpiryYear"), "35"),
				chromedp.SendKeys(chromedp.CSS("#cardCvc"), "123"),
				chromedp.Click(chromedp.CSS("#paycard")),
				chromedp.WaitVisible(chromedp.CSS("#complete")),
				chromedp.Click(chromedp.CSS("#complete")),
				chromedp.WaitVisible(chromedp.CSS("#thanks")),
			); err != nil {
				t.Fatal(err)
			}
			if q := site.arrived(); q.Get("paymentId") != p.ID || q.Get("status") != "paid" {
				t.Fatalf("the merchant's page got %v", q)
			}
			got := a.api("GET", "/remote/v1/payments/"+p.ID, key, "")
			var paid remote.Payment
			if json.Unmarshal(got.Body, &paid) != nil || paid.Status != remote.StatusPaid || paid.Method == nil || *paid.Method != "card" ||
				paid.From == nil || !strings.HasSuffix(*paid.From, "0002") {
				t.Fatalf("re-read: %s", got.Body)
			}
			if r := a.api("POST", "/remote/v1/payments/"+p.ID+"/refunds", key, `{"amount":599}`); r.Status != 201 {
				t.Fatalf("refund to the card: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestFirstPaymentsOpenOneReceivingWallet: a tenant's first payment
// requests, arriving at once, open exactly one receive-only wallet and all
// name it as `to`.
func TestFirstPaymentsOpenOneReceivingWallet(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			a := app{App: apptest.New(t, e, apptest.Options{Seed: 6}), t: t}
			const n = 8
			tos := make([]string, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					r := a.Do("POST", "/remote/v1/payments", []byte(`{"amount":100,"currency":"EUR"}`), map[string]string{"api-key": a.Tenant.APIKey})
					var p remote.Payment
					if r.Status != 201 || json.Unmarshal(r.Body, &p) != nil {
						t.Errorf("create %d: %d %s", i, r.Status, r.Body)
						return
					}
					tos[i] = p.To
				})
			}
			wg.Wait()
			for _, to := range tos {
				if to != tos[0] || !wallet.ValidAccountNumber(to) {
					t.Fatalf("receiving accounts %v, want one", tos)
				}
			}
			var wallets int
			if err := a.App.App.DB.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM wallet_corporates WHERE tenant_id = $1`, a.Tenant.TenantID).Scan(&wallets); err != nil || wallets != 1 {
				t.Fatalf("%d corporate wallets (%v), want 1", wallets, err)
			}
		})
	}
}
