package backoffice_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/browsertest"
	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// TestBrowserBackOffice drives the back office in headless Chromium: the
// owner signs in → home (the chart drawn over its table) → payments → the
// page of a paid MOTO job (made through the API) → refunds half of it after
// the confirmation step → resends its webhook notification → adds an
// agent; the agent signs in and cannot change the card settings (read-only
// form; a forced post is refused). Every page is checked with axe-core (no
// serious or critical violations) and photographed at 1280 and 390 pixels
// wide into $CASHGATE_SCREENSHOTS (office-*.png).
func TestBrowserBackOffice(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := browsertest.New(t, 120*time.Second)
			h := apptest.New(t, e, apptest.Options{})
			shots := func(string) {}
			if e.Name == "sqlite" { // one set of screenshots
				shots = browsertest.Screenshotter(t, ctx, "office-")
			}
			w := newWorld(t, h)
			d := &driver{t: t, ctx: ctx, base: h.Server.URL, shot: shots}
			ownerSteps(d, h, w)
			agentSteps(d, h)
		})
	}
}

// world is what the test makes through the APIs before browsing.
type world struct {
	job, pay, remote, request string
	hits                      *atomic.Int32
}

func newWorld(t *testing.T, h *apptest.App) *world {
	t.Helper()
	w := &world{hits: &atomic.Int32{}}
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.hits.Add(1)
		b, _ := io.ReadAll(r.Body) // the gateway's acknowledgement: 200 echoing the references
		_, _ = rw.Write(b)
	}))
	t.Cleanup(hook.Close)
	st, _ := json.Marshal(gateway.GatewaySettings{AutoCapture: true, WebhookURL: hook.URL + "/notify"})
	if r := h.Do("PUT", "/platform/gateway/settings", st, map[string]string{"api-key": h.Tenant.APIKey}); r.Status != 200 {
		t.Fatalf("settings: %d %s", r.Status, r.Body)
	}
	gw := func(body string) map[string]any {
		r := h.Do("POST", "/api/gateway/payment-jobs", []byte(body), map[string]string{"ConfigurationId": h.Tenant.ConfigurationID,
			"Hash": gateway.HashOf(h.Tenant.SigningKey, []byte(body))})
		if r.Status != http.StatusCreated {
			t.Fatalf("payment job: %d %s", r.Status, r.Body)
		}
		return r.JSON(t)["data"].(map[string]any)
	}
	const moto = `{"paymentMethodsToUse":["creditcard"],"parameters":{"cardNumber":"CARD","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"28"},"order":{"orderNumber":"ORDER"},"options":["IsMoto"],"currency":"GBP","amountToCollect":"AMOUNT"}`
	job := gw(strings.NewReplacer("CARD", "4000000000000010", "ORDER", "ORD-1001", "AMOUNT", "10.00").Replace(moto))
	w.job, w.pay = job["reference"].(string), job["payments"].([]any)[0].(map[string]any)["reference"].(string)
	gw(strings.NewReplacer("CARD", "4000000000000044", "ORDER", "ORD-1002", "AMOUNT", "7.50").Replace(moto)) // declined
	h.RunDue()                                                                                               // the notification's first attempt
	r := h.Do("POST", "/remote/v1/payments", []byte(`{"amount":1250,"currency":"EUR","note":"Order 1003","metadata":{"orderId":"ORD-1003"}}`),
		map[string]string{"api-key": h.Tenant.APIKey})
	if r.Status != http.StatusCreated {
		t.Fatalf("remote payment: %d %s", r.Status, r.Body)
	}
	w.remote = r.JSON(t)["id"].(string)
	w.request = moneyRequest(t, h)
	return w
}

