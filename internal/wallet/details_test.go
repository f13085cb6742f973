package wallet_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// creditCorporate credits a 100.00 EUR bank transfer to the corporate wallet.
func creditCorporate(t *testing.T, h *apptest.App, uid, bankRef string) {
	t.Helper()
	ctx := context.Background()
	var ref string
	if err := h.App.DB.Read().QueryRowContext(ctx, `SELECT topup_ref FROM wallet_users WHERE id = $1`, uid).Scan(&ref); err != nil {
		t.Fatal(err)
	}
	if _, err := h.App.Wallet.Service.CreditTopUp(ctx, wallet.TopUp{Reference: ref, Amount: "100.00", BankReference: bankRef}); err != nil {
		t.Fatal(err)
	}
}

// TestEditBankAccount: a new IBAN (checked with the wallet's own IBAN
// code) applies at once and resets the bank account's verification: a
// withdrawal is refused until the new account is verified with the 2-cent
// transfer, then goes to the new IBAN. Bad IBANs, BICs and control
// characters are refused and change nothing.
func TestEditBankAccount(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			ctx := context.Background()
			w := h.App.Wallet.Service
			uid := verifiedCorporate(t, h)
			creditCorporate(t, h, uid, "BANK-1")
			for _, bad := range []struct {
				in    wallet.DetailsEdit
				field string
			}{
				{wallet.DetailsEdit{IBAN: "DE89370400440532013001"}, "iban"}, // wrong check digits
				{wallet.DetailsEdit{IBAN: "DE8937040044053201300\x00"}, "iban"},
				{wallet.DetailsEdit{BIC: "NOTABIC"}, "bic"},
				{wallet.DetailsEdit{CompanyName: "Acme\x07Ltd"}, "companyName"},
				{wallet.DetailsEdit{CompanyName: "Acme\tLtd"}, "companyName"},
				{wallet.DetailsEdit{IBAN: "de89 3704 0044 0532 0130 00"}, ""}, // the same account, spaced: nothing changes
			} {
				if _, err := w.EditDetails(ctx, uid, bad.in); apperr.CodeOf(err) != apperr.Invalid || apperr.From(err).Field != bad.field {
					t.Fatalf("%+v: want %s refused, got %v", bad.in, bad.field, err)
				}
			}
			d, err := w.EditDetails(ctx, uid, wallet.DetailsEdit{IBAN: "GB82 WEST 1234 5698 7654 32", BIC: "NWBKGB2L"})
			if err != nil || !d.BankReset || d.Account.BankVerified || d.Account.IBAN != "GB82WEST12345698765432" || d.Account.BIC != "NWBKGB2L" || d.Change != nil {
				t.Fatalf("edit the bank account: %+v %v", d, err)
			}
			if _, err := w.Withdraw(ctx, uid, wallet.WalletWithdrawal{Amount: "10.00", PIN: "4321"}); err == nil || !strings.Contains(err.Error(), "verify your bank account first") {
				t.Fatalf("a withdrawal to the unverified new account: %v", err)
			}
			verifyBank(t, h, uid)
			tx, err := w.Withdraw(ctx, uid, wallet.WalletWithdrawal{Amount: "10.00", PIN: "4321"})
			if err != nil {
				t.Fatal(err)
			}
			var iban string
			if err := h.App.DB.Read().QueryRowContext(ctx, `SELECT iban FROM wallet_transactions WHERE id = $1`, tx.ID).Scan(&iban); err != nil || iban != "GB82WEST12345698765432" {
				t.Fatalf("the withdrawal goes to %q: %v", iban, err)
			}
		})
	}
}

// TestEditCompanyName: a new company name is held for the operator (the
// customer and the operator see it waiting, the account keeps the old
// name, a second change waits its turn); a rejection needs a reason and
// discards it; concurrent approve and reject give one outcome; an approval
// applies it.
func TestEditCompanyName(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			ctx := context.Background()
			w := h.App.Wallet.Service
			uid := verifiedCorporate(t, h)
			d, err := w.EditDetails(ctx, uid, wallet.DetailsEdit{CompanyName: "  Acme Trading GmbH "})
			if err != nil || d.Account.CompanyName != "Acme Ltd" || d.Change == nil || d.Change.Status != wallet.ChangePending ||
				d.Change.CompanyName != "Acme Trading GmbH" || !d.Account.BankVerified {
				t.Fatalf("held change: %+v %v", d, err)
			}
			if _, err := w.EditDetails(ctx, uid, wallet.DetailsEdit{CompanyName: "Other Name"}); apperr.From(err).Field != "companyName" {
				t.Fatalf("a second change while one waits: %v", err)
			}
			pending, err := w.PendingChanges(ctx)
			if err != nil || len(pending) != 1 || pending[0].OldCompanyName != "Acme Ltd" {
				t.Fatalf("pending changes: %+v %v", pending, err)
			}
			id := pending[0].ID
			for _, reason := range []string{"", " ", "no\x00"} {
				if _, err := w.DecideChange(ctx, id, false, reason, "ops"); apperr.CodeOf(err) != apperr.Invalid {
					t.Fatalf("reject with reason %q: %v", reason, err)
				}
			}
			if _, err := w.DecideChange(ctx, id, false, "The trade register extract still shows Acme Ltd.", "ops"); err != nil {
				t.Fatal(err)
			}
			d, _ = w.DetailsOf(ctx, uid)
			if d.Account.CompanyName != "Acme Ltd" || d.Change.Status != wallet.ChangeRejected || d.Change.Reason != "The trade register extract still shows Acme Ltd." {
				t.Fatalf("after the rejection: %+v %+v", d.Account, d.Change)
			}
			if _, err := w.DecideChange(ctx, id, true, "", "ops"); apperr.CodeOf(err) != apperr.Conflict {
				t.Fatalf("approve a rejected change: %v", err)
			}
			d, err = w.EditDetails(ctx, uid, wallet.DetailsEdit{CompanyName: "Acme Trading GmbH"})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, approve := range []bool{true, false} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = w.DecideChange(context.Background(), d.Change.ID, approve, "Not allowed.", "ops")
				}()
			}
			wg.Wait()
			if (errs[0] == nil) == (errs[1] == nil) || (apperr.CodeOf(errs[0]) != apperr.Conflict && apperr.CodeOf(errs[1]) != apperr.Conflict) {
				t.Fatalf("concurrent decisions: %v", errs)
			}
			c, _ := w.CorporateOf(ctx, uid)
			if approved := errs[0] == nil; approved != (c.CompanyName == "Acme Trading GmbH") {
				t.Fatalf("approved %v, name %q", approved, c.CompanyName)
			}
			if p, _ := w.PendingChanges(ctx); len(p) != 0 {
				t.Fatalf("still pending: %+v", p)
			}
		})
	}
}
