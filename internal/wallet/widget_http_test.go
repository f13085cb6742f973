package wallet_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// widgetWorld is a corporate with the API open to it, a registered widget
// origin and a customer alice with 20.00 EUR.
func widgetWorld(t *testing.T, s *stack, origin string) (wallet.CorporateCreated, string) {
	t.Helper()
	w := s.a.Wallet.Service
	shop, err := w.CreateCorporate(t.Context(), wallet.CorporateSpec{CompanyName: "Corner Shop", Username: "corner", Password: "corner-password",
		PIN: "4321", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"})
	ok(t, err)
	apiForAll(t, w)
	r, _ := s.platformCall(t, "PUT", "/platform/wallet/corporate/widget-origins", shop.Tenant.APIKey, wallet.WidgetOrigins{Origins: []string{origin}}, nil)
	if r.status != 200 || !strings.Contains(string(r.body), origin) {
		t.Fatalf("register origin: %d %s", r.status, r.body)
	}
	var alice wallet.WalletUser
	s.must(t, 201, "POST", "/wallet/app/v1/signup", "", wallet.WalletSignUp{Username: "alice", Password: "alice-password", PIN: "1234"}, &alice)
	_, err = w.CreditTopUp(t.Context(), wallet.TopUp{Reference: alice.TopUpReference, Amount: "20.00", BankReference: "BANK-1"})
	ok(t, err)
	return shop, s.merchantToken(t, shop)
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// TestWidgetOverHTTP: origins through the platform and merchant APIs
// (validated), a token minted with the merchant token (text with control
// characters refused; the secret not in the stored idempotent answer), the
// frame page framed by the token's origin only (the wallet app's pages by
// none), the script carrying the public URL, and the frame's API
// authorised by the widget token only.
func TestWidgetOverHTTP(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			s := newStack(t, e)
			const origin = "https://shop.example"
			shop, mtok := widgetWorld(t, s, origin)

			r, _ := s.platformCall(t, "PUT", "/platform/wallet/corporate/widget-origins", shop.Tenant.APIKey, wallet.WidgetOrigins{Origins: []string{"http://shop.example"}}, nil)
			platformError(t, r, 400, "https is required")
			r = s.call(t, "PUT", "/wallet/api/v1/widget/origins", mtok, wallet.WidgetOrigins{Origins: []string{origin, "http://localhost:8081"}})
			if r.status != 200 || !strings.Contains(string(r.body), `"origins":["http://localhost:8081","https://shop.example"]`) {
				t.Fatalf("merchant API origins: %d %s", r.status, r.body)
			}
			spec := map[string]any{"origin": origin, "amount": "4.20", "currency": "EUR", "description": "Order 7", "orderId": "o-7",
				"callbackUrl": "http://127.0.0.1:9/cb"}
			for _, bad := range []string{"Order\x007", "Order\u00077", "Order\n7"} {
				spec["description"] = bad
				if r := s.call(t, "POST", "/wallet/api/v1/widget/tokens", mtok, spec); r.status != 400 {
					t.Errorf("description %q: %d %s", bad, r.status, r.body)
				}
			}
			spec["description"] = "Order 7"
			if r := s.call(t, "POST", "/wallet/api/v1/widget/tokens", "", spec); r.status != 401 {
				t.Fatalf("minting without the merchant token: %d %s", r.status, r.body)
			}
			req, _ := http.NewRequest("POST", s.srv.URL+"/wallet/api/v1/widget/tokens", strings.NewReader(`{"origin":"`+origin+`","amount":"4.20","currency":"EUR","description":"Order 7","orderId":"o-7","callbackUrl":"http://127.0.0.1:9/cb"}`))
			req.Header.Set("Authorization", "Bearer "+mtok)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "widget-1")
			res, err := http.DefaultClient.Do(req)
			ok(t, err)
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var tok wallet.WidgetToken
			resp{res.StatusCode, body}.decode(t, &tok)
			if res.StatusCode != 201 || tok.ScriptURL != s.srv.URL+"/wallet/widget.js" || !strings.Contains(tok.Snippet, `data-token="`+tok.Token+`"`) {
				t.Fatalf("minted %d %s", res.StatusCode, body)
			}
			_, secret, _ := strings.Cut(tok.Token, ".")
			var stored []byte
			ok(t, s.a.DB.Read().QueryRowContext(t.Context(), `SELECT response_body FROM idempotency_keys WHERE key = $1`, "widget-1").Scan(&stored))
			if len(stored) == 0 || bytes.Contains(stored, []byte(secret)) {
				t.Fatalf("the stored answer holds the token's secret: %q", stored)
			}

			// The frame page: framed by the token's origin only.
			res, page := get(t, s.srv.URL+"/wallet/widget/frame?w="+tok.WidgetID)
			csp := res.Header.Get("Content-Security-Policy")
			if res.StatusCode != 200 || !strings.HasSuffix(csp, "frame-ancestors "+origin) || res.Header.Get("X-Frame-Options") != "" ||
				!strings.Contains(page, `data-origin="`+origin+`"`) || strings.Contains(page, secret) {
				t.Fatalf("frame page %d %q %q", res.StatusCode, csp, res.Header.Get("X-Frame-Options"))
			}
			for _, u := range []string{"/wallet/widget/frame?w=cgwt_unknown", "/wallet/widget/frame", "/wallet/"} {
				res, _ := get(t, s.srv.URL+u)
				if !strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || res.Header.Get("X-Frame-Options") != "DENY" {
					t.Errorf("%s may be framed: %q", u, res.Header.Get("Content-Security-Policy"))
				}
			}
			res, script := get(t, s.srv.URL+"/wallet/widget.js")
			if res.StatusCode != 200 || !strings.Contains(script, `var base = "`+s.srv.URL+`";`) || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
				t.Fatalf("widget.js %d %q", res.StatusCode, res.Header.Get("Content-Type"))
			}

			// The frame's API takes the widget token, and only it.
			for _, auth := range []string{"", mtok, tok.WidgetID + "." + strings.Repeat("0", 64)} {
				if r := s.call(t, "GET", "/wallet/widget/v1/status", auth, nil); r.status != 401 {
					t.Errorf("status with %q: %d %s", auth, r.status, r.body)
				}
			}
			if r := s.call(t, "POST", "/wallet/api/v1/widget/tokens", tok.Token, spec); r.status != 401 {
				t.Fatalf("minting with a widget token: %d %s", r.status, r.body)
			}
			if r := s.call(t, "POST", "/wallet/widget/v1/requests", tok.Token, map[string]string{"username": "ali\x00ce"}); r.status != 400 {
				t.Fatalf("NUL in the username: %d %s", r.status, r.body)
			}
			var st wallet.WidgetStatus
			s.must(t, 201, "POST", "/wallet/widget/v1/requests", tok.Token, wallet.WidgetPayRequest{Username: "alice"}, &st)
			if st.State != wallet.WidgetPending || st.Merchant != "Corner Shop" {
				t.Fatalf("paid %+v", st)
			}
			var sess wallet.WalletSession
			s.must(t, 200, "POST", "/wallet/app/v1/login", "", wallet.WalletLogin{Username: "alice", Password: "alice-password"}, &sess)
			s.must(t, 200, "POST", "/wallet/app/v1/requests/"+st.RequestID+"/approve", sess.Token, wallet.WalletPIN{PIN: "1234"}, nil)
			s.must(t, 200, "GET", "/wallet/widget/v1/status", tok.Token, nil, &st)
			if st.State != wallet.WidgetApproved {
				t.Fatalf("after approval %+v", st)
			}
			var mr wallet.MoneyRequest
			s.must(t, 200, "GET", "/wallet/api/v1/requests/"+st.RequestID, mtok, nil, &mr)
			if mr.Status != wallet.StatusApproved || mr.OrderID != "o-7" || mr.Amount != "4.20" {
				t.Fatalf("the merchant's view %+v", mr)
			}

			// An origin the merchant removes stops framing at once, also the
			// frames of tokens minted before.
			r = s.call(t, "PUT", "/wallet/api/v1/widget/origins", mtok, wallet.WidgetOrigins{Origins: []string{"http://localhost:8081"}})
			if r.status != 200 {
				t.Fatalf("remove the origin: %d %s", r.status, r.body)
			}
			res, _ = get(t, s.srv.URL+"/wallet/widget/frame?w="+tok.WidgetID)
			if res.StatusCode != 404 || !strings.HasSuffix(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || res.Header.Get("X-Frame-Options") != "DENY" {
				t.Fatalf("frame after the origin was removed: %d %q", res.StatusCode, res.Header.Get("Content-Security-Policy"))
			}
		})
	}
}
