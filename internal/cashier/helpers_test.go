package cashier_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/cashgate/cashgate/internal/app"
	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/cashier"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

var update = flag.Bool("update", false, "rewrite golden files")

// env is a running cashgate with a tenant, its APP key, an agent's access
// token (the tenant's admin user, password grant), a webhook endpoint
// verifying every delivery and the Platform's CRM answering callbacks.
type env struct {
	*apptest.App
	t      *testing.T
	key    string
	agent  string
	hooks  *hookSink
	crm    *crmSite
	secret string // the tenant's callback secret
}

func newEnv(t *testing.T, e storetest.Engine, seed byte) *env {
	t.Helper()
	return newEnvWith(t, e, apptest.Options{Seed: seed})
}

// newEnvWith is newEnv with the app's options (opt.Seed seeds the sim too).
func newEnvWith(t *testing.T, e storetest.Engine, opt apptest.Options) *env {
	t.Helper()
	seed := opt.Seed
	opt.Config = func(c *app.Config) { c.CashierSimSeed = int(seed) }
	a := apptest.New(t, e, opt)
	v := &env{App: a, t: t, key: a.Tenant.APIKey, crm: newCRM(t, a.Clock.Now)}
	v.login()
	v.hooks = newHookSink(t)
	ep := v.call("POST", "/platform/webhooks/endpoints", `{"url":"`+v.hooks.srv.URL+`","eventTypes":["cashier.*"]}`)
	var created struct {
		Secret string `json:"secret"`
	}
	if ep.Status != 201 || json.Unmarshal(ep.Body, &created) != nil {
		t.Fatalf("webhook endpoint: %d %s", ep.Status, ep.Body)
	}
	v.hooks.verify(t, created.Secret)
	return v
}

// login gets the agent a new access token (the tenant's admin user).
func (v *env) login() {
	v.t.Helper()
	a := v.App
	form := "grant_type=password&username=" + url.QueryEscape(a.Tenant.AdminUsername) + "&password=" + url.QueryEscape(a.Tenant.AdminPassword)
	r := a.Do("POST", "/auth/oauth/token", []byte(form), map[string]string{"api-key": v.key, "Content-Type": "application/x-www-form-urlencoded"})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &tok) != nil {
		v.t.Fatalf("agent token: %d %s", r.Status, r.Body)
	}
	v.agent = tok.AccessToken
}

func hdrs(base map[string]string, kv []string) map[string]string {
	for i := 0; i+1 < len(kv); i += 2 {
		base[kv[i]] = kv[i+1]
	}
	return base
}

func body(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

// call sends a request with the APP key.
func (v *env) call(method, path, b string, kv ...string) apptest.Reply {
	v.t.Helper()
	return v.Do(method, path, body(b), hdrs(map[string]string{"api-key": v.key}, kv))
}

// agentCall sends a request as the agent: the APP key and the agent's
// bearer token (seed 001: the api-key header is always required).
func (v *env) agentCall(method, path, b string, kv ...string) apptest.Reply {
	v.t.Helper()
	return v.Do(method, path, body(b), hdrs(v.agentHeaders(), kv))
}

// agentHeaders are the agent's credentials: the APP key and its token.
func (v *env) agentHeaders() map[string]string {
	return map[string]string{"api-key": v.key, "Authorization": "Bearer " + v.agent}
}

// want fails unless r has status, and decodes its body into out.
func (v *env) want(r apptest.Reply, status int, out any) {
	v.t.Helper()
	if r.Status != status {
		v.t.Fatalf("want %d, got %d %s", status, r.Status, r.Body)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			v.t.Fatalf("%v: %s", err, r.Body)
		}
	}
}

// settings puts the tenant's settings: the JSON fields given over
// everything enabled (PSPs card, wallet, bank, sim; MOTO; free amounts).
func (v *env) settings(fields string) cashier.SettingsView {
	v.t.Helper()
	base := map[string]any{"depositPsps": []string{"card", "wallet", "bank", "sim"}, "payoutPsps": []string{"wallet", "bank", "sim"}, "moto": true,
		"bankAccount": map[string]string{"name": "Acme Ltd", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}}
	if fields != "" {
		var extra map[string]any
		if err := json.Unmarshal([]byte(fields), &extra); err != nil {
			v.t.Fatal(err)
		}
		for k, x := range extra {
			base[k] = x
		}
	}
	b, _ := json.Marshal(base)
	var out cashier.SettingsView
	v.want(v.call("PUT", "/cashier/v1/settings", string(b)), 200, &out)
	v.secret = out.CallbackSecret
	v.crm.setSecret(out.CallbackSecret)
	return out
}

// customer syncs an active customer in currency.
func (v *env) customer(id, currency, limits string) {
	v.t.Helper()
	b := `{"name":"Customer ` + id + `","email":"` + id + `@example.com","country":"GB","currency":"` + currency + `","status":"active","kycLevel":2`
	if limits != "" {
		b += `,"limits":` + limits
	}
	r := v.call("PUT", "/cashier/v1/customers/"+id, b+"}")
	if r.Status != 201 && r.Status != 200 {
		v.t.Fatalf("customer %s: %d %s", id, r.Status, r.Body)
	}
}

