package wallet_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/browsertest"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

func balancesString(bs []wallet.WalletBalance) string {
	var parts []string
	for _, b := range bs {
		parts = append(parts, b.Available+"/"+b.Posted+" "+b.Currency)
	}
	return strings.Join(parts, ", ")
}

func (e *env) balances(userID string) string {
	e.t.Helper()
	bs, err := e.w.Balances(e.ctx, userID)
	ok(e.t, err)
	return balancesString(bs)
}

// bankClearing is the issuer's bank clearing account in a currency (posted).
func (e *env) bankClearing(currency string) int64 {
	e.t.Helper()
	as, err := ledger.New(e.db, e.clk, ids.New(nil)).Accounts(e.ctx, e.db.Read(), wallet.LedgerScope, ledger.AccountFilter{Owner: "bank"})
	ok(e.t, err)
	for _, a := range as {
		if a.Purpose == "clearing" && a.Currency == currency {
			return a.Balance.Posted
		}
	}
	return 0
}

// TestTopUpsInSeveralCurrencies: sandbox top-ups in USD and JPY land on
// balances of their own (made on the first top-up, from the bank clearing
// account in that currency), listed after EUR by code; EUR is untouched.
func TestTopUpsInSeveralCurrencies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ok(t, e.w.SetSandboxTopUps(e.ctx, true))
		alice := e.customer("alice")
		e.topUp(alice, "5.00")
		if got := e.balances(alice.ID); got != "5.00/5.00 EUR" {
			t.Fatalf("balances %s", got)
		}

		e.clk.Advance(time.Second) // the transactions list newest first
		usd, err := e.w.SimulateTopUp(e.ctx, alice.ID, "12.34", "USD")
		ok(t, err)
		if usd.Currency != "USD" || usd.Amount != "12.34" || usd.Net != "12.34" || usd.Fee != "0.00" || usd.Type != "topup" {
			t.Fatalf("USD top-up %+v", usd)
		}
		e.clk.Advance(time.Second)
		jpy, err := e.w.SimulateTopUp(e.ctx, alice.ID, "1000", "jpy")
		ok(t, err)
		if jpy.Currency != "JPY" || jpy.Amount != "1000" || jpy.Net != "1000" || jpy.Fee != "0" {
			t.Fatalf("JPY top-up %+v", jpy)
		}
		if got := e.balances(alice.ID); got != "5.00/5.00 EUR, 1000/1000 JPY, 12.34/12.34 USD" {
			t.Fatalf("balances %s", got)
		}
		if got := e.balance(alice.ID); got != "5.00" {
			t.Fatalf("EUR balance %s", got)
		}
		for cur, want := range map[string]string{"USD": "12.34 USD", "jpy": "1000 JPY", "EUR": "5.00 EUR", "GBP": "0.00 GBP", "KWD": "0.000 KWD"} {
			b, err := e.w.BalanceIn(e.ctx, alice.ID, cur)
			ok(t, err)
			if got := b.Available + " " + b.Currency; got != want {
				t.Fatalf("BalanceIn %s = %s, want %s", cur, got, want)
			}
		}
		if _, err := e.w.BalanceIn(e.ctx, alice.ID, "XYZ"); apperr.From(err).Field != "currency" {
			t.Fatalf("unknown currency: %v", err)
		}
		if got := e.bankClearing("USD"); got != -1234 {
			t.Fatalf("USD bank clearing %d", got)
		}
		if got := e.bankClearing("JPY"); got != -1000 {
			t.Fatalf("JPY bank clearing %d", got)
		}

		// The transactions carry their currency; the EUR amount filter
		// selects EUR movements only.
		page, err := e.w.Transactions(e.ctx, alice.ID, wallet.TxFilter{})
		ok(t, err)
		var got []string
		for _, tx := range page.Transactions {
			got = append(got, tx.Amount+" "+tx.Currency)
		}
		if strings.Join(got, ", ") != "1000 JPY, 12.34 USD, 5.00 EUR" {
			t.Fatalf("transactions %v", got)
		}
		page, err = e.w.Transactions(e.ctx, alice.ID, wallet.TxFilter{MinAmount: 100})
		ok(t, err)
		if len(page.Transactions) != 1 || page.Transactions[0].Currency != "EUR" {
			t.Fatalf("minAmount 1.00 EUR selects %+v", page.Transactions)
		}
	})
}

