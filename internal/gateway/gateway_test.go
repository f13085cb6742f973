package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/app"
	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// harness is the full-stack app of internal/apptest (seed 3, tenant "Acme
// Ltd" in Europe/London, ledger invariants checked at cleanup) with the
// gateway's helpers: signed calls, settings, balances, goldens.
type harness struct {
	*apptest.App
	app *app.App // the app under test (h.App.App)
}

func newHarness(t *testing.T, e storetest.Engine) *harness {
	t.Helper()
	a := apptest.New(t, e, apptest.Options{Seed: 3})
	return &harness{App: a, app: a.App}
}

// reply is an HTTP response read whole.
type reply = apptest.Reply

// call sends a signed gateway request (Hash = SHA-512(key + body)); hdr
// are header name/value pairs that override (a value "" removes).
func (h *harness) call(method, path, body string, hdr ...string) reply {
	h.T.Helper()
	headers := map[string]string{
		"ConfigurationId": h.Tenant.ConfigurationID,
		"Hash":            gateway.HashOf(h.Tenant.SigningKey, []byte(body)),
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		headers[hdr[i]] = hdr[i+1]
	}
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	return h.Do(method, path, b, headers)
}

func (h *harness) must(method, path, body string, want int) map[string]any {
	h.T.Helper()
	r := h.call(method, path, body)
	if r.Status != want {
		h.T.Fatalf("%s %s = %d %s, want %d", method, path, r.Status, r.Body, want)
	}
	return r.JSON(h.T)
}

// settings replaces the tenant's gateway settings (PUT /platform/gateway/settings).
func (h *harness) settings(s gateway.GatewaySettings) {
	h.T.Helper()
	b, _ := json.Marshal(s)
	if r := h.Do(http.MethodPut, "/platform/gateway/settings", b, map[string]string{"api-key": h.Tenant.APIKey}); r.Status != 200 {
		h.T.Fatalf("PUT settings = %d %s", r.Status, r.Body)
	}
}

// balances returns the merchant's pending and available and the fee balance in GBP.
func (h *harness) balances() (pending, available, fees int64) {
	h.T.Helper()
	accs, err := h.app.Ledger.Accounts(context.Background(), h.app.DB.Read(), h.Tenant.TenantID, ledger.AccountFilter{})
	if err != nil {
		h.T.Fatal(err)
	}
	for _, a := range accs {
		switch a.Owner + "/" + a.Purpose {
		case "merchant/pending":
			pending = a.Balance.Posted
		case "merchant/available":
			available = a.Balance.Posted
		case "platform/fees":
			fees = a.Balance.Posted
		}
	}
	return
}

func data(m map[string]any) map[string]any { return m["data"].(map[string]any) }

func firstPayment(m map[string]any) map[string]any {
	return data(m)["payments"].([]any)[0].(map[string]any)
}

// golden compares the JSON body with testdata/name.json, with the server's
// address replaced by https://cashgate.test.
func (h *harness) golden(name string, body []byte) {
	h.T.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		h.T.Fatalf("%s: not JSON: %s", name, body)
	}
	pretty, _ := json.MarshalIndent(v, "", "  ")
	got := string(normalizeGenerated([]byte(strings.ReplaceAll(string(pretty), h.Server.URL, "https://cashgate.test")))) + "\n"
	// Rewritten from the SQLite run; the PostgreSQL run then compares.
	apptest.Golden(h.T, *update && strings.HasSuffix(h.T.Name(), "sqlite"), name+".json", []byte(got))
}

// generated matches what the gateway draws at random: 18-digit references
// (and configuration ids), 16-digit card tokens, 23-digit ARNs, 64-hex page
// refs, acquirer transaction ids, PayPal order and transaction ids.
var generated = regexp.MustCompile(`\b(\d{18}|\d{16}|7450187\d{16}|[0-9a-f]{64}|01[SVR][0-9A-F]{8}|[0-9A-HJ-NP-X]{17})\b`)

