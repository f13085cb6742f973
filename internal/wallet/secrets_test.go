package wallet_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// TestMerchantSecretRotation: a rotated secret keeps working for its grace
// period, then stops; a second rotation stops the first one's old secret
// at once; the old secret can be stopped early; no grace stops it at once;
// callbacks are signed with the new secret.
func TestMerchantSecretRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		site := newMerchantSite(t, 0)
		shop := e.corporate("shop", true)
		alice := e.customer("alice")
		e.topUp(alice, "50.00")
		auth := func(secret string) error {
			s, err := e.w.NewSalt(e.ctx, shop.MerchantID)
			ok(t, err)
			_, err = e.w.AuthenticateMerchant(e.ctx, wallet.MerchantToken(shop.MerchantID, secret, s.Salt))
			return err
		}
		refused := func(secret, why string) {
			t.Helper()
			if err := auth(secret); !apperr.Is(err, apperr.Unauthenticated) {
				t.Fatalf("%s: %v, want the token refused", why, err)
			}
		}
		if _, err := e.w.RotateMerchantSecret(e.ctx, shop.TenantID, wallet.MaxSecretGrace+time.Second); apperr.From(err).Field != "graceSeconds" {
			t.Fatalf("a grace beyond 7 days: %v", err)
		}
		first := shop.MerchantSecret
		rot, err := e.w.RotateMerchantSecret(e.ctx, shop.MerchantID, time.Hour) // by merchant id too
		ok(t, err)
		second := rot.MerchantSecret
		if !strings.HasPrefix(second, "cgm_") || second == first || rot.PreviousValidUntil == nil || !rot.PreviousValidUntil.Equal(e.clk.Now().Add(time.Hour)) {
			t.Fatalf("rotation %+v", rot)
		}
		ok(t, auth(first))
		ok(t, auth(second))
		st, err := e.w.MerchantSecret(e.ctx, shop.TenantID)
		ok(t, err)
		if st.RotatedAt == nil || st.PreviousValidUntil == nil {
			t.Fatalf("status %+v", st)
		}
		// The stored secrets are sealed.
		var row string
		ok(t, db.Read().QueryRowContext(e.ctx, `SELECT secret_sealed || prev_secret_sealed FROM wallet_corporates WHERE tenant_id = $1`, shop.TenantID).Scan(&row))
		if strings.Contains(row, first) || strings.Contains(row, second) {
			t.Fatal("a merchant secret is stored in plaintext")
		}
		// Callbacks are signed with the new secret from the rotation on.
		r, err := e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: "5.00", Currency: "EUR", Description: "x", CallbackURL: site.srv.URL})
		ok(t, err)
		_, err = e.w.Approve(e.ctx, alice.ID, r.ID, "1234")
		ok(t, err)
		e.runDue()
		got := site.received()
		if len(got) != 1 {
			t.Fatalf("%d callbacks", len(got))
		}
		if _, err := wallet.VerifyCallback(second, got[0]); err != nil {
			t.Fatalf("the callback does not verify with the new secret: %v", err)
		}
		// The grace ends: the old secret stops, the new one goes on.
		e.clk.Advance(time.Hour)
		refused(first, "the old secret after its grace")
		ok(t, auth(second))
		if _, err := e.w.RevokePreviousSecret(e.ctx, shop.TenantID); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("revoking without a previous secret: %v", err)
		}
		// A rotation during another's grace stops the oldest at once.
		rot, err = e.w.RotateMerchantSecret(e.ctx, shop.TenantID, 24*time.Hour)
		ok(t, err)
		third := rot.MerchantSecret
		rot, err = e.w.RotateMerchantSecret(e.ctx, shop.TenantID, 24*time.Hour)
		ok(t, err)
		fourth := rot.MerchantSecret
		refused(second, "the secret two rotations ago")
		ok(t, auth(third))
		ok(t, auth(fourth))
		// Stopped early.
		st, err = e.w.RevokePreviousSecret(e.ctx, shop.TenantID)
		ok(t, err)
		if st.PreviousValidUntil != nil {
			t.Fatalf("status after revoking %+v", st)
		}
		refused(third, "the old secret after revoke-previous")
		ok(t, auth(fourth))
		// No grace: a leaked secret stops at once.
		rot, err = e.w.RotateMerchantSecret(e.ctx, shop.TenantID, 0)
		ok(t, err)
		if rot.PreviousValidUntil != nil {
			t.Fatalf("no-grace rotation %+v", rot)
		}
		refused(fourth, "a secret rotated without grace")
		ok(t, auth(rot.MerchantSecret))
		if _, err := e.w.RotateMerchantSecret(e.ctx, "NOSUCH", 0); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("an unknown corporate: %v", err)
		}
	})
}

