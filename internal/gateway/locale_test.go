package gateway_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/cashgate/cashgate/internal/browsertest"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// pageIn fetches a hosted page with an Accept-Language header.
func (h *harness) pageIn(u, accept string) (int, string) {
	h.T.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		h.T.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept-Language", accept)
	}
	resp, err := h.NoRedirect.Do(req)
	if err != nil {
		h.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestHostedPageLocale: a payment job's locale picks the language of its
// hosted pages and of the messages they show (British English, German,
// French; others fall back to English, a region to its language); a page
// without a job follows the browser's Accept-Language; the default return
// page speaks the job's language; a locale that is no language tag is
// refused.
func TestHostedPageLocale(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			link := func(order, locale string) map[string]any {
				return h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"12.50","locale":"`+locale+`","order":{"orderNumber":"`+order+`"}}`, 201)
			}
			for _, c := range []struct {
				locale, lang string
				want         []string
			}{
				{"en_GB", "en-GB", []string{"Pay by card", "Card number", "12.50 GBP", "Order loc-en_GB"}},
				{"de_DE", "de-DE", []string{"Mit Karte bezahlen", "Kartennummer", "Sicherheitscode", ">Bezahlen<", "12,50 GBP", "Bestellung loc-de_DE"}},
				{"fr_FR", "fr-FR", []string{"Payer par carte", "Numéro de carte", "Code de sécurité", "12,50 GBP", "Commande loc-fr_FR"}},
				{"de-AT", "de-DE", []string{"Mit Karte bezahlen"}},
				{"fr_CA", "fr-FR", []string{"Payer par carte"}},
				{"es_ES", "en-GB", []string{"Pay by card", "12.50 GBP"}},
				{"en_US", "en-GB", []string{"Pay by card"}},
			} {
				m := link("loc-"+c.locale, c.locale)
				if data(m)["locale"] != c.locale {
					t.Errorf("%s: echoed %v", c.locale, data(m)["locale"])
				}
				st, body := h.page(actionURL(m))
				if st != 200 || !strings.Contains(body, `<html lang="`+c.lang+`">`) {
					t.Errorf("%s: %d, lang: %.200s", c.locale, st, body)
				}
				for _, w := range c.want {
					if !strings.Contains(body, w) {
						t.Errorf("%s: no %q in the page", c.locale, w)
					}
				}
			}
			if r := h.call("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"1.00","locale":"not a locale"}`); r.Status != 400 || !strings.Contains(string(r.Body), `"field":"locale"`) {
				t.Errorf("bad locale: %d %s", r.Status, r.Body)
			}

			// The messages: a card refused beside the form, then a declined attempt.
			de := actionURL(link("loc-msg", "de_DE"))
			post := func(u, form string) (int, string) {
				resp, err := h.NoRedirect.PostForm(u, mustQuery(t, form))
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if loc := resp.Header.Get("Location"); loc != "" {
					if !strings.HasPrefix(loc, "http") {
						loc = h.Server.URL + loc
					}
					return h.pageIn(loc, "")
				}
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			if _, body := post(de, "cardNumber=4000000000000010&cardExpiryMonth=01&cardExpiryYear=20&cardCvc=123"); !strings.Contains(body, "Die Karte ist abgelaufen.") {
				t.Errorf("expired card, German: %.600s", body)
			}
			post(de, "cardNumber=4000000000000044&cardExpiryMonth=12&cardExpiryYear=30&cardCvc=123") // declined: to the failed return URL
			if _, body := h.page(de); !strings.Contains(body,
				"Die vorherige Zahlung ist nicht durchgegangen (Die Zahlung wurde abgelehnt.) Sie können es erneut versuchen.") {
				t.Errorf("declined attempt, German: %.900s", body)
			}

			// Pages without a job: the browser's language.
			unknown := h.Server.URL + "/payment/form-post?ref=" + strings.Repeat("ab", 32)
			for accept, want := range map[string]string{
				"":                          "Supplied payment page reference does not exists.",
				"fr-CH, fr;q=0.9, en;q=0.5": "La page de paiement indiquée n’existe pas.",
				"de":                        "Die angegebene Zahlungsseite existiert nicht.",
				"ja, es;q=0.8":              "Supplied payment page reference does not exists.",
			} {
				if st, body := h.pageIn(unknown, accept); st != 404 || !strings.Contains(body, want) {
					t.Errorf("unknown ref, Accept-Language %q: %d %.400s", accept, st, body)
				}
			}

			// The default return page of a German job.
			m := h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"3.00","locale":"de_DE","options":["IsMoto"],
				"parameters":{"cardNumber":"4000000000000010","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"28"}}`, 201)
			ret := actionURL(m)
			if !strings.Contains(ret, "/payment/result?locale=de-DE&paymentjobref=") {
				t.Fatalf("return URL %s", ret)
			}
			if _, body := h.pageIn(ret, "fr"); !strings.Contains(body, "Zahlung abgeschlossen") || !strings.Contains(body, "Vielen Dank: Ihre Zahlung ist eingegangen.") {
				t.Errorf("return page: %.600s", body)
			}
		})
	}
}

