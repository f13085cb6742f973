package gateway_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// oldSettings is a PUT body of the settings as they were before
// autoCaptureRecurring and paymentMethodsEnabled existed.
func oldSettings(autoCapture bool) string {
	b, _ := json.Marshal(map[string]any{"autoCapture": autoCapture, "feeBasisPoints": 0, "feeFixedMinor": 0, "returnUrlSuccess": "",
		"returnUrlFailed": "", "returnUrlCancelled": "", "webhookUrl": "", "requireHmac": false, "requireHmacBodylessWrites": false,
		"refuseDirectCardPayments": false})
	return string(b)
}

// withField adds "name": value to a settings body.
func withField(body, name string, value any) string {
	v, _ := json.Marshal(value)
	return strings.TrimSuffix(body, "}") + `,"` + name + `":` + string(v) + "}"
}

// recurringParent makes a paid recurring parent job (3-D Secure) and
// returns its reference.
func (h *harness) recurringParent() string {
	h.T.Helper()
	m := h.must("POST", "/api/gateway/payment-jobs", `{"options":["IsRecurringPaymentJobParent"],"paymentMethodsToUse":["creditcard"],
"parameters":{"cardNumber":"4000000000000002","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"29","cardHolderName":"Jon Snow"},
"currency":"GBP","amountToCollect":"0.00","recurrenceCriteria":{"recurrenceType":"Unscheduled"}}`, 201)
	parent, _ := refs(m)
	h.complete3DS(actionURL(m), "success")
	return parent
}

// TestAutoCaptureRecurring: seed 003's "Auto Capture Recurring
// Transactions" is a switch of its own for recurring children. A tenant
// that never set it (every old PUT body) keeps the behaviour from before
// the switch: children follow autoCapture. Once set, it holds whatever
// autoCapture says, and a PUT that leaves it out leaves it unchanged.
func TestAutoCaptureRecurring(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			parent := h.recurringParent()
			child := `{"amountToCollect":"3.00","currency":"GBP","parentPaymentJobReference":"` + parent + `"}`
			status := func(body string) string {
				return firstPayment(h.must("POST", "/api/gateway/payment-jobs", body, 201))["status"].(string)
			}
			put := func(body string) {
				t.Helper()
				if r := h.platform(http.MethodPut, "/platform/gateway/settings", body, "Content-Type", "application/json"); r.Status != 200 {
					t.Fatalf("PUT settings %s = %d %s", body, r.Status, r.Body)
				}
			}
			recurring := func() bool { return *h.getSettings().AutoCaptureRecurring }

			if !recurring() || status(child) != gateway.StPaid {
				t.Fatalf("by default recurring children are captured at once")
			}
			put(oldSettings(false)) // an old body: the switch follows autoCapture
			if recurring() || status(child) != gateway.StAuthorised || status(moto("m-1", "1.00")) != gateway.StAuthorised {
				t.Fatalf("autoCapture off, switch never set: children and others are authorised only (recurring %v)", recurring())
			}
			put(withField(oldSettings(false), "autoCaptureRecurring", true))
			if !recurring() || status(child) != gateway.StPaid || status(moto("m-2", "1.00")) != gateway.StAuthorised {
				t.Fatalf("autoCapture off, recurring on: children are captured, other payments not")
			}
			put(oldSettings(false)) // left out: unchanged
			if !recurring() || status(child) != gateway.StPaid {
				t.Fatalf("a PUT without autoCaptureRecurring reset it")
			}
			put(withField(oldSettings(true), "autoCaptureRecurring", false))
			if recurring() || status(child) != gateway.StAuthorised || status(moto("m-3", "1.00")) != gateway.StPaid {
				t.Fatalf("autoCapture on, recurring off: children are authorised only, other payments captured")
			}
			if r := h.platform(http.MethodPut, "/platform/gateway/settings", withField(oldSettings(true), "autoCaptureRecurring", nil),
				"Content-Type", "application/json"); r.Status != 200 || recurring() {
				t.Fatalf("autoCaptureRecurring null = %d %s (recurring %v): want unchanged", r.Status, r.Body, recurring())
			}
		})
	}
}

