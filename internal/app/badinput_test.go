package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// Issue 7 section 4: bad input that got a 5xx (NUL bytes on PostgreSQL, a
// balance past int64) or was silently misread (case-variant keys, null
// bodies) is a 4xx in each API's own error format, on both engines, and
// changes no row.

// badCase is one bad request and what must come back.
type badCase struct {
	name, method, path, body string
	hdr                      map[string]string
	status                   int
	mention                  string // the error message mentions it
}

// tableCounts counts the rows of the main tables of every product.
func tableCounts(t *testing.T, a *apptest.App) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tbl := range []string{"ledger_accounts", "ledger_entries", "ledger_postings", "ledger_holds", "events", "jobs", "idempotency_keys",
		"app_keys", "gateway_jobs", "gateway_payments", "gateway_steps", "gateway_settings", "card_vault",
		"wallet_users", "wallet_sessions", "wallet_transactions", "wallet_requests", "webhook_endpoints",
		"remote_payments", "remote_refunds", "remote_attempts"} {
		var n int
		if err := a.App.DB.Read().QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+tbl).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", tbl, err)
		}
		out[tbl] = n
	}
	return out
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// runBad sends every case, checks the status, the message and the error
// format (format returns the message of a well-formed error body or fails),
// and that no row changed.
func runBad(t *testing.T, a *apptest.App, cases []badCase, format func(t *testing.T, body []byte) string) {
	t.Helper()
	before := tableCounts(t, a)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b []byte
			if tc.body != "" {
				b = []byte(tc.body)
			}
			r := a.Do(tc.method, tc.path, b, tc.hdr)
			if r.Status != tc.status {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, r.Status, r.Body, tc.status)
			}
			if msg := format(t, r.Body); !strings.Contains(msg, tc.mention) {
				t.Fatalf("message %q does not mention %q", msg, tc.mention)
			}
		})
	}
	if after := tableCounts(t, a); !sameCounts(before, after) {
		t.Fatalf("bad requests changed rows:\nbefore %v\nafter  %v", before, after)
	}
	a.CheckInvariants()
}

// platformFormat: {"error": "…"} and nothing else.
func platformFormat(t *testing.T, body []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || len(m) != 1 {
		t.Fatalf("body %s is not {\"error\": …}", body)
	}
	msg, ok := m["error"].(string)
	if !ok {
		t.Fatalf("body %s is not {\"error\": \"…\"}", body)
	}
	return msg
}

// oauthFormat: RFC 6749 {"error": "invalid_request", "error_description": …}.
func oauthFormat(t *testing.T, body []byte) string {
	t.Helper()
	var m struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &m); err != nil || m.Error != "invalid_request" {
		t.Fatalf("body %s is not an RFC 6749 invalid_request", body)
	}
	return m.Description
}

