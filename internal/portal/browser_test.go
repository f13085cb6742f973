package portal_test

import (
	"context"
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

// EnvScreenshots names the directory the browser test writes its
// screenshots to (nothing is written when it is unset).
const EnvScreenshots = "CASHGATE_SCREENSHOTS"

// TestBrowserDeveloperPortal drives seed 001's guide in headless Chromium:
// sign up → Settings → reveal the APP key (a wrong password is refused, the
// right one shows it) → CREATE COMPANY → CREATE ADMIN USER, checks every
// page with axe-core, and writes screenshots of each page at desktop (1280
// wide) and phone (390 wide) widths into $CASHGATE_SCREENSHOTS.
func TestBrowserDeveloperPortal(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := browsertest.New(t, 90*time.Second)
			h := apptest.New(t, e, apptest.Options{})
			shots := func(string) {}
			if e.Name == "sqlite" { // one set of screenshots
				shots = screenshotter(t, ctx)
			}
			browseDeveloperPortal(t, ctx, h, shots)
		})
	}
}

func browseDeveloperPortal(t *testing.T, ctx context.Context, h *apptest.App, screenshot func(string)) {
	base := h.Server.URL
	// Every page is checked with axe-core (no serious or critical
	// violations) and photographed.
	shots := func(name string) {
		t.Helper()
		browsertest.CheckAxe(t, ctx, name)
		screenshot(name)
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	step("start page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css("#cta-signup")))
	shots("01-home")
	step("sign-up form", chromedp.Click(css("#cta-signup")), chromedp.WaitVisible(css("#email")))
	step("sign up with a short password",
		chromedp.SendKeys(css("#email"), "ada@example.com"),
		chromedp.SendKeys(css("#password"), "short"),
		chromedp.Click(css("#signup")), chromedp.WaitVisible(css("#password-error")))
	shots("02-signup-error")
	step("sign up",
		chromedp.SendKeys(css("#name"), "Ada Lovelace"),
		chromedp.SendKeys(css("#password"), "correct horse battery"),
		chromedp.Click(css("#signup")), chromedp.WaitVisible(css("#environment")))
	if !strings.Contains(text("#flash"), "sandbox is ready") || !strings.EqualFold(text("#env-badge"), "Sandbox") {
		t.Fatalf("dashboard after sign-up: %q %q", text("#flash"), text("#env-badge"))
	}
	shots("03-dashboard")
	step("settings", chromedp.Navigate(base+"/dashboard/settings"), chromedp.WaitVisible(css("#app-key-hidden")))
	shots("04-settings")
	step("wrong password",
		chromedp.SendKeys(css("#key-password"), "not my password"),
		chromedp.Click(css("#reveal")), chromedp.WaitVisible(css("#key-password-error")))
	if !strings.Contains(text("#key-password-error"), "Wrong password") {
		t.Fatalf("wrong password: %q", text("#key-password-error"))
	}
	shots("05-key-wrong-password")
	step("right password",
		chromedp.SendKeys(css("#key-password"), "correct horse battery"),
		chromedp.Click(css("#reveal")), chromedp.WaitVisible(css("#app-key-value")))
	key := text("#app-key-value")
	if r := h.Do("GET", "/dummyapi/status", nil, map[string]string{"api-key": key}); r.Status != 200 {
		t.Fatalf("the key shown (%q) does not work: %d %s", key, r.Status, r.Body)
	}
	shots("06-key-shown")
	step("create company",
		chromedp.SendKeys(css("#company"), "Acme Widgets Ltd"),
		chromedp.SetValue(css("#company-timezone"), "Europe/Berlin"),
		chromedp.Click(css("#create-company")), chromedp.WaitVisible(css("#tenant-id")))
	if !strings.HasPrefix(text("#tenant-id"), "ten_") || len(text("#business-code")) != 8 {
		t.Fatalf("business profile: %q %q", text("#tenant-id"), text("#business-code"))
	}
	step("create admin user",
		chromedp.SendKeys(css("#admin-username-input"), "ada.admin"),
		chromedp.SendKeys(css("#admin-password"), "admin password 1"),
		chromedp.SendKeys(css("#admin-pin"), "2468"),
		chromedp.SetValue(css("#admin-timezone-input"), "America/New_York"),
		chromedp.Click(css("#create-admin")), chromedp.WaitVisible(css("#admin-username")))
	if text("#admin-username") != "ada.admin" || text("#admin-timezone") != "America/New_York" {
		t.Fatalf("admin user: %q %q", text("#admin-username"), text("#admin-timezone"))
	}
	shots("07-settings-done")
	step("sign out", chromedp.Click(css("#signout")), chromedp.WaitVisible(css("#login")))
	shots("08-signin")
}

// screenshotter returns a function that writes full-page PNGs of the
// current page at 1280 and 390 pixels wide into $CASHGATE_SCREENSHOTS.
func screenshotter(t *testing.T, ctx context.Context) func(name string) {
	dir := os.Getenv(EnvScreenshots)
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return func(name string) {
		t.Helper()
		if dir == "" {
			return
		}
		for _, vp := range []struct {
			label  string
			width  int64
			height int64
			mobile bool
		}{{"desktop", 1280, 900, false}, {"phone", 390, 844, true}} {
			opts := []chromedp.EmulateViewportOption{}
			if vp.mobile { // overlay scrollbars, as on a phone
				opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
			}
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height, opts...)); err != nil {
				t.Fatal(err)
			}
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name+"-"+vp.label+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
			t.Fatal(err)
		}
	}
}