// TestPaymentMethodsEnabled: the methods a tenant enables are the ones
// supported-payment-methods lists, a payment job may ask for (else the
// guide's "Payment method not allowed.") and the hosted card page takes;
// with none, no payment job is made ("Unable to create paymentjob without
// payment methods available.") and a payment link's page takes no card.
func TestPaymentMethodsEnabled(t *testing.T) {
	const notAllowed = `"code":"PaymentMethodNotAllowed","message":"Payment method not allowed."`
	const noneAvailable = `"message":"Unable to create paymentjob without payment methods available."`
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			put := func(body string, want int) reply {
				t.Helper()
				r := h.platform(http.MethodPut, "/platform/gateway/settings", body, "Content-Type", "application/json")
				if r.Status != want {
					t.Fatalf("PUT settings %s = %d %s, want %d", body, r.Status, r.Body, want)
				}
				return r
			}
			methods := func() []string {
				var out []string
				for _, m := range h.must("GET", "/api/gateway/supported-payment-methods", "", 200)["data"].([]any) {
					out = append(out, m.(map[string]any)["paymentMethod"].(string))
				}
				return out
			}
			if got := *h.getSettings().PaymentMethodsEnabled; strings.Join(got, ",") != "Card,CreditCard" || strings.Join(methods(), ",") != "Card,CreditCard" {
				t.Fatalf("default methods = %v, listed %v", got, methods())
			}
			link := h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"4.00"}`, 201) // a payment link, made while cards are on

			put(withField(oldSettings(true), "paymentMethodsEnabled", []string{" card"}), 200)
			if got := *h.getSettings().PaymentMethodsEnabled; strings.Join(got, ",") != "Card" || strings.Join(methods(), ",") != "Card" {
				t.Fatalf("Card only: settings %v, listed %v", got, methods())
			}
			jobs := h.count(`SELECT COUNT(*) FROM gateway_jobs`)
			if r := h.call("POST", "/api/gateway/payment-jobs", moto("c-1", "1.00")); r.Status != 400 || !bytes.Contains(r.Body, []byte(notAllowed)) {
				t.Errorf("creditcard with Card only = %d %s", r.Status, r.Body)
			}
			if n := h.count(`SELECT COUNT(*) FROM gateway_jobs`); n != jobs {
				t.Errorf("a refused job was stored")
			}
			h.must("POST", "/api/gateway/payment-jobs", strings.Replace(moto("c-2", "1.00"), `"creditcard"`, `"Card"`, 1), 201)
			h.must("POST", "/api/gateway/payment-jobs", strings.Replace(moto("c-3", "1.00"), `"paymentMethodsToUse":["creditcard"],`, ``, 1), 201)

			// Unknown names are refused and change nothing; a PUT without the
			// field leaves it.
			if r := put(withField(oldSettings(true), "paymentMethodsEnabled", []string{"Card", "Bitcoin"}), 400); !bytes.Contains(r.Body, []byte("paymentMethodsEnabled")) {
				t.Errorf("Bitcoin: %s", r.Body)
			}
			put(oldSettings(true), 200)
			if got := *h.getSettings().PaymentMethodsEnabled; strings.Join(got, ",") != "Card" {
				t.Fatalf("after refused and partial PUTs: %v, want Card", got)
			}

			// None: no job, no link, nothing listed, the link's page takes no card.
			put(withField(oldSettings(true), "paymentMethodsEnabled", []string{}), 200)
			if got := methods(); len(got) != 0 {
				t.Errorf("none enabled, listed %v", got)
			}
			for _, body := range []string{moto("n-1", "1.00"), `{"currency":"GBP","amountToCollect":"4.00"}`} {
				if r := h.call("POST", "/api/gateway/payment-jobs", body); r.Status != 400 || !bytes.Contains(r.Body, []byte(noneAvailable)) {
					t.Errorf("none enabled: %d %s", r.Status, r.Body)
				}
			}
			if r := h.platform("POST", linksPath, `{"amountToCollect":"4.00","currency":"GBP"}`, "Content-Type", "application/json"); r.Status != 400 ||
				!bytes.Contains(r.Body, []byte("Unable to create paymentjob without payment methods available.")) {
				t.Errorf("payment link with none enabled: %d %s", r.Status, r.Body)
			}
			if _, page := h.page(actionURL(link)); !strings.Contains(page, "Card payments are not available here") || strings.Contains(page, `name="cardNumber"`) {
				t.Errorf("the link's page with none enabled offers a card form:\n%s", page)
			}
			payOnLink(t, h, actionURL(link), "4000000000000010")
			ref, _ := refs(link)
			if st := data(h.must("GET", "/api/gateway/payment-jobs/"+ref, "", 200))["paymentStatus"]; st != gateway.StPending {
				t.Errorf("the link was paid with no method enabled: %v", st)
			}

			// Enabled again, the link takes its card.
			put(withField(oldSettings(true), "paymentMethodsEnabled", []string{"CreditCard", "Card"}), 200)
			if got := *h.getSettings().PaymentMethodsEnabled; strings.Join(got, ",") != "Card,CreditCard" {
				t.Errorf("both: %v", got)
			}
			payOnLink(t, h, actionURL(link), "4000000000000010")
			if st := data(h.must("GET", "/api/gateway/payment-jobs/"+ref, "", 200))["paymentStatus"]; st != gateway.StPaid {
				t.Errorf("the link after re-enabling: %v", st)
			}
		})
	}
}
