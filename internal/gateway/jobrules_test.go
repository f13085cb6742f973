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

// TestDirectJobAfterPaymentCancel: the guide's "Cancellation requests" with
// its example job "Payment ref D1C" (a card payment through 3-D Secure,
// paid, then cancelled the same day): cancelling the payment is not
// cancelling the job — the job is Pending again, holds its order number,
// and its links.action opens a hosted card page that takes the next
// payment; cancelling the job then ends it. A payment cancelled while it
// waits for 3-D Secure leaves its job usable the same way; a recurring
// child, which has no page, is Cancelled.
func TestDirectJobAfterPaymentCancel(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			job := func(ref string) map[string]any { return h.must("GET", "/api/gateway/payment-jobs/"+ref, "", 200) }
			d1c := strings.Replace(threeDSBody, "Payment ref D1", "Payment ref D1C", 1)
			m := h.must("POST", "/api/gateway/payment-jobs", d1c, 201)
			jobRef, payRef := refs(m)
			h.complete3DS(actionURL(m), "success")
			if d := data(job(jobRef)); d["paymentStatus"] != "Paid" {
				t.Fatalf("after 3-D Secure: %v", d["paymentStatus"])
			}
			r := h.call("PATCH", "/api/gateway/payment-jobs/"+jobRef+"/payments/"+payRef+"/cancel", "")
			if r.Status != 200 {
				t.Fatalf("cancel payment: %d %s", r.Status, r.Body)
			}
			p := data(r.JSON(t))
			var actions []string
			for _, s := range p["steps"].([]any) {
				actions = append(actions, s.(map[string]any)["action"].(string)+":"+s.(map[string]any)["status"].(string))
			}
			if p["status"] != "Cancelled" || p["paidAmount"] != "10.00" || strings.Join(actions, " ") != "Start:Pending Process:Paid Cancel:Cancelled" {
				t.Errorf("the guide's cancelled payment: %v %v %v", p["status"], p["paidAmount"], actions)
			}
			m = job(jobRef)
			pays := data(m)["payments"].([]any)
			if data(m)["paymentStatus"] != "Pending" || len(pays) != 2 || pays[1].(map[string]any)["status"] != "Pending" {
				t.Fatalf("job after its payment was cancelled: %v, %d payments", data(m)["paymentStatus"], len(pays))
			}
			action := actionURL(m)
			if !strings.Contains(action, "/payment/form-post?ref=") {
				t.Fatalf("no hosted page for the next payment: %s", action)
			}
			if r := h.call("POST", "/api/gateway/payment-jobs", d1c); r.Status != 400 || !bytes.Contains(r.Body, []byte("The supplied order reference is not unique.")) {
				t.Errorf("the job still holds its order: %d %s", r.Status, r.Body)
			}
			if loc := payOnLink(t, h, action, "4000000000000010"); !strings.HasPrefix(loc, "https://www.mywebshop.com?status=success") {
				t.Fatalf("next payment on the job's page: %s", loc)
			}
			if d := data(job(jobRef)); d["paymentStatus"] != "Paid" || d["amountCollected"] != "10.00" || len(d["payments"].([]any)) != 2 {
				t.Errorf("job paid by its next payment: %v %v", d["paymentStatus"], d["amountCollected"])
			}

			// Cancelled while waiting for 3-D Secure; then the job is cancelled.
			m = h.must("POST", "/api/gateway/payment-jobs", strings.Replace(threeDSBody, "Payment ref D1", "Payment ref D1C2", 1), 201)
			jobRef, payRef = refs(m)
			h.must("PATCH", "/api/gateway/payment-jobs/"+jobRef+"/payments/"+payRef+"/cancel", "", 200)
			m = job(jobRef)
			if data(m)["paymentStatus"] != "Pending" || !strings.Contains(actionURL(m), "/payment/form-post?ref=") {
				t.Fatalf("job after its 3-D Secure payment was cancelled: %v %s", data(m)["paymentStatus"], actionURL(m))
			}
			m = h.must("PATCH", "/api/gateway/payment-jobs/"+jobRef+"/cancel", "", 200)
			if d := data(m); d["paymentStatus"] != "Cancelled" || d["payments"].([]any)[1].(map[string]any)["status"] != "Cancelled" {
				t.Errorf("job cancelled: %v", d)
			}
			if _, ok := m["links"].(map[string]any)["action"]; ok {
				t.Errorf("a cancelled job offers an action: %v", m["links"])
			}

			// A recurring child has no page: its job ends.
			h.settings(gateway.GatewaySettings{AutoCapture: false})
			parent := h.must("POST", "/api/gateway/payment-jobs", `{"options":["IsRecurringPaymentJobParent","IsMoto"],"currency":"GBP","amountToCollect":"1.00",
"parameters":{"cardNumber":"4000000000000010","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"29"},"recurrenceCriteria":{"recurrenceType":"Unscheduled"}}`, 201)
			parentRef, _ := refs(parent)
			child := h.must("POST", "/api/gateway/payment-jobs", `{"amountToCollect":"10.00","currency":"GBP","parentPaymentJobReference":"`+parentRef+`","order":{"orderNumber":"Payment 2"}}`, 201)
			childRef, childPay := refs(child)
			h.must("PATCH", "/api/gateway/payment-jobs/"+childRef+"/payments/"+childPay+"/cancel", "", 200)
			if d := data(job(childRef)); d["paymentStatus"] != "Cancelled" || len(d["payments"].([]any)) != 1 {
				t.Errorf("child after its payment was cancelled: %v", d["paymentStatus"])
			}
		})
	}
}