// TestTopUpCurrencyInput: the top-up's currency defaults to EUR; an unknown
// currency or too many decimals for it are refused and change nothing.
func TestTopUpCurrencyInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ok(t, e.w.SetSandboxTopUps(e.ctx, true))
		alice := e.customer("alice")
		eur, err := e.w.SimulateTopUp(e.ctx, alice.ID, "3.00", "")
		ok(t, err)
		if eur.Currency != "EUR" || eur.Amount != "3.00" {
			t.Fatalf("default top-up %+v", eur)
		}
		for _, c := range []struct{ amount, currency, field string }{
			{"1.00", "XYZ", "currency"},
			{"1.00", "EURO", "currency"},
			{"1.5", "JPY", "amount"},
			{"1.001", "USD", "amount"},
			{"0", "USD", "amount"},
			{"-1.00", "USD", "amount"},
		} {
			_, err := e.w.SimulateTopUp(e.ctx, alice.ID, c.amount, c.currency)
			if ae := apperr.From(err); ae.Code != apperr.Invalid || ae.Field != c.field {
				t.Fatalf("%s %s: %v, want invalid %s", c.amount, c.currency, err, c.field)
			}
		}
		if got := e.balances(alice.ID); got != "3.00/3.00 EUR" {
			t.Fatalf("refused top-ups left balances %s", got)
		}
	})
}

// TestTopUpLimitsAcrossCurrencies: every top-up counts towards the daily
// number of top-ups whatever its currency; the yearly amount limit is EUR
// and counts EUR top-ups only.
func TestTopUpLimitsAcrossCurrencies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ok(t, e.w.SetSandboxTopUps(e.ctx, true))
		alice := e.customer("alice")
		_, err := e.w.SimulateTopUp(e.ctx, alice.ID, "2400.00", "EUR")
		ok(t, err)
		_, err = e.w.SimulateTopUp(e.ctx, alice.ID, "5000000", "JPY") // not EUR: not in the yearly EUR amount
		ok(t, err)
		_, err = e.w.SimulateTopUp(e.ctx, alice.ID, "10.00", "USD")
		ok(t, err)
		_, err = e.w.SimulateTopUp(e.ctx, alice.ID, "1.00", "USD")
		wantLimit(t, err, wallet.LimitTopUpsPerDay)

		e.clk.Advance(24 * time.Hour)
		_, err = e.w.SimulateTopUp(e.ctx, alice.ID, "100.01", "EUR")
		wantLimit(t, err, wallet.LimitTopUpPerYear)
		_, err = e.w.SimulateTopUp(e.ctx, alice.ID, "100.00", "EUR")
		ok(t, err)
		if got := e.balances(alice.ID); got != "2500.00/2500.00 EUR, 5000000/5000000 JPY, 10.00/10.00 USD" {
			t.Fatalf("balances %s", got)
		}
	})
}

