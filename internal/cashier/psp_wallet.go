package cashier

import (
	"context"
	"errors"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/walletpay"
)

// walletPSP pays with cashgate wallets (the e-wallet, through walletpay):
// a deposit moves e-money from the customer's wallet to the tenant's
// corporate wallet, confirmed with the customer's PIN, in the transaction
// that records it captured; a payout moves it back from the corporate
// wallet to the customer's wallet, paid at once. In the tenant's ledger
// the wallet's clearing account stands for the e-money on the other side.
type walletPSP struct {
	basePSP
	s *Service
}

func (p *walletPSP) Info() Info {
	return Info{Name: PSPWallet, MinAmount: 1, MaxAmount: MaxAmount, Deposits: true, Payouts: true, Selectable: true}
}

// Deposit logs the customer in (throttled as the wallet's own login) and
// pays with the PIN. A refused login, a wrong or locked PIN and a short
// balance decline the deposit.
func (p *walletPSP) Deposit(ctx context.Context, op Op, rec Recorder) error {
	w := op.Wallet
	// The login and logout are the wallet's own writes, not the deposit's answer.
	sess, err := p.s.wallets.OpenSession(httpx.WithoutAnswer(ctx), w.Username, w.Password, op.ClientAddr)
	if apperr.Is(err, apperr.Unauthenticated) || apperr.Is(err, apperr.Forbidden) {
		return p.s.record(ctx, rec, Result{Status: DepositDeclined, Reason: "wallet_login_refused"})
	}
	if err != nil {
		return err
	}
	defer func() {
		if err := p.s.wallets.Logout(httpx.WithoutAnswer(context.WithoutCancel(ctx)), sess.Token); err != nil {
			p.s.log.WarnContext(ctx, "cashier: wallet logout", "err", err)
		}
	}()
	to, err := p.s.wallets.ReceivingAccount(ctx, op.TenantID)
	if err != nil {
		return err
	}
	payer := sess.Payer
	err = walletpay.Pay(ctx, p.s.db, p.s.wallets, payer.UserID, w.PIN, func(ctx context.Context, tx *store.Tx, move func(walletpay.Transfer) (string, error)) error {
		if _, err := move(walletpay.Transfer{From: payer.AccountNumber, To: to, Currency: op.Currency, Amount: op.Amount,
			Kind: "cashier.deposit", Reference: op.ID, Description: "Deposit " + op.ID}); err != nil {
			return err
		}
		return rec(ctx, tx, Result{Status: DepositCaptured, Payer: payer.AccountNumber})
	})
	if reason, rejected := walletpay.Rejection(err); rejected {
		return p.s.record(ctx, rec, Result{Status: DepositDeclined, Reason: reason, Payer: payer.AccountNumber})
	}
	var ae *apperr.Error
	if errors.As(err, &ae) && (ae.Code == apperr.Unauthenticated || ae.Field == "pin") {
		return p.s.record(ctx, rec, Result{Status: DepositDeclined, Reason: "wrong_pin", Payer: payer.AccountNumber})
	}
	return err
}

// Payout pays the customer's wallet from the tenant's corporate wallet; a
// corporate wallet that holds too little fails the payout.
func (p *walletPSP) Payout(ctx context.Context, op Op, rec Recorder) error {
	from, err := p.s.wallets.ReceivingAccount(ctx, op.TenantID)
	if err != nil {
		return err
	}
	return p.s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := p.s.wallets.Move(ctx, tx, walletpay.Transfer{From: from, To: op.Destination.Account, Currency: op.Currency, Amount: op.Amount,
			Kind: "cashier.payout", Reference: op.ID, Description: "Payout " + op.ID})
		if apperr.Is(err, apperr.InsufficientFunds) {
			return rec(ctx, tx, Result{Status: PayoutFailed, Reason: "merchant_wallet_insufficient_funds"})
		}
		if err != nil {
			return err
		}
		return rec(ctx, tx, Result{Status: PayoutPaid, Payer: op.Destination.Account})
	})
}

// CheckDestination: the customer's wallet account number.
func (p *walletPSP) CheckDestination(ctx context.Context, d Destination) (Destination, error) {
	n, err := p.s.wallets.CheckAccount(ctx, "destination.account", d.Account)
	if err != nil {
		return Destination{}, err
	}
	return Destination{Account: n}, nil
}
