package remote_test

import (
	"context"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/walletpay"
)

// ledgerWallets is a walletpay.Wallets on the real ledger: each account
// number has one ledger account per currency (scope "wallet"); PIN "1234"
// is right, the user "locked" is locked. The e-wallet's own implementation
// is tested with the whole app (internal/app).
type ledgerWallets struct {
	db *store.DB
	l  *ledger.Ledger
}

func (w ledgerWallets) account(ctx context.Context, tx *store.Tx, number, currency string, overdraft bool) (string, error) {
	a, err := w.l.EnsureAccount(ctx, tx, ledger.AccountSpec{TenantID: "wallet", Owner: "acct:" + number, Purpose: "wallet", Currency: currency, AllowOverdraft: overdraft})
	return a.ID, err
}

// OpenSession accepts any username with the password "pw-"+username; the
// session token is "tok-"+username and the account number the username.
func (w ledgerWallets) OpenSession(_ context.Context, username, password, _ string) (walletpay.Session, error) {
	if password != "pw-"+username {
		return walletpay.Session{}, apperr.New(apperr.Unauthenticated, "wrong username or password")
	}
	return walletpay.Session{Token: "tok-" + username, ExpiresAt: time.Now().Add(time.Hour), Payer: payer(username)}, nil
}

func (w ledgerWallets) SessionPayer(_ context.Context, token string) (walletpay.Payer, error) {
	name, ok := strings.CutPrefix(token, "tok-")
	if !ok {
		return walletpay.Payer{}, apperr.New(apperr.Unauthenticated, "log in first")
	}
	return payer(name), nil
}

func (w ledgerWallets) Logout(context.Context, string) error { return nil }

func (w ledgerWallets) Available(ctx context.Context, userID, currency string) (int64, error) {
	var id string
	err := w.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		id, err = w.account(ctx, tx, userID, currency, false)
		return err
	})
	if err != nil {
		return 0, err
	}
	a, err := w.l.Account(ctx, w.db.Read(), "wallet", id)
	return a.Balance.Available, err
}

func (w ledgerWallets) CheckPIN(_ context.Context, userID, pin string) error {
	switch {
	case userID == "locked":
		return apperr.New(apperr.Forbidden, "the wallet is locked after 5 wrong PIN entries")
	case pin != "1234":
		return apperr.New(apperr.Unauthenticated, "wrong PIN; 4 attempt(s) left")
	}
	return nil
}

func (w ledgerWallets) CheckPINTx(ctx context.Context, _ *store.Tx, userID, pin string) (refusal, err error) {
	return w.CheckPIN(ctx, userID, pin), nil
}

func (w ledgerWallets) Move(ctx context.Context, tx *store.Tx, t walletpay.Transfer) (string, error) {
	from, err := w.account(ctx, tx, t.From, t.Currency, false)
	if err != nil {
		return "", err
	}
	to, err := w.account(ctx, tx, t.To, t.Currency, false)
	if err != nil {
		return "", err
	}
	return w.l.Transfer(ctx, tx, ledger.TransferSpec{TenantID: "wallet", From: from, To: to, Currency: t.Currency, Amount: t.Amount, Kind: t.Kind, Reference: t.Reference})
}

// topUp credits number with amount of currency from an outside account.
func (w ledgerWallets) topUp(ctx context.Context, number, currency string, amount int64) error {
	return w.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		bank, err := w.account(ctx, tx, "bank", currency, true)
		if err != nil {
			return err
		}
		to, err := w.account(ctx, tx, number, currency, false)
		if err != nil {
			return err
		}
		_, err = w.l.Transfer(ctx, tx, ledger.TransferSpec{TenantID: "wallet", From: bank, To: to, Currency: currency, Amount: amount, Kind: "topup"})
		return err
	})
}