// TestAccountIn: the account of a currency is made inside the caller's
// transaction when first asked for (so a rolled-back transaction leaves
// none), is the same one afterwards, and shows as a zero balance; the EUR
// one is the wallet's existing account.
func TestAccountIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		corp := e.corporate("acme", false)
		l := ledger.New(db, e.clk, ids.New(nil))
		errRollback := errors.New("roll back")
		err := db.Transact(e.ctx, func(ctx context.Context, tx *store.Tx) error {
			id, err := e.w.AccountIn(ctx, tx, corp.User.ID, "CHF")
			if err != nil {
				return err
			}
			if a, err := l.Account(ctx, tx, wallet.LedgerScope, id); err != nil || a.Currency != "CHF" || a.Owner != "corporate:"+corp.TenantID || a.AllowOverdraft {
				return fmt.Errorf("account %+v, %v", a, err)
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		if got := e.balances(corp.User.ID); got != "0.00/0.00 EUR" {
			t.Fatalf("after the rollback: %s", got)
		}

		var chf, eur string
		ok(t, db.Transact(e.ctx, func(ctx context.Context, tx *store.Tx) error {
			var err error
			if chf, err = e.w.AccountIn(ctx, tx, corp.User.ID, "CHF"); err != nil {
				return err
			}
			eur, err = e.w.AccountIn(ctx, tx, corp.User.ID, "EUR")
			return err
		}))
		ok(t, db.Transact(e.ctx, func(ctx context.Context, tx *store.Tx) error {
			again, err := e.w.AccountIn(ctx, tx, corp.User.ID, "chf")
			if err == nil && again != chf {
				err = fmt.Errorf("a second CHF account %s, first %s", again, chf)
			}
			return err
		}))
		if got := e.balances(corp.User.ID); got != "0.00/0.00 EUR, 0.00/0.00 CHF" {
			t.Fatalf("balances %s", got)
		}
		as, err := l.Accounts(e.ctx, db.Read(), wallet.LedgerScope, ledger.AccountFilter{Owner: "corporate:" + corp.TenantID})
		ok(t, err)
		if len(as) != 2 {
			t.Fatalf("%d accounts: %+v", len(as), as)
		}
		for _, a := range as {
			if a.Currency == "EUR" && a.ID != eur {
				t.Fatalf("AccountIn EUR = %s, the wallet's account is %s", eur, a.ID)
			}
		}
		for _, c := range []struct {
			user, currency string
			code           apperr.Code
		}{{corp.User.ID, "XXX", apperr.Invalid}, {corp.User.ID, "", apperr.Invalid}, {"wus_nobody", "USD", apperr.NotFound}} {
			err := db.Transact(e.ctx, func(ctx context.Context, tx *store.Tx) error {
				_, err := e.w.AccountIn(ctx, tx, c.user, c.currency)
				return err
			})
			if apperr.CodeOf(err) != c.code {
				t.Fatalf("AccountIn(%s, %q): %v, want %s", c.user, c.currency, err, c.code)
			}
		}
	})
}

