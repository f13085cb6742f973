package gateway_test

import (
	"bytes"
	"testing"

	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestPaymentPageReference: a payment job naming a hosted payment page that
// does not exist is created with the default page, and its answer (also
// when replayed) carries the guide's warning "Supplied payment page
// reference does not exists."; the default page's own reference, or none,
// has no warning; a later read of the job has none either.
func TestPaymentPageReference(t *testing.T) {
	const warning = `"warnings":[{"code":"PaymentPageNotFound","message":"Supplied payment page reference does not exists.","field":"paymentPageReference"}]`
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			job := func(order, ref string) string {
				return `{"currency":"GBP","amountToCollect":"7.50","order":{"orderNumber":"` + order + `"},"parameters":{"paymentPageReference":"` + ref + `"}}`
			}
			body := job("pp-1", "summer-sale")
			r := h.call("POST", "/api/gateway/payment-jobs", body, "Idempotency-Key", "pp-1")
			if r.Status != 201 || !bytes.Contains(r.Body, []byte(warning)) {
				t.Fatalf("unknown page: %d %s", r.Status, r.Body)
			}
			if again := h.call("POST", "/api/gateway/payment-jobs", body, "Idempotency-Key", "pp-1"); !bytes.Equal(again.Body, r.Body) {
				t.Errorf("replay: %s", again.Body)
			}
			m := r.JSON(t)
			ref, _ := refs(m)
			if got := h.call("GET", "/api/gateway/payment-jobs/"+ref, ""); bytes.Contains(got.Body, []byte(`"warnings"`)) {
				t.Errorf("a read carries the warning: %s", got.Body)
			}
			if csp, _ := h.pageHeaders(actionURL(m)); csp == "" {
				t.Error("the default page is not shown")
			}
			direct := `{"currency":"GBP","amountToCollect":"2.00","options":["IsMoto"],"parameters":{"cardNumber":"4000000000000010","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"28","PaymentPageReference":"nope"}}`
			if r := h.call("POST", "/api/gateway/payment-jobs", direct); r.Status != 201 || !bytes.Contains(r.Body, []byte(warning)) || firstPayment(r.JSON(t))["status"] != "Paid" {
				t.Errorf("MOTO with an unknown page: %d %s", r.Status, r.Body)
			}
			for i, b := range []string{job("pp-2", "default"), job("pp-3", "DEFAULT"), `{"currency":"GBP","amountToCollect":"7.50"}`} {
				if r := h.call("POST", "/api/gateway/payment-jobs", b); r.Status != 201 || bytes.Contains(r.Body, []byte(`"warnings"`)) {
					t.Errorf("%d: %d %s", i, r.Status, r.Body)
				}
			}
		})
	}
}