// normalizeGenerated replaces generated values by ordinal placeholders
// ("#1", "#2"…, the same value always the same placeholder) so golden files
// pin the wire format and which values repeat, not how much randomness was
// drawn before.
func normalizeGenerated(b []byte) []byte {
	seen := map[string]string{}
	return generated.ReplaceAllFunc(b, func(v []byte) []byte {
		if p, ok := seen[string(v)]; ok {
			return []byte(p)
		}
		p := fmt.Sprintf("#%d", len(seen)+1)
		seen[string(v)] = p
		return []byte(p)
	})
}

const (
	motoBody = `{
"type": "Payment",
"paymentMethodsToUse": ["creditcard"],
"parameters": {
"cardNumber":"4000000000000002",
"cardCvc": "123",
"cardExpiryMonth": "05",
"cardExpiryYear": "28"
},
"order": {
"orderNumber": "Payment ref M1"
},
"options": [ "IsMoto" ],
"currency": "GBP",
"amountToCollect": "5.00"
}`
	threeDSBody = `{
"type": "Payment",
"paymentMethodsToUse": ["creditcard"],
"parameters": {
"cardNumber":"4000000000000002",
"cardCvc": "123",
"cardExpiryMonth": "05",
"cardExpiryYear": "28",
"cardHolderName": "Jon Snow",
"returnUrlSuccess": "https://www.mywebshop.com?status=success",
"returnUrlCancelled": "https://www.mywebshop.com?status=cancelled",
"returnUrlFailed": "https://www.mywebshop.com?status=failed"
},
"order": {
"orderNumber": "Payment ref D1"
},
"currency": "GBP",
"amountToCollect": "10.00"
}`
)

func moto(order, amount string) string {
	return fmt.Sprintf(`{"paymentMethodsToUse":["creditcard"],"parameters":{"cardNumber":"4000000000000010","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"28"},"order":{"orderNumber":%q},"options":["IsMoto"],"currency":"GBP","amountToCollect":%q}`, order, amount)
}

func refs(m map[string]any) (job, pay string) {
	return data(m)["reference"].(string), firstPayment(m)["reference"].(string)
}

// TestGuideExamples runs the guide's own requests through the HTTP API and
// checks the response shapes against golden files.
func TestGuideExamples(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			// MOTO: paid at once with auto capture.
			r := h.call("POST", "/api/gateway/payment-jobs", motoBody)
			if r.Status != 201 {
				t.Fatalf("MOTO = %d %s", r.Status, r.Body)
			}
			h.golden("moto", r.Body)
			m := r.JSON(t)
			if data(m)["paymentStatus"] != "Paid" || firstPayment(m)["status"] != "Paid" {
				t.Fatalf("MOTO not paid: %s", r.Body)
			}
			jobRef, payRef := refs(m)
			if p, _, _ := h.balances(); p != 500 {
				t.Errorf("merchant pending = %d, want 500", p)
			}
			// Refund part of it, the guide's refund request.
			r = h.call("POST", "/api/gateway/payment-jobs/"+jobRef+"/payments/"+payRef+"/refunds", `{
"amountToRefund": "2.00",
"refundNumber" : "Your refund reference"
}`)
			if r.Status != 201 {
				t.Fatalf("refund = %d %s", r.Status, r.Body)
			}
			h.golden("refund", r.Body)
			r = h.call("GET", "/api/gateway/payment-jobs/"+jobRef+"/payments/"+payRef, "")
			if r.Status != 200 {
				t.Fatalf("GET payment = %d %s", r.Status, r.Body)
			}
			h.golden("payment_partially_refunded", r.Body)

			// A 3-D Secure payment job: pending, with the action URL.
			r = h.call("POST", "/api/gateway/payment-jobs", threeDSBody)
			if r.Status != 201 {
				t.Fatalf("3DS job = %d %s", r.Status, r.Body)
			}
			h.golden("payment_job_3ds", r.Body)
			m = r.JSON(t)
			jobRef, _ = refs(m)
			// Cancel the payment job, the guide's PATCH.
			r = h.call("PATCH", "/api/gateway/payment-jobs/"+jobRef+"/cancel", "")
			if r.Status != 200 {
				t.Fatalf("cancel job = %d %s", r.Status, r.Body)
			}
			h.golden("payment_job_cancelled", r.Body)
			r = h.call("PATCH", "/api/gateway/payment-jobs/"+jobRef+"/cancel", "")
			if r.Status != 400 || !bytes.Contains(r.Body, []byte(`"Payment job is already final."`)) {
				t.Fatalf("cancel again = %d %s", r.Status, r.Body)
			}
			h.golden("error_job_final", r.Body)

			// Authorisation only, then the guide's capture.
			h.settings(gateway.GatewaySettings{AutoCapture: false})
			m = h.must("POST", "/api/gateway/payment-jobs", moto("Payment ref C1", "10.00"), 201)
			jobRef, payRef = refs(m)
			if firstPayment(m)["status"] != "Authorised" {
				t.Fatalf("want Authorised: %v", m)
			}
			r = h.call("POST", "/api/gateway/payment-jobs/"+jobRef+"/payments/"+payRef+"/captures", `{
"amountToCapture": "10",
"isFinalCapture": "true"
}`)
			if r.Status != 200 {
				t.Fatalf("capture = %d %s", r.Status, r.Body)
			}
			h.golden("capture", r.Body)
			// Cancel the payment the same day, the guide's cancel.
			r = h.call("PATCH", "/api/gateway/payment-jobs/"+jobRef+"/payments/"+payRef+"/cancel", "")
			if r.Status != 200 {
				t.Fatalf("cancel payment = %d %s", r.Status, r.Body)
			}
			h.golden("payment_cancelled", r.Body)

			r = h.call("GET", "/api/gateway/supported-payment-methods", "")
			if r.Status != 200 {
				t.Fatalf("methods = %d %s", r.Status, r.Body)
			}
			h.golden("supported_payment_methods", r.Body)
			if p, a, _ := h.balances(); p != 300 || a != 0 {
				t.Errorf("pending, available = %d, %d; want 300, 0", p, a)
			}
		})
	}
}