// TestWalletAPIAccountNumberAndBalances: over HTTP, sign-up, login, /me and
// the platform's corporate wallet carry the account number; /me lists the
// balances; the sandbox top-up takes a currency (EUR without one); the
// wallet app shows the account number grouped and the other balances, and
// its sandbox form tops up in the currency typed.
func TestWalletAPIAccountNumberAndBalances(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			s := newStack(t, e)
			ctx := t.Context()
			w := s.a.Wallet.Service
			ok(t, w.SetSandboxTopUps(ctx, true))

			var alice wallet.WalletUser
			s.must(t, 201, "POST", "/wallet/app/v1/signup", "", wallet.WalletSignUp{Username: "alice", Password: "alice-password", PIN: "1234"}, &alice)
			if !wallet.ValidAccountNumber(alice.AccountNumber) {
				t.Fatalf("sign-up answered account number %q", alice.AccountNumber)
			}
			var sess wallet.WalletSession
			s.must(t, 200, "POST", "/wallet/app/v1/login", "", wallet.WalletLogin{Username: "alice", Password: "alice-password"}, &sess)
			if sess.User.AccountNumber != alice.AccountNumber {
				t.Fatalf("login answered %q", sess.User.AccountNumber)
			}
			var me wallet.WalletMe
			s.must(t, 200, "GET", "/wallet/app/v1/me", sess.Token, nil, &me)
			if me.User.AccountNumber != alice.AccountNumber || balancesString(me.Balances) != "0.00/0.00 EUR" || me.Balance != me.Balances[0] {
				t.Fatalf("me %+v", me)
			}

			var tx wallet.WalletTransaction
			s.must(t, 201, "POST", "/wallet/app/v1/topups/simulate", sess.Token, wallet.WalletAmount{Amount: "7.00"}, &tx)
			if tx.Currency != "EUR" || tx.Amount != "7.00" {
				t.Fatalf("top-up without a currency %+v", tx)
			}
			s.must(t, 201, "POST", "/wallet/app/v1/topups/simulate", sess.Token, wallet.WalletAmount{Amount: "12.50", Currency: "USD"}, &tx)
			if tx.Currency != "USD" || tx.Amount != "12.50" {
				t.Fatalf("USD top-up %+v", tx)
			}
			r := s.call(t, "POST", "/wallet/app/v1/topups/simulate", sess.Token, wallet.WalletAmount{Amount: "1.00", Currency: "ABC"})
			if r.status != 400 || !strings.Contains(string(r.body), `"field":"currency"`) {
				t.Fatalf("unknown currency: %d %s", r.status, r.body)
			}
			r = s.call(t, "POST", "/wallet/app/v1/topups/simulate", sess.Token, map[string]string{"amount": "1.00", "currency": "US\nD"})
			if r.status != 400 {
				t.Fatalf("control character: %d %s", r.status, r.body)
			}
			s.must(t, 200, "GET", "/wallet/app/v1/me", sess.Token, nil, &me)
			if got := balancesString(me.Balances); got != "7.00/7.00 EUR, 12.50/12.50 USD" || me.Balance.Available != "7.00" || me.Balance.Currency != "EUR" {
				t.Fatalf("me: balance %+v, balances %s", me.Balance, got)
			}
			if !strings.Contains(string(s.call(t, "GET", "/wallet/app/v1/me", sess.Token, nil).body), `"accountNumber":"`+alice.AccountNumber+`"`) {
				t.Fatal("/me does not carry the plain account number")
			}

			// The corporate wallet opened through the platform API.
			ten, err := s.a.Platform.CreateTenant(ctx, platform.TenantSpec{Name: "Bakery Ltd", Mode: platform.Production})
			ok(t, err)
			r, _ = s.platformCall(t, "POST", "/platform/wallet/corporate", ten.APIKey, wallet.PlatformWalletOpen{Username: "bakery", Password: "bakery-password",
				PIN: "2468", IBAN: "DE89 3704 0044 0532 0130 00", BIC: "COBADEFFXXX"}, nil)
			var cw wallet.CorporateWallet
			r.decode(t, &cw)
			if r.status != 201 || !wallet.ValidAccountNumber(cw.AccountNumber) || cw.User.AccountNumber != cw.AccountNumber || cw.AccountNumber == alice.AccountNumber {
				t.Fatalf("opened: %d %s", r.status, r.body)
			}
			var pw wallet.PlatformWallet
			r, _ = s.platformCall(t, "GET", "/platform/wallet/corporate", ten.APIKey, nil, nil)
			r.decode(t, &pw)
			if pw.Account.AccountNumber != cw.AccountNumber {
				t.Fatalf("platform wallet %s", r.body)
			}

			// The wallet app shows them.
			bctx := browsertest.New(t, 60*time.Second)
			if err := chromedp.Do(bctx,
				chromedp.Navigate(s.srv.URL+"/wallet/"),
				chromedp.WaitVisible(chromedp.CSS("#login-form")),
				chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
				chromedp.SendKeys(chromedp.CSS("#password"), "alice-password"),
				chromedp.Click(chromedp.CSS("#login-btn")),
				chromedp.WaitVisible(chromedp.CSS("#other-balances")),
			); err != nil {
				t.Fatal(err)
			}
			for sel, want := range map[string]string{"#account-number": wallet.FormatAccountNumber(alice.AccountNumber), "#other-balances-list": "12.50 USD", "#balance": "7.00"} {
				got, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
				ok(t, err)
				if got != want {
					t.Fatalf("the page shows %s = %q, want %q", sel, got, want)
				}
			}
			// The sandbox form tops up in the currency typed.
			if err := chromedp.Do(bctx,
				chromedp.SendKeys(chromedp.CSS("#topup-amount"), "300"),
				chromedp.SetValue(chromedp.CSS("#topup-currency"), "JPY"),
				chromedp.Click(chromedp.CSS("#topup-btn")),
				chromedp.WaitVisible(chromedp.CSS("#msg.ok")),
			); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelector("#other-balances-list").textContent === "300 JPY · 12.50 USD"`,
				chromedp.WithPollingMutation())); err != nil {
				t.Fatal(err)
			}
			if msg, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#msg"))); err != nil || msg != "Topped up 300 JPY." {
				t.Fatalf("the page says %q, %v", msg, err)
			}
		})
	}
}
