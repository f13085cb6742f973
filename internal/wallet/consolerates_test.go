package wallet_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestWalletConsoleRatesURL: the operator stores the rates URL in the
// console, fetches now, and sees the last success and failure of the
// daily fetch; a bad URL is refused beside the field.
func TestWalletConsoleRatesURL(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			c := operatorConsole(t, h)
			srv := ecbServer(t)
			if p := c.do("GET", "/operator/wallet", nil); !strings.Contains(p.body, "none (no daily fetch)") || !strings.Contains(p.body, "at 15:30 UTC") {
				t.Fatalf("the page without a URL: %s", p.body)
			}
			if r := c.post("/operator/wallet", "/operator/wallet/rates/url", url.Values{"url": {"ftp://example.com/x.xml"}}); r.status != 422 ||
				!strings.Contains(r.body, `id="url-error"`) {
				t.Fatalf("ftp URL: %d %s", r.status, r.body)
			}
			if msg := c.flash(c.post("/operator/wallet", "/operator/wallet/rates/url", url.Values{"url": {srv.URL + "/missing.xml"}})); !strings.Contains(msg, "fetched daily from") {
				t.Fatalf("set URL: %q", msg)
			}
			if r := c.post("/operator/wallet", "/operator/wallet/rates/fetch", url.Values{}); r.status != 422 || !strings.Contains(r.body, "404 Not Found") {
				t.Fatalf("fetch of a missing file: %d %s", r.status, r.body)
			}
			if msg := c.flash(c.post("/operator/wallet", "/operator/wallet/rates/url", url.Values{"url": {srv.URL + "/eurofxref-daily.xml"}})); msg == "" {
				t.Fatal("no flash")
			}
			if msg := c.flash(c.post("/operator/wallet", "/operator/wallet/rates/fetch", url.Values{})); msg != "Fetched the rates of 2026-11-20 from the stored URL: 3 imported." {
				t.Fatalf("fetch: %q", msg)
			}
			p := c.do("GET", "/operator/wallet", nil)
			for _, want := range []string{srv.URL + "/eurofxref-daily.xml", "(ECB date 2026-11-20, 3 rates)", "404 Not Found", `<td data-label="Currency">USD</td>`} {
				if !strings.Contains(p.body, want) {
					t.Fatalf("the page lacks %q: %s", want, p.body)
				}
			}
		})
	}
}
