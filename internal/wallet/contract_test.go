package wallet_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// TestCorporateWritesReplayTheirAnswer: a corporate's bank-account
// verification and Corporate+ request answer from inside their
// transaction (the tests run with the write contract enforced, so an answer
// written after the commit would be a 500), and the same Idempotency-Key
// replays that answer byte for byte instead of running the write again.
// A login is never replayed: its answer carries a session token.
func TestCorporateWritesReplayTheirAnswer(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			s := newStack(t, e)
			ctx := context.Background()
			ten, err := s.a.Platform.CreateTenant(ctx, platform.TenantSpec{Name: "Bakery Ltd", Mode: platform.Production})
			ok(t, err)
			open := wallet.PlatformWalletOpen{Username: "bakery", Password: "bakery-password", PIN: "2468", IBAN: "DE89 3704 0044 0532 0130 00", BIC: "COBADEFFXXX"}
			if r, _ := s.platformCall(t, "POST", "/platform/wallet/corporate", ten.APIKey, open, nil); r.status != 201 {
				t.Fatalf("open: %d %s", r.status, r.body)
			}

			login := func(key string) wallet.WalletSession {
				r, _ := s.platformCall(t, "POST", "/wallet/app/v1/login", "", wallet.WalletLogin{Username: "bakery", Password: "bakery-password"}, map[string]string{"Idempotency-Key": key})
				if r.status != 200 {
					t.Fatalf("login: %d %s", r.status, r.body)
				}
				var sess wallet.WalletSession
				r.decode(t, &sess)
				return sess
			}
			sess := login("login-1")
			if again := login("login-1"); again.Token == sess.Token {
				t.Fatalf("a login was replayed with its session token")
			}
			as := func(key string) map[string]string {
				return map[string]string{"Authorization": "Bearer " + sess.Token, "Idempotency-Key": key}
			}
			// twice sends a write twice with one key and checks the replay.
			twice := func(path string, body any, key string, status int) resp {
				t.Helper()
				first, hdr := s.platformCall(t, "POST", path, "", body, as(key))
				if first.status != status || hdr.Get("Idempotent-Replayed") != "" {
					t.Fatalf("%s: %d %s", path, first.status, first.body)
				}
				again, hdr := s.platformCall(t, "POST", path, "", body, as(key))
				if again.status != status || !bytes.Equal(again.body, first.body) || hdr.Get("Idempotent-Replayed") != "true" {
					t.Fatalf("%s replayed %d %s (replayed %q), first %s", path, again.status, again.body, hdr.Get("Idempotent-Replayed"), first.body)
				}
				return first
			}

			twice("/wallet/app/v1/bank-account/verification", nil, "verification-1", 201)
			w := s.a.Wallet.Service
			exp, err := w.ExportPayouts(ctx, issuer, s.clk.Now())
			ok(t, err)
			code := regexp.MustCompile(`verification code (\d{6})`).FindSubmatch(exp.XML)
			if exp.Count != 1 || code == nil {
				t.Fatalf("export of %d payouts, code %q", exp.Count, code)
			}
			_, err = w.MarkPaid(ctx, exp.BatchID)
			ok(t, err)

			var acc wallet.CorporateAccount
			twice("/wallet/app/v1/bank-account/verify", wallet.WalletCode{Code: string(code[1])}, "verify-1", 200).decode(t, &acc)
			if !acc.BankVerified {
				t.Fatalf("verified account %+v", acc)
			}
			if r := rawCall(t, s.srv.URL, "POST", "/wallet/app/v1/upgrade/documents?kind=trade_register_extract&filename=register.pdf", "application/pdf",
				pdfDoc("register"), as("document-1")); r.status != 201 {
				t.Fatalf("upload: %d %s", r.status, r.body)
			}
			twice("/wallet/app/v1/upgrade", nil, "upgrade-1", 200).decode(t, &acc)
			if acc.UpgradeStatus != "requested" {
				t.Fatalf("upgrade answer %+v", acc)
			}
			// A new key is a new request: the upgrade is requested already.
			if r, _ := s.platformCall(t, "POST", "/wallet/app/v1/upgrade", "", nil, as("upgrade-2")); r.status != 409 {
				t.Fatalf("second upgrade request: %d %s", r.status, r.body)
			}
			if r, _ := s.platformCall(t, "POST", "/wallet/app/v1/logout", "", nil, as("logout-1")); r.status != 200 {
				t.Fatalf("logout: %d %s", r.status, r.body)
			}
		})
	}
}

// TestReceiveOnlyWalletIsClaimed: a tenant's first remote payment opens a
// receive-only corporate wallet nobody can log in to; POST
// /platform/wallet/corporate then claims it (login, bank account) and
// keeps its account number and the money it received.
func TestReceiveOnlyWalletIsClaimed(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			s := newStack(t, e)
			ctx := context.Background()
			w := s.a.Wallet.Service
			ten, err := s.a.Platform.CreateTenant(ctx, platform.TenantSpec{Name: "Bakery Ltd", Mode: platform.Production})
			ok(t, err)
			n, err := w.ReceivingAccount(ctx, ten.TenantID)
			ok(t, err)
			again, err := w.ReceivingAccount(ctx, ten.TenantID)
			ok(t, err)
			if !wallet.ValidAccountNumber(n) || again != n {
				t.Fatalf("receiving account %q then %q", n, again)
			}
			if _, err := w.Login(ctx, "merchant-"+strings.ToLower(ten.BusinessCode), ""); err == nil {
				t.Fatal("logged in to a receive-only wallet")
			}
			open := wallet.PlatformWalletOpen{Username: "bakery", Password: "bakery-password", PIN: "2468", IBAN: "DE89 3704 0044 0532 0130 00", BIC: "COBADEFFXXX"}
			r, _ := s.platformCall(t, "POST", "/platform/wallet/corporate", ten.APIKey, open, nil)
			var cw wallet.CorporateWallet
			if r.status != 201 {
				t.Fatalf("claim: %d %s", r.status, r.body)
			}
			r.decode(t, &cw)
			if cw.AccountNumber != n || cw.User.Username != "bakery" || cw.IBAN == "" || !strings.HasPrefix(cw.MerchantSecret, "cgm_") || cw.CompanyName != "Bakery Ltd" {
				t.Fatalf("claimed %+v", cw)
			}
			if _, err := w.Login(ctx, "bakery", "bakery-password"); err != nil {
				t.Fatalf("login after the claim: %v", err)
			}
			r, _ = s.platformCall(t, "POST", "/platform/wallet/corporate", ten.APIKey, open, nil)
			platformError(t, r, 409, "corporate wallet already")
		})
	}
}