// TestMerchantSecretRotationConcurrent: rotations at once each commit in
// turn; exactly the last one's secret and the one before it work.
func TestMerchantSecretRotationConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		shop := e.corporate("shop", true)
		var mu sync.Mutex
		var secrets []string
		var wg sync.WaitGroup
		for i := 0; i < 6; i++ {
			wg.Go(func() {
				rot, err := e.w.RotateMerchantSecret(e.ctx, shop.TenantID, time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				secrets = append(secrets, rot.MerchantSecret)
				mu.Unlock()
			})
		}
		wg.Wait()
		works := 0
		for _, sec := range append(secrets, shop.MerchantSecret) {
			s, err := e.w.NewSalt(e.ctx, shop.MerchantID)
			ok(t, err)
			if _, err := e.w.AuthenticateMerchant(e.ctx, wallet.MerchantToken(shop.MerchantID, sec, s.Salt)); err == nil {
				works++
			}
		}
		if works != 2 {
			t.Fatalf("%d of the secrets work after 6 rotations at once, want 2 (the current and the previous)", works)
		}
	})
}

// TestMerchantSecretOverPlatformAPI: the tenant rotates with its APP key
// (the secret itself cannot: a thief holding it must not lock the owner
// out); the answer is replayed for its Idempotency-Key, never stored in
// plaintext.
func TestMerchantSecretOverPlatformAPI(t *testing.T) {
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			s := newStack(t, eng)
			ctx := t.Context()
			ten, err := s.a.Platform.CreateTenant(ctx, platform.TenantSpec{Name: "Bakery Ltd", Mode: platform.Production})
			ok(t, err)
			r, _ := s.platformCall(t, "POST", "/platform/wallet/corporate/secret/rotate", ten.APIKey, nil, nil)
			platformError(t, r, 404, "no corporate wallet")
			r, _ = s.platformCall(t, "POST", "/platform/wallet/corporate", ten.APIKey, wallet.PlatformWalletOpen{Username: "bakery", Password: "bakery-password",
				PIN: "2468", IBAN: "DE89 3704 0044 0532 0130 00", BIC: "COBADEFFXXX"}, nil)
			var cw wallet.CorporateWallet
			r.decode(t, &cw)
			_, err = s.a.Wallet.Service.ApproveUpgrade(ctx, ten.TenantID, true)
			ok(t, err)
			r, _ = s.platformCall(t, "POST", "/platform/wallet/corporate/secret/rotate", ten.APIKey, map[string]any{"graceSeconds": 604801}, nil)
			platformError(t, r, 400, "grace")
			idem := map[string]string{"Idempotency-Key": "rotate-1"}
			r, _ = s.platformCall(t, "POST", "/platform/wallet/corporate/secret/rotate", ten.APIKey, map[string]any{"graceSeconds": 3600}, idem)
			var rot wallet.MerchantSecretRotation
			if r.status != 201 {
				t.Fatalf("rotate: %d %s", r.status, r.body)
			}
			r.decode(t, &rot)
			again, hdr := s.platformCall(t, "POST", "/platform/wallet/corporate/secret/rotate", ten.APIKey, map[string]any{"graceSeconds": 3600}, idem)
			if !bytes.Equal(again.body, r.body) || hdr.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("replay: %s", again.body)
			}
			var stored []byte
			ok(t, s.a.DB.Read().QueryRowContext(ctx, `SELECT response_body FROM idempotency_keys WHERE key = $1`, "rotate-1").Scan(&stored))
			if bytes.Contains(stored, []byte(rot.MerchantSecret)) {
				t.Fatal("the stored answer holds the merchant secret in plaintext")
			}
			for _, sec := range []string{cw.MerchantSecret, rot.MerchantSecret} {
				tok := s.merchantToken(t, wallet.CorporateCreated{MerchantID: cw.MerchantID, MerchantSecret: sec})
				s.must(t, 200, "GET", "/wallet/api/v1/auth/token", tok, nil, nil)
			}
			var pw wallet.PlatformWallet
			r, _ = s.platformCall(t, "GET", "/platform/wallet/corporate", ten.APIKey, nil, nil)
			r.decode(t, &pw)
			if pw.Secret.PreviousValidUntil == nil || pw.Secret.RotatedAt == nil || strings.Contains(string(r.body), rot.MerchantSecret) {
				t.Fatalf("wallet %s", r.body)
			}
			r, _ = s.platformCall(t, "POST", "/platform/wallet/corporate/secret/revoke-previous", ten.APIKey, nil, nil)
			if r.status != 200 {
				t.Fatalf("revoke-previous: %d %s", r.status, r.body)
			}
			tok := s.merchantToken(t, wallet.CorporateCreated{MerchantID: cw.MerchantID, MerchantSecret: cw.MerchantSecret})
			if r := s.call(t, "GET", "/wallet/api/v1/auth/token", tok, nil); r.status != 401 {
				t.Fatalf("the old secret after revoke-previous: %d %s", r.status, r.body)
			}
			r, _ = s.platformCall(t, "POST", "/platform/wallet/corporate/secret/revoke-previous", ten.APIKey, nil, nil)
			platformError(t, r, 409, "no previous merchant secret")
		})
	}
}
