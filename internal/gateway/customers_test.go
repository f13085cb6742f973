package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

const (
	msgInvalidCustomer = `"message":"Invalid customer reference provided."`
	msgMaxTokens       = `"message":"The maximum number of stored tokens for a customer has been reached."`
)

// guideToken is the guide's "How to request a token" body for a customer
// (with an expiry in the future and the card not enrolled in 3-D Secure).
func guideToken(customer, pan, year string) string {
	return `{"cardNumber": "` + pan + `", "CardHolderName": "A Smith", "cardExpiryYear": "` + year + `", "cardExpiryMonth": "10", "cardCvc": "123", "customerReference": "` + customer + `"}`
}

// customerCards is GET supported-payment-methods?customerReference= : the
// tokenizedCards of the Card method.
func (h *harness) customerCards(customer string) []map[string]any {
	h.T.Helper()
	m := h.must("GET", "/api/gateway/supported-payment-methods?customerReference="+customer, "", 200)
	var out []map[string]any
	for _, c := range m["data"].([]any)[0].(map[string]any)["tokenizedCards"].([]any) {
		out = append(out, c.(map[string]any))
	}
	return out
}

// TestCustomerStoredCards: tokens stored for a customer (card-tokenisation
// and GenerateToken) are listed in supported-payment-methods with the masked
// number and expiry; past the tenant's maximum a token is made but not
// stored, with the guide's warning; a customer's token pays only for them;
// a deleted token pays no more; references are checked; another tenant sees
// nothing.
func TestCustomerStoredCards(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			if s := h.getSettings(); s.MaxStoredTokensPerCustomer != gateway.DefaultMaxCustomerTokens {
				t.Fatalf("default maximum: %d", s.MaxStoredTokensPerCustomer)
			}
			h.settings(gateway.GatewaySettings{AutoCapture: true, MaxStoredTokensPerCustomer: 2})

			// The guide's token request, for customer cust-1.
			r := h.call("POST", "/api/gateway/card-tokenisation", guideToken("cust-1", "4000000000000010", "30"))
			if r.Status != 201 || bytes.Contains(r.Body, []byte(`"warnings"`)) {
				t.Fatalf("tokenise: %d %s", r.Status, r.Body)
			}
			h.golden("customer_token", r.Body)
			tok1 := data(r.JSON(t))["token"].(string)

			// GenerateToken during a MOTO payment stores the second card.
			h.Clock.Advance(time.Second) // the list is oldest first
			gen := `{"customerReference":"cust-1","parameters":{"cardNumber":"5400100400099001","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"29"},"order":{"orderNumber":"Payment ref D1T"},"options":["GenerateToken","IsMoto"],"currency":"GBP","amountToCollect":"10.00"}`
			m := h.must("POST", "/api/gateway/payment-jobs", gen, 201)
			if _, ok := m["warnings"]; ok || data(m)["customerReference"] != "cust-1" {
				t.Fatalf("GenerateToken for a customer: %v", m)
			}
			tok2, _ := attrs(firstPayment(m))["token"].(string)
			if tok2 == "" {
				t.Fatalf("no token: %v", firstPayment(m))
			}
			r = h.call("GET", "/api/gateway/supported-payment-methods?customerReference=cust-1", "")
			h.golden("supported_payment_methods_customer", r.Body)
			cards := h.customerCards("cust-1")
			want := []map[string]any{
				{"token": tok1, "truncatedCardNumber": "400000******0010", "cardExpiryMonth": "10", "cardExpiryYear": "30"},
				{"token": tok2, "truncatedCardNumber": "540010******9001", "cardExpiryMonth": "05", "cardExpiryYear": "29"},
			}
			if g, w := mustJSONString(t, cards), mustJSONString(t, want); g != w {
				t.Errorf("tokenizedCards:\n got %s\nwant %s", g, w)
			}
			if c := h.customerCards("cust-2"); len(c) != 0 {
				t.Errorf("another customer's cards: %v", c)
			}

			// The maximum: a third token is made and pays, but is not stored
			// for the customer, and both answers say so.
			r = h.call("POST", "/api/gateway/card-tokenisation", guideToken("cust-1", "4000000000000044", "31"))
			if r.Status != 201 || !bytes.Contains(r.Body, []byte(msgMaxTokens)) {
				t.Fatalf("tokenise past the maximum: %d %s", r.Status, r.Body)
			}
			h.golden("customer_token_max", r.Body)
			tok3 := data(r.JSON(t))["token"].(string)
			if _, ok := data(r.JSON(t))["customerReference"]; ok {
				t.Errorf("a token past the maximum says it is stored: %s", r.Body)
			}
			gen2 := strings.Replace(strings.Replace(gen, "5400100400099001", "4000000000000010", 1), "Payment ref D1T", "Payment ref D1T2", 1)
			r = h.call("POST", "/api/gateway/payment-jobs", gen2)
			if r.Status != 201 || !bytes.Contains(r.Body, []byte(msgMaxTokens)) {
				t.Fatalf("GenerateToken past the maximum: %d %s", r.Status, r.Body)
			}
			if p := firstPayment(r.JSON(t)); p["status"] != "Paid" || attrs(p)["token"] == nil {
				t.Errorf("payment past the maximum: %v", p)
			}
			if c := h.customerCards("cust-1"); len(c) != 2 {
				t.Errorf("%d cards stored past the maximum of 2", len(c))
			}
			payWith := func(tok, customer string) reply {
				body := `{"parameters":{"token":"` + tok + `","cardCvc":"123"},"options":["IsMoto"],"currency":"GBP","amountToCollect":"1.00"`
				if customer != "" {
					body += `,"customerReference":"` + customer + `"`
				}
				return h.call("POST", "/api/gateway/payment-jobs", body+"}")
			}
			if r := payWith(tok3, "cust-2"); r.Status != 201 {
				t.Errorf("a token stored for no customer: %d %s", r.Status, r.Body)
			}

			// A customer's token pays for them (or a job naming nobody), not
			// for another customer.
			if r := payWith(tok1, "cust-1"); r.Status != 201 || firstPayment(r.JSON(t))["status"] != "Paid" {
				t.Errorf("own token: %d %s", r.Status, r.Body)
			}
			if r := payWith(tok1, ""); r.Status != 201 {
				t.Errorf("token without a customer: %d %s", r.Status, r.Body)
			}
			jobs := h.count(`SELECT COUNT(*) FROM gateway_jobs`)
			if r := payWith(tok1, "cust-2"); r.Status != 400 || !bytes.Contains(r.Body, []byte(msgInvalidCustomer)) || !bytes.Contains(r.Body, []byte(`"code":"InvalidCustomerReference"`)) {
				t.Errorf("another customer's token: %d %s", r.Status, r.Body)
			}

			// Invalid references, everywhere they are taken.
			for name, c := range map[string]struct{ method, path, body string }{
				"job":          {"POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"1.00","customerReference":"cust 1"}`},
				"long":         {"POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"1.00","customerReference":"` + strings.Repeat("c", 65) + `"}`},
				"tokenisation": {"POST", "/api/gateway/card-tokenisation", guideToken("cust/1", "4000000000000010", "30")},
				"methods":      {"GET", "/api/gateway/supported-payment-methods?customerReference=", ""},
				"methods text": {"GET", "/api/gateway/supported-payment-methods?customerReference=%3Cb%3E", ""},
			} {
				if r := h.call(c.method, c.path, c.body); r.Status != 400 || !bytes.Contains(r.Body, []byte(msgInvalidCustomer)) {
					t.Errorf("%s: %d %s", name, r.Status, r.Body)
				}
			}
			if n := h.count(`SELECT COUNT(*) FROM gateway_jobs`); n != jobs {
				t.Errorf("refused requests created jobs: %d → %d", jobs, n)
			}

			// Another tenant sees no card of the customer and cannot delete one.
			other, err := h.app.Platform.CreateTenant(context.Background(), platform.TenantSpec{Name: "Other Ltd", Mode: platform.Production})
			if err != nil {
				t.Fatal(err)
			}
			r = h.callAs(other, "GET", "/api/gateway/supported-payment-methods?customerReference=cust-1", "")
			if r.Status != 200 || !bytes.Contains(r.Body, []byte(`"tokenizedCards":[]`)) {
				t.Errorf("other tenant's view: %d %s", r.Status, r.Body)
			}
			if r := h.callAs(other, "DELETE", "/api/gateway/customers/cust-1/tokens/"+tok1, ""); r.Status != 404 {
				t.Errorf("other tenant's delete: %d %s", r.Status, r.Body)
			}

			// Delete: the token leaves the list, pays no more, and frees a place.
			if r := h.call("DELETE", "/api/gateway/customers/cust-2/tokens/"+tok1, ""); r.Status != 404 {
				t.Errorf("delete under another customer: %d %s", r.Status, r.Body)
			}
			// Signed with the plain Hash, which binds no URL, a deletion is
			// refused where the tenant requires HMAC for body-less writes.
			h.settings(gateway.GatewaySettings{AutoCapture: true, RequireHMACBodylessWrites: true})
			for _, body := range []string{"", "{}"} {
				if r := h.call("DELETE", "/api/gateway/customers/cust-1/tokens/"+tok1, body); r.Status != 401 {
					t.Errorf("plain delete %q with the setting: %d %s", body, r.Status, r.Body)
				}
			}
			h.settings(gateway.GatewaySettings{AutoCapture: true})
			r = h.call("DELETE", "/api/gateway/customers/cust-1/tokens/"+tok1, "")
			if r.Status != 200 {
				t.Fatalf("delete: %d %s", r.Status, r.Body)
			}
			h.golden("customer_token_deleted", r.Body)
			if r := h.call("DELETE", "/api/gateway/customers/cust-1/tokens/"+tok1, ""); r.Status != 404 {
				t.Errorf("delete again: %d %s", r.Status, r.Body)
			}
			if c := h.customerCards("cust-1"); len(c) != 1 || c[0]["token"] != tok2 {
				t.Errorf("cards after the delete: %v", c)
			}
			if r := payWith(tok1, ""); r.Status != 400 || !bytes.Contains(r.Body, []byte(`"message":"The card token is not known."`)) {
				t.Errorf("deleted token: %d %s", r.Status, r.Body)
			}
			if r := h.call("POST", "/api/gateway/card-tokenisation", guideToken("cust-1", "4000000000000010", "32")); r.Status != 201 || bytes.Contains(r.Body, []byte(msgMaxTokens)) {
				t.Errorf("tokenise after a delete: %d %s", r.Status, r.Body)
			}
			if c := h.customerCards("cust-1"); len(c) != 2 {
				t.Errorf("cards after a new one: %v", c)
			}

			// The guide's GenerateToken example (through 3-D Secure) for a
			// customer: the token is stored once the challenge succeeded.
			d1t := `{"type":"Payment","customerReference":"cust-3","paymentMethodsToUse":["creditcard"],"parameters":{"cardNumber":"4000000000000002","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"28","cardHolderName":"Jon Snow"},"order":{"orderNumber":"Payment ref D1T3"},"options":["GenerateToken"],"currency":"GBP","amountToCollect":"10.00"}`
			m = h.must("POST", "/api/gateway/payment-jobs", d1t, 201)
			if c := h.customerCards("cust-3"); len(c) != 0 {
				t.Errorf("a token before 3-D Secure: %v", c)
			}
			h.complete3DS(actionURL(m), "success")
			jobRef, payRef := refs(m)
			p := data(h.must("GET", "/api/gateway/payment-jobs/"+jobRef+"/payments/"+payRef, "", 200))
			if c := h.customerCards("cust-3"); len(c) != 1 || c[0]["token"] != attrs(p)["token"] || c[0]["truncatedCardNumber"] != "400000******0002" {
				t.Errorf("token after 3-D Secure: %v (payment %v)", c, attrs(p)["token"])
			}
		})
	}
}