// moneyRequest opens the tenant's corporate wallet and has a customer
// approve a money request of it; it returns the request's id.
func moneyRequest(t *testing.T, h *apptest.App) string {
	t.Helper()
	ctx := context.Background()
	ws := h.App.Wallet.Service
	if _, err := ws.OpenCorporate(ctx, h.Tenant.TenantID, wallet.CorporateSpec{CompanyName: "Acme Ltd", Username: "acme", Password: "acme-password",
		PIN: "4321", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"}); err != nil {
		t.Fatal(err)
	}
	u, err := ws.SignUp(ctx, wallet.SignUp{Username: "alice", Password: "alice-password", PIN: "1234"})
	if err == nil {
		err = ws.SetSandboxTopUps(ctx, true)
	}
	if err == nil {
		_, err = ws.SimulateTopUp(ctx, u.ID, "50.00", "EUR")
	}
	if err != nil {
		t.Fatal(err)
	}
	req, err := ws.CreateRequest(ctx, h.Tenant.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: "20.00", Currency: "EUR",
		Description: "Order 1004", CallbackURL: "http://127.0.0.1:9/cb", OrderID: "ORD-1004"})
	if err == nil {
		_, err = ws.Approve(ctx, u.ID, req.ID, "1234")
	}
	if err != nil {
		t.Fatal(err)
	}
	return req.ID
}

// driver runs browser steps, checking and photographing pages.
type driver struct {
	t    *testing.T
	ctx  context.Context
	base string
	shot func(string)
}

func (d *driver) step(name string, actions ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	if err := chromedp.Do(d.ctx, actions...); err != nil {
		d.t.Fatalf("%s: %v", name, err)
	}
}

// page checks the current page with axe-core and photographs it.
func (d *driver) page(name string) {
	d.t.Helper()
	browsertest.CheckAxe(d.t, d.ctx, name)
	d.shot(name)
}