func TestValidationAndAuth(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			cases := []struct {
				name, body string
				status     int
				msg        string
			}{
				{"no method", `{"currency":"GBP","amountToCollect":"1.00","paymentMethodsToUse":[]}`, 400, "No payment method selected."},
				{"currency not advertised", `{"currency":"PLN","amountToCollect":"1.00"}`, 400, "currency PLN is not accepted; the accepted currencies are AUD, CAD, DKK, HKD, JPY, NZD, NOK, SGD, ZAR, SEK, CHF, GBP, USD, EUR (supported-payment-methods lists them)."},
				{"paypal", `{"currency":"GBP","amountToCollect":"1.00","paymentMethodsToUse":["PayPal"]}`, 400, "Payment method not allowed."},
				{"bad luhn", `{"currency":"GBP","amountToCollect":"1.00","parameters":{"cardNumber":"4000000000000001","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"28"}}`, 400, "The card number is not valid."},
				{"expired", `{"currency":"GBP","amountToCollect":"1.00","parameters":{"cardNumber":"4000000000000002","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"23"}}`, 400, "The card has expired."},
				{"bad cvc", `{"currency":"GBP","amountToCollect":"1.00","parameters":{"cardNumber":"4000000000000002","cardCvc":"12a","cardExpiryMonth":"05","cardExpiryYear":"28"}}`, 400, "The card security code must be 3 or 4 digits."},
				{"3ds needs holder", `{"currency":"GBP","amountToCollect":"1.00","parameters":{"cardNumber":"4000000000000002","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"28"}}`, 400, "The cardholder name is required for cards enrolled in 3-D Secure."},
				{"amount", `{"currency":"GBP","amountToCollect":"1.001"}`, 400, `amountToCollect must be a decimal amount in GBP such as \"10.00\".`},
				{"zero", `{"currency":"GBP","amountToCollect":"0.00"}`, 400, "Invalid amount for payment method."},
				{"trailing bytes", `{"currency":"GBP","amountToCollect":"1.00"}{"x":1}`, 400, "request body has data after the JSON value"},
			}
			for _, c := range cases {
				r := h.call("POST", "/api/gateway/payment-jobs", c.body)
				if r.Status != c.status || !bytes.Contains(r.Body, []byte(`"message":"`+c.msg+`"`)) {
					t.Errorf("%s: %d %s, want %d %q", c.name, r.Status, r.Body, c.status, c.msg)
				}
			}
			// PaymentOrder numbers are unique per tenant.
			h.must("POST", "/api/gateway/payment-jobs", moto("dup", "1.00"), 201)
			if r := h.call("POST", "/api/gateway/payment-jobs", moto("dup", "1.00")); r.Status != 400 || !bytes.Contains(r.Body, []byte("The supplied order reference is not unique.")) {
				t.Errorf("duplicate order: %d %s", r.Status, r.Body)
			}
			// Declines are recorded as failed payments.
			for _, c := range []struct{ pan, msg string }{
				{"4000000000000028", "Card payments without 3D Secure are not allowed."},
				{"4000000000000036", "3DSecure Authentication Unavailable - Payment cannot proceed."},
				{"4000000000000044", "Payment has been refused."},
				{"4000000000000051", "Payment has been refused."},
			} {
				m := h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"1.00","parameters":{"cardNumber":"`+c.pan+`","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"28"}}`, 201)
				p := firstPayment(m)
				steps := p["steps"].([]any)
				last := steps[len(steps)-1].(map[string]any)
				if p["status"] != "Failed" || last["resultAttributes"].(map[string]any)["message"] != c.msg {
					t.Errorf("%s: %v", c.pan, p)
				}
			}
			// Frictionless: not enrolled → paid without the shopper.
			m := h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"1.00","parameters":{"cardNumber":"4000000000000010","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"28"}}`, 201)
			if firstPayment(m)["status"] != "Paid" {
				t.Errorf("frictionless: %v", m)
			}

			// Authentication.
			body := `{"currency":"GBP","amountToCollect":"1.00"}`
			if r := h.call("POST", "/api/gateway/payment-jobs", body, "Hash", strings.ToUpper(gateway.HashOf(h.Tenant.SigningKey, []byte(body)))); r.Status != 201 {
				t.Errorf("upper-case hash: %d %s", r.Status, r.Body)
			}
			if r := h.call("GET", "/api/gateway/payment-jobs/1", "", "ConfigurationId", "999999999"); r.Status != 404 || !bytes.Contains(r.Body, []byte("Configuration not found.")) {
				t.Errorf("unknown configuration: %d %s", r.Status, r.Body)
			}
			if r := h.call("GET", "/api/gateway/payment-jobs/123", ""); r.Status != 404 || !bytes.Contains(r.Body, []byte("Payment job not found.")) {
				t.Errorf("unknown job: %d %s", r.Status, r.Body)
			}
			// HMAC scheme.
			ts := fmt.Sprint(h.Clock.Now().Unix())
			path := "/api/gateway/supported-payment-methods"
			if r := h.call("GET", path, "", "Hash", "", "Timestamp", ts, "Signature", gateway.Sign(h.Tenant.SigningKey, ts, "GET", path, nil)); r.Status != 200 {
				t.Errorf("HMAC: %d %s", r.Status, r.Body)
			}
			if r := h.call("GET", path, "", "Hash", "", "Timestamp", fmt.Sprint(h.Clock.Now().Add(-time.Hour).Unix()), "Signature", gateway.Sign(h.Tenant.SigningKey, fmt.Sprint(h.Clock.Now().Add(-time.Hour).Unix()), "GET", path, nil)); r.Status != 401 {
				t.Errorf("stale HMAC: %d %s", r.Status, r.Body)
			}
			h.settings(gateway.GatewaySettings{AutoCapture: true, RequireHMAC: true})
			if r := h.call("GET", path, ""); r.Status != 401 {
				t.Errorf("Hash when HMAC required: %d %s", r.Status, r.Body)
			}
			h.settings(gateway.GatewaySettings{AutoCapture: true})
			// Lock-out after repeated failures. A success does not clear
			// earlier ones: the stale HMAC above was the first.
			if r := h.call("GET", path, ""); r.Status != 200 {
				t.Fatalf("good hash: %d %s", r.Status, r.Body)
			}
			for i := 1; i < gateway.MaxAuthFailures; i++ {
				if r := h.call("GET", path, "", "Hash", strings.Repeat("ab", 64)); r.Status != 401 || !bytes.Contains(r.Body, []byte("Invalid token.")) {
					t.Fatalf("bad hash %d: %d %s", i, r.Status, r.Body)
				}
			}
			if r := h.call("GET", path, "", "Hash", "zz"); r.Status != 403 || !bytes.Contains(r.Body, []byte("Too many attempts.")) {
				t.Errorf("locked: %d %s", r.Status, r.Body)
			}
			if r := h.call("GET", path, ""); r.Status != 403 {
				t.Errorf("locked, good hash: %d %s", r.Status, r.Body)
			}
			// The lock holds for the address the failures came from only:
			// whoever learns the ConfigurationId cannot lock the merchant's
			// own servers out.
			other := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}}
			req, _ := http.NewRequest("GET", h.Server.URL+path, nil)
			req.Header.Set("ConfigurationId", h.Tenant.ConfigurationID)
			req.Header.Set("Hash", gateway.HashOf(h.Tenant.SigningKey, nil))
			if resp, err := other.Do(req); err != nil || resp.StatusCode != 200 {
				t.Errorf("good hash from another address while 127.0.0.1 is locked: %v %v", resp, err)
			} else {
				resp.Body.Close()
			}
			h.Clock.Advance(gateway.AuthLockout + time.Second)
			if r := h.call("GET", path, ""); r.Status != 200 {
				t.Errorf("after lock-out: %d %s", r.Status, r.Body)
			}
			// Idempotency-Key replays.
			b := moto("idem", "3.00")
			r1 := h.call("POST", "/api/gateway/payment-jobs", b, "Idempotency-Key", "k1")
			r2 := h.call("POST", "/api/gateway/payment-jobs", b, "Idempotency-Key", "k1")
			if r1.Status != 201 || !bytes.Equal(r1.Body, r2.Body) {
				t.Errorf("idempotent replay: %d %s / %s", r1.Status, r1.Body, r2.Body)
			}
		})
	}
}

