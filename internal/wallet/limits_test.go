package wallet_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// wantLimit fails unless err is a LimitExceeded naming limit.
func wantLimit(t *testing.T, err error, limit string) {
	t.Helper()
	var le *wallet.LimitError
	if !apperr.Is(err, apperr.LimitExceeded) || !errors.As(err, &le) || le.Name != limit {
		t.Fatalf("got %v, want the limit %s refused", err, limit)
	}
}

// wantSide fails unless err refuses limit of tier's wallet on side.
func wantSide(t *testing.T, err error, limit string, tier wallet.Tier, side string) {
	t.Helper()
	wantLimit(t, err, limit)
	var le *wallet.LimitError
	if errors.As(err, &le); le.Tier != tier || le.Side != side {
		t.Fatalf("%v: the limit of a %s %s, want a %s %s's", err, le.Tier, le.Side, tier, side)
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSendFeesAndTransactionLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		alice, bob := e.customer("alice"), e.customer("bob")
		shop := e.corporate("shop", false)
		e.topUp(alice, "1000.00")

		send := func(to, amount string) error {
			_, err := e.w.Send(e.ctx, alice.ID, wallet.WalletSend{To: to, Amount: amount})
			return err
		}
		// Minimum per transaction: 0.20 € at the boundary, 0.19 € refused.
		wantLimit(t, send("bob", "0.19"), wallet.LimitMinPerTransaction)
		ok(t, send("bob", "0.20"))
		// Maximum per transaction (the private tier's default): 200 €.
		wantLimit(t, send("bob", "200.01"), wallet.LimitMaxPerTransaction)
		ok(t, send("bob", "200.00"))
		// Send to a corporate: the sender pays 0.50 €, the corporate its receive fee.
		ok(t, send("shop", "10.00"))
		// Fees so far: 0.25 + 0.25 + 0.50 (send fees) + 0.35 (1.5 % of 10 € + 0.20).
		if got := e.feeRevenue(); got != 25+25+50+35 {
			t.Fatalf("fee revenue %d, want 135", got)
		}
		if got := e.balance(alice.ID); got != "788.80" { // 1000 − 0.45 − 200.25 − 10.50
			t.Fatalf("alice has %s, want 788.80", got)
		}
		if got := e.balance(bob.ID); got != "200.20" {
			t.Fatalf("bob has %s", got)
		}
		if got := e.balance(shop.User.ID); got != "9.65" {
			t.Fatalf("shop has %s", got)
		}
		// Transactions per day: the operator lowers the private tier's 20
		// to 5; the 3 made today (not the refused ones) count at once.
		lower := wallet.DefaultPrivateLimits()
		lower.TransactionsPerDay = 5
		_, err := e.w.SetPrivateLimits(e.ctx, lower)
		ok(t, err)
		ok(t, send("bob", "1.00"))
		ok(t, send("bob", "1.00"))
		wantLimit(t, send("bob", "1.00"), wallet.LimitTransactionsPerDay)
		// The next day counts afresh.
		e.clk.Advance(24 * time.Hour)
		ok(t, send("bob", "1.00"))

		// The statement shows each transaction with its fee.
		page, err := e.w.Transactions(e.ctx, alice.ID, wallet.TxFilter{Type: "send"})
		ok(t, err)
		if len(page.Transactions) != 6 || page.Transactions[0].Fee != "0.25" || page.Transactions[0].Net != "-1.25" {
			t.Fatalf("alice's sends: %+v", page.Transactions)
		}
		// Corporate+ has no maximum per transaction nor daily count; what a
		// private user receives is its own limit's (200 € each) until the
		// operator raises it.
		plus := e.corporate("plus", true)
		e.topUp(wallet.WalletUser{ID: plus.User.ID, TopUpReference: plus.User.TopUpReference}, "5000.00")
		_, err = e.w.Send(e.ctx, plus.User.ID, wallet.WalletSend{To: "bob", Amount: "300.00"})
		wantSide(t, err, wallet.LimitMaxPerTransaction, wallet.TierPrivate, wallet.SideRecipient)
		lower.MaxPerTransaction = 50000
		_, err = e.w.SetPrivateLimits(e.ctx, lower)
		ok(t, err)
		for i := 0; i < 7; i++ {
			_, err := e.w.Send(e.ctx, plus.User.ID, wallet.WalletSend{To: "bob", Amount: "300.00"})
			ok(t, err)
		}
		_, err = e.w.Send(e.ctx, plus.User.ID, wallet.WalletSend{To: "bob", Amount: "0.19"})
		wantLimit(t, err, wallet.LimitMinPerTransaction)
		// Insufficient funds are refused and change nothing.
		carol := e.customer("carol")
		e.topUp(carol, "1.00")
		_, err = e.w.Send(e.ctx, carol.ID, wallet.WalletSend{To: "alice", Amount: "0.76"})
		if !apperr.Is(err, apperr.InsufficientFunds) {
			t.Fatalf("carol cannot send 0.76 € + 0.25 € fee from 1.00 €: %v", err)
		}
		if got := e.balance(carol.ID); got != "1.00" {
			t.Fatalf("a refused send changed the balance: %s", got)
		}
	})
}

func TestTopUpLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		alice := e.customer("alice")
		n := 0
		credit := func(u wallet.WalletUser, amount string) error {
			n++
			_, err := e.w.CreditTopUp(e.ctx, wallet.TopUp{Reference: u.TopUpReference, Amount: amount, BankReference: fmt.Sprintf("B%d", n)})
			return err
		}
		// 3 top-ups per day.
		ok(t, credit(alice, "1000.00"))
		ok(t, credit(alice, "1000.00"))
		ok(t, credit(alice, "400.00"))
		wantLimit(t, credit(alice, "1.00"), wallet.LimitTopUpsPerDay)
		// 2,500 € per year: 100 € more reaches it, 0.01 € more passes it.
		e.clk.Advance(24 * time.Hour)
		wantLimit(t, credit(alice, "100.01"), wallet.LimitTopUpPerYear)
		ok(t, credit(alice, "100.00"))
		wantLimit(t, credit(alice, "0.01"), wallet.LimitTopUpPerYear)
		// A new year starts afresh.
		e.clk.Set(time.Date(2027, 1, 1, 0, 0, 1, 0, time.UTC))
		ok(t, credit(alice, "0.01"))
		// The same bank transfer is never credited twice.
		_, err := e.w.CreditTopUp(e.ctx, wallet.TopUp{Reference: alice.TopUpReference, Amount: "1.00", BankReference: "B1"})
		if !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("a bank transfer credited twice: %v", err)
		}
		// Corporate+: 5 top-ups per day, no yearly limit.
		plus := e.corporate("plus", true)
		pu := wallet.WalletUser{ID: plus.User.ID, TopUpReference: plus.User.TopUpReference}
		for i := 0; i < 5; i++ {
			ok(t, credit(pu, "10000.00"))
		}
		wantLimit(t, credit(pu, "1.00"), wallet.LimitTopUpsPerDay)
		// Corporate: 3 per day.
		corp := e.corporate("corp", false)
		cu := wallet.WalletUser{ID: corp.User.ID, TopUpReference: corp.User.TopUpReference}
		for i := 0; i < 3; i++ {
			ok(t, credit(cu, "1.00"))
		}
		wantLimit(t, credit(cu, "1.00"), wallet.LimitTopUpsPerDay)
	})
}

