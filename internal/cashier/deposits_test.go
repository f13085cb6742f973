package cashier_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/cashier"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

const (
	card3DS    = `{"number":"4000000000000002","expiryMonth":"05","expiryYear":"30","cvc":"123","holderName":"Ann Smith"}`
	cardPlain  = `{"number":"4000000000000010","expiryMonth":"05","expiryYear":"30","cvc":"123"}`
	cardRefuse = `{"number":"4000000000000044","expiryMonth":"05","expiryYear":"30","cvc":"123"}`
)

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// challenge completes (or fails) a deposit's 3-D Secure challenge on its
// page as a browser would, and returns the outcome page's text.
func (v *env) challenge(action string, pass bool) string {
	v.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(action)
	if err != nil {
		v.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRE.FindSubmatch(page)
	u, _ := url.Parse(action)
	if resp.StatusCode != 200 || m == nil || !strings.Contains(string(page), `id="authenticate"`) {
		v.t.Fatalf("challenge page: %d %s", resp.StatusCode, page)
	}
	result := "failure"
	if pass {
		result = "success"
	}
	form := url.Values{"csrf": {string(m[1])}, "c": {u.Query().Get("c")}, "result": {result}}
	req, _ := http.NewRequest("POST", v.Server.URL+u.Path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", v.Server.URL)
	resp, err = c.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		v.t.Fatalf("challenge post: %d %s", resp.StatusCode, out)
	}
	return string(out)
}

// TestCardDeposits: free and fixed deposits by card through the Payment
// API — a card without 3-D Secure captured at once, an enrolled card
// through its challenge page (passed, failed), a declined card — each
// with its ledger effect on the customer's balance and its webhooks.
func TestCardDeposits(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 1)
			v.settings("")
			v.customer("c-1", "EUR", "")

			d := v.deposit(`{"customerId":"c-1","psp":"card","amount":"25.00","reference":"dep-1","card":`+cardPlain+`}`, "Idempotency-Key", "k1")
			if d.Status != cashier.DepositCaptured || d.CapturedAmount != "25.00" || d.Payer == nil || *d.Payer != "400000******0010" {
				t.Fatalf("plain card: %+v", d)
			}
			again := v.call("POST", "/cashier/v1/deposits", `{"customerId":"c-1","psp":"card","amount":"25.00","reference":"dep-1","card":`+cardPlain+`}`, "Idempotency-Key", "k1")
			if again.Status != 201 || again.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("replay: %d %s", again.Status, again.Body)
			}
			if e.Name == "sqlite" {
				apptest.Golden(t, *update, "deposit_card.json", v.normalize(again.Body))
			}
			if r := v.call("POST", "/cashier/v1/deposits", `{"customerId":"c-1","psp":"card","amount":"1.00","reference":"dep-1","card":`+cardPlain+`}`); r.Status != 409 {
				t.Fatalf("a second deposit with reference dep-1: %d %s", r.Status, r.Body)
			}

			d3 := v.deposit(`{"customerId":"c-1","psp":"card","amount":"10.00","card":` + card3DS + `,"returnUrl":"https://shop.example/back"}`)
			if d3.Status != cashier.DepositPending || d3.Action == nil || !strings.HasPrefix(d3.Action.URL, v.Server.URL+"/cashier/3ds/"+d3.ID) {
				t.Fatalf("3-D Secure card: %+v", d3)
			}
			if page := v.challenge(d3.Action.URL, true); !strings.Contains(page, "was accepted") || !strings.Contains(page, "https://shop.example/back?depositId="+d3.ID+"&amp;status=captured") {
				t.Fatalf("outcome page: %s", page)
			}
			if got := v.getDeposit(d3.ID); got.Status != cashier.DepositCaptured || got.Action != nil {
				t.Fatalf("after the challenge: %+v", got)
			}

			failed := v.deposit(`{"customerId":"c-1","psp":"card","amount":"7.00","card":` + card3DS + `}`)
			v.challenge(failed.Action.URL, false)
			if got := v.getDeposit(failed.ID); got.Status != cashier.DepositDeclined || *got.Reason != "3ds_failed" {
				t.Fatalf("failed challenge: %+v", got)
			}
			if r := v.Do("GET", strings.TrimPrefix(failed.Action.URL, v.Server.URL), nil, nil); !strings.Contains(string(r.Body), "not accepted") {
				t.Fatalf("a used challenge shows the outcome: %s", r.Body)
			}
			refused := v.deposit(`{"customerId":"c-1","psp":"card","amount":"3.00","card":` + cardRefuse + `}`)
			if refused.Status != cashier.DepositDeclined || *refused.Reason != "refused" {
				t.Fatalf("declined card: %+v", refused)
			}

			if b := v.balance("c-1"); b.Available != "35.00" || b.Deposited != "35.00" || b.PendingDeposits != "0.00" {
				t.Fatalf("balance: %+v", b)
			}
			v.RunDue()
			if v.hooks.count("cashier.deposit.captured") != 2 || v.hooks.count("cashier.deposit.declined") != 2 || v.hooks.count("cashier.deposit.created") != 4 {
				t.Fatalf("webhooks: %v (%d unverified)", v.hooks.got, v.hooks.bad)
			}
		})
	}
}