func TestPlatformBadInput(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			bank := h.mustPost("/platform/ledger/accounts", map[string]any{"owner": "bank", "purpose": "clearing", "currency": "EUR", "allowOverdraft": true}, 200)["id"].(string)
			alice := h.mustPost("/platform/ledger/accounts", map[string]any{"owner": "alice", "purpose": "wallet", "currency": "EUR", "allowOverdraft": true}, 200)["id"].(string)

			// Fill alice to just below the balance bound with maximum-size
			// entries (100 × 10 000 000 000 000.00 EUR each).
			maxEntry := func(ref string) []byte {
				var ps []map[string]string
				for range 100 {
					ps = append(ps, map[string]string{"accountId": bank, "amount": "-10000000000000.00"}, map[string]string{"accountId": alice, "amount": "10000000000000.00"})
				}
				b, _ := json.Marshal(map[string]any{"currency": "EUR", "reference": ref, "postings": ps})
				return b
			}
			for i := range 40 { // 40 × 1e17 minor units = MaxBalance
				if r := h.do(http.MethodPost, "/platform/ledger/entries", maxEntry("fill"), nil); r.Status != 201 {
					t.Fatalf("entry %d = %d %s", i+1, r.Status, r.Body)
				}
			}

			json_ := map[string]string{"Content-Type": "application/json", "api-key": h.key}
			form := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "api-key": h.key}
			keyOnly := map[string]string{"api-key": h.key}
			transfer := func(amount, ref string) string {
				return `{"from":"` + bank + `","to":"` + alice + `","amount":"` + amount + `","currency":"EUR","reference":"` + ref + `"}`
			}
			cases := []badCase{
				{"NUL in reference", "POST", "/platform/ledger/transfers", transfer("1.00", `r\u0000`), json_, 400, "control character"},
				{"newline in reference", "POST", "/platform/ledger/transfers", transfer("1.00", `a\nb`), json_, 400, "control character"},
				{"DEL in reference", "POST", "/platform/ledger/transfers", transfer("1.00", "r\x7f"), json_, 400, "control character"},
				{"NUL in account owner", "POST", "/platform/ledger/accounts", `{"owner":"x\u0000","purpose":"p","currency":"EUR"}`, json_, 400, "control character"},
				{"NUL in currency", "POST", "/platform/ledger/transfers", strings.Replace(transfer("1.00", "r"), `"EUR"`, `"EU\u0000"`, 1), json_, 400, "control character"},
				{"NUL in webhook URL", "POST", "/platform/webhooks/endpoints", `{"url":"https://example.com/\u0000","eventTypes":["ledger.*"]}`, json_, 400, "control character"},
				{"NUL in a posting's account", "POST", "/platform/ledger/entries", `{"currency":"EUR","reference":"r","postings":[{"accountId":"a\u0000","amount":"1.00"},{"accountId":"b","amount":"-1.00"}]}`, json_, 400, "control character"},
				{"duplicate key", "POST", "/platform/ledger/transfers", strings.Replace(transfer("0.01", "r"), `"currency"`, `"amount":"9.99","currency"`, 1), json_, 400, "duplicate key"},
				{"case-variant key", "POST", "/platform/ledger/transfers", strings.Replace(transfer("0.01", "r"), `"currency"`, `"Amount":"9.99","currency"`, 1), json_, 400, "differ only in case"},
				{"case-variant key in a posting", "POST", "/platform/ledger/entries", `{"currency":"EUR","reference":"r","postings":[{"accountId":"` + bank + `","amount":"-1.00","AMOUNT":"-9.00"},{"accountId":"` + alice + `","amount":"1.00"}]}`, json_, 400, "differ only in case"},
				{"null body", "POST", "/platform/ledger/transfers", `null`, json_, 400, "not null"},
				{"balance past the bound", "POST", "/platform/ledger/entries", string(maxEntry("one-too-many")), json_, 422, "maximum balance"},
				{"one unit past the bound", "POST", "/platform/ledger/transfers", transfer("0.01", "r"), json_, 422, "maximum balance"},
				{"NUL in path", "GET", "/platform/ledger/accounts/acc%00x", "", keyOnly, 400, "control character"},
				{"NUL in query", "GET", "/platform/ledger/accounts/" + alice + "/statement?cursor=%00", "", keyOnly, 400, "control character"},
				{"NUL in a hold id", "POST", "/platform/ledger/holds/hold%00/void", "", keyOnly, 400, "control character"},
			}
			runBad(t, h.App, cases, platformFormat)

			// The OAuth token endpoint (RFC 6749 errors), form-encoded and JSON.
			pw := h.Tenant.AdminPassword
			runBad(t, h.App, []badCase{
				{"form: NUL in password", "POST", "/auth/oauth/token", "grant_type=password&username=" + h.Tenant.AdminUsername + "&password=" + pw + "%00", form, 400, "control character"},
				{"form: NUL in username", "POST", "/auth/oauth/token", "grant_type=password&username=a%00&password=x", form, 400, "control character"},
				{"json: NUL in username", "POST", "/auth/oauth/token", `{"grant_type":"password","username":"a\u0000","password":"x"}`, json_, 400, "control character"},
				{"json: case-variant key", "POST", "/auth/oauth/token", `{"grant_type":"password","username":"a","Username":"b","password":"x"}`, json_, 400, "differ only in case"},
			}, oauthFormat)

			// Remote payments (seed 004): the platform's format.
			runBad(t, h.App, []badCase{
				{"remote: NUL in note", "POST", "/remote/v1/payments", `{"amount":100,"currency":"USD","note":"a\u0000"}`, json_, 400, "control character"},
				{"remote: fractional amount", "POST", "/remote/v1/payments", `{"amount":1.5,"currency":"USD"}`, json_, 400, "amount"},
				{"remote: unknown currency", "POST", "/remote/v1/payments", `{"amount":100,"currency":"ABC"}`, json_, 400, "currency"},
				{"remote: case-variant key", "POST", "/remote/v1/payments", `{"amount":100,"Amount":1,"currency":"USD"}`, json_, 400, "differ only in case"},
				{"remote: null body", "POST", "/remote/v1/payments", `null`, json_, 400, "not null"},
				{"remote: bad payable_to", "POST", "/remote/v1/payments", `{"amount":100,"currency":"USD","payable_to":"123456789013"}`, json_, 400, "payable_to"},
				{"remote: NUL in id", "GET", "/remote/v1/payments/1%00", "", keyOnly, 400, "control character"},
				{"remote: bad metadata filter", "GET", "/remote/v1/payments?metadata=x&metadata%5Bk%5D=1&metadata%5Bk%5D=2", "", keyOnly, 400, "metadata"},
			}, platformFormat)
		})
	}
}