func TestWithdrawalLimitsAndPain001(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		alice := e.customer("alice")
		e.topUp(alice, "1500.00")
		withdraw := func(amount string) error {
			_, err := e.w.Withdraw(e.ctx, alice.ID, wallet.WalletWithdrawal{Amount: amount, IBAN: "DE89 3704 0044 0532 0130 00", Name: "Alice Example", PIN: "1234"})
			return err
		}
		// Bad IBAN: a clear error, nothing changes.
		_, err := e.w.Withdraw(e.ctx, alice.ID, wallet.WalletWithdrawal{Amount: "5.00", IBAN: "DE89 3704 0044 0532 0130 01", Name: "A", PIN: "1234"})
		if !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("bad IBAN: %v", err)
		}
		// At most 1,000 € per withdrawal; the minimum per transaction applies.
		wantLimit(t, withdraw("1000.01"), wallet.LimitMaxWithdrawalPerTrans)
		wantLimit(t, withdraw("0.19"), wallet.LimitMinPerTransaction)
		ok(t, withdraw("600.00"))
		// One withdrawal per day.
		wantLimit(t, withdraw("1.00"), wallet.LimitWithdrawalsPerDay)
		e.clk.Advance(24 * time.Hour)
		// 1,000 € per year: 400 € reaches it, then nothing more.
		wantLimit(t, withdraw("400.01"), wallet.LimitWithdrawalPerYear)
		ok(t, withdraw("400.00"))
		e.clk.Advance(24 * time.Hour)
		wantLimit(t, withdraw("0.20"), wallet.LimitWithdrawalPerYear)
		// Each withdrawal cost 2 € on top.
		if got := e.balance(alice.ID); got != "496.00" {
			t.Fatalf("alice has %s, want 496.00", got)
		}
		if got := e.feeRevenue(); got != 400 {
			t.Fatalf("fee revenue %d, want 400", got)
		}

		exp, err := e.w.ExportPayouts(e.ctx, wallet.Debtor{Name: "Cashgate Issuer Ltd", IBAN: "GB82 WEST 1234 5698 7654 32", BIC: "WESTGB2L"}, e.clk.Now())
		ok(t, err)
		if exp.Count != 2 || exp.Total != "1000.00" {
			t.Fatalf("export %+v", exp)
		}
		for _, want := range []string{"pain.001.001.03", "<NbOfTxs>2</NbOfTxs>", "<CtrlSum>1000.00</CtrlSum>", `<InstdAmt Ccy="EUR">600.00</InstdAmt>`,
			"<IBAN>DE89370400440532013000</IBAN>", "<Nm>Alice Example</Nm>", "<Cd>SEPA</Cd>", "<ChrgBr>SLEV</ChrgBr>"} {
			if !contains(exp.XML, want) {
				t.Errorf("pain.001 lacks %s:\n%s", want, exp.XML)
			}
		}
		again, err := e.w.ExportPayouts(e.ctx, wallet.Debtor{Name: "Cashgate Issuer Ltd", IBAN: "GB82WEST12345698765432", BIC: "WESTGB2L"}, e.clk.Now())
		ok(t, err)
		if again.Count != 0 {
			t.Fatal("an exported payout is never exported twice")
		}
		paid, err := e.w.MarkPaid(e.ctx, exp.BatchID)
		ok(t, err)
		if paid.Count != 2 {
			t.Fatalf("paid %+v", paid)
		}
		page, err := e.w.Transactions(e.ctx, alice.ID, wallet.TxFilter{Type: "withdrawal", Status: "paid"})
		ok(t, err)
		if len(page.Transactions) != 2 || page.Transactions[0].Fee != "2.00" {
			t.Fatalf("paid withdrawals %+v", page.Transactions)
		}
	})
}

func contains(b []byte, s string) bool {
	return len(s) == 0 || (len(b) >= len(s) && stringIndex(string(b), s) >= 0)
}

func stringIndex(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// TestConcurrentSendsNeverOverdraw runs 50 sends at once from a wallet that
// can pay only some of them.
func TestConcurrentSendsNeverOverdraw(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		plus := e.corporate("plus", true)
		e.customer("bob")
		e.topUp(wallet.WalletUser{ID: plus.User.ID, TopUpReference: plus.User.TopUpReference}, "10.00")
		var wg sync.WaitGroup
		var mu sync.Mutex
		okN, poor := 0, 0
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.w.Send(e.ctx, plus.User.ID, wallet.WalletSend{To: "bob", Amount: "0.75"})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					okN++
				case apperr.Is(err, apperr.InsufficientFunds):
					poor++
				default:
					t.Errorf("send: %v", err)
				}
			}()
		}
		wg.Wait()
		// Each send costs 1.00 € (0.75 + 0.25 fee): exactly 10 succeed.
		if okN != 10 || poor != 40 {
			t.Fatalf("%d sends succeeded and %d were refused; want 10 and 40", okN, poor)
		}
		if got := e.balance(plus.User.ID); got != "0.00" {
			t.Fatalf("balance %s", got)
		}
	})
}
