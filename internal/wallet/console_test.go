package wallet_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// consoleClient is an operator's browser on the console: a cookie jar,
// no redirects followed, same-origin posts carrying the page's token.
type consoleClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

var consoleCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

type consoleReply struct {
	status        int
	body, loc, ct string
	header        http.Header
}

func (c *consoleClient) do(method, path string, form url.Values) consoleReply {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return consoleReply{status: resp.StatusCode, body: string(b), loc: resp.Header.Get("Location"), ct: resp.Header.Get("Content-Type"), header: resp.Header}
}

// post loads from for its token and posts form to path.
func (c *consoleClient) post(from, path string, form url.Values) consoleReply {
	c.t.Helper()
	m := consoleCSRF.FindStringSubmatch(c.do("GET", from, nil).body)
	if m == nil {
		c.t.Fatalf("no form on %s", from)
	}
	form.Set("csrf", m[1])
	return c.do("POST", path, form)
}

// flash follows a redirect and returns the flash message shown.
func (c *consoleClient) flash(r consoleReply) string {
	c.t.Helper()
	if r.status != 303 {
		c.t.Fatalf("want a redirect, got %d %s", r.status, r.body)
	}
	m := regexp.MustCompile(`id="flash">([^<]*)<`).FindStringSubmatch(c.do("GET", strings.TrimPrefix(r.loc, c.base), nil).body)
	if m == nil {
		return ""
	}
	return m[1]
}