// TestCustomerTokenMaximumConcurrent: however many tokenisations of one
// customer arrive at once, no more than the maximum are stored; the rest
// get the warning.
func TestCustomerTokenMaximumConcurrent(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			h.settings(gateway.GatewaySettings{AutoCapture: true, MaxStoredTokensPerCustomer: 3})
			var wg sync.WaitGroup
			var mu sync.Mutex
			stored, warned := 0, 0
			for range 8 {
				wg.Go(func() {
					r := h.call("POST", "/api/gateway/card-tokenisation", guideToken("busy", "4000000000000010", "30"))
					mu.Lock()
					defer mu.Unlock()
					switch {
					case r.Status != 201:
						t.Errorf("tokenise: %d %s", r.Status, r.Body)
					case bytes.Contains(r.Body, []byte(msgMaxTokens)):
						warned++
					default:
						stored++
					}
				})
			}
			wg.Wait()
			if stored != 3 || warned != 5 || len(h.customerCards("busy")) != 3 {
				t.Errorf("stored %d, warned %d, listed %d; want 3, 5, 3", stored, warned, len(h.customerCards("busy")))
			}
			if n := h.count(`SELECT tokens FROM gateway_customers WHERE customer_reference = 'busy'`); n != 3 {
				t.Errorf("count %d", n)
			}
		})
	}
}

