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

// TestBrowserOfficeWallet drives the corporate wallet's back-office page in
// headless Chromium: the owner signs in, sees the transactions with their
// fees, filters them, withdraws with a wrong PIN (refused beside the PIN
// field) and then with the right one (the flash and the withdrawal in the
// list). Every page is checked with axe-core and photographed at 1280 and
// 390 pixels wide into $CASHGATE_SCREENSHOTS (wallet-office-…).
func TestBrowserOfficeWallet(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := browsertest.New(t, 90*time.Second)
			h := apptest.New(t, e, apptest.Options{})
			uid := corporateWorld(t, h)
			w := h.App.Wallet.Service
			if _, err := w.RequestVerification(context.Background(), uid); err != nil {
				t.Fatal(err)
			}
			if _, err := w.VerifyBankAccount(context.Background(), uid, verificationCode(t, h)); err != nil {
				t.Fatal(err)
			}
			prefix := ""
			if e.Name == "sqlite" { // one set of screenshots
				prefix = "wallet-office-"
			}
			steps := browsertest.NewSteps(t, ctx, prefix)
			run, text, check := steps.Run, steps.Text, steps.Check
			css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
			officeSignIn(steps, h)
			run("the wallet page", chromedp.Click(css(`nav a[href="/office/wallet"]`)), chromedp.WaitVisible(css("#wallet-facts")))
			if got := text("#wallet-available"); got != "119.50 EUR" {
				t.Fatalf("available %q", got)
			}
			if got := text("#transactions tbody"); !strings.Contains(got, "Order 77") || !strings.Contains(got, "0.50 EUR") {
				t.Fatalf("transactions: %q", got)
			}
			check("01-wallet")
			run("filter payments", chromedp.SetValue(css("#type"), "payment"), chromedp.Click(css("#apply-filters")),
				chromedp.WaitReady(css(`#type option[value="payment"][selected]`))) // the filtered page, server-rendered
			if got := text("#transactions tbody"); strings.Contains(got, "Top-up") || !strings.Contains(got, "Order 77") {
				t.Fatalf("filtered: %q", got)
			}
			run("withdraw with a wrong PIN", chromedp.SendKeys(css("#withdraw-amount"), "10.00"), chromedp.SendKeys(css("#withdraw-pin"), "9999"),
				chromedp.Click(css("#withdraw-submit")), chromedp.WaitVisible(css("#withdraw-pin-error")))
			if got := text("#withdraw-pin-error"); !strings.HasPrefix(got, "Wrong PIN") {
				t.Fatalf("wrong PIN: %q", got)
			}
			check("02-wrong-pin")
			run("withdraw with the PIN", chromedp.SendKeys(css("#withdraw-pin"), "4321"),
				chromedp.Click(css("#withdraw-submit")), chromedp.WaitVisible(css("#flash")))
			if got := text("#flash"); !strings.Contains(got, "of 10.00 EUR requested (fee 2.00 EUR)") {
				t.Fatalf("flash: %q", got)
			}
			if got := text("#wallet-available"); got != "107.50 EUR" {
				t.Fatalf("available after the withdrawal %q", got)
			}
			if got := text("#transactions tbody"); !strings.Contains(got, "withdrawal") || !strings.Contains(got, "-12.00 EUR") {
				t.Fatalf("the withdrawal in the list: %q", got)
			}
			check("03-withdrawn")
			run("replace the merchant secret", chromedp.Click(css("#rotate-secret")), chromedp.WaitVisible(css("#new-secret-value")))
			if got := text("#new-secret-value"); !strings.HasPrefix(got, "cgm_") || !strings.Contains(text("#prev-secret"), "still works until") {
				t.Fatalf("the new secret %q, the old one %q", got, text("#prev-secret"))
			}
			check("04-secret-rotated")
		})
	}
}

// officeSignIn signs the tenant's owner in to the back office.
func officeSignIn(steps *browsertest.Steps, h *apptest.App) {
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	steps.Run("sign in", chromedp.Navigate(h.Server.URL+"/office/login"), chromedp.WaitVisible(css("#business")),
		chromedp.SendKeys(css("#business"), h.Tenant.BusinessCode), chromedp.SendKeys(css("#username"), h.Tenant.AdminUsername),
		chromedp.SendKeys(css("#password"), h.Tenant.AdminPassword), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#signout")))
}
