package gateway_test

import (
	"bytes"
	"context"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cashgate/cashgate/internal/backoffice/officetest"
	"github.com/cashgate/cashgate/internal/browsertest"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestBrowserTerminalAndLinks drives the back office in headless Chromium:
// an agent signs in, takes a Virtual Terminal payment (success shown) and
// refunds half of it on the job's page; an owner creates a payment link,
// its QR code — as the browser shows it — decodes to the link's URL, and
// the link is paid on the hosted card page. Every page is checked with
// axe-core and photographed at 1280 and 390 pixels wide into
// $CASHGATE_SCREENSHOTS (gateway-office-…).
func TestBrowserTerminalAndLinks(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := browsertest.New(t, 120*time.Second)
			h := newHarness(t, e)
			officetest.Owner(t, h.App).AddUser("agent", "ann.agent", "agent password 1")
			shots := func(string) {}
			if e.Name == "sqlite" { // one set of screenshots
				shots = browsertest.Screenshotter(t, ctx, "gateway-office-")
			}
			b := &officeBrowser{t: t, ctx: ctx, base: h.Server.URL, shots: shots}
			b.signIn(h.Tenant.BusinessCode, "ann.agent", "agent password 1")
			b.terminalAndRefund()
			b.step("sign out", chromedp.Click(css("#signout")), chromedp.WaitVisible(css("#login")))
			b.signIn(h.Tenant.BusinessCode, h.Tenant.AdminUsername, h.Tenant.AdminPassword)
			b.payLink()
		})
	}
}

func css(s string) chromedp.CSS { return chromedp.CSS(s) }

// officeBrowser is the test's Chromium tab on the app.
type officeBrowser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots func(string)
}

func (b *officeBrowser) step(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", name, err)
	}
}

