package wallet_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// platformCall calls the platform API with an APP key.
func (s *stack) platformCall(t *testing.T, method, path, key string, body any, hdr map[string]string) (resp, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.srv.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("api-key", key)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, b}, res.Header
}

// platformError checks the platform API's error format: exactly {"error": "…"}.
func platformError(t *testing.T, r resp, status int, contains string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil || r.status != status || len(m) != 1 || !strings.Contains(m["error"].(string), contains) {
		t.Fatalf("got %d %s, want %d {\"error\": \"…%s…\"}", r.status, r.body, status, contains)
	}
}

// TestPlatformOpensCorporateWallet: a tenant opens its corporate wallet
// with its APP key through the platform API, then uses it as a merchant.
func TestPlatformOpensCorporateWallet(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			s := newStack(t, e)
			ctx := t.Context()
			ten, err := s.a.Platform.CreateTenant(ctx, platform.TenantSpec{Name: "Bakery Ltd", Mode: platform.Production})
			ok(t, err)
			other, err := s.a.Platform.CreateTenant(ctx, platform.TenantSpec{Name: "Other Ltd", Mode: platform.Sandbox})
			ok(t, err)
			open := wallet.PlatformWalletOpen{Username: "bakery", Password: "bakery-password", PIN: "2468", IBAN: "DE89 3704 0044 0532 0130 00", BIC: "COBADEFFXXX"}

			r, _ := s.platformCall(t, "POST", "/platform/wallet/corporate", "", open, nil)
			platformError(t, r, 401, "")
			r, _ = s.platformCall(t, "GET", "/platform/wallet/corporate", ten.APIKey, nil, nil)
			platformError(t, r, 404, "no corporate wallet")
			// Bad input: the platform's error format, and nothing is created.
			bad := open
			bad.IBAN = "DE89 3704 0044 0532 0130 01"
			r, _ = s.platformCall(t, "POST", "/platform/wallet/corporate", ten.APIKey, bad, nil)
			platformError(t, r, 400, "IBAN")
			r, _ = s.platformCall(t, "POST", "/platform/wallet/corporate", ten.APIKey, map[string]any{"username": "bakery", "extra": 1}, nil)
			platformError(t, r, 400, "extra")
			var users int
			ok(t, s.a.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM wallet_users`).Scan(&users))
			if users != 0 {
				t.Fatalf("bad input created %d wallet users", users)
			}

			idem := map[string]string{"Idempotency-Key": "open-wallet-1"}
			r, hdr := s.platformCall(t, "POST", "/platform/wallet/corporate", ten.APIKey, open, idem)
			if r.status != 201 {
				t.Fatalf("open: %d %s", r.status, r.body)
			}
			var cw wallet.CorporateWallet
			r.decode(t, &cw)
			if cw.TenantID != ten.TenantID || cw.MerchantID != ten.BusinessCode || cw.CompanyName != "Bakery Ltd" || cw.Tier != wallet.TierCorporate ||
				cw.BankVerified || !strings.HasPrefix(cw.MerchantSecret, "cgm_") || cw.User.Username != "bakery" || cw.User.Kind != wallet.KindCorporate {
				t.Fatalf("opened %+v", cw)
			}
			if hdr.Get("Idempotent-Replayed") != "" {
				t.Fatalf("first answer marked replayed")
			}
			// The same Idempotency-Key replays the answer committed with the
			// wallet, byte for byte; stored, it is sealed: the secret is not
			// in the database in plaintext.
			again, hdr := s.platformCall(t, "POST", "/platform/wallet/corporate", ten.APIKey, open, idem)
			if again.status != 201 || !bytes.Equal(again.body, r.body) || hdr.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("replay: %d %s (replayed %q), want the first answer", again.status, again.body, hdr.Get("Idempotent-Replayed"))
			}
			var stored []byte
			ok(t, s.a.DB.Read().QueryRowContext(ctx, `SELECT response_body FROM idempotency_keys WHERE key = $1`, "open-wallet-1").Scan(&stored))
			if bytes.Contains(stored, []byte(cw.MerchantSecret)) || bytes.Contains(stored, []byte("bakery")) {
				t.Fatalf("the stored answer holds the merchant secret in plaintext")
			}
			r, _ = s.platformCall(t, "POST", "/platform/wallet/corporate", ten.APIKey, open, nil)
			platformError(t, r, 409, "corporate wallet already")

			// The secret builds merchant tokens; the login opens the wallet app.
			apiForAll(t, s.a.Wallet.Service) // the new wallet is Corporate
			tok := s.merchantToken(t, wallet.CorporateCreated{MerchantID: cw.MerchantID, MerchantSecret: cw.MerchantSecret})
			var m wallet.MerchantAuth
			s.must(t, 200, "GET", "/wallet/api/v1/auth/token", tok, nil, &m)
			if m.TenantID != ten.TenantID {
				t.Fatalf("token of %+v", m)
			}
			var sess wallet.WalletSession
			s.must(t, 200, "POST", "/wallet/app/v1/login", "", wallet.WalletLogin{Username: "bakery", Password: "bakery-password"}, &sess)
			if sess.User.TenantID != ten.TenantID {
				t.Fatalf("login %+v", sess.User)
			}

			var pw wallet.PlatformWallet
			r, _ = s.platformCall(t, "GET", "/platform/wallet/corporate", ten.APIKey, nil, nil)
			if r.status != 200 {
				t.Fatalf("get: %d %s", r.status, r.body)
			}
			r.decode(t, &pw)
			if pw.Account.MerchantID != ten.BusinessCode || pw.Username != "bakery" || pw.Balance.Available != "0.00" || pw.Account.Tier != wallet.TierCorporate {
				t.Fatalf("platform wallet %+v", pw)
			}
			// Another tenant sees only its own (none yet), and its wallet
			// cannot take a taken username.
			r, _ = s.platformCall(t, "GET", "/platform/wallet/corporate", other.APIKey, nil, nil)
			platformError(t, r, 404, "no corporate wallet")
			r, _ = s.platformCall(t, "POST", "/platform/wallet/corporate", other.APIKey, open, nil)
			platformError(t, r, 409, "taken")
			if err := ledger.CheckInvariants(ctx, s.a.DB.Read()); err != nil {
				t.Fatal(err)
			}
		})
	}
}
