package gateway_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestOrderNumberScope: an orderNumber is unique among a tenant's live and
// paid jobs, and a recurring child's among its parent's children; a job that
// is over (cancelled, expired, or a direct job whose payment was declined)
// frees it. The guide's "declined → new job for the same order" and its
// children of different subscriptions, all "Payment 2", go through.
func TestOrderNumberScope(t *testing.T) {
	const notUnique = "The supplied order reference is not unique."
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			create := func(body string, status int) map[string]any {
				t.Helper()
				r := h.call("POST", "/api/gateway/payment-jobs", body)
				if r.Status != status || (status == 400 && !bytes.Contains(r.Body, []byte(notUnique))) {
					t.Fatalf("create %.80s: %d %s, want %d", body, r.Status, r.Body, status)
				}
				if status != 201 {
					return nil
				}
				return r.JSON(t)
			}
			link := func(order string) string {
				return `{"currency":"GBP","amountToCollect":"5.00","order":{"orderNumber":"` + order + `"}}`
			}
			direct := func(order, pan string) string { // MOTO: no 3-D Secure
				return strings.Replace(moto(order, "5.00"), "4000000000000010", pan, 1)
			}
			ecommerce := func(order, pan string) string { // with 3-D Secure
				b := strings.Replace(direct(order, pan), `,"options":["IsMoto"]`, "", 1)
				return strings.Replace(b, `"cardExpiryYear":"28"`, `"cardExpiryYear":"28","cardHolderName":"Jon Snow"`, 1)
			}

			// A declined direct payment ends its job; the order takes a new job.
			m := create(direct("o-declined", "4000000000000044"), 201)
			if d := data(m); d["paymentStatus"] != "Cancelled" || firstPayment(m)["status"] != "Failed" {
				t.Fatalf("declined direct job: %v / %v", d["paymentStatus"], firstPayment(m)["status"])
			}
			create(direct("o-declined", "4000000000000010"), 201)
			create(direct("o-declined", "4000000000000010"), 400) // now paid: held

			// A live payment link holds its number until it is cancelled.
			m = create(link("o-live"), 201)
			create(link("o-live"), 400)
			jobRef, _ := refs(m)
			h.must("PATCH", "/api/gateway/payment-jobs/"+jobRef+"/cancel", "", 200)
			create(link("o-live"), 201)

			// A direct payment abandoned at 3-D Secure ends its job too.
			m = create(ecommerce("o-3ds", "4000000000000002"), 201)
			h.complete3DS(actionURL(m), "cancel")
			jobRef, _ = refs(m)
			if d := data(h.must("GET", "/api/gateway/payment-jobs/"+jobRef, "", 200)); d["paymentStatus"] != "Cancelled" {
				t.Fatalf("direct job after an abandoned 3-D Secure: %v", d["paymentStatus"])
			}
			create(direct("o-3ds", "4000000000000010"), 201)

			// Children: "Payment 2" under two parents and at top level.
			parent := func() string {
				m := create(`{"options":["IsRecurringPaymentJobParent"],"currency":"GBP","amountToCollect":"0.00",
"parameters":{"cardNumber":"4000000000000010","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"29","cardHolderName":"Jon Snow"},
"recurrenceCriteria":{"recurrenceType":"Unscheduled"}}`, 201)
				ref, _ := refs(m)
				return ref
			}
			child := func(parent string) string {
				return `{"amountToCollect":"10.00","currency":"GBP","parentPaymentJobReference":"` + parent + `","order":{"orderNumber":"Payment 2"},"recurrenceCriteria":{"recurrenceType":"Unscheduled"}}`
			}
			p1, p2 := parent(), parent()
			create(child(p1), 201)
			create(child(p2), 201)
			create(child(p1), 400)
			create(direct("Payment 2", "4000000000000010"), 201)
		})
	}
}

// TestAdvertisedCurrenciesAreAccepted: every currency supported-payment-methods
// lists takes a job, and one it does not list is refused (validation table).
func TestAdvertisedCurrenciesAreAccepted(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			methods := h.must("GET", "/api/gateway/supported-payment-methods", "", 200)["data"].([]any)
			curs := methods[0].(map[string]any)["currencies"].([]any)
			if len(curs) == 0 {
				t.Fatal("no currency advertised")
			}
			for _, c := range curs {
				h.must("POST", "/api/gateway/payment-jobs", `{"currency":"`+c.(string)+`","amountToCollect":"100"}`, 201)
			}
		})
	}
}