func (b *officeBrowser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(css(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// check runs axe-core on the page and photographs it.
func (b *officeBrowser) check(name string) {
	b.t.Helper()
	browsertest.CheckAxe(b.t, b.ctx, name)
	b.shots(name)
}

func (b *officeBrowser) html() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.OuterHTML(css("html")))
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

func (b *officeBrowser) signIn(business, user, password string) {
	b.t.Helper()
	b.step("sign in as "+user, chromedp.Navigate(b.base+"/office/login"), chromedp.WaitVisible(css("#business")),
		chromedp.SendKeys(css("#business"), business), chromedp.SendKeys(css("#username"), user),
		chromedp.SendKeys(css("#password"), password), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#signout")))
}

// terminalAndRefund: the agent's Virtual Terminal payment, then half of it
// refunded on the job's page.
func (b *officeBrowser) terminalAndRefund() {
	b.t.Helper()
	const pan = "4000000000000010"
	b.step("terminal", chromedp.Navigate(b.base+"/office/gateway/terminal"), chromedp.WaitVisible(css("#take-payment")))
	b.check("01-terminal")
	b.step("take a payment",
		chromedp.SendKeys(css("#amount"), "40.00"), chromedp.SendKeys(css("#cardNumber"), pan),
		chromedp.SendKeys(css("#cardHolder"), "Ada Lovelace"), chromedp.SendKeys(css("#expiryMonth"), "12"),
		chromedp.SendKeys(css("#expiryYear"), "30"), chromedp.SendKeys(css("#cvc"), "123"),
		chromedp.SendKeys(css("#orderNumber"), "PHONE-1"), chromedp.Click(css("#take-payment")),
		chromedp.WaitVisible(css("#terminal-result")))
	if b.text("#result-title") != "Payment taken" || b.text("#result-status") != "Paid" || b.text("#result-card") != "400000******0010" {
		b.t.Fatalf("outcome: %q %q %q", b.text("#result-title"), b.text("#result-status"), b.text("#result-card"))
	}
	if strings.Contains(b.html(), pan) {
		b.t.Fatalf("the outcome page shows the card number")
	}
	b.check("02-terminal-paid")
	b.step("the job's page", chromedp.Click(css("#result-job")), chromedp.WaitVisible(css("#job-facts")))
	b.check("03-job")
	b.step("refund half",
		chromedp.SetValue(css(`input[id^="refund-"][name="amount"]`), "20.00"),
		chromedp.Click(css(`button[id^="refund-submit-"]`)), chromedp.WaitVisible(css("#confirm-submit")))
	b.check("04-confirm-refund")
	b.step("confirm the refund", chromedp.Click(css("#confirm-submit")), chromedp.WaitVisible(css("#flash")))
	if b.text("#flash") != "Refunded 20.00 GBP." || b.text(".payment-status") != "PartiallyRefunded" || b.text(".payment-refunded") != "20.00 GBP" {
		b.t.Fatalf("after the refund: %q %q %q", b.text("#flash"), b.text(".payment-status"), b.text(".payment-refunded"))
	}
	b.check("05-job-refunded")
}

// payLink: the owner's payment link, its QR code read from the screen, and
// the link paid on the hosted card page.
func (b *officeBrowser) payLink() {
	b.t.Helper()
	b.step("payment links", chromedp.Navigate(b.base+"/office/gateway/links"), chromedp.WaitVisible(css("#create-link")))
	b.check("06-links-empty")
	b.step("create a link",
		chromedp.SendKeys(css("#amount"), "25.00"), chromedp.SendKeys(css("#description"), "Deposit for the spring workshop"),
		chromedp.SendKeys(css("#orderNumber"), "INV-2027-004"), chromedp.Click(css("#create-link")), chromedp.WaitVisible(css("#qr-image")))
	url, err := chromedp.Run(b.ctx, chromedp.Value(css("#link-url")))
	if err != nil || !strings.HasPrefix(url, b.base+"/payment/form-post?ref=") {
		b.t.Fatalf("link URL %q: %v", url, err)
	}
	b.check("07-link")
	shot, err := chromedp.Run(b.ctx, chromedp.Screenshot(css("#qr-image")))
	if err != nil {
		b.t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		b.t.Fatal(err)
	}
	if got := decodeQR(b.t, img); got != url {
		b.t.Fatalf("the QR code on the page decodes to %q, want %q", got, url)
	}
	b.step("the hosted card page", chromedp.Navigate(url), chromedp.WaitVisible(css("#card-form")))
	if b.text("#description") != "Deposit for the spring workshop" {
		b.t.Errorf("description on the card page: %q", b.text("#description"))
	}
	b.check("08-hosted-card-page")
	b.step("pay the link",
		chromedp.SendKeys(css("#cardNumber"), "4000000000000010"), chromedp.SendKeys(css("#cardHolderName"), "Grace Hopper"),
		chromedp.SendKeys(css("#cardExpiryMonth"), "11"), chromedp.SendKeys(css("#cardExpiryYear"), "29"),
		chromedp.SendKeys(css("#cardCvc"), "456"), chromedp.Click(css("#pay")), chromedp.WaitVisible(css("#result")))
	if b.text("h1") != "Payment completed" {
		b.t.Errorf("the return page after paying the link: %q", b.text("h1"))
	}
	b.check("09-paid")
	b.step("the link again", chromedp.Navigate(url), chromedp.WaitVisible(css("#notice")))
	if b.text("#notice") != "This payment link has been paid." {
		b.t.Errorf("the paid link's page: %q", b.text("#notice"))
	}
	b.step("the link's page", chromedp.Navigate(b.base+"/office/gateway/links"), chromedp.WaitVisible(css("#create-link")),
		chromedp.Click(css(`#links table a`)), chromedp.WaitVisible(css("#link-status")))
	if b.text("#link-status") != "Paid" {
		b.t.Fatalf("link after payment: %q", b.text("#link-status"))
	}
	b.check("10-link-paid")
	b.step("payment links", chromedp.Navigate(b.base+"/office/gateway/links"), chromedp.WaitVisible(css("#create-link")))
	b.check("11-links")
}
