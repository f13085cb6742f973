package gateway_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/cashgate/cashgate/internal/browsertest"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestBrowserPayPal: in headless Chromium the shopper of the guide's PayPal
// job chooses PayPal on the hosted page, cancels in the PayPal simulator
// (back on the hosted page, which offers both methods again), chooses
// PayPal again and approves: the shop's success page, the payment Paid by
// PayPal. Both pages pass axe; screenshots at desktop and phone width.
func TestBrowserPayPal(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := browsertest.New(t, 0)
			h := newHarness(t, e)
			shots := func(string) {}
			if e.Name == "sqlite" {
				shots = browsertest.Screenshotter(t, ctx, "gateway-paypal-")
			}
			shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, `<!doctype html><p id="done">%s</p>`, r.URL.Query().Get("r"))
			}))
			defer shop.Close()
			h.enableMethods(true, "Card", "CreditCard", "PayPal")
			body := strings.ReplaceAll(paypalJob("Order 1042", "24.99", ""), "https://shop.test", shop.URL)
			m := h.must("POST", "/api/gateway/payment-jobs", body, 201)
			jobRef, _ := refs(m)
			text := func(sel string) string {
				s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
				if err != nil {
					t.Fatalf("%s: %v", sel, err)
				}
				return strings.TrimSpace(s)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(actionURL(m)), chromedp.WaitVisible(chromedp.CSS("#paypal")),
				chromedp.WaitVisible(chromedp.CSS("#card-form"))); err != nil {
				t.Fatal(err)
			}
			browsertest.CheckAxe(t, ctx, "hosted page with PayPal")
			shots("choice")
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#paypal")), chromedp.WaitVisible(chromedp.CSS("#approve"))); err != nil {
				t.Fatal(err)
			}
			if got := text("#amount"); got != "24.99 GBP" {
				t.Errorf("simulator amount %q", got)
			}
			browsertest.CheckAxe(t, ctx, "PayPal simulator")
			shots("simulator")
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#paypal-cancel")), chromedp.WaitVisible(chromedp.CSS("#paypal"))); err != nil {
				t.Fatal(err)
			}
			if got := text("#error"); !strings.Contains(got, "The previous payment was cancelled.") {
				t.Errorf("after cancel: %q", got)
			}
			shots("after-cancel")
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#paypal")), chromedp.WaitVisible(chromedp.CSS("#approve")),
				chromedp.Click(chromedp.CSS("#approve")), chromedp.WaitVisible(chromedp.CSS("#done"))); err != nil {
				t.Fatal(err)
			}
			loc, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(loc, shop.URL+"/?r=ok&paymentjobref="+jobRef) {
				t.Errorf("ended on %s", loc)
			}
			j := data(h.must("GET", "/api/gateway/payment-jobs/"+jobRef, "", 200))
			pays := j["payments"].([]any)
			if j["paymentStatus"] != "Paid" || len(pays) != 2 || methodsOf(pays[1].(map[string]any)) != "PayPal" {
				t.Errorf("job after the browser: %v", j)
			}
		})
	}
}