func (v *env) deposit(b string, kv ...string) cashier.Deposit {
	v.t.Helper()
	var d cashier.Deposit
	v.want(v.call("POST", "/cashier/v1/deposits", b, kv...), 201, &d)
	return d
}

func (v *env) getDeposit(id string) cashier.Deposit {
	v.t.Helper()
	var d cashier.Deposit
	v.want(v.call("GET", "/cashier/v1/deposits/"+id, ""), 200, &d)
	return d
}

func (v *env) payout(b string) cashier.Payout {
	v.t.Helper()
	var p cashier.Payout
	v.want(v.call("POST", "/cashier/v1/payouts", b), 201, &p)
	return p
}

func (v *env) getPayout(id string) cashier.Payout {
	v.t.Helper()
	var p cashier.Payout
	v.want(v.call("GET", "/cashier/v1/payouts/"+id, ""), 200, &p)
	return p
}

func (v *env) balance(id string) cashier.CustomerBalance {
	v.t.Helper()
	var c cashier.Customer
	v.want(v.call("GET", "/cashier/v1/customers/"+id, ""), 200, &c)
	return *c.Balance
}

// walletUser signs a wallet user up (PIN 1234) and tops it up.
func (v *env) walletUser(name, amount, currency string) wallet.WalletUser {
	v.t.Helper()
	ctx := context.Background()
	w := v.App.App.Wallet.Service
	u, err := w.SignUp(ctx, wallet.SignUp{Username: name, Password: name + "-password", PIN: "1234"})
	if err != nil {
		v.t.Fatal(err)
	}
	if err := w.SetSandboxTopUps(ctx, true); err != nil {
		v.t.Fatal(err)
	}
	if amount != "" {
		if _, err := w.SimulateTopUp(ctx, u.ID, amount, currency); err != nil {
			v.t.Fatal(err)
		}
	}
	return u
}

// later moves the clock on and runs what became due.
func (v *env) later(d time.Duration) {
	v.t.Helper()
	v.Clock.Advance(d)
	v.RunDue()
}

// hookSink is the Platform's webhook endpoint: it verifies each delivery's
// Standard Webhooks signature and records the event types.
type hookSink struct {
	srv *httptest.Server
	mu  sync.Mutex
	wh  *standardwebhooks.Webhook
	got []string
	bad int
}

func newHookSink(t *testing.T) *hookSink {
	h := &hookSink{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.wh == nil || h.wh.VerifyIgnoringTimestamp(b, r.Header) != nil { // the fake clock is far from now
			h.bad++
			http.Error(w, "bad signature", http.StatusBadRequest)
			return
		}
		var ev struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(b, &ev)
		h.got = append(h.got, ev.Type)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookSink) verify(t *testing.T, secret string) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.wh = wh
	h.mu.Unlock()
}

// count is how many verified deliveries of typ arrived.
func (h *hookSink) count(typ string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, g := range h.got {
		if g == typ {
			n++
		}
	}
	return n
}

// crmSite is the Platform's CRM: it answers the validation of free
// deposits and the balance check, verifying each call's signature.
type crmSite struct {
	srv          *httptest.Server
	mu           sync.Mutex
	secret       string
	approve      bool
	reason       string
	withdrawable string
	delay        time.Duration
	calls        []string
	unsigned     int
}

func newCRM(t *testing.T, now func() time.Time) *crmSite {
	c := &crmSite{approve: true, withdrawable: "0.00"}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		secret, delay := c.secret, c.delay
		c.mu.Unlock()
		if cashier.VerifySignature(secret, r.Header.Get(cashier.HeaderSignature), b, now()) != nil {
			c.mu.Lock()
			c.unsigned++
			c.mu.Unlock()
		}
		time.Sleep(delay)
		c.mu.Lock()
		defer c.mu.Unlock()
		c.calls = append(c.calls, r.URL.Path+" "+string(b))
		switch r.URL.Path {
		case "/validate":
			_ = json.NewEncoder(w).Encode(cashier.ValidationAnswer{Approved: c.approve, Reason: c.reason})
		case "/balance":
			_ = json.NewEncoder(w).Encode(cashier.BalanceCheckAnswer{Withdrawable: c.withdrawable})
		}
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *crmSite) setSecret(s string) {
	c.mu.Lock()
	c.secret = s
	c.mu.Unlock()
}

func (c *crmSite) set(f func(c *crmSite)) {
	c.mu.Lock()
	f(c)
	c.mu.Unlock()
}

func (c *crmSite) callCount(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, x := range c.calls {
		if strings.HasPrefix(x, prefix) {
			n++
		}
	}
	return n
}

// normalize replaces the test servers' addresses in a wire body.
func (v *env) normalize(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte(v.crm.srv.URL), []byte("https://crm.example"))
	return bytes.ReplaceAll(b, []byte(v.Server.URL), []byte("https://pay.cashgate.test"))
}
