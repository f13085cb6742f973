package cashier_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/cashier"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// form posts a hosted-cashier form as the page would.
func (v *env) form(path string, vals url.Values, kv ...string) (int, string, string) {
	v.t.Helper()
	req, _ := http.NewRequest("POST", v.Server.URL+path, strings.NewReader(vals.Encode()))
	for k, x := range hdrs(map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": v.Server.URL}, kv) {
		req.Header.Set(k, x)
	}
	resp, err := v.NoRedirect.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func (v *env) session(b string) cashier.Session {
	v.t.Helper()
	var s cashier.Session
	v.want(v.call("POST", "/cashier/v1/sessions", b), 201, &s)
	return s
}

// TestHostedCashier: the session's page offers the tenant's PSPs, takes a
// free deposit from a wallet and a payout request, shows bank-transfer
// instructions, refuses a form from another site and an expired link, and
// may be framed only by the tenant's origins.
func TestHostedCashier(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 18)
			v.settings(`{"frameAncestors":["https://shop.example"]}`)
			v.customer("c-1", "EUR", "")
			v.walletUser("bob", "50.00", "EUR")
			s := v.session(`{"customerId":"c-1","intent":"deposit","orderReference":"o-1","returnUrl":"https://shop.example/back"}`)
			path := strings.TrimPrefix(s.URL, v.Server.URL)
			page := v.Do("GET", path, nil, nil)
			if page.Status != 200 || !strings.Contains(string(page.Body), `id="card-submit"`) || !strings.Contains(string(page.Body), `id="bank-submit"`) {
				t.Fatalf("page: %d %s", page.Status, page.Body)
			}
			if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors https://shop.example;") || page.Header.Get("X-Frame-Options") != "" {
				t.Fatalf("framing headers: %q %q", csp, page.Header.Get("X-Frame-Options"))
			}
			if code, _, _ := v.form(path+"/deposit", url.Values{"psp": {"wallet"}, "amount": {"5.00"}, "username": {"bob"}, "password": {"bob-password"}, "pin": {"1234"}},
				"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); code != 403 {
				t.Fatalf("a form from another site: %d", code)
			}
			code, _, body := v.form(path+"/deposit", url.Values{"psp": {"wallet"}, "amount": {"500.00"}, "username": {"bob"}, "password": {"bob-password"}, "pin": {"1234"}})
			if code != 200 || !strings.Contains(body, "not accepted (insufficient funds)") {
				t.Fatalf("short balance: %d %s", code, body)
			}
			code, loc, body2 := v.form(path+"/deposit", url.Values{"psp": {"wallet"}, "amount": {"20.00"}, "username": {"bob"}, "password": {"bob-password"}, "pin": {"1234"}})
			if code != 303 || loc != path {
				t.Fatalf("deposit: %d %q %s", code, loc, body2)
			}
			done := string(v.Do("GET", path, nil, nil).Body)
			if !strings.Contains(done, "deposit of 20.00 EUR was accepted") || !strings.Contains(done, `href="https://shop.example/back?depositId=`) {
				t.Fatalf("done page: %s", done)
			}
			if b := v.balance("c-1"); b.Available != "20.00" {
				t.Fatalf("balance: %+v", b)
			}

			bank := v.session(`{"customerId":"c-1","intent":"deposit","orderReference":"o-2"}`)
			bpath := strings.TrimPrefix(bank.URL, v.Server.URL)
			if _, _, body := v.form(bpath+"/deposit", url.Values{"psp": {"bank"}, "amount": {"75.00"}}); !strings.Contains(body, `id="reference">CGC`) {
				t.Fatalf("bank instructions: %s", body)
			}

			p := v.session(`{"customerId":"c-1","intent":"payout","orderReference":"w-1"}`)
			ppath := strings.TrimPrefix(p.URL, v.Server.URL)
			if body := string(v.Do("GET", ppath, nil, nil).Body); !strings.Contains(body, `id="sim-account"`) {
				t.Fatalf("payout page: %s", body)
			}
			if _, _, body := v.form(ppath+"/payout", url.Values{"psp": {"sim"}, "amount": {"25.00"}, "account": {"SIM-ANN-1"}}); !strings.Contains(body, "may withdraw at most 20.00 EUR") {
				t.Fatalf("a payout past the balance: %s", body)
			}
			if code, loc, _ := v.form(ppath+"/payout", url.Values{"psp": {"sim"}, "amount": {"15.00"}, "account": {"SIM-ANN-1"}}); code != 303 || loc != ppath {
				t.Fatalf("payout: %d %q", code, loc)
			}
			var list cashier.PayoutList
			v.want(v.agentCall("GET", "/cashier/v1/agent/payouts?status=requested", ""), 200, &list)
			if len(list.Data) != 1 || list.Data[0].Channel != cashier.ChannelCashier || list.Data[0].Amount != "15.00" {
				t.Fatalf("the approval queue: %+v", list)
			}

			late := v.session(`{"customerId":"c-1","intent":"deposit","orderReference":"o-3","expiresIn":60}`)
			v.Clock.Advance(2 * time.Minute)
			if r := v.Do("GET", strings.TrimPrefix(late.URL, v.Server.URL), nil, nil); r.Status != 410 {
				t.Fatalf("an expired link: %d", r.Status)
			}
			if r := v.Do("GET", "/cashier/s/not-a-token", nil, nil); r.Status != 404 {
				t.Fatalf("an unknown link: %d", r.Status)
			}
			v.settings(`{"frameAncestors":[]}`)
			if r := v.Do("GET", path, nil, nil); !strings.Contains(r.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || r.Header.Get("X-Frame-Options") != "DENY" {
				t.Fatalf("no framing without frameAncestors: %v", r.Header)
			}
		})
	}
}
