package wallet_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/browsertest"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestBrowserOfficeWidget drives the widget's back-office page in headless
// Chromium: the owner signs in, saves an origin that is not one (refused
// beside the field, nothing saved), then two origins (normalised, listed,
// audited) that the API then shows. axe-core on every page; screenshots at
// 1280 and 390 (wallet-office-widget-…).
func TestBrowserOfficeWidget(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := browsertest.New(t, 90*time.Second)
			h := apptest.New(t, e, apptest.Options{})
			corporateWorld(t, h)
			prefix := ""
			if e.Name == "sqlite" {
				prefix = "wallet-office-widget-"
			}
			steps := browsertest.NewSteps(t, ctx, prefix)
			run, text, check := steps.Run, steps.Text, steps.Check
			css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
			officeSignIn(steps, h)
			run("the widget page", chromedp.Click(css(`nav a[href="/office/wallet/widget"]`)), chromedp.WaitVisible(css("#widget-origins-none")))
			if got := text("#widget-snippet"); !strings.Contains(got, h.Server.URL+"/wallet/widget.js") {
				t.Fatalf("snippet %q", got)
			}
			check("01-none")
			run("a bad origin", chromedp.SendKeys(css("#origins"), "http://shop.example/checkout"), chromedp.Click(css("#save-origins")),
				chromedp.WaitVisible(css("#origins-error")))
			if got := text("#origins-error"); !strings.Contains(got, "has a path") {
				t.Fatalf("bad origin: %q", got)
			}
			check("02-refused")
			run("two origins", chromedp.SetValue(css("#origins"), "https://Shop.Example/ http://localhost:8081"),
				chromedp.Click(css("#save-origins")), chromedp.WaitVisible(css("#widget-origins")))
			if got := text("#widget-origins"); got != "http://localhost:8081\nhttps://shop.example" {
				t.Fatalf("saved %q", got)
			}
			check("03-saved")
			got, err := h.App.Wallet.Service.WidgetOriginsOf(t.Context(), h.Tenant.TenantID)
			ok(t, err)
			var audited int
			ok(t, h.App.DB.Read().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM office_audit WHERE action = 'wallet.widget.origins'`).Scan(&audited))
			if strings.Join(got.Origins, " ") != "http://localhost:8081 https://shop.example" || audited != 1 {
				t.Fatalf("origins %v, %d audit rows", got.Origins, audited)
			}
		})
	}
}
