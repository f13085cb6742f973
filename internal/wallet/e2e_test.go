package wallet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cashgate/cashgate/internal/app"
	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/browsertest"
	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// stack is the whole cashgate on one engine over HTTP, with a fake clock:
// an apptest.App for tests; the wallet's calls wrap its server with the
// wallet's authentication.
type stack struct {
	a   *app.App
	srv *httptest.Server
	clk *clock.Fake
}

// newStack runs cashgate on engine e (apptest: fake clock at epoch, seeded
// randomness, ledger invariants checked when the test ends).
func newStack(t testing.TB, e storetest.Engine) *stack {
	t.Helper()
	h := apptest.New(t, e, apptest.Options{Seed: 1})
	return &stack{a: h.App, srv: h.Server, clk: h.Clock}
}

type resp struct {
	status int
	body   []byte
}

func (r resp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s: %v", r.body, err)
	}
}

func (s *stack) call(t *testing.T, method, path, auth string, body any) resp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.srv.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	return send(t, req, nil)
}

// send sends req with the extra headers hdr and reads the answer.
func send(t *testing.T, req *http.Request, hdr map[string]string) resp {
	t.Helper()
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, b}
}

func (s *stack) must(t *testing.T, want int, method, path, auth string, body any, out any) {
	t.Helper()
	r := s.call(t, method, path, auth, body)
	if r.status != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, r.status, r.body, want)
	}
	if out != nil {
		r.decode(t, out)
	}
}

// merchantToken asks for a salt and builds the token as a merchant backend does.
// apiForAll opens the merchant API to Corporate accounts too (the
// installation setting; by default it is Corporate+'s only, as the guide's
// table says), for the tests whose merchant is a Corporate one.
func apiForAll(t *testing.T, w *wallet.Service) {
	t.Helper()
	if _, err := w.SetAPIAccessRule(t.Context(), wallet.APIAccess{CorporatePlusOnly: false}); err != nil {
		t.Fatal(err)
	}
}

func (s *stack) merchantToken(t *testing.T, c wallet.CorporateCreated) string {
	var salt wallet.MerchantSalt
	s.must(t, 201, "POST", "/wallet/api/v1/auth/salt", "", wallet.MerchantSaltRequest{MerchantID: c.MerchantID}, &salt)
	return wallet.MerchantToken(c.MerchantID, c.MerchantSecret, salt.Salt)
}

