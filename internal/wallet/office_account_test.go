package wallet_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/backoffice/officetest"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// corporateWorld opens the app's tenant's corporate wallet (PIN 4321),
// tops it up with 100.00 EUR and has alice pay a 20.00 EUR money request
// (its receive fee 0.50 EUR), and returns the corporate wallet's user id.
func corporateWorld(t *testing.T, h *apptest.App) string {
	t.Helper()
	ctx := context.Background()
	w := h.App.Wallet.Service
	if _, err := w.OpenCorporate(ctx, h.Tenant.TenantID, wallet.CorporateSpec{CompanyName: "Acme Ltd", Username: "acme", Password: "acme-password",
		PIN: "4321", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"}); err != nil {
		t.Fatal(err)
	}
	uid, err := w.TenantUser(ctx, h.Tenant.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := w.SignUp(ctx, wallet.SignUp{Username: "alice", Password: "alice-password", PIN: "1234"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetSandboxTopUps(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := w.SimulateTopUp(ctx, alice.ID, "100.00", "EUR"); err != nil {
		t.Fatal(err)
	}
	var ref string // a corporate's top-up is a bank transfer, credited by the operator
	if err := h.App.DB.Read().QueryRowContext(ctx, `SELECT topup_ref FROM wallet_users WHERE id = $1`, uid).Scan(&ref); err != nil {
		t.Fatal(err)
	}
	if _, err := w.CreditTopUp(ctx, wallet.TopUp{Reference: ref, Amount: "100.00", BankReference: "BANK-1"}); err != nil {
		t.Fatal(err)
	}
	req, err := w.CreateRequest(ctx, h.Tenant.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: "20.00", Currency: "EUR",
		Description: "Order 77", CallbackURL: "http://127.0.0.1:9/cb", OrderID: "ORD-77"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Approve(ctx, alice.ID, req.ID, "1234"); err != nil {
		t.Fatal(err)
	}
	return uid
}

// verificationCode reads the code of the last verification transfer from
// its remittance text (what the bank statement shows).
func verificationCode(t *testing.T, h *apptest.App) string {
	t.Helper()
	var desc string
	if err := h.App.DB.Read().QueryRowContext(context.Background(), `SELECT description FROM wallet_transactions
WHERE tenant_id = $1 AND kind = 'verification' ORDER BY created_at DESC, id DESC LIMIT 1`, h.Tenant.TenantID).Scan(&desc); err != nil {
		t.Fatal(err)
	}
	return desc[len(desc)-6:]
}

// TestOfficeCorporateWallet: the corporate wallet's back-office page shows
// the balance and the transactions with their fees, filtered as the API's
// list (type, status, amounts, days; bad filters beside their fields); an
// owner requests the verification code, a wrong code is refused beside the
// field, the right one verifies the bank account; a withdrawal with a
// wrong PIN is refused beside the PIN field (and audited as refused), with
// the right PIN it goes through the wallet API's Withdraw (fee 2.00 EUR,
// one a day: the second is refused by the same limit); Corporate+ is
// requested. Every action is in the audit log. An agent sees the page
// read-only and every action of it is refused (403).
func TestOfficeCorporateWallet(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			ctx := context.Background()
			w := h.App.Wallet.Service
			owner := officetest.Owner(t, h)
			if p := owner.Get("/office/wallet"); p.Status != 200 || !strings.Contains(p.Body, `id="no-wallet"`) {
				t.Fatalf("without a corporate wallet: %d %s", p.Status, p.Body)
			}
			uid := corporateWorld(t, h)
			agent := owner.AddUser("agent", "ann.agent", "agent password 1")

			p := owner.Get("/office/wallet")
			for _, want := range []string{`id="wallet-available">119.50 EUR`, "20.00 EUR", "0.50 EUR", "19.50 EUR", "100.00 EUR", `id="verify-first"`, `href="/office/wallet"`} {
				if !strings.Contains(p.Body, want) {
					t.Fatalf("wallet page lacks %q: %s", want, p.Body)
				}
			}
			filters := []struct {
				query string
				in    []string
				out   []string
			}{
				{"?type=payment", []string{"Order 77", "0.50 EUR"}, []string{"<td data-label=\"Type\">topup"}},
				{"?type=topup", []string{"<td data-label=\"Type\">topup"}, []string{"Order 77"}},
				{"?minAmount=50.00", []string{"100.00 EUR"}, []string{"Order 77"}},
				{"?maxAmount=50&status=completed", []string{"Order 77"}, []string{"<td data-label=\"Type\">topup"}},
				{"?to=2000-01-01", []string{"No transactions match."}, []string{"Order 77"}},
			}
			for _, f := range filters {
				p := owner.Get("/office/wallet" + f.query)
				for _, s := range f.in {
					if p.Status != 200 || !strings.Contains(p.Body, s) {
						t.Fatalf("%s: want %q: %d %s", f.query, s, p.Status, p.Body)
					}
				}
				for _, s := range f.out {
					if strings.Contains(p.Body, s) {
						t.Fatalf("%s: %q should be filtered out", f.query, s)
					}
				}
			}
			for q, field := range map[string]string{"?from=yesterday": "from", "?type=cash": "type", "?minAmount=abc": "minAmount",
				"?minAmount=9&maxAmount=1": "maxAmount", "?status=lost": "status"} {
				if p := owner.Get("/office/wallet" + q); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `aria-invalid="true"`) {
					t.Fatalf("%s: want %s refused beside its field: %d %s", q, field, p.Status, p.Body)
				}
			}

			// The agent: read-only page, every action refused.
			if p := agent.Get("/office/wallet"); p.Status != 200 || strings.Contains(p.Body, `id="request-code"`) || !strings.Contains(p.Body, "Owners verify") {
				t.Fatalf("agent's page: %d %s", p.Status, p.Body)
			}
			for _, path := range []string{"/withdraw", "/verification", "/verify", "/upgrade", "/details"} {
				form := url.Values{"amount": {"1.00"}, "pin": {"4321"}, "code": {"123456"}}
				if p := agent.Post("/office/wallet", "/office/wallet"+path, form); p.Status != http.StatusForbidden {
					t.Fatalf("agent's post to %s: %d", path, p.Status)
				}
			}

			// Not verified yet: the withdrawal is refused by the service.
			if p := owner.Post("/office/wallet", "/office/wallet/withdraw", url.Values{"amount": {"10.00"}, "pin": {"4321"}}); p.Status != http.StatusUnprocessableEntity ||
				!strings.Contains(p.Body, "Verify your bank account first") {
				t.Fatalf("withdraw before verification: %d %s", p.Status, p.Body)
			}
			if p := owner.Post("/office/wallet", "/office/wallet/verification", url.Values{}); p.Status != http.StatusSeeOther {
				t.Fatalf("request the code: %d %s", p.Status, p.Body)
			}
			code := verificationCode(t, h)
			wrong := "000000"
			if code == wrong {
				wrong = "111111"
			}
			if p := owner.Post("/office/wallet", "/office/wallet/verify", url.Values{"code": {wrong}}); p.Status != http.StatusUnprocessableEntity ||
				!strings.Contains(p.Body, `id="verify-code-error">Wrong verification code`) {
				t.Fatalf("wrong code: %d %s", p.Status, p.Body)
			}
			if p := owner.Post("/office/wallet", "/office/wallet/verify", url.Values{"code": {code}}); p.Status != http.StatusSeeOther {
				t.Fatalf("right code: %d %s", p.Status, p.Body)
			}
			if p := owner.Get("/office/wallet"); !strings.Contains(p.Body, `id="bank-status">verified`) || !strings.Contains(p.Body, `id="withdraw-form"`) {
				t.Fatalf("after the verification: %s", p.Body)
			}

			// The withdrawal: a wrong PIN beside the field, then the right one.
			p = owner.Post("/office/wallet", "/office/wallet/withdraw", url.Values{"amount": {"10.00"}, "pin": {"9999"}})
			if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="withdraw-pin-error">Wrong PIN`) || strings.Contains(p.Body, `value="9999"`) {
				t.Fatalf("wrong PIN: %d %s", p.Status, p.Body)
			}
			if b, _ := w.BalanceOf(ctx, uid); b.Available != "119.50" {
				t.Fatalf("a refused withdrawal moved money: %+v", b)
			}
			p = owner.Post("/office/wallet", "/office/wallet/withdraw", url.Values{"amount": {"10.00"}, "pin": {"4321"}})
			if p.Status != http.StatusSeeOther || p.Location != "/office/wallet" {
				t.Fatalf("withdraw: %d %s", p.Status, p.Body)
			}
			if b, _ := w.BalanceOf(ctx, uid); b.Available != "107.50" { // 10.00 and the 2.00 fee
				t.Fatalf("after the withdrawal: %+v", b)
			}
			if p := owner.Get("/office/wallet?type=withdrawal"); !strings.Contains(p.Body, "withdrawal (requested)") || !strings.Contains(p.Body, "-12.00 EUR") ||
				!strings.Contains(p.Body, `<td data-label="Fee">2.00 EUR`) || !strings.Contains(p.Body, "requested (fee 2.00 EUR)") {
				t.Fatalf("the withdrawal in the list: %s", p.Body)
			}
			if p := owner.Post("/office/wallet", "/office/wallet/withdraw", url.Values{"amount": {"5.00"}, "pin": {"4321"}}); p.Status != http.StatusUnprocessableEntity ||
				!strings.Contains(p.Body, `id="withdraw-amount-error">Limit withdrawals_per_day`) {
				t.Fatalf("a second withdrawal the same day: %d %s", p.Status, p.Body)
			}

			if p := owner.Upload("/office/wallet/upgrade", "/office/wallet/upgrade/documents", url.Values{"kind": {"trade_register_extract"}},
				officetest.File{Field: "file", Name: "register.pdf", ContentType: "application/pdf", Content: pdfDoc("register")}); p.Status != http.StatusSeeOther {
				t.Fatalf("upload: %d %s", p.Status, p.Body)
			}
			if p := owner.Post("/office/wallet/upgrade", "/office/wallet/upgrade", url.Values{}); p.Status != http.StatusSeeOther {
				t.Fatalf("upgrade: %d %s", p.Status, p.Body)
			}
			if c, _ := w.CorporateOf(ctx, uid); c.UpgradeStatus != "requested" {
				t.Fatalf("upgrade status %q", c.UpgradeStatus)
			}
			acts := officetest.AuditActions(t, h)
			for _, want := range []string{"wallet.verification", "wallet.verify.refused", "wallet.verify", "wallet.withdraw.refused", "wallet.withdraw", "wallet.upgrade"} {
				if !slices.Contains(acts, want+" "+uid) {
					t.Fatalf("audit lacks %s: %q", want, acts)
				}
			}
			if n := countPrefix(acts, "wallet.withdraw "); n != 1 {
				t.Fatalf("%d withdrawals audited, want 1: %q", n, acts)
			}
			if p := officetest.OtherTenant(t, h).Get("/office/wallet"); !strings.Contains(p.Body, `id="no-wallet"`) {
				t.Fatalf("another tenant sees a corporate wallet: %s", p.Body)
			}
		})
	}
}

func countPrefix(xs []string, p string) int {
	n := 0
	for _, x := range xs {
		if strings.HasPrefix(x, p) {
			n++
		}
	}
	return n
}

// TestOfficeMerchantSecret: an owner replaces the merchant secret on the
// wallet page (the new one shown once, the page not cached), the old one
// works for the grace chosen and is stopped early; an agent cannot; each
// action is audited.
func TestOfficeMerchantSecret(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			ctx := context.Background()
			w := h.App.Wallet.Service
			owner := officetest.Owner(t, h)
			cw, err := w.OpenCorporate(ctx, h.Tenant.TenantID, wallet.CorporateSpec{CompanyName: "Acme Ltd", Username: "acme", Password: "acme-password",
				PIN: "4321", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.ApproveUpgrade(ctx, cw.TenantID, true); err != nil {
				t.Fatal(err)
			}
			works := func(secret string) bool {
				s, err := w.NewSalt(ctx, cw.MerchantID)
				if err != nil {
					t.Fatal(err)
				}
				_, err = w.AuthenticateMerchant(ctx, wallet.MerchantToken(cw.MerchantID, secret, s.Salt))
				return err == nil
			}
			agent := owner.AddUser("agent", "ann.agent", "agent password 1")
			if p := agent.Get("/office/wallet"); !strings.Contains(p.Body, "Owners replace the merchant secret.") || strings.Contains(p.Body, `id="rotate-secret"`) {
				t.Fatalf("agent's page: %s", p.Body)
			}
			for _, path := range []string{"/secret/rotate", "/secret/revoke-previous"} {
				if p := agent.Post("/office/wallet", "/office/wallet"+path, url.Values{"grace": {"none"}}); p.Status != http.StatusForbidden {
					t.Fatalf("agent's post to %s: %d", path, p.Status)
				}
			}
			if p := owner.Post("/office/wallet", "/office/wallet/secret/rotate", url.Values{"grace": {"forever"}}); p.Status != http.StatusUnprocessableEntity ||
				!strings.Contains(p.Body, `id="grace-error">Choose one of the grace periods offered.`) {
				t.Fatalf("an unknown grace: %d %s", p.Status, p.Body)
			}
			p := owner.Post("/office/wallet", "/office/wallet/secret/rotate", url.Values{"grace": {"1 day"}})
			m := regexp.MustCompile(`id="new-secret-value">(cgm_[0-9a-f]+)<`).FindStringSubmatch(p.Body)
			if p.Status != 200 || m == nil || p.Header.Get("Cache-Control") != "no-store" || !strings.Contains(p.Body, `id="prev-secret"`) {
				t.Fatalf("rotate: %d %v %s", p.Status, p.Header, p.Body)
			}
			if !works(cw.MerchantSecret) || !works(m[1]) {
				t.Fatal("both secrets should work during the grace")
			}
			if again := owner.Get("/office/wallet"); strings.Contains(again.Body, m[1]) {
				t.Fatal("the new secret is shown again")
			}
			if p := owner.Post("/office/wallet", "/office/wallet/secret/revoke-previous", url.Values{}); p.Status != http.StatusSeeOther {
				t.Fatalf("revoke previous: %d %s", p.Status, p.Body)
			}
			if works(cw.MerchantSecret) || !works(m[1]) {
				t.Fatal("after revoke-previous only the new secret works")
			}
			if p := owner.Post("/office/wallet", "/office/wallet/secret/revoke-previous", url.Values{}); p.Status != http.StatusConflict {
				t.Fatalf("revoke previous twice: %d", p.Status)
			}
			acts := officetest.AuditActions(t, h)
			for _, want := range []string{"wallet.secret.rotate " + cw.TenantID, "wallet.secret.revoke_previous " + cw.TenantID} {
				if !slices.Contains(acts, want) {
					t.Fatalf("audit lacks %s: %q", want, acts)
				}
			}
		})
	}
}