// TestFixedDeposits: a tenant with fixed deposits pays orders (sessions):
// a deposit must name its session and match its amount, and an order is
// paid once; by card through 3-D Secure and by wallet.
func TestFixedDeposits(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 2)
			v.settings(`{"depositAmount":"fixed"}`)
			v.customer("c-1", "EUR", "")
			alice := v.walletUser("alice", "100.00", "EUR")
			if r := v.call("POST", "/cashier/v1/sessions", `{"customerId":"c-1","intent":"deposit","orderReference":"o-1"}`); r.Status != 400 || !strings.Contains(string(r.Body), "fixed") {
				t.Fatalf("a session without amount: %d %s", r.Status, r.Body)
			}
			var s1 cashier.Session
			v.want(v.call("POST", "/cashier/v1/sessions", `{"customerId":"c-1","intent":"deposit","amount":"40.00","orderReference":"o-1","returnUrl":"https://shop.example/o-1"}`), 201, &s1)
			if !strings.HasPrefix(s1.URL, v.Server.URL+"/cashier/s/") || s1.Amount == nil || *s1.Amount != "40.00" {
				t.Fatalf("session: %+v", s1)
			}
			if r := v.call("POST", "/cashier/v1/deposits", `{"customerId":"c-1","psp":"card","amount":"40.00","card":`+cardPlain+`}`); r.Status != 400 || !strings.Contains(string(r.Body), "sessionId") {
				t.Fatalf("a fixed deposit without its order: %d %s", r.Status, r.Body)
			}
			if r := v.call("POST", "/cashier/v1/deposits", `{"customerId":"c-1","psp":"card","amount":"39.99","sessionId":"`+s1.ID+`","card":`+cardPlain+`}`); r.Status != 400 || !strings.Contains(string(r.Body), "match the order") {
				t.Fatalf("another amount: %d %s", r.Status, r.Body)
			}
			d := v.deposit(`{"customerId":"c-1","psp":"card","sessionId":"` + s1.ID + `","card":` + card3DS + `}`)
			if d.Amount != "40.00" || d.Status != cashier.DepositPending {
				t.Fatalf("fixed deposit: %+v", d)
			}
			if r := v.call("POST", "/cashier/v1/deposits", `{"customerId":"c-1","psp":"card","sessionId":"`+s1.ID+`","card":`+cardPlain+`}`); r.Status != 409 {
				t.Fatalf("a second deposit while the first is under way: %d %s", r.Status, r.Body)
			}
			if page := v.challenge(d.Action.URL, true); !strings.Contains(page, "https://shop.example/o-1?depositId=") {
				t.Fatalf("back to the session's returnUrl: %s", page)
			}
			var done cashier.Session
			v.want(v.call("GET", "/cashier/v1/sessions/"+s1.ID, ""), 200, &done)
			if done.Status != cashier.SessionComplete || *done.ObjectID != d.ID {
				t.Fatalf("session after the deposit: %+v", done)
			}
			if r := v.call("POST", "/cashier/v1/deposits", `{"customerId":"c-1","psp":"card","sessionId":"`+s1.ID+`","card":`+cardPlain+`}`); r.Status != 409 {
				t.Fatalf("paying a paid order: %d %s", r.Status, r.Body)
			}

			var s2 cashier.Session
			v.want(v.call("POST", "/cashier/v1/sessions", `{"customerId":"c-1","intent":"deposit","amount":"12.50","orderReference":"o-2"}`), 201, &s2)
			w := v.deposit(`{"customerId":"c-1","psp":"wallet","sessionId":"` + s2.ID + `","wallet":{"username":"alice","password":"alice-password","pin":"1234"}}`)
			if w.Status != cashier.DepositCaptured || *w.Payer != alice.AccountNumber {
				t.Fatalf("wallet deposit: %+v", w)
			}
			if b := v.balance("c-1"); b.Available != "52.50" {
				t.Fatalf("balance: %+v", b)
			}
			v.Clock.Advance(31 * time.Minute)
			var s3 cashier.Session
			v.want(v.call("POST", "/cashier/v1/sessions", `{"customerId":"c-1","intent":"deposit","amount":"5.00","orderReference":"o-3","expiresIn":60}`), 201, &s3)
			v.Clock.Advance(2 * time.Minute)
			if r := v.call("POST", "/cashier/v1/deposits", `{"customerId":"c-1","psp":"card","sessionId":"`+s3.ID+`","card":`+cardPlain+`}`); r.Status != 409 || !strings.Contains(string(r.Body), "expired") {
				t.Fatalf("an expired session: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestFreeDeposits: free deposits are validated by the Platform's signed
// synchronous callback: approved, refused with a reason, and a callback
// that does not answer in time (refused by default, accepted when the
// tenant says so); by wallet (a wrong PIN and a short balance decline).
func TestFreeDeposits(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 3)
			v.settings(`{"validation":{"url":"` + v.crm.srv.URL + `/validate","timeoutMs":300}}`)
			v.customer("c-1", "EUR", "")
			v.walletUser("bob", "20.00", "EUR")
			wallet := func(pin, amount string) string {
				return `{"customerId":"c-1","psp":"wallet","amount":"` + amount + `","wallet":{"username":"bob","password":"bob-password","pin":"` + pin + `"}}`
			}
			d := v.deposit(wallet("1234", "15.00"))
			if d.Status != cashier.DepositCaptured || v.crm.callCount("/validate") != 1 {
				t.Fatalf("validated wallet deposit: %+v, %d calls", d, v.crm.callCount("/validate"))
			}
			if short := v.deposit(wallet("1234", "9.00")); short.Status != cashier.DepositDeclined || *short.Reason != "insufficient_funds" {
				t.Fatalf("short balance: %+v", short)
			}
			if wrong := v.deposit(wallet("9999", "1.00")); wrong.Status != cashier.DepositDeclined || *wrong.Reason != "wrong_pin" {
				t.Fatalf("wrong PIN: %+v", wrong)
			}
			v.crm.set(func(c *crmSite) { c.approve, c.reason = false, "responsible gaming limit" })
			if r := v.call("POST", "/cashier/v1/deposits", wallet("1234", "1.00")); r.Status != 403 || !strings.Contains(string(r.Body), "responsible gaming limit") {
				t.Fatalf("refused by the Platform: %d %s", r.Status, r.Body)
			}
			v.crm.set(func(c *crmSite) { c.approve, c.delay = true, time.Second })
			if r := v.call("POST", "/cashier/v1/deposits", wallet("1234", "1.00")); r.Status != 503 || !strings.Contains(string(r.Body), "did not answer") {
				t.Fatalf("validation timeout: %d %s", r.Status, r.Body)
			}
			v.settings(`{"validation":{"url":"` + v.crm.srv.URL + `/validate","timeoutMs":300,"onTimeout":"accept"}}`)
			if d := v.deposit(wallet("1234", "1.00")); d.Status != cashier.DepositCaptured {
				t.Fatalf("accepted on timeout: %+v", d)
			}
			v.crm.mu.Lock()
			unsigned := v.crm.unsigned
			v.crm.mu.Unlock()
			if unsigned != 0 {
				t.Fatalf("%d callbacks with a bad signature", unsigned)
			}
			if b := v.balance("c-1"); b.Available != "16.00" {
				t.Fatalf("balance: %+v", b)
			}
		})
	}
}