// TestThreeDSAndWebhook drives the 3-D Secure page over HTTP and checks the
// notification to the job's webhookUrl and its acknowledgement.
func TestThreeDSAndWebhook(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			var mu sync.Mutex
			var got []gateway.Notification
			ack := true
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var n gateway.Notification
				_ = json.NewDecoder(r.Body).Decode(&n)
				mu.Lock()
				got = append(got, n)
				ok := ack
				mu.Unlock()
				if ok {
					fmt.Fprintf(w, `{"paymentJobReference":%q,"paymentReference":%q}`, n.PaymentJobReference, n.PaymentReference)
				} else {
					w.WriteHeader(500)
				}
			}))
			defer hook.Close()
			for _, result := range []string{"success", "failure", "cancel"} {
				body := strings.Replace(threeDSBody, `"cardHolderName": "Jon Snow",`, `"cardHolderName": "Jon Snow", "webhookUrl": "`+hook.URL+`",`, 1)
				body = strings.Replace(body, "Payment ref D1", "3ds-"+result, 1)
				m := h.must("POST", "/api/gateway/payment-jobs", body, 201)
				jobRef, payRef := refs(m)
				action := m["links"].(map[string]any)["action"].(map[string]any)["url"].(string)
				resp, err := http.Get(action)
				if err != nil {
					t.Fatal(err)
				}
				page, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !bytes.Contains(page, []byte(`id="complete"`)) || !bytes.Contains(page, []byte("400000******0002")) || bytes.Contains(page, []byte("4000000000000002")) {
					t.Fatalf("3DS page: %s", page)
				}
				u, _ := url.Parse(action)
				resp, err = h.NoRedirect.PostForm(h.Server.URL+"/payment/3ds?ref="+u.Query().Get("ref"), url.Values{"result": {result}})
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				loc := resp.Header.Get("Location")
				want := map[string]string{"success": "https://www.mywebshop.com?status=success&paymentjobref=",
					"failure": "https://www.mywebshop.com?status=failed&paymentjobref=",
					"cancel":  "https://www.mywebshop.com?status=cancelled&paymentjobref="}[result]
				if resp.StatusCode != 303 || !strings.HasPrefix(loc, want+jobRef+"&paymentref="+payRef) {
					t.Errorf("%s: %d → %s", result, resp.StatusCode, loc)
				}
				status := h.must("GET", "/api/gateway/payment-jobs/"+jobRef+"/payments/"+payRef, "", 200)
				wantStatus := map[string]string{"success": "Paid", "failure": "Failed", "cancel": "Cancelled"}[result]
				if data(status)["status"] != wantStatus {
					t.Errorf("%s: status %v", result, data(status)["status"])
				}
			}
			h.RunDue()
			mu.Lock()
			statuses := map[string]bool{}
			for _, n := range got {
				statuses[n.PaymentStatus] = n.Hash != ""
			}
			if len(got) != 3 || !statuses["Paid"] || !statuses["Failed"] || !statuses["Cancelled"] {
				t.Errorf("notifications: %+v", got)
			}
			ack = false
			mu.Unlock()
			// An unacknowledged notification is retried a minute later.
			m := h.must("POST", "/api/gateway/payment-jobs", strings.Replace(moto("hook", "1.00"), `"options"`, `"parameters2":{},"options"`, 1), 201)
			_ = m
			h.settings(gateway.GatewaySettings{AutoCapture: true, WebhookURL: hook.URL})
			h.must("POST", "/api/gateway/payment-jobs", moto("hook2", "1.00"), 201)
			h.RunDue()
			mu.Lock()
			n := len(got)
			ack = true
			mu.Unlock()
			h.Clock.Advance(time.Minute)
			h.RunDue()
			mu.Lock()
			if len(got) != n+1 {
				t.Errorf("retry after a minute: %d notifications, want %d", len(got), n+1)
			}
			mu.Unlock()
		})
	}
}

