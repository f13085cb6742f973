package wallet_test

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

// TestBrowserConsoleRatesURL drives the operator console's daily rates
// fetch in headless Chromium: a bad URL is refused beside the field, the
// stored URL fetched now, the last success shown with the rates. Checked
// with axe-core and photographed at 1280 and 390 pixels wide
// ($CASHGATE_SCREENSHOTS, wallet-console-rates-…).
func TestBrowserConsoleRatesURL(t *testing.T) {
	e := storetest.Engines()[0] // the console's forms are engine-blind; TestWalletConsoleRatesURL covers both
	ctx := browsertest.New(t, 90*time.Second)
	h := apptest.New(t, e, apptest.Options{})
	srv := ecbServer(t)
	if _, err := h.App.Portal.Console.Create(context.Background(), "ops", "operator password"); err != nil {
		t.Fatal(err)
	}
	steps := browsertest.NewSteps(t, ctx, "wallet-console-rates-")
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	run, text, check := steps.Run, steps.Text, steps.Check
	run("sign in", chromedp.Navigate(h.Server.URL+"/operator"), chromedp.WaitVisible(css("#operator-login")),
		chromedp.SendKeys(css("#username"), "ops"), chromedp.SendKeys(css("#password"), "operator password"),
		chromedp.Click(css("#operator-login")), chromedp.WaitVisible(css("#tenants")))
	run("the wallet page", chromedp.Navigate(h.Server.URL+"/operator/wallet#rates-url"), chromedp.WaitVisible(css("#set-rates-url")))
	run("a bad URL", chromedp.SendKeys(css("#rates-url #url"), "ftp://example.com/x.xml"), chromedp.Click(css("#set-rates-url")),
		chromedp.WaitVisible(css("#url-error")))
	if got := text("#url-error"); !strings.Contains(got, "http(s) URL") {
		t.Fatalf("bad URL: %q", got)
	}
	check("01-bad-url")
	run("the ECB's URL", chromedp.SetValue(css("#rates-url #url"), srv.URL+"/eurofxref-daily.xml"), chromedp.Click(css("#set-rates-url")),
		chromedp.WaitVisible(css("#flash")))
	// The flash of the URL's save is still on the page: remove it, so the
	// wait below is for the next page's flash.
	run("fetch now", chromedp.Evaluate[chromedp.Void](`document.querySelector("#flash").remove()`),
		chromedp.Click(css("#fetch-rates")), chromedp.WaitVisible(css("#flash")))
	if got := text("#flash"); got != "Fetched the rates of 2026-11-20 from the stored URL: 3 imported." {
		t.Fatalf("flash: %q", got)
	}
	if got := text("#rates-url tbody"); !strings.Contains(got, "(ECB date 2026-11-20, 3 rates)") || !strings.Contains(got, "/eurofxref-daily.xml") {
		t.Fatalf("runs: %q", got)
	}
	run("scroll", chromedp.ScrollIntoView(css("#rates-url")))
	check("02-fetched")
}