// gatewayFormat: {"errorReport": {"errors": [{"code", "message", …}], "warnings": […]}}.
func gatewayFormat(t *testing.T, body []byte) string {
	t.Helper()
	var m struct {
		ErrorReport *struct {
			Errors []struct {
				Code    string `json:"code"`
				Message string `json:"message"`
				Detail  string `json:"detail"`
			} `json:"errors"`
		} `json:"errorReport"`
	}
	if err := json.Unmarshal(body, &m); err != nil || m.ErrorReport == nil || len(m.ErrorReport.Errors) == 0 || m.ErrorReport.Errors[0].Code == "" {
		t.Fatalf("body %s is not a gateway errorReport", body)
	}
	e := m.ErrorReport.Errors[0]
	return e.Message + " " + e.Detail
}

// signed returns the gateway's authentication headers for body.
func signed(a *apptest.App, body string) map[string]string {
	return map[string]string{"ConfigurationId": a.Tenant.ConfigurationID, "Hash": gateway.HashOf(a.Tenant.SigningKey, []byte(body)), "Content-Type": "application/json", "api-key": ""}
}

const gatewayMoto = `{"paymentMethodsToUse":["creditcard"],"parameters":{"cardNumber":"4000000000000010","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"28"},"order":{"orderNumber":"ORDER"},"options":["IsMoto"],"currency":"GBP","amountToCollect":"5.00"}`