func (d *driver) text(sel string) string {
	d.t.Helper()
	s, err := chromedp.Run(d.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		d.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (d *driver) eval(js string) bool {
	d.t.Helper()
	v, err := chromedp.Run(d.ctx, chromedp.Evaluate[bool](js))
	if err != nil {
		d.t.Fatalf("%s: %v", js, err)
	}
	return v
}

func (d *driver) signIn(business, user, password string) {
	d.t.Helper()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	d.step("sign-in page", chromedp.Navigate(d.base+"/office/login"), chromedp.WaitVisible(css("#business")))
	d.step("sign in as "+user, chromedp.SendKeys(css("#business"), business), chromedp.SendKeys(css("#username"), user),
		chromedp.SendKeys(css("#password"), password), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#today")))
}

func ownerSteps(d *driver, h *apptest.App, w *world) {
	t, css := d.t, func(s string) chromedp.CSS { return chromedp.CSS(s) }
	d.step("sign-in page", chromedp.Navigate(d.base+"/office/login"), chromedp.WaitVisible(css("#business")))
	d.page("01-login")
	d.signIn(h.Tenant.BusinessCode, h.Tenant.AdminUsername, h.Tenant.AdminPassword)
	d.step("chart", chromedp.WaitVisible(css("figure.kit-chart canvas")))
	// Succeeded: the MOTO payment and the money request; declined: the card 4000000000000044.
	if got := d.text("#success-rate"); got != "66.7 % (2 of 3)" {
		t.Fatalf("success rate: %q", got)
	}
	d.page("02-home")
	d.step("payments", chromedp.Click(css(`nav a[href="/office/payments"]`)), chromedp.WaitVisible(css("#payments")))
	d.page("03-payments")
	d.step("search", chromedp.SendKeys(css("#q"), "ORD-1001"), chromedp.Click(css("#apply-filters")),
		// The filtered page, not the one the click left: its field holds the search.
		chromedp.WaitVisible(css(`#q[value="ORD-1001"]`)), chromedp.WaitVisible(css("#payments")))
	d.step("job page", chromedp.Click(css(`a[href="/office/gateway/jobs/`+w.job+`"]`)), chromedp.WaitVisible(css("#job-facts")))
	d.page("04-job")
	d.step("refund half", chromedp.SetValue(css("#refund-"+w.pay), "5.00"), chromedp.Click(css("#refund-submit-"+w.pay)),
		chromedp.WaitVisible(css("#question")))
	if q := d.text("#question"); q != "Refund 5.00 GBP of payment "+w.pay+" to the card?" {
		t.Fatalf("confirmation: %q", q)
	}
	d.page("05-confirm-refund")
	d.step("confirm", chromedp.Click(css("#confirm-submit")), chromedp.WaitVisible(css("#flash")))
	if f := d.text("#flash"); f != "Refunded 5.00 GBP." || !strings.Contains(d.text("#payment-"+w.pay), "PartiallyRefunded") {
		t.Fatalf("after the refund: %q", f)
	}
	d.page("06-job-refunded")
	// The refund's flash goes, so that the wait below is for the resend's.
	d.step("resend", chromedp.Evaluate[chromedp.Void](`document.querySelector("#flash").remove()`), chromedp.Click(css(`#notifications button[id^="resend-"]`)), chromedp.WaitVisible(css("#flash")))
	if f := d.text("#flash"); !strings.Contains(f, "queued to be sent again") {
		t.Fatalf("after the resend: %q", f)
	}
	h.RunDue()
	if n := w.hits.Load(); n < 2 {
		t.Fatalf("notification attempts after the resend: %d", n)
	}
	d.step("delivery page", chromedp.Click(css(`#notifications a[href^="/office/webhooks/deliveries/"]`)), chromedp.WaitVisible(css("#attempts")))
	if !strings.Contains(d.text("#attempts"), "resend") {
		t.Fatalf("the delivery's attempts lack the resend: %q", d.text("#attempts"))
	}
	d.page("07-delivery")
	d.step("webhooks", chromedp.Navigate(d.base+"/office/webhooks"), chromedp.WaitVisible(css("#deliveries")))
	d.page("08-webhooks")
	d.step("users", chromedp.Navigate(d.base+"/office/users"), chromedp.WaitVisible(css("#add-user")))
	d.step("add an agent", chromedp.SetValue(css("#role"), "agent"), chromedp.SendKeys(css("#new-username"), "ann.agent"),
		chromedp.SendKeys(css("#new-password"), "agent password 1"), chromedp.Click(css("#add-user-submit")), chromedp.WaitVisible(css("#flash")))
	if !strings.Contains(d.text("#users"), "ann.agent") {
		t.Fatalf("users: %q", d.text("#users"))
	}
	d.page("09-users")
	for _, p := range []struct{ name, path, sel string }{
		{"10-remote-payment", "/office/remote/payments/" + w.remote, "#payment-facts"},
		{"11-money-request", "/office/wallet/requests/" + w.request, "#request-facts"},
		{"12-card-settings", "/office/gateway/settings", "#save-settings"},
		{"13-audit", "/office/audit", "#audit"},
		{"14-not-found", "/office/gateway/jobs/000000000000000000", "#error"},
	} {
		d.step(p.name, chromedp.Navigate(d.base+p.path), chromedp.WaitVisible(css(p.sel)))
		d.page(p.name)
	}
	d.step("sign out", chromedp.Click(css("#signout")), chromedp.WaitVisible(css("#login")))
}

func agentSteps(d *driver, h *apptest.App) {
	t, css := d.t, func(s string) chromedp.CSS { return chromedp.CSS(s) }
	d.signIn(h.Tenant.BusinessCode, "ann.agent", "agent password 1")
	d.step("settings as an agent", chromedp.Navigate(d.base+"/office/gateway/settings"), chromedp.WaitVisible(css("#settings-read-only")))
	if d.eval(`document.querySelector("#save-settings") !== null`) || !d.eval(`document.querySelector("#autoCapture").matches(":disabled")`) {
		t.Fatalf("the agent's settings form can be changed")
	}
	d.page("15-card-settings-agent")
	// A post made anyway (the form submitted by script) is refused.
	d.step("forced post", chromedp.Evaluate[chromedp.Void](`document.querySelector('form[action="/office/gateway/settings"]').submit()`),
		chromedp.WaitVisible(css("#error")))
	if !strings.Contains(d.text("#error"), "Only an owner") {
		t.Fatalf("forced post: %q", d.text("#error"))
	}
	d.page("16-forbidden")
	st, err := h.App.Gateway.Service.GetSettings(context.Background(), h.Tenant.TenantID)
	if err != nil || !st.AutoCapture || st.WebhookURL == "" {
		t.Fatalf("settings after the agent's post: %+v %v", st, err)
	}
}
