package wallet_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

var issuer = wallet.Debtor{Name: "Cashgate Issuer Ltd", IBAN: "GB82 WEST 1234 5698 7654 32", BIC: "WESTGB2L"}

func wantConflict(t *testing.T, err error) {
	t.Helper()
	if !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("got %v, want a conflict", err)
	}
}

// TestPayoutReturned: the bank rejects an exported withdrawal; the amount
// and the fee go back to the wallet, the withdrawal limits are freed, and
// every illegal transition of the payout state machine is refused.
func TestPayoutReturned(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		alice := e.customer("alice")
		bob := e.customer("bob")
		e.topUp(alice, "1000.00")
		e.topUp(bob, "100.00")
		withdraw := func(u wallet.WalletUser, amount string) (wallet.WalletTransaction, error) {
			return e.w.Withdraw(e.ctx, u.ID, wallet.WalletWithdrawal{Amount: amount, IBAN: "DE89 3704 0044 0532 0130 00", Name: "Example", PIN: "1234"})
		}
		wa, err := withdraw(alice, "998.00") // all she has with the 2 € fee
		ok(t, err)
		wb, err := withdraw(bob, "10.00")
		ok(t, err)
		if e.balance(alice.ID) != "0.00" || e.feeRevenue() != 400 {
			t.Fatalf("after the withdrawals alice has %s, fees %d", e.balance(alice.ID), e.feeRevenue())
		}

		// Not exported yet: nothing to return, nothing to pay.
		_, err = e.w.ReturnPayouts(e.ctx, wa.ID, "AC04 account closed")
		wantConflict(t, err)
		_, err = e.w.MarkPaid(e.ctx, wa.ID)
		wantConflict(t, err)
		// A reason is required.
		if _, err := e.w.ReturnPayouts(e.ctx, wa.ID, " "); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("no reason: %v", err)
		}
		if _, err := e.w.ReturnPayouts(e.ctx, "wtx_unknown", "AC04"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("unknown payout: %v", err)
		}

		exp, err := e.w.ExportPayouts(e.ctx, issuer, e.clk.Now())
		ok(t, err)
		if exp.Count != 2 {
			t.Fatalf("export %+v", exp)
		}
		// The bank rejects alice's: money and fee come back.
		ret, err := e.w.ReturnPayouts(e.ctx, wa.ID, "AC04 account closed")
		ok(t, err)
		if ret.Count != 1 || ret.Total != "998.00" {
			t.Fatalf("return %+v", ret)
		}
		if got := e.balance(alice.ID); got != "1000.00" {
			t.Fatalf("alice has %s after the return, want 1000.00", got)
		}
		if got := e.feeRevenue(); got != 200 {
			t.Fatalf("fee revenue %d after the return, want 200 (bob's fee only)", got)
		}
		page, err := e.w.Transactions(e.ctx, alice.ID, wallet.TxFilter{Status: "returned"})
		ok(t, err)
		if len(page.Transactions) != 1 {
			t.Fatalf("returned withdrawals %+v", page.Transactions)
		}
		if tx := page.Transactions[0]; tx.Type != "withdrawal" || tx.ReturnReason != "AC04 account closed" || tx.Net != "0.00" || tx.Fee != "0.00" || tx.Amount != "998.00" {
			t.Fatalf("returned withdrawal %+v", tx)
		}

		// Illegal transitions: returned is final.
		_, err = e.w.ReturnPayouts(e.ctx, wa.ID, "again")
		wantConflict(t, err)
		_, err = e.w.MarkPaid(e.ctx, wa.ID)
		wantConflict(t, err)
		// The batch is paid except the returned payout, which is skipped.
		paid, err := e.w.MarkPaid(e.ctx, exp.BatchID)
		ok(t, err)
		if paid.Count != 1 || paid.Total != "10.00" || len(paid.Skipped) != 1 || paid.Skipped[0] != wa.ID {
			t.Fatalf("paid %+v", paid)
		}
		// Paid is final too: neither the payout nor its batch can come back.
		_, err = e.w.ReturnPayouts(e.ctx, wb.ID, "too late")
		wantConflict(t, err)
		_, err = e.w.ReturnPayouts(e.ctx, exp.BatchID, "too late")
		wantConflict(t, err)
		if got := e.balance(bob.ID); got != "88.00" {
			t.Fatalf("bob has %s, want 88.00", got)
		}

		// The returned withdrawal no longer counts: alice may withdraw again
		// today (1 per day) up to the yearly 1,000 €.
		_, err = withdraw(alice, "998.00")
		ok(t, err)
		if got := e.balance(alice.ID); got != "0.00" {
			t.Fatalf("alice has %s", got)
		}
	})
}

