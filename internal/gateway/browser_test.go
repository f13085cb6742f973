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

// TestBrowserPaymentLinkRetry: in headless Chromium, a payment link fails
// once with a declined card, then the shopper opens the link again and pays
// (through 3-D Secure), ending on the success URL.
func TestBrowserPaymentLinkRetry(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := browsertest.New(t, 0)
			h := newHarness(t, e)
			shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, `<!doctype html><p id="done">%s</p>`, r.URL.Query().Get("status"))
			}))
			defer shop.Close()
			m := h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"42.00","order":{"orderNumber":"link-retry"},"parameters":{"returnUrlSuccess":"`+shop.URL+`/?status=success","returnUrlFailed":"`+shop.URL+`/?status=failed","returnUrlCancelled":"`+shop.URL+`/?status=cancelled"}}`, 201)
			jobRef, firstPay := refs(m)
			link := actionURL(m)
			fill := func(pan string) []chromedp.Action[chromedp.Void] {
				return []chromedp.Action[chromedp.Void]{
					chromedp.WaitVisible(chromedp.CSS("#card-form")),
					chromedp.SendKeys(chromedp.CSS("#cardNumber"), pan),
					chromedp.SendKeys(chromedp.CSS("#cardHolderName"), "Ada Lovelace"),
					chromedp.SendKeys(chromedp.CSS("#cardExpiryMonth"), "12"),
					chromedp.SendKeys(chromedp.CSS("#cardExpiryYear"), "30"),
					chromedp.SendKeys(chromedp.CSS("#cardCvc"), "321"),
					chromedp.Click(chromedp.CSS("#pay")),
				}
			}
			// First attempt: declined by the issuer.
			steps := append([]chromedp.Action[chromedp.Void]{chromedp.Navigate(link)}, fill("4000000000000044")...)
			if err := chromedp.Do(ctx, append(steps, chromedp.WaitVisible(chromedp.CSS("#done")))...); err != nil {
				t.Fatal(err)
			}
			loc, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			if want := shop.URL + "/?status=failed&paymentjobref=" + jobRef + "&paymentref=" + firstPay + "&ordernumber=link-retry"; loc != want {
				t.Errorf("declined: ended on %s, want %s", loc, want)
			}
			// Back to the link: the form again, saying why; then 3-D Secure.
			if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#error"))); err != nil {
				t.Fatal(err)
			}
			msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#error")))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(msg, "Payment has been refused.") {
				t.Errorf("retry page says %q", msg)
			}
			if err := chromedp.Do(ctx, append(fill("4000000000000002"),
				chromedp.WaitVisible(chromedp.CSS("#complete")),
				chromedp.Click(chromedp.CSS("#complete")),
				chromedp.WaitVisible(chromedp.CSS("#done")),
			)...); err != nil {
				t.Fatal(err)
			}
			j := data(h.must("GET", "/api/gateway/payment-jobs/"+jobRef, "", 200))
			pays := j["payments"].([]any)
			if j["paymentStatus"] != "Paid" || len(pays) != 2 || pays[0].(map[string]any)["status"] != "Failed" || pays[1].(map[string]any)["status"] != "Paid" {
				t.Fatalf("job after the retry: %v", j)
			}
			secondPay := pays[1].(map[string]any)["reference"].(string)
			loc, err = chromedp.Run(ctx, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			if want := shop.URL + "/?status=success&paymentjobref=" + jobRef + "&paymentref=" + secondPay + "&ordernumber=link-retry"; loc != want {
				t.Errorf("paid: ended on %s, want %s", loc, want)
			}
			if p, _, _ := h.balances(); p != 4200 {
				t.Errorf("merchant pending = %d, want 4200", p)
			}
		})
	}
}