// TestCaptureStatusMessages: capturing a payment whose capture is over (auto
// captured, or a final capture made) is the guide's "Capture has an invalid
// status."; capturing one that never went through is "Payment has an
// invalid status.".
func TestCaptureStatusMessages(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			capture := func(m map[string]any, want string) {
				t.Helper()
				job, pay := refs(m)
				r := h.call("POST", "/api/gateway/payment-jobs/"+job+"/payments/"+pay+"/captures", `{"amountToCapture":"1.00","isFinalCapture":"true"}`)
				if r.Status != 400 || !bytes.Contains(r.Body, []byte(`"message":"`+want+`"`)) {
					t.Errorf("capture: %d %s, want 400 %q", r.Status, r.Body, want)
				}
			}
			capture(h.must("POST", "/api/gateway/payment-jobs", moto("c-auto", "5.00"), 201), "Capture has an invalid status.")
			declined := strings.Replace(moto("c-declined", "5.00"), "4000000000000010", "4000000000000044", 1)
			capture(h.must("POST", "/api/gateway/payment-jobs", declined, 201), "Payment has an invalid status.")
			h.settings(gateway.GatewaySettings{AutoCapture: false})
			m := h.must("POST", "/api/gateway/payment-jobs", moto("c-final", "5.00"), 201)
			job, pay := refs(m)
			h.must("POST", "/api/gateway/payment-jobs/"+job+"/payments/"+pay+"/captures", `{"amountToCapture":"2.00","isFinalCapture":"true"}`, 200)
			capture(m, "Capture has an invalid status.")
		})
	}
}

// TestRefuseDirectCardPayments: with the setting, card details in the API
// get the guide's "Direct card payments are not allowed."; payment links,
// stored-card tokens and the hosted page still take cards.
func TestRefuseDirectCardPayments(t *testing.T) {
	const refused = `"message":"Direct card payments are not allowed."`
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			tok := data(h.must("POST", "/api/gateway/card-tokenisation", `{"cardNumber":"4000000000000010","cardExpiryYear":"30","cardExpiryMonth":"10","cardCvc":"123"}`, 201))["token"].(string)
			h.settings(gateway.GatewaySettings{AutoCapture: true, RefuseDirectCardPayments: true})
			for name, c := range map[string]struct{ path, body string }{
				"payment job":  {"/api/gateway/payment-jobs", moto("d-1", "5.00")},
				"invalid card": {"/api/gateway/payment-jobs", strings.Replace(moto("d-2", "5.00"), "4000000000000010", "4000000000000001", 1)},
				"tokenisation": {"/api/gateway/card-tokenisation", `{"cardNumber":"4000000000000010","cardExpiryYear":"30","cardExpiryMonth":"10","cardCvc":"123"}`},
			} {
				if r := h.call("POST", c.path, c.body); r.Status != 400 || !bytes.Contains(r.Body, []byte(refused)) {
					t.Errorf("%s with card details: %d %s", name, r.Status, r.Body)
				}
			}
			m := h.must("POST", "/api/gateway/payment-jobs", `{"parameters":{"token":"`+tok+`","cardCvc":"123"},"options":["IsMoto"],"currency":"GBP","amountToCollect":"1.00"}`, 201)
			if firstPayment(m)["status"] != "Paid" {
				t.Errorf("token payment: %v", firstPayment(m)["status"])
			}
			m = h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"2.00"}`, 201)
			if loc := payOnLink(t, h, actionURL(m), "4000000000000010"); !strings.Contains(loc, "paymentjobref=") {
				t.Errorf("hosted page payment: %s", loc)
			}
			if s := h.getSettings(); !s.RefuseDirectCardPayments {
				t.Errorf("settings do not show the refusal: %+v", s)
			}
		})
	}
}

// payOnLink submits the hosted card form of a payment link and returns
// where the shopper is sent.
func payOnLink(t *testing.T, h *harness, action, pan string) string {
	t.Helper()
	u, err := url.Parse(action)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := h.NoRedirect.PostForm(h.Server.URL+"/payment/form-post?ref="+u.Query().Get("ref"), url.Values{
		"cardNumber": {pan}, "cardHolderName": {"Ada Lovelace"}, "cardExpiryMonth": {"12"}, "cardExpiryYear": {"30"}, "cardCvc": {"321"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Location")
}

func (h *harness) getSettings() gateway.GatewaySettings {
	h.T.Helper()
	r := h.Do(http.MethodGet, "/platform/gateway/settings", nil, map[string]string{"api-key": h.Tenant.APIKey})
	var out gateway.GatewaySettings
	if err := json.Unmarshal(r.Body, &out); r.Status != 200 || err != nil {
		h.T.Fatalf("GET settings = %d %s", r.Status, r.Body)
	}
	return out
}