// TestConcurrentCapturesAndRefunds: 50 parallel captures or refunds on one
// payment never exceed the authorised or paid amount.
func TestConcurrentCapturesAndRefunds(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			h.settings(gateway.GatewaySettings{AutoCapture: false})
			m := h.must("POST", "/api/gateway/payment-jobs", moto("conc", "10.00"), 201)
			jobRef, payRef := refs(m)
			base := "/api/gateway/payment-jobs/" + jobRef + "/payments/" + payRef
			var wg sync.WaitGroup
			var mu sync.Mutex
			okCount := map[int]int{}
			for i := 0; i < 50; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := h.call("POST", base+"/captures", `{"amountToCapture":"0.30"}`)
					mu.Lock()
					okCount[r.Status]++
					mu.Unlock()
					if r.Status != 200 && !bytes.Contains(r.Body, []byte(gateway.MsgCaptureExceeds.Message)) {
						t.Errorf("capture: %d %s", r.Status, r.Body)
					}
				}()
			}
			wg.Wait()
			if okCount[200] != 33 {
				t.Errorf("captures accepted = %d, want 33 (33 × 0.30 ≤ 10.00)", okCount[200])
			}
			p := data(h.must("GET", base, "", 200))
			if p["paidAmount"] != "9.90" {
				t.Errorf("paid = %v", p["paidAmount"])
			}
			okCount = map[int]int{}
			for i := 0; i < 50; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := h.call("POST", base+"/refunds", `{"amountToRefund":"0.25"}`)
					mu.Lock()
					okCount[r.Status]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if okCount[201] != 39 {
				t.Errorf("refunds accepted = %d, want 39 (39 × 0.25 ≤ 9.90)", okCount[201])
			}
			p = data(h.must("GET", base, "", 200))
			if p["refundedAmount"] != "9.75" || p["status"] != "PartiallyRefunded" {
				t.Errorf("after refunds: %v %v", p["refundedAmount"], p["status"])
			}
			if pend, _, _ := h.balances(); pend != 15 {
				t.Errorf("pending = %d, want 15", pend)
			}
		})
	}
}