// TestCustomerEmailAndSettings: customerEmail is kept and echoed in the
// order (given at the top level or in the order); a bad one is refused; the
// maximum of stored tokens is a setting within 1..100.
func TestCustomerEmailAndSettings(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			for _, body := range []string{
				`{"currency":"GBP","amountToCollect":"10.00","customerEmail":"jon.snow@example.com","order":{"orderNumber":"e-1"}}`,
				`{"currency":"GBP","amountToCollect":"10.00","order":{"orderNumber":"e-2","customerEmail":"jon.snow@example.com"}}`,
				`{"currency":"GBP","amountToCollect":"10.00","customerEmail":"jon.snow@example.com"}`,
			} {
				m := h.must("POST", "/api/gateway/payment-jobs", body, 201)
				ref, _ := refs(m)
				for _, got := range []map[string]any{m, h.must("GET", "/api/gateway/payment-jobs/"+ref, "", 200)} {
					if o, _ := data(got)["order"].(map[string]any); o == nil || o["customerEmail"] != "jon.snow@example.com" {
						t.Errorf("%s: order %v", body, data(got)["order"])
					}
				}
			}
			for _, body := range []string{
				`{"currency":"GBP","amountToCollect":"10.00","customerEmail":"jon.snow"}`,
				`{"currency":"GBP","amountToCollect":"10.00","customerEmail":"jon snow@example.com"}`,
				`{"currency":"GBP","amountToCollect":"10.00","customerEmail":"a@b.c","order":{"customerEmail":"d@e.f"}}`,
			} {
				if r := h.call("POST", "/api/gateway/payment-jobs", body); r.Status != 400 || !bytes.Contains(r.Body, []byte(`"field":"customerEmail"`)) {
					t.Errorf("%s: %d %s", body, r.Status, r.Body)
				}
			}
			for _, n := range []int64{-1, 101} {
				b, _ := json.Marshal(gateway.GatewaySettings{AutoCapture: true, MaxStoredTokensPerCustomer: n})
				if r := h.Do("PUT", "/platform/gateway/settings", b, map[string]string{"api-key": h.Tenant.APIKey}); r.Status != 400 {
					t.Errorf("maximum %d: %d %s", n, r.Status, r.Body)
				}
			}
			h.settings(gateway.GatewaySettings{AutoCapture: true, MaxStoredTokensPerCustomer: 4})
			h.settings(gateway.GatewaySettings{AutoCapture: false}) // left out: unchanged
			if s := h.getSettings(); s.MaxStoredTokensPerCustomer != 4 || s.AutoCapture {
				t.Errorf("settings: %+v", s)
			}
		})
	}
}

