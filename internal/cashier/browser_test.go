package cashier_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/cashgate/cashgate/internal/browsertest"
	"github.com/cashgate/cashgate/internal/cashier"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// EnvScreenshots names the directory the browser test writes its
// screenshots to (nothing is written when it is unset).
const EnvScreenshots = "CASHGATE_SCREENSHOTS"

// TestBrowserHostedCashierInIframe: a customer deposits through the hosted
// cashier inside an iframe of the Platform's site (another site:
// localhost, cashgate on 127.0.0.1), by a card enrolled in 3-D Secure
// (the challenge page in the iframe too), and the Platform's "return"
// link leads the top window back; every page is checked with axe-core and
// photographed at 1280 and 390 pixels wide.
func TestBrowserHostedCashierInIframe(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := browsertest.New(t, 90*time.Second)
			v := newEnv(t, e, 19)
			var session string
			shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				if r.URL.Path == "/back" {
					_, _ = w.Write([]byte(`<!doctype html><html lang="en"><title>Shop</title><h1 id="thanks">Thanks for your deposit</h1></html>`))
					return
				}
				_, _ = w.Write([]byte(`<!doctype html><html lang="en"><head><title>Acme Casino</title><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:sans-serif;margin:1rem"><h1>Acme Casino · deposit</h1>
<iframe id="cashier" title="Cashier" src="` + session + `" style="width:100%;max-width:640px;height:1250px;border:1px solid #ccc"></iframe></body></html>`))
			}))
			t.Cleanup(shop.Close)
			origin := strings.Replace(shop.URL, "127.0.0.1", "localhost", 1)
			v.settings(`{"frameAncestors":["` + origin + `"]}`)
			v.customer("c-1", "EUR", "")
			s := v.session(`{"customerId":"c-1","intent":"deposit","orderReference":"o-77","returnUrl":"` + origin + `/back"}`)
			session = s.URL

			if err := chromedp.Do(ctx, chromedp.Navigate(origin+"/"), chromedp.WaitVisible(chromedp.CSS("#cashier"))); err != nil {
				t.Fatal(err)
			}
			frame := cashierFrame(t, ctx, v.Server.URL)
			payInCashier(t, frame, func(string) {}, true)
			back, err := chromedp.Run(frame, chromedp.Evaluate[string](`document.getElementById("back").href`))
			if err != nil || !strings.HasPrefix(back, origin+"/back?depositId=") || !strings.Contains(back, "status=captured") {
				t.Fatalf("the way back %q %v", back, err)
			}
			if err := chromedp.Do(frame, chromedp.Evaluate[chromedp.Void](`document.getElementById("back").click()`, gesture)); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#thanks"))); err != nil {
				t.Fatalf("the top window did not go back to the shop: %v", err)
			}
			if b := v.balance("c-1"); b.Available != "40.00" {
				t.Fatalf("balance: %+v", b)
			}
			if e.Name == "sqlite" { // the pages themselves, photographed at both widths
				s2 := v.session(`{"customerId":"c-1","intent":"deposit","orderReference":"o-78","returnUrl":"` + origin + `/back"}`)
				if err := chromedp.Do(ctx, chromedp.Navigate(s2.URL)); err != nil {
					t.Fatal(err)
				}
				payInCashier(t, ctx, screenshotter(t, ctx), false)
			}
			var got cashier.Session
			v.want(v.call("GET", "/cashier/v1/sessions/"+s.ID, ""), 200, &got)
			if got.Status != cashier.SessionComplete {
				t.Fatalf("session: %+v", got)
			}
		})
	}
}

// gesture marks an evaluation as the user's (a link from a cross-site
// iframe may navigate the top window only on a user's activation).
func gesture(p *runtime.EvaluateParams) {
	yes := true
	p.UserGesture = &yes
}

// payInCashier deposits 40.00 EUR by a card enrolled in 3-D Secure on the
// hosted cashier shown in c (the iframe, or a tab), checking each page
// with axe-core and photographing it with shots.
func payInCashier(t *testing.T, c context.Context, shots func(string), framed bool) {
	t.Helper()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(c, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	click := func(id string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`document.getElementById("`+id+`").click()`, gesture)
	}
	step("cashier form", chromedp.WaitVisible(css("#card-number")))
	browsertest.CheckAxe(t, c, "cashier")
	shots("cashier-01-methods")
	step("pay by card",
		chromedp.SetValue(css("#card-amount"), "40.00"),
		chromedp.SetValue(css("#card-number"), "4000 0000 0000 0002"),
		chromedp.SetValue(css("#card-holderName"), "Ann Smith"),
		chromedp.SetValue(css("#card-expiryMonth"), "05"),
		chromedp.SetValue(css("#card-expiryYear"), "30"),
		chromedp.SetValue(css("#card-cvc"), "123"),
		click("card-submit"),
		chromedp.WaitVisible(css("#authenticate")))
	browsertest.CheckAxe(t, c, "3-D Secure")
	shots("cashier-02-3ds")
	step("authenticate", click("authenticate"), chromedp.WaitVisible(css("#outcome")))
	browsertest.CheckAxe(t, c, "outcome")
	shots("cashier-03-accepted")
	text, err := chromedp.Run(c, chromedp.Text(css("#outcome")))
	if err != nil || !strings.Contains(text, "40.00 EUR was accepted") {
		t.Fatalf("outcome %q %v (framed %t)", text, err, framed)
	}
}

// cashierFrame attaches to the cross-site iframe showing cashgate's page.
func cashierFrame(t *testing.T, ctx context.Context, base string) context.Context {
	t.Helper()
	for range 50 {
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
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the cashier's iframe did not load (refused by its frame-ancestors?)")
	return nil
}

// screenshotter returns a function that writes full-page PNGs of the
// top window at 1280 and 390 pixels wide into $CASHGATE_SCREENSHOTS.
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
			if vp.mobile {
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
