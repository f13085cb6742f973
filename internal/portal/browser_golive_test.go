package portal_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/browsertest"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// driver drives one browser tab: steps, texts, and each page checked with
// axe-core and photographed.
type driver struct {
	t     *testing.T
	ctx   context.Context
	photo func(string)
}

func (d driver) step(name string, actions ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	if err := chromedp.Do(d.ctx, actions...); err != nil {
		d.t.Fatalf("%s: %v", name, err)
	}
}

func (d driver) text(sel string) string {
	d.t.Helper()
	s, err := chromedp.Run(d.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		d.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (d driver) eval(js string) bool {
	d.t.Helper()
	v, err := chromedp.Run(d.ctx, chromedp.Evaluate[bool](js))
	if err != nil {
		d.t.Fatalf("%s: %v", js, err)
	}
	return v
}

func (d driver) shot(name string) {
	d.t.Helper()
	browsertest.CheckAxe(d.t, d.ctx, name)
	d.photo(name)
}

func css(s string) chromedp.CSS { return chromedp.CSS(s) }

// TestBrowserGoLive drives the walk in headless Chromium: sign up →
// create company → admin user → request go-live → an operator signs in (in
// a browser context of its own) and approves → the developer sees
// production, creates a second named key with an expiry (shown once) and
// revokes it after the confirmation page. Every page is checked with
// axe-core and photographed at 1280 and 390 wide into $CASHGATE_SCREENSHOTS.
func TestBrowserGoLive(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := browsertest.New(t, 120*time.Second)
			h := apptest.New(t, e, apptest.Options{})
			photo := func(string) {}
			if e.Name == "sqlite" {
				photo = screenshotter(t, ctx)
			}
			dev := driver{t: t, ctx: ctx, photo: photo}
			developerToGoLive(dev, h)
			opCtx, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
			defer cancel()
			opPhoto := func(string) {}
			if e.Name == "sqlite" {
				opPhoto = screenshotter(t, opCtx)
			}
			operatorApproves(driver{t: t, ctx: opCtx, photo: opPhoto}, h)
			productionKeys(dev, h)
		})
	}
}

func developerToGoLive(d driver, h *apptest.App) {
	base := h.Server.URL
	d.step("sign up", chromedp.Navigate(base+"/signup"), chromedp.WaitVisible(css("#email")),
		chromedp.SendKeys(css("#email"), "ada@example.com"), chromedp.SendKeys(css("#password"), "correct horse battery"),
		chromedp.Click(css("#signup")), chromedp.WaitVisible(css("#environment")))
	d.step("keys of the sandbox", chromedp.Navigate(base+"/dashboard/keys"), chromedp.WaitVisible(css("#sandbox-one-key")))
	d.shot("10-keys-sandbox")
	d.step("go live before the profile", chromedp.Navigate(base+"/dashboard/go-live"), chromedp.WaitVisible(css("#go-live-missing")))
	d.shot("11-go-live-disabled")
	d.step("create company", chromedp.Navigate(base+"/dashboard/settings"), chromedp.WaitVisible(css("#company")),
		chromedp.SendKeys(css("#company"), "Acme Widgets Ltd"), chromedp.SetValue(css("#company-timezone"), "Europe/Berlin"),
		chromedp.Click(css("#create-company")), chromedp.WaitVisible(css("#tenant-id")))
	d.step("create admin user",
		chromedp.SendKeys(css("#admin-username-input"), "ada.admin"), chromedp.SendKeys(css("#admin-password"), "admin password 1"),
		chromedp.SetValue(css("#admin-timezone-input"), "Europe/Berlin"),
		chromedp.Click(css("#create-admin")), chromedp.WaitVisible(css("#admin-username")))
	d.step("ask to go live", chromedp.Navigate(base+"/dashboard/go-live"), chromedp.WaitVisible(css("#website")),
		chromedp.SendKeys(css("#website"), "https://widgets.example.com"), chromedp.SendKeys(css("#reason"), "Selling widgets online"),
		chromedp.Click(css("#ask-go-live")), chromedp.WaitVisible(css("#go-live-state")))
	if !strings.EqualFold(d.text("#go-live-state"), "pending") {
		d.t.Fatalf("after asking: %q", d.text("#go-live-state"))
	}
	d.shot("12-go-live-pending")
}

