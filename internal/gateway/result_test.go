package gateway_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestDefaultReturnPage: the default return page tells the truth about the
// payment its return URL names, read from the database: paid, authorised,
// failed (with the guide's reason), cancelled; a status edited into the
// query changes nothing; unknown references find nothing; a German job's
// page is German.
func TestDefaultReturnPage(t *testing.T) {
	card := func(number, locale string) string {
		return `{"currency":"GBP","amountToCollect":"4.00","options":["IsMoto"],"locale":"` + locale + `",
"parameters":{"cardNumber":"` + number + `","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"30"}}`
	}
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			returnPage := func(u string, wantStatus int, want ...string) {
				t.Helper()
				st, body := h.page(u)
				if st != wantStatus {
					t.Errorf("%s: %d, want %d: %.600s", u, st, wantStatus, body)
				}
				for _, w := range want {
					if !strings.Contains(body, w) {
						t.Errorf("%s: no %q in %.900s", u, w, body)
					}
				}
			}
			paid := actionURL(h.must("POST", "/api/gateway/payment-jobs", card("4000000000000010", "en_GB"), 201))
			returnPage(paid, 200, "<h1>Payment completed</h1>", `data-status="Paid"`, "your payment has been received")
			returnPage(paid+"&status=cancelled", 200, "<h1>Payment completed</h1>")

			// A declined job's answer has no action; its return URL is the one
			// the hosted page would send the shopper to.
			resultOf := func(m map[string]any, locale string) string {
				jobRef, payRef := refs(m)
				return h.Server.URL + "/payment/result?" + locale + "paymentjobref=" + jobRef + "&paymentref=" + payRef
			}
			failed := resultOf(h.must("POST", "/api/gateway/payment-jobs", card("4000000000000044", "en_GB"), 201), "")
			returnPage(failed, 200, "<h1>Payment failed</h1>", `data-status="Failed"`, "no money was taken", gateway.MsgRefused.Message)
			if st, body := h.page(failed); strings.Contains(body, "completed") {
				t.Errorf("a failed payment's page says completed: %d %.600s", st, body)
			}
			de := resultOf(h.must("POST", "/api/gateway/payment-jobs", card("4000000000000044", "de_DE"), 201), "locale=de-DE&")
			returnPage(de, 200, "<h1>Zahlung fehlgeschlagen</h1>", "Die Zahlung wurde abgelehnt.")

			// Cancelled on the 3-D Secure page.
			m := h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"4.00","parameters":{"cardNumber":"4000000000000002",
"cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"30","cardHolderName":"Jon Snow"}}`, 201)
			token := mustQuery(t, strings.SplitN(actionURL(m), "?", 2)[1]).Get("ref")
			resp, err := h.NoRedirect.PostForm(h.Server.URL+"/payment/3ds?ref="+token, url.Values{"result": {"cancel"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			returnPage(resp.Header.Get("Location"), 200, "<h1>Payment cancelled</h1>", `data-status="Cancelled"`)

			// Authorised only (auto capture off).
			h.settings(gateway.GatewaySettings{AutoCapture: false})
			auth := actionURL(h.must("POST", "/api/gateway/payment-jobs", card("4000000000000010", "fr_FR"), 201))
			returnPage(auth, 200, "<h1>Paiement autorisé</h1>", `data-status="Authorised"`)

			for _, u := range []string{"/payment/result", "/payment/result?paymentjobref=123456789012345678&paymentref=123456789012345678"} {
				returnPage(h.Server.URL+u, 404, "This payment could not be found.")
			}
			returnPage(h.Server.URL+"/payment/result?paymentjobref=x%00&paymentref=1", 400, "control character")
			// Another job's payment reference is not this job's.
			q := mustQuery(t, strings.SplitN(paid, "?", 2)[1])
			qf := mustQuery(t, strings.SplitN(failed, "?", 2)[1])
			returnPage(h.Server.URL+"/payment/result?paymentjobref="+q.Get("paymentjobref")+"&paymentref="+qf.Get("paymentref"), 404)
		})
	}
}
