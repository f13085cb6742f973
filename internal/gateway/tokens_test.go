package gateway_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// callAs sends a gateway request signed with another tenant's configuration.
func (h *harness) callAs(ten platform.TenantCreated, method, path, body string) reply {
	h.T.Helper()
	return h.call(method, path, body, "ConfigurationId", ten.ConfigurationID, "Hash", gateway.HashOf(ten.SigningKey, []byte(body)))
}

// count returns the number of rows of a query.
func (h *harness) count(query string, args ...any) int {
	h.T.Helper()
	var n int
	if err := h.app.DB.Read().QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		h.T.Fatal(err)
	}
	return n
}

// complete3DS answers the 3-D Secure simulator page of an action URL with
// result (success, failure, cancel) and returns where the shopper is sent.
func (h *harness) complete3DS(action, result string) string {
	h.T.Helper()
	u, err := url.Parse(action)
	if err != nil {
		h.T.Fatal(err)
	}
	resp, err := h.NoRedirect.PostForm(h.Server.URL+"/payment/3ds?ref="+u.Query().Get("ref"), url.Values{"result": {result}})
	if err != nil {
		h.T.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		h.T.Fatalf("3DS %s: %d %s", result, resp.StatusCode, body)
	}
	return resp.Header.Get("Location")
}

func actionURL(m map[string]any) string {
	return m["links"].(map[string]any)["action"].(map[string]any)["url"].(string)
}

func attrs(p map[string]any) map[string]any { return p["attributes"].(map[string]any) }

