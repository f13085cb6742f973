package wallet_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/browsertest"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestBrowserUpgradeDocuments drives the Corporate+ upgrade in headless
// Chromium: the owner uploads a disguised file (refused beside the file
// field) and a real PDF, and asks for Corporate+; the operator signs in to
// the console, opens the request from the list, asks for more documents;
// the owner sees the message, uploads an image and sends it; the operator
// approves. Every page is checked with axe-core and photographed at 1280
// and 390 pixels wide into $CASHGATE_SCREENSHOTS (wallet-upgrade-…).
func TestBrowserUpgradeDocuments(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := browsertest.New(t, 120*time.Second)
			h := apptest.New(t, e, apptest.Options{})
			verifiedCorporate(t, h)
			if _, err := h.App.Portal.Console.Create(t.Context(), "ops", "operator password"); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			write := func(name string, b []byte) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, b, 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			fake, pdf, img := write("statement.pdf", pngDoc(t)), write("register.pdf", pdfDoc("register")), write("director.png", pngDoc(t))
			prefix := ""
			if e.Name == "sqlite" {
				prefix = "wallet-upgrade-"
			}
			steps := browsertest.NewSteps(t, ctx, prefix)
			run, text, check := steps.Run, steps.Text, steps.Check
			css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
			upload := func(name, kind, file string, wait string) {
				t.Helper()
				run(name, chromedp.SetValue(css("#kind"), kind), chromedp.SetUploadFiles(css("#file"), []string{file}),
					chromedp.Click(css("#upload-submit")), chromedp.WaitVisible(css(wait)))
			}
			officeSignIn(steps, h)
			run("the wallet page", chromedp.Navigate(h.Server.URL+"/office/wallet"), chromedp.WaitVisible(css("#upgrade-link")),
				chromedp.Click(css("#upgrade-link")), chromedp.WaitVisible(css("#upload-form")))
			check("01-upload")
			upload("a disguised file", "bank_statement", fake, "#file-error")
			if got := text("#file-error"); !strings.Contains(got, "name says a PDF but its content is a PNG image") {
				t.Fatalf("disguised: %q", got)
			}
			check("02-refused")
			upload("the register extract", "trade_register_extract", pdf, "#flash")
			run("ask for Corporate+", chromedp.Click(css("#upgrade-submit")), chromedp.WaitVisible(css("#checking")))
			if got := text("#upgrade-status"); !strings.Contains(got, "checking the documents") {
				t.Fatalf("status %q", got)
			}
			check("03-sent")

			run("operator sign-in", chromedp.Navigate(h.Server.URL+"/operator/login"), chromedp.WaitVisible(css("#username")),
				chromedp.SendKeys(css("#username"), "ops"), chromedp.SendKeys(css("#password"), "operator password"),
				chromedp.Click(css("#operator-login")), chromedp.WaitVisible(css("#signout")))
			run("the request", chromedp.Navigate(h.Server.URL+"/operator/wallet"), chromedp.WaitVisible(css("#upgrades")),
				chromedp.Click(css(`#upgrades a[href^="/operator/wallet/upgrades/"]`)), chromedp.WaitVisible(css("#decide-form")))
			if got := text("#review-documents tbody"); !strings.Contains(got, "register.pdf") || !strings.Contains(got, "a PDF") {
				t.Fatalf("documents: %q", got)
			}
			check("04-review")
			run("ask for more", chromedp.Click(css("#action-more")), chromedp.SendKeys(css("#message"), "Please add the ID card of the director."),
				chromedp.Click(css("#decide-submit")), chromedp.WaitVisible(css("#flash")))

			run("the owner sees the message", chromedp.Navigate(h.Server.URL+"/office/wallet/upgrade"), chromedp.WaitVisible(css("#operator-message")))
			if got := text("#operator-message"); !strings.Contains(got, "Please add the ID card of the director.") {
				t.Fatalf("message %q", got)
			}
			check("05-more-asked")
			upload("the ID card", "id_card", img, "#flash")
			run("send it", chromedp.Click(css("#upgrade-submit")), chromedp.WaitVisible(css("#checking")))

			run("approve", chromedp.Navigate(h.Server.URL+"/operator/wallet"), chromedp.Click(css(`#upgrades a[href^="/operator/wallet/upgrades/"]`)),
				chromedp.WaitVisible(css("#decide-form")), chromedp.Click(css("#action-approve")), chromedp.Click(css("#decide-submit")),
				chromedp.WaitVisible(css("#flash")))
			if got := text("#flash"); !strings.Contains(got, "is Corporate+ now") {
				t.Fatalf("flash %q", got)
			}
			run("the owner is Corporate+", chromedp.Navigate(h.Server.URL+"/office/wallet/upgrade"), chromedp.WaitVisible(css("#upgrade-tier")))
			if got := text("#upgrade-tier"); got != "Corporate+" || !strings.Contains(text("#documents tbody"), "director.png") {
				t.Fatalf("tier %q, documents %q", got, text("#documents tbody"))
			}
			check("06-approved")
		})
	}
}

// TestBrowserWalletAppUpgrade: the corporate user of the wallet app (the
// /wallet/ pages) uploads a document through the app's file field, sees it
// listed and asks for Corporate+; a new IBAN saved in the details form
// shows the bank account not verified. Photographed (wallet-app-upgrade-…).
func TestBrowserWalletAppUpgrade(t *testing.T) {
	e := storetest.Engines()[0] // the app's pages over the API; both engines run TestUpgradeOverAPI
	ctx := browsertest.New(t, 90*time.Second)
	h := apptest.New(t, e, apptest.Options{})
	verifiedCorporate(t, h)
	pdf := filepath.Join(t.TempDir(), "register.pdf")
	if err := os.WriteFile(pdf, pdfDoc("register"), 0o600); err != nil {
		t.Fatal(err)
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	steps := browsertest.NewSteps(t, ctx, "wallet-app-upgrade-")
	run, text := steps.Run, steps.Text
	run("log in", chromedp.Navigate(h.Server.URL+"/wallet/"), chromedp.WaitVisible(css("#login-form")),
		chromedp.SendKeys(css("#username"), "acme"), chromedp.SendKeys(css("#password"), "acme-password"),
		chromedp.Click(css("#login-btn")), chromedp.WaitVisible(css("#document-form")))
	run("upload", chromedp.SetValue(css("#doc-kind"), "trade_register_extract"), chromedp.SetUploadFiles(css("#doc-file"), []string{pdf}),
		chromedp.Click(css(`#document-form button[type="submit"]`)), chromedp.WaitVisible(css("#documents li")))
	if got := text("#documents"); !strings.Contains(got, "register.pdf (not sent yet)") {
		t.Fatalf("documents %q", got)
	}
	run("ask", chromedp.Click(css("#upgrade-btn")), chromedp.WaitVisible(css("#msg.ok")), chromedp.WaitNotVisible(css("#document-form")))
	run("a new IBAN", chromedp.SetValue(css("#det-iban"), "GB82WEST12345698765432"), chromedp.SetValue(css("#det-bic"), "NWBKGB2L"),
		chromedp.Click(css(`#details-form button[type="submit"]`)))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("msg").textContent.includes("verify the new bank account")`)); err != nil {
		t.Fatalf("msg %q: %v", text("#msg"), err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("corp-verified").textContent === "not verified"`)); err != nil {
		t.Fatalf("the bank account after the new IBAN: %v", err)
	}
	steps.Check("01-sent") // axe-core and the screenshots
}
