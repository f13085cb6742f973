package gateway_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cashgate/cashgate/internal/browsertest"
	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestBrowserTerminalUnavailable: with the External MPI Provider flag the
// back office's Virtual Terminal says it is unavailable and offers no
// form (axe-core; photographed as gateway-mpi-…).
func TestBrowserTerminalUnavailable(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := browsertest.New(t, 60*time.Second)
			h := newHarness(t, e)
			h.settings(mpi(true))
			shots := func(string) {}
			if e.Name == "sqlite" { // one set of screenshots
				shots = browsertest.Screenshotter(t, ctx, "gateway-mpi-")
			}
			b := &officeBrowser{t: t, ctx: ctx, base: h.Server.URL, shots: shots}
			b.signIn(h.Tenant.BusinessCode, h.Tenant.AdminUsername, h.Tenant.AdminPassword)
			b.step("terminal", chromedp.Navigate(b.base+"/office/gateway/terminal"), chromedp.WaitVisible(css("#unavailable")))
			if got := b.text("#unavailable"); !strings.HasPrefix(got, gateway.MsgMPIUnavailable.Message) {
				t.Errorf("notice: %q", got)
			}
			if strings.Contains(b.html(), `id="take-payment"`) {
				t.Error("the form is offered")
			}
			b.check("terminal-unavailable")
		})
	}
}