func mustQuery(t *testing.T, s string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestBrowserHostedPageInGerman: in Chromium, a German shopper (locale
// de_DE) pays a 3-D Secure card through the German simulator page and a
// payment link on the German card form, after a refusal shown in German;
// both pages pass axe-core and are photographed ($CASHGATE_SCREENSHOTS,
// gateway-de-…).
func TestBrowserHostedPageInGerman(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := browsertest.New(t, 0)
			h := newHarness(t, e)
			shots := func(string) {}
			if e.Name == "sqlite" {
				shots = browsertest.Screenshotter(t, ctx, "gateway-de-")
			}
			text := func(sel string) string {
				s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
				if err != nil {
					t.Fatalf("%s: %v", sel, err)
				}
				return strings.TrimSpace(s)
			}
			m := h.must("POST", "/api/gateway/payment-jobs", `{"currency":"EUR","amountToCollect":"49.90","locale":"de_DE","order":{"orderNumber":"Bestellung-7"},
				"parameters":{"cardNumber":"4000000000000002","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"28","cardHolderName":"Jonas Schnee"}}`, 201)
			if err := chromedp.Do(ctx, chromedp.Navigate(actionURL(m)), chromedp.WaitVisible(chromedp.CSS("#complete"))); err != nil {
				t.Fatal(err)
			}
			if text("h1") != "3-D Secure" || text("#complete") != "Authentifizierung abschließen" || text("#amount") != "49,90 EUR" {
				t.Errorf("3-D Secure page: %q %q %q", text("h1"), text("#complete"), text("#amount"))
			}
			browsertest.CheckAxe(t, ctx, "German 3-D Secure page")
			shots("3ds")
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#complete")), chromedp.WaitVisible(chromedp.CSS("#result"))); err != nil {
				t.Fatal(err)
			}
			if got := text("#result"); got != "Vielen Dank: Ihre Zahlung ist eingegangen." || text("h1") != "Zahlung abgeschlossen" {
				t.Errorf("return page: %q %q", text("h1"), got)
			}
			shots("result")

			link := h.must("POST", "/api/gateway/payment-jobs", `{"currency":"EUR","amountToCollect":"15.00","locale":"de_DE","order":{"orderNumber":"Bestellung-8"}}`, 201)
			if err := chromedp.Do(ctx, chromedp.Navigate(actionURL(link)), chromedp.WaitVisible(chromedp.CSS("#card-form")),
				chromedp.SendKeys(chromedp.CSS("#cardNumber"), "4000000000000010"), chromedp.SendKeys(chromedp.CSS("#cardHolderName"), "Jonas Schnee"),
				chromedp.SendKeys(chromedp.CSS("#cardExpiryMonth"), "05"), chromedp.SendKeys(chromedp.CSS("#cardExpiryYear"), "28"),
				chromedp.SendKeys(chromedp.CSS("#cardCvc"), "1"), chromedp.Click(chromedp.CSS("#pay")), chromedp.WaitVisible(chromedp.CSS("#error"))); err != nil {
				t.Fatal(err)
			}
			if got := text("#error"); got != "Der Sicherheitscode der Karte muss 3 oder 4 Ziffern haben." || text("h1") != "Mit Karte bezahlen" ||
				text(`label[for="cardNumber"]`) != "Kartennummer" {
				t.Errorf("card form: %q %q", text("h1"), got)
			}
			browsertest.CheckAxe(t, ctx, "German card form")
			shots("card-form")
			if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#cardNumber"), "4000000000000010"),
				chromedp.SendKeys(chromedp.CSS("#cardExpiryMonth"), "05"), chromedp.SendKeys(chromedp.CSS("#cardExpiryYear"), "28"),
				chromedp.SendKeys(chromedp.CSS("#cardCvc"), "123"), chromedp.Click(chromedp.CSS("#pay")), chromedp.WaitVisible(chromedp.CSS("#result"))); err != nil {
				t.Fatal(err)
			}
			ref, _ := refs(link)
			if got := data(h.must("GET", "/api/gateway/payment-jobs/"+ref, "", 200))["paymentStatus"]; got != "Paid" {
				t.Errorf("link: %v", got)
			}
		})
	}
}
