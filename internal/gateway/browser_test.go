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

// TestBrowserThreeDS completes and fails the 3-D Secure simulator page in
// headless Chromium, and pays a payment link through the hosted card form;
// each ends on the right return URL of the merchant's shop.
func TestBrowserThreeDS(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := browsertest.New(t, 0)
			h := newHarness(t, e)
			shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, `<!doctype html><p id="done">%s</p>`, r.URL.Query().Get("status"))
			}))
			defer shop.Close()
			job := func(order, card string) (string, string, string) {
				params := `"returnUrlSuccess":"` + shop.URL + `/?status=success","returnUrlFailed":"` + shop.URL + `/?status=failed","returnUrlCancelled":"` + shop.URL + `/?status=cancelled"`
				if card != "" {
					params = `"cardNumber":"` + card + `","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"28","cardHolderName":"Jon Snow",` + params
				}
				m := h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"12.50","order":{"orderNumber":"`+order+`"},"parameters":{`+params+`}}`, 201)
				jobRef, payRef := refs(m)
				return jobRef, payRef, m["links"].(map[string]any)["action"].(map[string]any)["url"].(string)
			}
			for _, c := range []struct{ button, status, payStatus string }{
				{"#complete", "success", "Paid"},
				{"#fail", "failed", "Failed"},
			} {
				jobRef, payRef, action := job("browser-"+c.status, "4000000000000002")
				if err := chromedp.Do(ctx,
					chromedp.Navigate(action),
					chromedp.WaitVisible(chromedp.CSS(c.button)),
					chromedp.Click(chromedp.CSS(c.button)),
					chromedp.WaitVisible(chromedp.CSS("#done")),
				); err != nil {
					t.Fatal(err)
				}
				loc, err := chromedp.Run(ctx, chromedp.Location())
				if err != nil {
					t.Fatal(err)
				}
				want := shop.URL + "/?status=" + c.status + "&paymentjobref=" + jobRef + "&paymentref=" + payRef + "&ordernumber=browser-" + c.status
				if loc != want {
					t.Errorf("%s: ended on %s, want %s", c.button, loc, want)
				}
				p := data(h.must("GET", "/api/gateway/payment-jobs/"+jobRef+"/payments/"+payRef, "", 200))
				if p["status"] != c.payStatus {
					t.Errorf("%s: payment %v", c.button, p["status"])
				}
			}
			// A payment link: the hosted card form, then 3-D Secure.
			jobRef, payRef, action := job("browser-link", "")
			if err := chromedp.Do(ctx,
				chromedp.Navigate(action),
				chromedp.SendKeys(chromedp.CSS("#cardNumber"), "4000000000000002"),
				chromedp.SendKeys(chromedp.CSS("#cardHolderName"), "Ada Lovelace"),
				chromedp.SendKeys(chromedp.CSS("#cardExpiryMonth"), "12"),
				chromedp.SendKeys(chromedp.CSS("#cardExpiryYear"), "30"),
				chromedp.SendKeys(chromedp.CSS("#cardCvc"), "321"),
				chromedp.Click(chromedp.CSS("#pay")),
				chromedp.WaitVisible(chromedp.CSS("#complete")),
				chromedp.Click(chromedp.CSS("#complete")),
				chromedp.WaitVisible(chromedp.CSS("#done")),
			); err != nil {
				t.Fatal(err)
			}
			loc, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(loc, shop.URL+"/?status=success&paymentjobref="+jobRef+"&paymentref="+payRef) {
				t.Errorf("payment link ended on %s", loc)
			}
			if p := data(h.must("GET", "/api/gateway/payment-jobs/"+jobRef+"/payments/"+payRef, "", 200)); p["status"] != "Paid" {
				t.Errorf("payment link: %v", p["status"])
			}
		})
	}
}