func TestGatewayBadInput(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			a := apptest.New(t, e, apptest.Options{Seed: 3})
			withOrder := func(order string) string { return strings.Replace(gatewayMoto, `"ORDER"`, `"`+order+`"`, 1) }
			caseVariant := strings.Replace(gatewayMoto, `"amountToCollect":"5.00"`, `"amountToCollect":"0.01","AmountToCollect":"9.99"`, 1)
			dup := strings.Replace(gatewayMoto, `"currency":"GBP"`, `"currency":"GBP","currency":"EUR"`, 1)
			nulCVC := strings.Replace(gatewayMoto, `"cardCvc":"123"`, `"cardCvc":"12\u0000"`, 1)
			gw := func(name, body, mention string) badCase {
				return badCase{name, "POST", "/api/gateway/payment-jobs", body, signed(a, body), 400, mention}
			}
			cases := []badCase{
				gw("NUL in order number", withOrder(`A\u0000`), "control character"),
				gw("tab in order number", withOrder(`A\tB`), "control character"),
				gw("NUL in card CVC", nulCVC, "control character"),
				gw("case-variant key", caseVariant, "differ only in case"),
				gw("duplicate key", dup, "duplicate key"),
				gw("null body", `null`, "not null"),
				{"NUL in job reference", "GET", "/api/gateway/payment-jobs/a%00b", "", signed(a, ""), 400, "control character"},
			}
			runBad(t, a, cases, gatewayFormat)

			// The hosted card form of a payment link (form-encoded, public).
			link := `{"paymentMethodsToUse":["creditcard"],"order":{"orderNumber":"LINK-1"},"currency":"GBP","amountToCollect":"7.00"}`
			lr := a.Do(http.MethodPost, "/api/gateway/payment-jobs", []byte(link), signed(a, link))
			if lr.Status != 201 {
				t.Fatalf("payment link = %d %s", lr.Status, lr.Body)
			}
			_, page, ok := strings.Cut(string(lr.Body), a.Server.URL+"/payment/form-post?ref=")
			if !ok {
				t.Fatalf("no hosted page in %s", lr.Body)
			}
			page = "/payment/form-post?ref=" + page[:strings.IndexByte(page, '"')]
			formHdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "api-key": ""}
			card := "cardNumber=4000000000000010&cardCvc=123&cardExpiryMonth=05&cardExpiryYear=28&cardHolderName="
			runBad(t, a, []badCase{
				{"hosted form: NUL in holder name", "POST", page, card + "Jon%00Snow", formHdr, 400, "could not be read"},
				{"hosted form: newline in CVC", "POST", page, strings.Replace(card, "cardCvc=123", "cardCvc=12%0A3", 1) + "Jon", formHdr, 400, "could not be read"},
				{"hosted page: NUL in ref", "GET", "/payment/form-post?ref=%00", "", nil, 400, "control character"},
			}, func(t *testing.T, body []byte) string { return string(body) })

			// The merchant's settings (platform API): PUT replaces all, so a
			// partial or null body is refused and nothing is reset.
			key := map[string]string{"api-key": a.Tenant.APIKey, "Content-Type": "application/json"}
			full := `{"autoCapture":false,"feeBasisPoints":150,"feeFixedMinor":20,"returnUrlSuccess":"","returnUrlFailed":"","returnUrlCancelled":"","webhookUrl":"","requireHmac":true,"requireHmacBodylessWrites":false,"refuseDirectCardPayments":false}`
			if r := a.Do(http.MethodPut, "/platform/gateway/settings", []byte(full), key); r.Status != 200 {
				t.Fatalf("PUT full settings = %d %s", r.Status, r.Body)
			}
			runBad(t, a, []badCase{
				{"settings: null", "PUT", "/platform/gateway/settings", `null`, key, 400, "not null"},
				{"settings: empty object", "PUT", "/platform/gateway/settings", `{}`, key, 400, "is required"},
				{"settings: one field missing", "PUT", "/platform/gateway/settings", strings.Replace(full, `,"requireHmac":true`, ``, 1), key, 400, `"requireHmac" is required`},
				{"settings: a field null", "PUT", "/platform/gateway/settings", strings.Replace(full, `"feeBasisPoints":150`, `"feeBasisPoints":null`, 1), key, 400, `"feeBasisPoints" is required`},
				{"settings: case-variant key", "PUT", "/platform/gateway/settings", strings.Replace(full, `"requireHmac":true`, `"requireHmac":true,"RequireHMAC":false`, 1), key, 400, "differ only in case"},
				{"settings: NUL in a URL", "PUT", "/platform/gateway/settings", strings.Replace(full, `"webhookUrl":""`, `"webhookUrl":"https://x.example/\u0000"`, 1), key, 400, "control character"},
			}, platformFormat)
			r := a.Do(http.MethodGet, "/platform/gateway/settings", nil, map[string]string{"api-key": a.Tenant.APIKey})
			var st gateway.GatewaySettings
			if err := json.Unmarshal(r.Body, &st); err != nil || st.AutoCapture || st.FeeBasisPoints != 150 || st.FeeFixedMinor != 20 || !st.RequireHMAC {
				t.Fatalf("settings after refused PUTs = %s, want the full PUT's values", r.Body)
			}
		})
	}
}