// TestCancelPaymentTwiceWarns: cancelling a cancelled payment answers it as
// it is with the guide's warning "Payment has an unexpected status."; the
// first cancel has no warnings.
func TestCancelPaymentTwiceWarns(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			job, pay := refs(h.must("POST", "/api/gateway/payment-jobs", moto("w-1", "5.00"), 201))
			path := "/api/gateway/payment-jobs/" + job + "/payments/" + pay + "/cancel"
			first := h.call("PATCH", path, "")
			if first.Status != 200 || bytes.Contains(first.Body, []byte(`"warnings"`)) {
				t.Fatalf("cancel: %d %s", first.Status, first.Body)
			}
			again := h.call("PATCH", path, "")
			if again.Status != 200 || !bytes.Contains(again.Body, []byte(`"warnings":[{"code":"PaymentUnexpectedStatus","message":"Payment has an unexpected status."}]`)) {
				t.Fatalf("cancel again: %d %s", again.Status, again.Body)
			}
			h.golden("payment_cancelled_again", again.Body)
			var a, b map[string]any
			_ = json.Unmarshal(first.Body, &a)
			_ = json.Unmarshal(again.Body, &b)
			if mustJSONString(t, a["data"]) != mustJSONString(t, b["data"]) {
				t.Errorf("the second cancel changed the payment:\n%s\n%s", first.Body, again.Body)
			}
		})
	}
}

func mustJSONString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