// TestCardTokenisation: the card-tokenisation call, paying with the token
// (MOTO and through 3-D Secure), GenerateToken during a payment (a token
// only once the payment succeeded), and tokens scoped to their tenant.
func TestCardTokenisation(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			// The guide's request (with an expiry still in the future).
			r := h.call("POST", "/api/gateway/card-tokenisation", `{
"cardNumber": "4000000000000002",
"CardHolderName": "A Smith",
"cardExpiryYear": "30",
"cardExpiryMonth": "10",
"cardCvc": "123"
}`)
			if r.Status != 201 {
				t.Fatalf("tokenise = %d %s", r.Status, r.Body)
			}
			h.golden("card_token", r.Body)
			tok := data(r.JSON(t))["token"].(string)
			if !card.IsToken(tok) || tok == "4000000000000002" {
				t.Fatalf("token %q", tok)
			}
			vaulted := h.count(`SELECT COUNT(*) FROM card_vault`)

			// Refused cards change nothing.
			for _, c := range []struct{ name, body, field, msg string }{
				{"luhn", `{"cardNumber":"4000000000000001","cardExpiryYear":"30","cardExpiryMonth":"10","cardCvc":"123"}`, "cardNumber", "The card number is not valid."},
				{"expired", `{"cardNumber":"4000000000000002","cardExpiryYear":"21","cardExpiryMonth":"10","cardCvc":"123"}`, "cardExpiryYear", "The card has expired."},
				{"no cvc", `{"cardNumber":"4000000000000002","cardExpiryYear":"30","cardExpiryMonth":"10"}`, "cardCvc", "The card security code must be 3 or 4 digits."},
				{"cvc rejected", `{"cardNumber":"4000000000000002","cardExpiryYear":"30","cardExpiryMonth":"10","cardCvc":"999"}`, "cardCvc", "The payment method rejected the request."},
				{"month", `{"cardNumber":"4000000000000002","cardExpiryYear":"30","cardExpiryMonth":"13","cardCvc":"123"}`, "cardExpiryMonth", "The card expiry month must be MM, 01 to 12."},
			} {
				r := h.call("POST", "/api/gateway/card-tokenisation", c.body)
				if r.Status != 400 || !bytes.Contains(r.Body, []byte(`"message":"`+c.msg+`"`)) || !bytes.Contains(r.Body, []byte(`"field":"`+c.field+`"`)) {
					t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
				}
			}
			if n := h.count(`SELECT COUNT(*) FROM card_vault`); n != vaulted {
				t.Errorf("refused cards were vaulted: %d → %d", vaulted, n)
			}

			// Pay with the token, MOTO: the guide's request with token for cardNumber.
			m := h.must("POST", "/api/gateway/payment-jobs", `{
"type": "Payment",
"locale": "en_GB",
"paymentMethodsToUse": ["creditcard"],
"parameters": {
"token":"`+tok+`",
"cardCvc": "123",
"cardExpiryMonth": "10",
"cardExpiryYear": "30"
},
"order" : {
"orderNumber": "Payment ref D1UT"
},
"options": ["IsMoto"],
"currency": "GBP",
"amountToCollect": "10.00"
}`, 201)
			p := firstPayment(m)
			if p["status"] != "Paid" || !strings.Contains(attrs(p)["cashFlowsAcquiringDetails"].(string), `"TruncatedCardNumber":"400000******0002"`) {
				t.Fatalf("token MOTO payment: %v", p)
			}
			if pend, _, _ := h.balances(); pend != 1000 {
				t.Errorf("pending = %d, want 1000", pend)
			}
			// Pay with the token through 3-D Secure (the card is enrolled; the
			// cardholder name comes from the vault).
			m = h.must("POST", "/api/gateway/payment-jobs", `{"parameters":{"token":"`+tok+`"},"currency":"GBP","amountToCollect":"2.50"}`, 201)
			if firstPayment(m)["status"] != "Pending" {
				t.Fatalf("token 3DS payment: %v", m)
			}
			h.complete3DS(actionURL(m), "success")
			jobRef, payRef := refs(m)
			if p := data(h.must("GET", "/api/gateway/payment-jobs/"+jobRef+"/payments/"+payRef, "", 200)); p["status"] != "Paid" {
				t.Errorf("after 3DS: %v", p["status"])
			}
			if n := h.count(`SELECT COUNT(*) FROM card_vault`); n != vaulted {
				t.Errorf("paying with a token vaulted the card again: %d → %d", vaulted, n)
			}

			// Another tenant cannot use the token: refused, nothing created.
			other, err := h.app.Platform.CreateTenant(context.Background(), platform.TenantSpec{Name: "Other Ltd", Mode: platform.Production})
			if err != nil {
				t.Fatal(err)
			}
			r = h.callAs(other, "POST", "/api/gateway/payment-jobs", `{"parameters":{"token":"`+tok+`","cardCvc":"123"},"options":["IsMoto"],"currency":"GBP","amountToCollect":"1.00"}`)
			if r.Status != 400 || !bytes.Contains(r.Body, []byte(`"message":"The card token is not known."`)) || !bytes.Contains(r.Body, []byte(`"field":"token"`)) {
				t.Errorf("other tenant's token: %d %s", r.Status, r.Body)
			}
			if n := h.count(`SELECT COUNT(*) FROM gateway_jobs WHERE tenant_id = $1`, other.TenantID); n != 0 {
				t.Errorf("other tenant has %d jobs", n)
			}
			// …while its own tokens work for it.
			r = h.callAs(other, "POST", "/api/gateway/card-tokenisation", `{"cardNumber":"4000000000000010","cardExpiryYear":"30","cardExpiryMonth":"01","cardCvc":"321"}`)
			if r.Status != 201 {
				t.Fatalf("other tenant tokenises: %d %s", r.Status, r.Body)
			}
			otherTok := data(r.JSON(t))["token"].(string)
			if r := h.call("POST", "/api/gateway/payment-jobs", `{"parameters":{"token":"`+otherTok+`"},"options":["IsMoto"],"currency":"GBP","amountToCollect":"1.00"}`); r.Status != 400 {
				t.Errorf("first tenant used the other's token: %d %s", r.Status, r.Body)
			}
			if r := h.callAs(other, "POST", "/api/gateway/payment-jobs", `{"parameters":{"token":"`+otherTok+`"},"options":["IsMoto"],"currency":"GBP","amountToCollect":"1.00"}`); r.Status != 201 {
				t.Errorf("other tenant's own token: %d %s", r.Status, r.Body)
			}

			// GenerateToken during a payment (the guide's request): no token
			// while the payment waits for 3-D Secure; the token once it is paid.
			gen := `{
"type": "Payment",
"paymentMethodsToUse": ["creditcard"],
"parameters": {
"cardNumber":"4000000000000002",
"cardCvc": "123",
"cardExpiryMonth": "05",
"cardExpiryYear": "29",
"cardHolderName": "Jon Snow"
},
"order": {
"orderNumber": "Payment ref D1T"
},
"options": ["GenerateToken"],
"currency": "GBP",
"amountToCollect": "10.00"
}`
			m = h.must("POST", "/api/gateway/payment-jobs", gen, 201)
			if data(m)["flags"].(map[string]any)["generateToken"] != true || attrs(firstPayment(m))["token"] != nil {
				t.Fatalf("GenerateToken job: %v", m)
			}
			h.complete3DS(actionURL(m), "success")
			jobRef, _ = refs(m)
			j := h.must("GET", "/api/gateway/payment-jobs/"+jobRef, "", 200)
			p = firstPayment(j)
			newTok, _ := attrs(p)["token"].(string)
			if p["status"] != "Paid" || !card.IsToken(newTok) || newTok == tok {
				t.Fatalf("after 3DS: %v", p)
			}
			if r := h.call("POST", "/api/gateway/payment-jobs", `{"parameters":{"token":"`+newTok+`","cardExpiryMonth":"05","cardExpiryYear":"29"},"options":["IsMoto"],"currency":"GBP","amountToCollect":"3.00"}`); r.Status != 201 || !bytes.Contains(r.Body, []byte(`"paymentStatus":"Paid"`)) {
				t.Errorf("pay with the generated token: %d %s", r.Status, r.Body)
			}
			// A failed payment yields no token, and its vaulted card none either.
			m = h.must("POST", "/api/gateway/payment-jobs", strings.Replace(gen, "Payment ref D1T", "Payment ref D1F", 1), 201)
			h.complete3DS(actionURL(m), "failure")
			jobRef, payRef = refs(m)
			p = data(h.must("GET", "/api/gateway/payment-jobs/"+jobRef+"/payments/"+payRef, "", 200))
			if p["status"] != "Failed" || attrs(p)["token"] != nil {
				t.Errorf("failed GenerateToken payment: %v", p)
			}
			if n := h.count(`SELECT COUNT(*) FROM card_vault v JOIN gateway_payments p ON p.card_id = v.id WHERE p.reference = $1 AND v.token NOT LIKE '-%'`, payRef); n != 0 {
				t.Errorf("the failed payment's card got a token")
			}
			// Idempotency-Key replays the same token.
			body := `{"cardNumber":"5400100400099001","cardHolderName":"Han Solo","cardExpiryYear":"31","cardExpiryMonth":"12","cardCvc":"123"}`
			r1 := h.call("POST", "/api/gateway/card-tokenisation", body, "Idempotency-Key", "tok-1")
			r2 := h.call("POST", "/api/gateway/card-tokenisation", body, "Idempotency-Key", "tok-1")
			if r1.Status != 201 || !bytes.Equal(r1.Body, r2.Body) {
				t.Errorf("idempotent tokenisation: %d %s / %s", r1.Status, r1.Body, r2.Body)
			}
		})
	}
}