func operatorApproves(d driver, h *apptest.App) {
	base := h.Server.URL
	if _, err := h.App.Portal.Console.Create(context.Background(), "ops", operatorPassword); err != nil {
		d.t.Fatal(err)
	}
	d.step("operator sign-in page", chromedp.Navigate(base+"/operator"), chromedp.WaitVisible(css("#operator-login")))
	d.shot("13-operator-login")
	d.step("operator signs in", chromedp.SendKeys(css("#username"), "ops"), chromedp.SendKeys(css("#password"), operatorPassword),
		chromedp.Click(css("#operator-login")), chromedp.WaitVisible(css("#tenants")))
	d.shot("14-operator-console")
	d.step("go-live requests", chromedp.Click(css(`a[href="/operator/go-live"]`)), chromedp.WaitVisible(css("#pending a")))
	d.shot("15-operator-go-live")
	d.step("the request", chromedp.Click(css("#pending a")), chromedp.WaitVisible(css("#approve-go-live")))
	d.shot("16-operator-request")
	d.step("approve", chromedp.SendKeys(css("#approve-note"), "Welcome aboard"), chromedp.Click(css("#approve-go-live")), chromedp.WaitVisible(css("#flash")))
	if !strings.Contains(d.text("#flash"), "has a production account") {
		d.t.Fatalf("after approving: %q", d.text("#flash"))
	}
	d.shot("17-operator-approved")
	d.step("e-wallet operations", chromedp.Click(css(`nav a[href="/operator/wallet"]`)), chromedp.WaitVisible(css("#credit-topup")))
	d.shot("17-operator-wallet")
	d.step("ledger check", chromedp.Click(css(`nav a[href="/operator/ledger"]`)), chromedp.WaitVisible(css("#run-check")),
		chromedp.Click(css("#run-check")), chromedp.WaitVisible(css("#flash")))
	if !strings.Contains(d.text("#check-status"), "The books balance") {
		d.t.Fatalf("after running the ledger check: %q", d.text("#check-status"))
	}
	d.shot("17-operator-ledger")
}

func productionKeys(d driver, h *apptest.App) {
	base := h.Server.URL
	d.step("dashboard in production", chromedp.Navigate(base+"/dashboard"), chromedp.WaitVisible(css("#environment")))
	if !strings.EqualFold(d.text("#env-badge"), "Production") {
		d.t.Fatalf("badge after approval: %q", d.text("#env-badge"))
	}
	d.shot("18-dashboard-production")
	h.Clock.Advance(time.Minute) // the new key is the newest, listed first
	d.step("create a second key", chromedp.Navigate(base+"/dashboard/keys"), chromedp.WaitVisible(css("#create-key-button")),
		chromedp.SendKeys(css("#name"), "web shop"), chromedp.SetValue(css("#expires"), "2027-01-31T18:00"),
		chromedp.Click(css("#create-key-button")), chromedp.WaitVisible(css("#new-key-value")))
	key := d.text("#new-key-value")
	if apiStatus(h, key) != 200 {
		d.t.Fatalf("the new key %q does not work", key)
	}
	d.shot("19-key-created")
	// A reload of that page (the browser's GET of the redirect, not the
	// post again) shows no secret and makes no key.
	countKeys := func() int {
		var n int
		if err := h.App.DB.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM app_keys`).Scan(&n); err != nil {
			d.t.Fatal(err)
		}
		return n
	}
	keys := countKeys()
	d.step("reload the new key's page", chromedp.Reload(), chromedp.WaitVisible(css("#key-shown")))
	if d.eval(`document.querySelector("#new-key-value") !== null`) || countKeys() != keys {
		d.t.Fatalf("after a reload: secret shown again or a key made (%d keys, were %d)", countKeys(), keys)
	}
	d.shot("19-key-created-reloaded")
	d.step("the key's page", chromedp.Click(css(`td a[href^="/dashboard/keys/"]`)), chromedp.WaitVisible(css("#key-id")))
	if d.text("#key-expires") != "31 Jan 2027 18:00 CET" {
		d.t.Fatalf("expiry shown: %q (is the newest key first?)", d.text("#key-expires"))
	}
	d.shot("20-key-page")
	d.step("revoke", chromedp.Click(css("#revoke-link")), chromedp.WaitVisible(css("#confirm-revoke")))
	d.shot("21-revoke-confirm")
	if apiStatus(h, key) != 200 {
		d.t.Fatal("the key stopped before the confirmation")
	}
	d.step("confirm", chromedp.Click(css("#confirm-revoke")), chromedp.WaitVisible(css("#flash")))
	if apiStatus(h, key) != 401 || !strings.Contains(d.text("#flash"), "revoked") {
		d.t.Fatalf("after revoking: %d %q", apiStatus(h, key), d.text("#flash"))
	}
	d.shot("22-keys-after-revoke")
}
