package wallet_test

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

// TestBrowserOfficeBulk drives the back office's bulk page in headless
// Chromium: a Corporate merchant sees the upgrade path instead of the
// form; once Corporate+, a malformed file is refused beside the file field
// with its line, a good one is queued, processed by the job and its rows'
// results (request links, errors) shown. Every page is checked with
// axe-core and photographed at 1280 and 390 pixels wide
// ($CASHGATE_SCREENSHOTS, wallet-bulk-…).
func TestBrowserOfficeBulk(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := browsertest.New(t, 90*time.Second)
			h := apptest.New(t, e, apptest.Options{})
			corporateWorld(t, h)
			dir := t.TempDir()
			write := func(name, body string) string {
				p := filepath.Join(dir, name)
				ok(t, os.WriteFile(p, []byte(body), 0o600))
				return p
			}
			bad := write("bad.csv", "user,amount,description,reference\nalice,1.00,x,\n")
			good := write("december.csv", "username,amount,description,reference\nalice,12.50,Invoice 118,INV-118\nnobody,3.00,Invoice 119,INV-119\nalice,0.10,Too small,INV-120\n")
			prefix := ""
			if e.Name == "sqlite" {
				prefix = "wallet-bulk-"
			}
			steps := browsertest.NewSteps(t, ctx, prefix)
			run, text, check := steps.Run, steps.Text, steps.Check
			css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
			officeSignIn(steps, h)
			run("the bulk page", chromedp.Click(css(`nav a[href="/office/wallet/bulk"]`)), chromedp.WaitVisible(css("#bulk-refused")))
			if got := text("#bulk-refused"); !strings.Contains(got, "Upgrade to Corporate+") {
				t.Fatalf("Corporate: %q", got)
			}
			check("01-corporate")

			if _, err := h.App.Wallet.Service.ApproveUpgrade(context.Background(), h.Tenant.TenantID, true); err != nil {
				t.Fatal(err)
			}
			run("reload as Corporate+", chromedp.Reload(), chromedp.WaitVisible(css("#bulk-form")))
			run("a malformed file", chromedp.SetUploadFiles(css("#bulk-file"), []string{bad}), chromedp.SendKeys(css("#bulk-callback"), "http://127.0.0.1:9/cb"),
				chromedp.Click(css("#bulk-submit")), chromedp.WaitVisible(css("#bulk-file-error")))
			if got := text("#bulk-file-error"); !strings.HasPrefix(got, "Line 1: the header row must be") {
				t.Fatalf("bad file: %q", got)
			}
			check("02-malformed")
			run("a good file", chromedp.SetUploadFiles(css("#bulk-file"), []string{good}), chromedp.Click(css("#bulk-submit")), chromedp.WaitVisible(css("#batch-facts")))
			if got := text("#flash"); got != "december.csv: 3 rows queued." {
				t.Fatalf("flash: %q", got)
			}
			if got := text("#batch-counts"); got != "3 rows: 0 requested, 0 failed, 3 waiting" || text("#batch-status") != "queued" {
				t.Fatalf("queued: %q", got)
			}
			check("03-queued")
			var audited int
			ok(t, h.App.DB.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM office_audit WHERE action = 'wallet.bulk' AND subject = 'december.csv'`).Scan(&audited))
			if audited != 1 {
				t.Fatalf("%d audit rows of the upload", audited)
			}
			h.RunDue()
			run("reload", chromedp.Reload(), chromedp.WaitVisible(css("#batch-facts")))
			if got := text("#batch-counts"); got != "3 rows: 1 requested, 2 failed, 0 waiting" || text("#batch-status") != "completed" {
				t.Fatalf("processed: %q", got)
			}
			rows := text("#batch-rows tbody")
			if !strings.Contains(rows, "mrq_") || !strings.Contains(rows, "not_found: no wallet user") || !strings.Contains(rows, "limit_exceeded") {
				t.Fatalf("rows: %q", rows)
			}
			check("04-completed")
			run("the list", chromedp.Click(css(`a[href="/office/wallet/bulk"]`)), chromedp.WaitVisible(css("#uploads tbody")))
			if got := text("#uploads tbody"); !strings.Contains(got, "december.csv") || !strings.Contains(got, "completed") {
				t.Fatalf("list: %q", got)
			}
			check("05-list")
		})
	}
}
