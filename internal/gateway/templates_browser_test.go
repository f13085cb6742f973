package gateway_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cashgate/cashgate/internal/browsertest"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// browserLogo is a plain SVG logo, as a merchant's designer would export it.
const browserLogo = `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 64" width="240" height="64">
<title>Acme</title>
<defs><linearGradient id="sun" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#ffb347"/><stop offset="1" stop-color="#aa0044"/></linearGradient></defs>
<circle cx="32" cy="32" r="26" fill="url(#sun)"/>
<path d="M14 40 Q32 20 50 40" stroke="#fff" stroke-width="4" fill="none"/>
<text x="70" y="43" font-family="Georgia, serif" font-size="30" font-weight="bold" fill="#aa0044">Acme</text>
</svg>`

// TestBrowserPaymentPageTemplate drives a template in headless Chromium: an
// owner creates it in the back office (logo uploaded, colours picked,
// texts, the default) and sees the framed preview; the preview of the card
// form and of the 3-D Secure page show the logo; a payment link's hosted
// page is branded; a declined card leads to the return page saying so, and
// on the link again a good card is paid and the return page says that, in
// the template. Every page is checked with
// axe-core and photographed at 1280 and 390 pixels wide into
// $CASHGATE_SCREENSHOTS (gateway-template-…).
func TestBrowserPaymentPageTemplate(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := browsertest.New(t, 120*time.Second)
			h := newHarness(t, e)
			shots := func(string) {}
			if e.Name == "sqlite" {
				shots = browsertest.Screenshotter(t, ctx, "gateway-template-")
			}
			logo := filepath.Join(t.TempDir(), "acme-logo.svg")
			if err := os.WriteFile(logo, []byte(browserLogo), 0o600); err != nil {
				t.Fatal(err)
			}
			b := &officeBrowser{t: t, ctx: ctx, base: h.Server.URL, shots: shots}
			b.signIn(h.Tenant.BusinessCode, h.Tenant.AdminUsername, h.Tenant.AdminPassword)
			b.step("templates", chromedp.Navigate(b.base+officeTemplatesPath), chromedp.WaitVisible(css("#create-template")))
			b.check("01-templates-empty")
			b.step("create a template",
				chromedp.SendKeys(css("#reference"), "summer-sale"), chromedp.SetValue(css("#primaryColour"), "#aa0044"),
				chromedp.SetValue(css("#backgroundColour"), "#fdf3e7"), chromedp.SendKeys(css("#headerText"), "Acme Summer Sale"),
				chromedp.SendKeys(css("#footerText"), "Acme Ltd · 1 High Street, Bristol · help@acme.example"),
				chromedp.SetUploadFiles(css("#logo"), []string{logo}), chromedp.Click(css("#default")),
				chromedp.Click(css("#create-template")), chromedp.WaitVisible(css("#template-preview")))
			if got := b.text("#template-reference"); got != "summer-sale" {
				t.Fatalf("template page of %q", got)
			}
			b.waitLogo("#current-logo")
			time.Sleep(300 * time.Millisecond) // the framed preview loads
			b.check("02-template")
			b.step("list", chromedp.Navigate(b.base+officeTemplatesPath), chromedp.WaitVisible(css("#default-template")))
			b.check("03-templates")

			b.step("preview", chromedp.Navigate(b.base+officeTemplatesPath+"/summer-sale/preview"), chromedp.WaitVisible(css("#preview-notice")))
			b.waitLogo("#brand-logo")
			if b.text("#brand-header") != "Acme Summer Sale" || !strings.Contains(b.text("#brand-footer"), "help@acme.example") {
				t.Errorf("preview texts: %q %q", b.text("#brand-header"), b.text("#brand-footer"))
			}
			b.check("04-preview-card")
			b.step("preview 3-D Secure", chromedp.Navigate(b.base+officeTemplatesPath+"/summer-sale/preview?page=3ds&locale=fr"), chromedp.WaitVisible(css("#complete")))
			b.check("05-preview-3ds-fr")

			// A payment link's hosted page (the default template: the link names none).
			m := h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"49.90","order":{"orderNumber":"SUMMER-77"}}`, 201)
			b.step("hosted page", chromedp.Navigate(actionURL(m)), chromedp.WaitVisible(css("#card-form")))
			b.waitLogo("#brand-logo")
			bg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`))
			if err != nil || bg != "rgb(253, 243, 231)" {
				t.Errorf("page background %q %v", bg, err)
			}
			b.check("06-hosted-card-page")
			pay := func(number string) {
				b.step("pay with "+number, chromedp.SendKeys(css("#cardNumber"), number), chromedp.SendKeys(css("#cardHolderName"), "Grace Hopper"),
					chromedp.SendKeys(css("#cardExpiryMonth"), "11"), chromedp.SendKeys(css("#cardExpiryYear"), "29"),
					chromedp.SendKeys(css("#cardCvc"), "456"), chromedp.Click(css("#pay")))
			}
			pay("4000000000000044")
			b.step("declined: the return page", chromedp.WaitVisible(css("#result")))
			if b.text("h1") != "Payment failed" || b.text("#error") != "Payment has been refused." {
				t.Errorf("declined: %q %q", b.text("h1"), b.text("#error"))
			}
			b.check("07-return-page-declined")
			b.step("the link again", chromedp.Navigate(actionURL(m)), chromedp.WaitVisible(css("#card-form")))
			b.check("08-hosted-retry")
			pay("4000000000000010")
			b.step("paid", chromedp.WaitVisible(css("#result")))
			if !strings.Contains(b.text("#result"), "your payment has been received") || b.text("h1") != "Payment completed" {
				t.Errorf("return page: %q %q", b.text("h1"), b.text("#result"))
			}
			b.waitLogo("#brand-logo")
			b.check("09-return-page-paid")

			// The card settings page with its credit payments.
			b.step("card settings", chromedp.Navigate(b.base+"/office/gateway/settings"), chromedp.WaitVisible(css("#credit-limits")),
				chromedp.Click(css("#creditPaymentsEnabled")), chromedp.SendKeys(css("#creditPerPayment-GBP"), "500.00"),
				chromedp.SendKeys(css("#creditPerDay-GBP"), "2000.00"), chromedp.Click(css("#save-settings")), chromedp.WaitVisible(css("#flash")))
			if v, err := chromedp.Run(ctx, chromedp.Value(css("#creditPerDay-GBP"))); err != nil || v != "2000.00" {
				t.Errorf("credit limit after saving: %q %v", v, err)
			}
			b.check("10-card-settings")
		})
	}
}

// waitLogo waits until the image sel has loaded and has a width.
func (b *officeBrowser) waitLogo(sel string) {
	b.t.Helper()
	for i := 0; ; i++ {
		w, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](`(function(){const i=document.querySelector(`+"`"+sel+"`"+`);return i&&i.complete?i.naturalWidth:0})()`))
		if err == nil && w > 0 {
			return
		}
		if i == 50 {
			b.t.Fatalf("logo %s not shown: %v", sel, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
