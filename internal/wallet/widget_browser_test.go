package wallet_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cashgate/cashgate/internal/browsertest"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// shopPage serves a shop's checkout page on its own origin (localhost; the
// test's cashgate is on 127.0.0.1, another site) that includes the widget
// with the token set, records the widget's DOM events in #events and
// #outcome, and forges a message of its own that the widget must ignore.
type shopPage struct {
	srv    *httptest.Server
	origin string
	mu     sync.Mutex
	script string
	token  string
}

func newShopPage(t *testing.T, cashgate string) *shopPage {
	p := &shopPage{script: cashgate + "/wallet/widget.js"}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		tok := p.token
		p.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Corner Shop · checkout</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;margin:0 auto;padding:1rem;max-width:44rem;color:#222}
.order{background:#f6f1e7;border-radius:8px;padding:.6rem 1rem;margin-bottom:1rem}</style></head>
<body><h1>Corner Shop · checkout</h1>
<div class="order"><p>Order o-7: 1 × espresso beans</p><p><strong>Total 4.20 EUR</strong></p></div>
<h2>Pay</h2><div id="pay-here"></div>
<p>Payment: <output id="outcome">waiting</output></p><ol id="events"></ol>
<script>document.addEventListener("cashgate-wallet", function (e) {
  var li = document.createElement("li"); li.textContent = e.detail.state + " " + (e.detail.requestId || "");
  document.getElementById("events").appendChild(li); document.getElementById("outcome").textContent = e.detail.state; });
window.addEventListener("load", function () {
  window.postMessage({source: "cashgate-wallet", type: "state", state: "approved", requestId: "forged"}, "*"); });</script>
<script src="` + p.script + `" data-token="` + tok + `" data-target="#pay-here" async></script>
</body></html>`))
	}))
	t.Cleanup(p.srv.Close)
	p.origin = strings.Replace(p.srv.URL, "127.0.0.1", "localhost", 1)
	return p
}

func (p *shopPage) use(tok string) {
	p.mu.Lock()
	p.token = tok
	p.mu.Unlock()
}

// TestBrowserWidget: in headless Chromium a shop page on another origin
// embeds the widget with a token minted by its backend: the shopper types
// an unknown username (told so), then alice's; the frame says "approve in
// your wallet app"; alice approves through the wallet app's API; the shop's
// page receives the approval by postMessage as DOM events (and ignores a
// message it forged itself); a second checkout declined in the app is
// reported as denied. A page on an origin the merchant did not
// register cannot frame the widget (CSP frame-ancestors) and receives no
// message. Screenshots at 1280 and 390 (wallet-widget-…), axe-core on the
// frame.
func TestBrowserWidget(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := browsertest.New(t, 120*time.Second)
			s := newStack(t, e)
			shop, foreign := newShopPage(t, s.srv.URL), newShopPage(t, s.srv.URL)
			_, mtok := widgetWorld(t, s, shop.origin)
			mint := func() wallet.WidgetToken {
				var tok wallet.WidgetToken
				s.must(t, 201, "POST", "/wallet/api/v1/widget/tokens", mtok, map[string]any{"origin": shop.origin, "amount": "4.20", "currency": "EUR",
					"description": "Order o-7: espresso beans", "orderId": "o-7", "callbackUrl": "http://127.0.0.1:9/cb"}, &tok)
				return tok
			}
			shots := func(string) {}
			if e.Name == "sqlite" {
				shots = browsertest.Screenshotter(t, ctx, "wallet-widget-")
			}
			run := func(c context.Context, name string, actions ...chromedp.Action[chromedp.Void]) {
				t.Helper()
				if err := chromedp.Do(c, actions...); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
			outcome := func(want string) {
				t.Helper()
				if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("outcome").textContent === "`+want+`"`,
					chromedp.WithPollingTimeout(10*time.Second))); err != nil {
					got, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#events")))
					t.Fatalf("the shop's page never got %q (events %q): %v", want, got, err)
				}
			}
			css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

			tok := mint()
			shop.use(tok.Token)
			run(ctx, "the shop's checkout", chromedp.Navigate(shop.origin+"/"), chromedp.WaitVisible(css("#pay-here iframe")))
			frame := widgetFrame(t, ctx, s.srv.URL, 5*time.Second)
			if frame == nil {
				t.Fatal("the widget's iframe did not load (refused by its frame-ancestors?)")
			}
			run(frame, "the widget", chromedp.WaitVisible(css("#username")))
			outcome("ready")
			browsertest.CheckAxe(t, frame, "widget: username")
			shots("01-username")

			run(frame, "an unknown username", chromedp.SendKeys(css("#username"), "nobody"), chromedp.Click(css("#pay")))
			if _, err := chromedp.Run(frame, chromedp.Poll[bool](`document.getElementById("username-error").textContent.includes("no cashgate wallet")`,
				chromedp.WithPollingTimeout(5*time.Second))); err != nil {
				t.Fatalf("unknown username not reported: %v", err)
			}
			shots("02-unknown-username")
			run(frame, "alice", chromedp.SetValue(css("#username"), "alice"), chromedp.Click(css("#pay")), chromedp.WaitVisible(css("#wait")))
			outcome("pending")
			browsertest.CheckAxe(t, frame, "widget: approve in the app")
			shots("03-approve-in-app")

			var st wallet.WidgetStatus
			s.must(t, 200, "GET", "/wallet/widget/v1/status", tok.Token, nil, &st)
			var sess wallet.WalletSession
			s.must(t, 200, "POST", "/wallet/app/v1/login", "", wallet.WalletLogin{Username: "alice", Password: "alice-password"}, &sess)
			s.must(t, 200, "POST", "/wallet/app/v1/requests/"+st.RequestID+"/approve", sess.Token, wallet.WalletPIN{PIN: "1234"}, nil)
			outcome("approved")
			run(frame, "the frame says paid", chromedp.WaitVisible(css("#approved")))
			events, err := chromedp.Run(ctx, chromedp.Text(css("#events")))
			ok(t, err)
			if !strings.Contains(events, "approved "+st.RequestID) || strings.Contains(events, "forged") {
				t.Fatalf("the shop's events: %q", events)
			}
			shots("04-approved")

			// Declined in the wallet app: the frame and the page say so.
			declined := mint()
			shop.use(declined.Token)
			run(ctx, "a second checkout", chromedp.Navigate(shop.origin+"/"), chromedp.WaitVisible(css("#pay-here iframe")))
			if frame = widgetFrame(t, ctx, s.srv.URL, 5*time.Second); frame == nil {
				t.Fatal("the second widget did not load")
			}
			run(frame, "alice again", chromedp.WaitVisible(css("#username")), chromedp.SendKeys(css("#username"), "alice"),
				chromedp.Click(css("#pay")), chromedp.WaitVisible(css("#wait")))
			s.must(t, 200, "GET", "/wallet/widget/v1/status", declined.Token, nil, &st)
			s.must(t, 200, "POST", "/wallet/app/v1/requests/"+st.RequestID+"/deny", sess.Token, nil, nil)
			outcome("denied")
			run(frame, "the frame says declined", chromedp.WaitVisible(css("#denied")))
			shots("05-declined")

			// A page on an origin the merchant did not register: the frame is
			// refused and no message arrives.
			foreign.use(mint().Token)
			run(ctx, "a foreign page", chromedp.Navigate(foreign.origin+"/"), chromedp.WaitVisible(css("#pay-here iframe")))
			time.Sleep(3 * time.Second) // the frame would have said "ready" by now
			if frame := widgetFrame(t, ctx, s.srv.URL, time.Second); frame != nil {
				shown, err := chromedp.Run(frame, chromedp.Evaluate[bool](`!!document.getElementById("username")`))
				if err == nil && shown {
					t.Fatal("a page on an unregistered origin framed the widget")
				}
			}
			got, err := chromedp.Run(ctx, chromedp.Text(css("#outcome")))
			ok(t, err)
			if got != "waiting" {
				t.Fatalf("the foreign page got %q", got)
			}
			shots("06-unregistered-origin")
		})
	}
}

// widgetFrame attaches to the cross-site iframe showing the widget under
// base, waiting up to wait; nil when there is none.
func widgetFrame(t *testing.T, ctx context.Context, base string, wait time.Duration) context.Context {
	t.Helper()
	for end := time.Now().Add(wait); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, base+"/wallet/widget/frame") {
				frame, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID))
				t.Cleanup(cancel)
				return frame
			}
		}
	}
	return nil
}