// TestBatchReturnedAndVerificationReturned: the bank rejects a whole file;
// a rejected 2-cent verification transfer voids its code.
func TestBatchReturnedAndVerificationReturned(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		shop := e.corporate("shop", false)
		alice := e.customer("alice")
		e.topUp(alice, "50.00")
		_, err := e.w.Withdraw(e.ctx, alice.ID, wallet.WalletWithdrawal{Amount: "20.00", IBAN: "FR14 2004 1010 0505 0001 3M02 606", Name: "Alice", PIN: "1234"})
		ok(t, err)
		v, err := e.w.RequestVerification(e.ctx, shop.User.ID)
		ok(t, err)
		if v.Net != "0.00" || v.Description == "" || regexp.MustCompile(`\d{6}`).MatchString(v.Description) {
			t.Fatalf("the verification transfer as the corporate sees it: %+v", v)
		}
		exp, err := e.w.ExportPayouts(e.ctx, issuer, e.clk.Now())
		ok(t, err)
		code := regexp.MustCompile(`verification code (\d{6})`).FindSubmatch(exp.XML)
		if exp.Count != 2 || code == nil {
			t.Fatalf("export of %d payouts, code %q:\n%s", exp.Count, code, exp.XML)
		}
		// The corporate's own list never shows the code.
		page, err := e.w.Transactions(e.ctx, shop.User.ID, wallet.TxFilter{Type: "verification"})
		ok(t, err)
		if len(page.Transactions) != 1 || regexp.MustCompile(`\d{6}`).MatchString(page.Transactions[0].Description) {
			t.Fatalf("verification in the list %+v", page.Transactions)
		}

		e.clk.Advance(time.Hour)
		ret, err := e.w.ReturnPayouts(e.ctx, exp.BatchID, "FF01 invalid file format")
		ok(t, err)
		if ret.Count != 2 || ret.Total != "20.02" {
			t.Fatalf("batch return %+v", ret)
		}
		if got := e.balance(alice.ID); got != "50.00" {
			t.Fatalf("alice has %s, want 50.00", got)
		}
		// The code never reached anyone: it no longer verifies.
		if _, err := e.w.VerifyBankAccount(e.ctx, shop.User.ID, string(code[1])); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("verify with the returned code: %v", err)
		}
		// Returning the batch again skips what was returned.
		again, err := e.w.ReturnPayouts(e.ctx, exp.BatchID, "FF01")
		ok(t, err)
		if again.Count != 0 || len(again.Skipped) != 2 {
			t.Fatalf("second batch return %+v", again)
		}
		// A new verification works end to end: export, paid, verified.
		_, err = e.w.RequestVerification(e.ctx, shop.User.ID)
		ok(t, err)
		exp2, err := e.w.ExportPayouts(e.ctx, issuer, e.clk.Now())
		ok(t, err)
		code = regexp.MustCompile(`verification code (\d{6})`).FindSubmatch(exp2.XML)
		_, err = e.w.MarkPaid(e.ctx, exp2.BatchID)
		ok(t, err)
		acc, err := e.w.VerifyBankAccount(e.ctx, shop.User.ID, string(code[1]))
		ok(t, err)
		if !acc.BankVerified {
			t.Fatalf("not verified: %+v", acc)
		}
	})
}