// TestEndToEnd: a merchant requests money, the customer approves it with
// the PIN in headless Chromium, the callback arrives and verifies, the
// merchant checks the status, lists transactions and refunds.
func TestEndToEnd(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			s := newStack(t, e)
			ctx := context.Background()
			w := s.a.Wallet.Service
			site := newMerchantSite(t, 0)
			shop, err := w.CreateCorporate(ctx, wallet.CorporateSpec{CompanyName: "Coffee Shop", Mode: platform.Production, Username: "coffee",
				Password: "coffee-password", PIN: "4321", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"})
			ok(t, err)

			// The customer signs up and is topped up by the operator.
			var alice wallet.WalletUser
			s.must(t, 201, "POST", "/wallet/app/v1/signup", "", wallet.WalletSignUp{Username: "alice", Password: "alice-password", PIN: "1234"}, &alice)
			_, err = w.CreditTopUp(ctx, wallet.TopUp{Reference: alice.TopUpReference, Amount: "20.00", BankReference: "BANK-1"})
			ok(t, err)

			// Merchant: token, check, request. The shop is Corporate: the API
			// is Corporate+'s (seed 000's table) until the operator opens it
			// to every corporate account.
			tok := s.merchantToken(t, shop)
			if r := s.call(t, "GET", "/wallet/api/v1/auth/token", tok, nil); r.status != 403 || !strings.Contains(string(r.body), "Corporate+") {
				t.Fatalf("a Corporate merchant's API call: %d %s", r.status, r.body)
			}
			apiForAll(t, w)
			var m wallet.MerchantAuth
			s.must(t, 200, "GET", "/wallet/api/v1/auth/token", tok, nil, &m)
			if m.MerchantID != shop.MerchantID {
				t.Fatalf("token check %+v", m)
			}
			if r := s.call(t, "GET", "/wallet/api/v1/auth/token", tok[:len(tok)-1]+"0", nil); r.status != 401 || !strings.Contains(string(r.body), `"code":"unauthenticated"`) {
				t.Fatalf("forged token: %d %s", r.status, r.body)
			}
			// Bad input: a clear error in the wallet format, nothing recorded.
			r := s.call(t, "POST", "/wallet/api/v1/requests", tok, map[string]any{"username": "alice", "amount": "abc", "currency": "EUR", "description": "x", "callbackUrl": site.srv.URL})
			if r.status != 400 || !strings.Contains(string(r.body), `"field":"amount"`) {
				t.Fatalf("bad amount: %d %s", r.status, r.body)
			}
			r = s.call(t, "POST", "/wallet/api/v1/requests", tok, map[string]any{"username": "alice", "amount": "250.00", "currency": "EUR", "description": "x", "callbackUrl": site.srv.URL})
			if r.status != 422 || !strings.Contains(string(r.body), `"limit":"max_per_transaction"`) {
				t.Fatalf("over the limit: %d %s", r.status, r.body)
			}
			var req wallet.MoneyRequest
			s.must(t, 201, "POST", "/wallet/api/v1/requests", tok, wallet.MoneyRequestSpec{Username: "alice", Amount: "4.50", Currency: "EUR",
				Description: "Cappuccino and croissant", CallbackURL: site.srv.URL + "/callback", OrderID: "A-17", TimeFrame: 900}, &req)

			// The customer approves in the browser.
			bctx := browsertest.New(t, 60*time.Second)
			if err := chromedp.Do(bctx,
				chromedp.Navigate(s.srv.URL+"/wallet/"),
				chromedp.WaitVisible(chromedp.CSS("#login-form")),
				chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
				chromedp.SendKeys(chromedp.CSS("#password"), "alice-password"),
				chromedp.Click(chromedp.CSS("#login-btn")),
				chromedp.WaitVisible(chromedp.CSS(`[data-request="`+req.ID+`"] input.pin`)),
				chromedp.SendKeys(chromedp.CSS(`[data-request="`+req.ID+`"] input.pin`), "1234"),
				chromedp.Click(chromedp.CSS(`[data-request="`+req.ID+`"] button.approve`)),
				chromedp.WaitVisible(chromedp.CSS("#msg.ok")),
			); err != nil {
				t.Fatal(err)
			}
			msg, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#msg")))
			ok(t, err)
			if !strings.Contains(msg, "Paid 4.50 EUR to Coffee Shop") {
				t.Fatalf("the page says %q", msg)
			}
			// #msg.ok appears before the page's refresh after the approval
			// has landed, and the top-up's row is already in the table:
			// wait for the payment's row (balance and rows come from the
			// same refresh, the balance first).
			if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`Array.from(document.querySelectorAll("#transactions tr[data-tx] td:nth-child(2)")).some((td) => td.textContent === "payment")`,
				chromedp.WithPollingMutation())); err != nil {
				t.Fatal(err)
			}
			bal, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#balance")))
			ok(t, err)
			if bal != "15.50" {
				t.Fatalf("the page shows balance %q", bal)
			}

			// The callback arrives and verifies.
			if _, err := s.a.Runner.RunDue(ctx); err != nil {
				t.Fatal(err)
			}
			bodies := site.received()
			if len(bodies) != 1 {
				t.Fatalf("%d callbacks", len(bodies))
			}
			cb, err := wallet.VerifyCallback(shop.MerchantSecret, bodies[0])
			ok(t, err)
			if cb.Status != "approved" || cb.RequestID != req.ID || cb.OrderID != "A-17" || cb.Amount != "4.50" || cb.Fee != "0.27" {
				t.Fatalf("callback %+v", cb)
			}
			// Status check and the merchant's transaction list.
			var st wallet.MoneyRequest
			s.must(t, 200, "GET", "/wallet/api/v1/requests/"+req.ID, tok, nil, &st)
			if st.Status != wallet.StatusApproved {
				t.Fatalf("status %s", st.Status)
			}
			var page wallet.WalletTransactionPage
			s.must(t, 200, "GET", "/wallet/api/v1/transactions?type=payment&minAmount=4.00&from=2026-11-21", tok, nil, &page)
			if len(page.Transactions) != 1 || page.Transactions[0].Fee != "0.27" || page.Transactions[0].Net != "4.23" {
				t.Fatalf("merchant transactions %+v", page.Transactions)
			}
			// Refund part, then refuse more than paid.
			var refund wallet.WalletTransaction
			s.must(t, 201, "POST", "/wallet/api/v1/requests/"+req.ID+"/refunds", tok, wallet.MoneyRequestRefund{Amount: "1.50", Reason: "croissant sold out"}, &refund)
			r = s.call(t, "POST", "/wallet/api/v1/requests/"+req.ID+"/refunds", tok, wallet.MoneyRequestRefund{Amount: "3.01"})
			if r.status != 400 {
				t.Fatalf("over-refund: %d %s", r.status, r.body)
			}
			s.must(t, 200, "GET", "/wallet/api/v1/requests/"+req.ID, tok, nil, &st)
			if st.Status != wallet.StatusPartiallyRefunded || st.Refunded != "1.50" {
				t.Fatalf("after refund %+v", st)
			}
			if err := ledger.CheckInvariants(ctx, s.a.DB.Read()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// benchClients is the number of concurrent HTTP clients of BenchmarkSendsHTTP.
const benchClients = 16

// BenchmarkSendsHTTP measures wallet-to-wallet sends over HTTP on SQLite,
// as `cashgate bench --scenario sends` does, from benchClients clients between Corporate+ wallets.
func BenchmarkSendsHTTP(b *testing.B) {
	s := newStack(b, storetest.Engines()[0]) // SQLite
	s.clk.Set(time.Now())                    // sessions stay valid while the benchmark runs
	ctx := context.Background()
	w := s.a.Wallet.Service
	var names, tokens []string
	for i := 0; i < 8; i++ {
		name := fmt.Sprintf("bench%d", i)
		c, err := w.CreateCorporate(ctx, wallet.CorporateSpec{CompanyName: name, Mode: platform.Production, Username: name, Password: "bench-password",
			PIN: "1234", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.ApproveUpgrade(ctx, c.TenantID, true); err != nil {
			b.Fatal(err)
		}
		if _, err := w.CreditTopUp(ctx, wallet.TopUp{Reference: c.User.TopUpReference, Amount: "1000000.00", BankReference: name}); err != nil {
			b.Fatal(err)
		}
		sess, err := w.Login(ctx, name, "bench-password")
		if err != nil {
			b.Fatal(err)
		}
		names, tokens = append(names, name), append(tokens, sess.Token)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var n atomic.Int64
	b.SetParallelism(benchClients / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	start := time.Now()
	var mu sync.Mutex
	var firstErr error
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(uint64(n.Add(1)), 1))
		for pb.Next() {
			i := rng.IntN(len(names))
			j := (i + 1 + rng.IntN(len(names)-1)) % len(names)
			body := fmt.Sprintf(`{"to":%q,"amount":"0.%02d"}`, names[j], 20+rng.IntN(80))
			req, _ := http.NewRequest("POST", s.srv.URL+"/wallet/app/v1/send", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tokens[i])
			res, err := client.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 201 {
					err = fmt.Errorf("status %d", res.StatusCode)
				}
			}
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sends/s")
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	if err := ledger.CheckInvariants(ctx, s.a.DB.Read()); err != nil {
		b.Fatal(err)
	}
}