func operatorConsole(t *testing.T, h *apptest.App) *consoleClient {
	t.Helper()
	if _, err := h.App.Portal.Console.Create(context.Background(), "ops", "operator password"); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &consoleClient{t: t, base: h.Server.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if r := c.post("/operator/login", "/operator/login", url.Values{"username": {"ops"}, "password": {"operator password"}}); r.status != 303 {
		t.Fatalf("operator sign-in: %d %s", r.status, r.body)
	}
	return c
}

// TestWalletConsole: the operator console's e-wallet page does what the
// `cashgate wallet` commands do: credit a bank transfer (once), export the
// payouts as a pain.001 download, mark the batch paid, refuse unknown
// payouts and corporates beside their fields, and set a rate.
func TestWalletConsole(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			w := h.App.Wallet.Service
			ctx := context.Background()
			if r := (&consoleClient{t: t, base: h.Server.URL, c: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}).do("GET", "/operator/wallet", nil); r.status != 303 {
				t.Fatalf("the wallet page without signing in: %d", r.status)
			}
			c := operatorConsole(t, h)
			alice, err := w.SignUp(ctx, wallet.SignUp{Username: "alice", Password: "alice-password", PIN: "1234"})
			if err != nil {
				t.Fatal(err)
			}
			credit := url.Values{"reference": {alice.TopUpReference}, "amount": {"50.00"}, "bank_reference": {"BANK-1"}}
			if msg := c.flash(c.post("/operator/wallet", "/operator/wallet/credit", credit)); !strings.Contains(msg, "Credited 50.00 EUR") {
				t.Fatalf("credit: %q", msg)
			}
			if r := c.post("/operator/wallet", "/operator/wallet/credit", credit); r.status != 422 || !strings.Contains(r.body, `id="bank_reference-error">Bank transfer BANK-1 was credited already`) {
				t.Fatalf("the same transfer again: %d %s", r.status, r.body)
			}
			if _, err := w.Withdraw(ctx, alice.ID, wallet.WalletWithdrawal{Amount: "10.00", IBAN: "DE89 3704 0044 0532 0130 00", Name: "Alice", PIN: "1234"}); err != nil {
				t.Fatal(err)
			}
			debtor := url.Values{"debtor_name": {issuer.Name}, "debtor_iban": {issuer.IBAN}, "debtor_bic": {issuer.BIC}, "date": {"2026-11-23"}}
			x := c.post("/operator/wallet", "/operator/wallet/payouts/export", debtor)
			batch := x.header.Get("X-Batch-Id")
			if x.status != 200 || x.ct != "application/xml" || !strings.Contains(x.body, "pain.001.001.03") || batch == "" ||
				!strings.Contains(x.header.Get("Content-Disposition"), "attachment") {
				t.Fatalf("export: %d %s %v", x.status, x.body, x.header)
			}
			if msg := c.flash(c.post("/operator/wallet", "/operator/wallet/payouts/export", debtor)); msg != "No payout is waiting to be exported." {
				t.Fatalf("second export: %q", msg)
			}
			if msg := c.flash(c.post("/operator/wallet", "/operator/wallet/payouts/paid", url.Values{"batch": {batch}})); msg != "1 payout (10.00 EUR) marked paid." {
				t.Fatalf("paid: %q", msg)
			}
			if r := c.post("/operator/wallet", "/operator/wallet/payouts/return", url.Values{"return_batch": {"wtx_unknown"}, "reason": {"AC04"}}); r.status != 422 {
				t.Fatalf("return of an unknown payout: %d", r.status)
			}
			if r := c.post("/operator/wallet", "/operator/wallet/upgrades/approve", url.Values{"corporate": {"ten_unknown"}}); r.status != 422 {
				t.Fatalf("upgrade of an unknown corporate: %d", r.status)
			}
			if msg := c.flash(c.post("/operator/wallet", "/operator/wallet/rates", url.Values{"currency": {"usd"}, "rate": {"0.9215"}})); msg != "1 USD = 0.9215 EUR." {
				t.Fatalf("rate: %q", msg)
			}
			if p := c.do("GET", "/operator/wallet", nil); !strings.Contains(p.body, `<td data-label="Currency">USD</td>`) {
				t.Fatalf("rates table: %s", p.body)
			}
			// Private users' limits: shown with their values, refused beside
			// the field, set for the installation.
			limits := url.Values{}
			for _, n := range wallet.LimitNames() {
				limits.Set(n, "5")
			}
			limits.Set(wallet.LimitMaxPerTransaction, "unlimited")
			limits.Set(wallet.LimitMinPerTransaction, "0.20")
			if p := c.do("GET", "/operator/wallet", nil); !strings.Contains(p.body, `name="max_per_transaction"`) || !strings.Contains(p.body, `value="200.00"`) {
				t.Fatalf("limits form: %s", p.body)
			}
			bad := url.Values{}
			for k, v := range limits {
				bad[k] = v
			}
			bad.Set(wallet.LimitPurchasesPerDay, "many")
			if r := c.post("/operator/wallet", "/operator/wallet/limits", bad); r.status != 422 || !strings.Contains(r.body, `id="purchases_per_day-error">Enter a whole number, or unlimited.`) {
				t.Fatalf("a bad limit: %d %s", r.status, r.body)
			}
			bad.Set(wallet.LimitPurchasesPerDay, "5")
			bad.Set(wallet.LimitMaxWithdrawalPerTrans, "0.10")
			if r := c.post("/operator/wallet", "/operator/wallet/limits", bad); r.status != 422 || !strings.Contains(r.body, `id="max_withdrawal_per_transaction-error">`) {
				t.Fatalf("a maximum below the minimum: %d %s", r.status, r.body)
			}
			if msg := c.flash(c.post("/operator/wallet", "/operator/wallet/limits", limits)); msg != "Private users&#39; limits are set." {
				t.Fatalf("limits: %q", msg)
			}
			got, err := w.PrivateLimits(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got.PurchasesPerDay != 5 || got.TopUpPerYear != 500 || got.MaxPerTransaction != wallet.Unlimited || got.MinPerTransaction != 20 {
				t.Fatalf("limits set %+v", got)
			}
			// The merchant API's rule: Corporate+ only until opened to all.
			if msg := c.flash(c.post("/operator/wallet", "/operator/wallet/api-access", url.Values{"who": {"Every corporate account"}})); msg != "The merchant API is for every corporate account now." {
				t.Fatalf("api access: %q", msg)
			}
			if rule, err := w.APIAccessRule(ctx); err != nil || rule.CorporatePlusOnly {
				t.Fatalf("rule %+v %v", rule, err)
			}
			if r := c.post("/operator/wallet", "/operator/wallet/api-access", url.Values{"who": {"everyone"}}); r.status != 422 || !strings.Contains(r.body, `id="who-error">Choose one of the two.`) {
				t.Fatalf("an unknown choice: %d %s", r.status, r.body)
			}
			// Wallet users: a reset shows the new credentials once; a
			// suspension needs a reason; closing needs a zero balance.
			r := c.post("/operator/wallet", "/operator/wallet/users", url.Values{"username": {"alice"}, "action": {"Reset the PIN"}})
			pin := regexp.MustCompile(`id="reset-pin">([0-9]{6})<`).FindStringSubmatch(r.body)
			if r.status != 200 || pin == nil || r.header.Get("Cache-Control") != "no-store" || strings.Contains(r.body, `id="reset-password"`) {
				t.Fatalf("reset the PIN: %d %s", r.status, r.body)
			}
			if err := w.CheckPIN(ctx, alice.ID, pin[1]); err != nil {
				t.Fatalf("the new PIN: %v", err)
			}
			if r := c.post("/operator/wallet", "/operator/wallet/users", url.Values{"username": {"alice"}, "action": {"Suspend"}}); r.status != 422 ||
				!strings.Contains(r.body, `id="reason-error">Say why the account is suspended.`) {
				t.Fatalf("a suspension without reason: %d %s", r.status, r.body)
			}
			if msg := c.flash(c.post("/operator/wallet", "/operator/wallet/users", url.Values{"username": {"alice"}, "action": {"Suspend"}, "reason": {"fraud report"}})); msg != "The account of alice is suspended." {
				t.Fatalf("suspend: %q", msg)
			}
			if r := c.post("/operator/wallet", "/operator/wallet/users", url.Values{"username": {"alice"}, "action": {"Close (zero balance only)"}}); r.status != 422 ||
				!strings.Contains(r.body, "withdraw or send the balance first") {
				t.Fatalf("closing a wallet with money: %d %s", r.status, r.body)
			}
			if r := c.post("/operator/wallet", "/operator/wallet/users", url.Values{"username": {"nobody"}, "action": {"Reactivate"}}); r.status != 422 ||
				!strings.Contains(r.body, `id="username-error">`) {
				t.Fatalf("an unknown user: %d %s", r.status, r.body)
			}
		})
	}
}