// TestMidnightAndExpiry moves the clock across the settlement batch and
// across 7 days.
func TestMidnightAndExpiry(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			h.settings(gateway.GatewaySettings{AutoCapture: true, FeeBasisPoints: 150, FeeFixedMinor: 20})
			m := h.must("POST", "/api/gateway/payment-jobs", moto("night", "100.00"), 201)
			jobRef, payRef := refs(m)
			base := "/api/gateway/payment-jobs/" + jobRef + "/payments/" + payRef
			h.Clock.Set(time.Date(2026, 11, 22, 0, 0, 1, 0, time.UTC)) // past midnight in London
			h.RunDue()
			pend, avail, fees := h.balances()
			if pend != 0 || avail != 10000-170 || fees != 170 {
				t.Errorf("after settlement: pending %d available %d fees %d", pend, avail, fees)
			}
			if r := h.call("PATCH", base+"/cancel", ""); r.Status != 400 {
				t.Errorf("cancel after settlement: %d %s", r.Status, r.Body)
			}
			if r := h.call("POST", base+"/refunds", `{"amountToRefund":"50.00","refundNumber":"R1"}`); r.Status != 201 {
				t.Errorf("refund after settlement: %d %s", r.Status, r.Body)
			}
			// Half the amount refunded returns half the fee (0.85).
			if _, avail, fees := h.balances(); avail != 9830-(5000-85) || fees != 85 {
				t.Errorf("after refunding half: available %d fees %d", avail, fees)
			}
			if r := h.call("POST", base+"/refunds", `{"amountToRefund":"50.01"}`); r.Status != 400 || !bytes.Contains(r.Body, []byte(gateway.MsgRefundExceeds.Message)) {
				t.Errorf("over-refund: %d %s", r.Status, r.Body)
			}
			// The rest returns the rest of the fee: all that was paid is refunded.
			if r := h.call("POST", base+"/refunds", `{"amountToRefund":"50.00"}`); r.Status != 201 {
				t.Errorf("refund rest: %d %s", r.Status, r.Body)
			}
			if _, avail, fees := h.balances(); avail != 0 || fees != 0 {
				t.Errorf("after the full refund: available %d fees %d", avail, fees)
			}

			// Authorisation expiry after 7 days.
			h.settings(gateway.GatewaySettings{AutoCapture: false})
			m = h.must("POST", "/api/gateway/payment-jobs", moto("expire", "20.00"), 201)
			jobRef, payRef = refs(m)
			base = "/api/gateway/payment-jobs/" + jobRef + "/payments/" + payRef
			h.must("POST", base+"/captures", `{"amountToCapture":"5.00"}`, 200)
			h.Clock.Advance(gateway.AuthorisationTTL + time.Minute)
			h.RunDue()
			if r := h.call("POST", base+"/captures", `{"amountToCapture":"1.00"}`); r.Status != 400 {
				t.Errorf("capture after expiry: %d %s", r.Status, r.Body)
			}
			m = h.must("POST", "/api/gateway/payment-jobs", moto("expire2", "20.00"), 201)
			_, payRef2 := refs(m)
			h.Clock.Advance(gateway.AuthorisationTTL + time.Minute)
			h.RunDue()
			p := data(h.must("GET", "/api/gateway/payment-jobs/"+data(m)["reference"].(string)+"/payments/"+payRef2, "", 200))
			if p["status"] != "Expired" {
				t.Errorf("uncaptured authorisation: %v", p["status"])
			}
			// Job expiry at expirationDateTimeUtc.
			exp := h.Clock.Now().Add(time.Hour).Format("2006-01-02T15:04:05")
			m = h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"1.00","expirationDateTimeUtc":"`+exp+`"}`, 201)
			h.Clock.Advance(2 * time.Hour)
			h.RunDue()
			j := data(h.must("GET", "/api/gateway/payment-jobs/"+data(m)["reference"].(string), "", 200))
			if j["paymentStatus"] != "Expired" {
				t.Errorf("job expiry: %v", j["paymentStatus"])
			}
		})
	}
}
