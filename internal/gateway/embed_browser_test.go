package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cashgate/cashgate/internal/browsertest"
	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestBrowserEmbeddedPaymentPage: in headless Chromium, a shop on another
// site (localhost; cashgate on 127.0.0.1) embeds a payment link's hosted
// page in an iframe: with the shop's origin in the tenant's
// embeddingDomains the shopper pays inside the frame (axe-core on the framed
// page, screenshots of the shop at 1280 and 390); a job narrowed to another
// origin is not shown in the shop's frame.
func TestBrowserEmbeddedPaymentPage(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := browsertest.New(t, 90*time.Second)
			h := newHarness(t, e)
			var src string
			shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				if r.URL.Path == "/done" {
					_, _ = w.Write([]byte(`<!doctype html><html lang="en"><title>Shop</title><p id="done">Thank you</p></html>`))
					return
				}
				_, _ = w.Write([]byte(`<!doctype html><html lang="en"><head><title>Acme shop</title><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:sans-serif;margin:1rem"><h1>Acme shop · checkout</h1>
<iframe id="pay" title="Payment" src="` + src + `" style="width:100%;max-width:640px;height:900px;border:1px solid #ccc"></iframe></body></html>`))
			}))
			t.Cleanup(shop.Close)
			origin := strings.Replace(shop.URL, "127.0.0.1", "localhost", 1)
			domains := []string{origin}
			h.settings(gateway.GatewaySettings{AutoCapture: true, EmbeddingDomains: &domains})
			link := func(order, frames string) (string, string) {
				m := h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"12.50","order":{"orderNumber":"`+order+`"},`+frames+
					`"parameters":{"returnUrlSuccess":"`+origin+`/done","returnUrlFailed":"`+origin+`/done"}}`, 201)
				ref, _ := refs(m)
				return ref, actionURL(m)
			}

			jobRef, action := link("embedded-1", "")
			src = action
			if err := chromedp.Do(ctx, chromedp.Navigate(origin+"/"), chromedp.WaitVisible(chromedp.CSS("#pay"))); err != nil {
				t.Fatal(err)
			}
			frame := gatewayFrame(t, ctx, h.Server.URL, 5*time.Second)
			if frame == nil {
				t.Fatal("the payment page's iframe did not load (refused by its frame-ancestors?)")
			}
			if err := chromedp.Do(frame, chromedp.WaitVisible(chromedp.CSS("#cardNumber"))); err != nil {
				t.Fatal(err)
			}
			browsertest.CheckAxe(t, frame, "embedded payment page")
			if e.Name == "sqlite" {
				browsertest.Screenshotter(t, ctx, "gateway-")("embedded-payment-page")
			}
			if err := chromedp.Do(frame,
				chromedp.SetValue(chromedp.CSS("#cardNumber"), "4000000000000010"),
				chromedp.SetValue(chromedp.CSS("#cardHolderName"), "Ada Lovelace"),
				chromedp.SetValue(chromedp.CSS("#cardExpiryMonth"), "12"),
				chromedp.SetValue(chromedp.CSS("#cardExpiryYear"), "30"),
				chromedp.SetValue(chromedp.CSS("#cardCvc"), "321"),
				chromedp.Evaluate[chromedp.Void](`document.getElementById("pay").click()`),
			); err != nil {
				t.Fatal(err)
			}
			for i := 0; data(h.must("GET", "/api/gateway/payment-jobs/"+jobRef, "", 200))["paymentStatus"] != "Paid"; i++ {
				if i == 50 {
					t.Fatal("the payment made in the frame did not go through")
				}
				time.Sleep(100 * time.Millisecond)
			}

			// A job narrowed to another origin: the shop's frame stays empty.
			narrowed := []string{origin, "https://shop.example"}
			h.settings(gateway.GatewaySettings{AutoCapture: true, EmbeddingDomains: &narrowed})
			_, src = link("embedded-2", `"parentFrameDomains":["https://shop.example"],`)
			if err := chromedp.Do(ctx, chromedp.Navigate(origin+"/"), chromedp.WaitVisible(chromedp.CSS("#pay"))); err != nil {
				t.Fatal(err)
			}
			if frame := gatewayFrame(t, ctx, h.Server.URL, 2*time.Second); frame != nil {
				shown, err := chromedp.Run(frame, chromedp.Evaluate[bool](`!!document.getElementById("cardNumber")`))
				if err == nil && shown {
					t.Fatal("a job narrowed to another origin was shown in the shop's frame")
				}
			}
		})
	}
}

// gatewayFrame attaches to the cross-site iframe showing a page under base,
// waiting up to wait; nil when there is none.
func gatewayFrame(t *testing.T, ctx context.Context, base string, wait time.Duration) context.Context {
	t.Helper()
	for end := time.Now().Add(wait); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, base) {
				frame, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID))
				t.Cleanup(cancel)
				return frame
			}
		}
	}
	return nil
}