// TestLinksUseThePublicURL: links and hosted-page addresses are built on the
// configured public URL, not on the Host header a caller chooses.
func TestLinksUseThePublicURL(t *testing.T) {
	a := apptest.New(t, storetest.Engines()[0], apptest.Options{Seed: 3})
	body := `{"paymentMethodsToUse":["creditcard"],"order":{"orderNumber":"LINK-1"},"currency":"GBP","amountToCollect":"7.00"}` // a payment link
	req, err := http.NewRequest(http.MethodPost, a.Server.URL+"/api/gateway/payment-jobs", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range signed(a, body) {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	req.Host = "evil.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("create payment link = %d %s", resp.StatusCode, b)
	}
	if bytes.Contains(b, []byte("evil.example")) {
		t.Fatalf("links built on the Host header: %s", b)
	}
	if !bytes.Contains(b, []byte(`"`+a.Server.URL+"/payment/form-post?ref=")) {
		t.Fatalf("no hosted-page link on the public URL %s: %s", a.Server.URL, b)
	}
	req, _ = http.NewRequest(http.MethodGet, a.Server.URL+"/api/gateway/supported-payment-methods", nil)
	for k, v := range signed(a, "") {
		if v != "" && k != "Content-Type" {
			req.Header.Set(k, v)
		}
	}
	req.Host = "evil.example"
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || bytes.Contains(b, []byte("evil.example")) || !bytes.Contains(b, []byte(a.Server.URL+"/assets/")) {
		t.Fatalf("supported payment methods = %d %s, want logos on %s", resp.StatusCode, b, a.Server.URL)
	}
}

// walletFormat: {"error": {"code": …, "message": …}}.
func walletFormat(t *testing.T, body []byte) string {
	t.Helper()
	var m struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &m); err != nil || m.Error == nil || m.Error.Code == "" {
		t.Fatalf("body %s is not a wallet error", body)
	}
	return m.Error.Message
}

func TestWalletBadInput(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			a := apptest.New(t, e, apptest.Options{Seed: 1})
			js := map[string]string{"Content-Type": "application/json"}
			for _, u := range []string{"alice", "bob"} {
				if r := a.Do(http.MethodPost, "/wallet/app/v1/signup", []byte(`{"username":"`+u+`","password":"`+u+`-password","pin":"1234"}`), js); r.Status != 201 {
					t.Fatalf("signup %s = %d %s", u, r.Status, r.Body)
				}
			}
			r := a.Do(http.MethodPost, "/wallet/app/v1/login", []byte(`{"username":"alice","password":"alice-password"}`), js)
			if r.Status != 200 {
				t.Fatalf("login = %d %s", r.Status, r.Body)
			}
			auth := map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + r.JSON(t)["token"].(string)}
			cases := []badCase{
				{"login: NUL in username", "POST", "/wallet/app/v1/login", `{"username":"alice\u0000","password":"x"}`, js, 400, "control character"},
				{"login: NUL in password", "POST", "/wallet/app/v1/login", `{"username":"alice","password":"alice-password\u0000"}`, js, 400, "control character"},
				{"login: case-variant key", "POST", "/wallet/app/v1/login", `{"username":"alice","USERNAME":"bob","password":"x"}`, js, 400, "differ only in case"},
				{"login: null body", "POST", "/wallet/app/v1/login", `null`, js, 400, "not null"},
				{"signup: NUL in username", "POST", "/wallet/app/v1/signup", `{"username":"carol\u0000","password":"carol-password","pin":"1234"}`, js, 400, "control character"},
				{"signup: duplicate key", "POST", "/wallet/app/v1/signup", `{"username":"carol","username":"dave","password":"carol-password","pin":"1234"}`, js, 400, "duplicate key"},
				{"send: NUL in description", "POST", "/wallet/app/v1/send", `{"to":"bob","amount":"0.01","description":"hi\u0000"}`, auth, 400, "control character"},
				{"send: case-variant amount", "POST", "/wallet/app/v1/send", `{"to":"bob","amount":"0.01","Amount":"9.99"}`, auth, 400, "differ only in case"},
				{"send: null body", "POST", "/wallet/app/v1/send", `null`, auth, 400, "not null"},
				{"NUL in request id", "POST", "/wallet/app/v1/requests/req%00/deny", "", auth, 400, "control character"},
				{"NUL in query", "GET", "/wallet/app/v1/transactions?type=%00", "", auth, 400, "control character"},
			}
			runBad(t, a, cases, walletFormat)
		})
	}
}
