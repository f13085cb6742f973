// Package walletpay is paying from a cashgate wallet, confirmed with the
// wallet's PIN: the step the e-wallet's money requests and the remote
// payments' hosted page share. The e-wallet (internal/wallet) implements
// Wallets; products receive it from the app, so none imports another.
//
// A payment is: the payer logs in (username and password, throttled by the
// wallet), sees the balance in the payment's currency, and confirms with the
// PIN. One transaction judges the PIN (holding the payer's record, so
// concurrent guesses cannot outrun the lock after repeated wrong entries),
// debits the payer, credits the payee's wallet as one ledger entry and
// records the product's own state (Pay's fn), so the money and the
// product's record commit together or not at all; a refused PIN commits
// only its recorded failure.
package walletpay

import (
	"context"
	"errors"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
)

// Payer is a wallet user who may pay.
type Payer struct {
	UserID        string
	Username      string
	AccountNumber string
}

// Session is a logged-in payer.
type Session struct {
	Token     string
	ExpiresAt time.Time
	Payer     Payer
}

// Transfer is money moving from one wallet to another in one currency, as
// one ledger entry: a payment (payer → payee) or a refund (back).
type Transfer struct {
	From, To    string // account numbers
	Currency    string
	Amount      int64 // > 0, minor units
	Kind        string
	Reference   string
	Description string
}

// Wallets is what paying from a wallet needs from the e-wallet.
type Wallets interface {
	// OpenSession logs a payer in: a session for username and password from clientAddr
	// (throttled as the wallet's own login).
	OpenSession(ctx context.Context, username, password, clientAddr string) (Session, error)
	// SessionPayer returns the payer of a session token (Unauthenticated
	// when it is unknown or expired).
	SessionPayer(ctx context.Context, token string) (Payer, error)
	// Logout ends a session.
	Logout(ctx context.Context, token string) error
	// Available returns the payer's available balance in currency (0 when
	// the wallet holds none).
	Available(ctx context.Context, userID, currency string) (int64, error)
	// CheckPIN verifies the payer's PIN in a transaction of its own: a
	// wrong PIN is Unauthenticated with the attempts left, a locked wallet
	// Forbidden, a check already running RateLimited.
	CheckPIN(ctx context.Context, userID, pin string) error
	// CheckPINTx judges the PIN inside the payment's transaction tx: refusal
	// is CheckPIN's answer for a wrong PIN or a locked wallet, recorded in
	// tx (which must commit for the failure to count); err aborts tx;
	// ErrCheckOutside means this PIN must be checked with CheckPIN before
	// the transaction (its hash is slow).
	CheckPINTx(ctx context.Context, tx *store.Tx, userID, pin string) (refusal, err error)
	// Move posts t in tx as one ledger entry and returns its id; a short
	// balance is InsufficientFunds.
	Move(ctx context.Context, tx *store.Tx, t Transfer) (entryID string, err error)
}

// ErrCheckOutside is CheckPINTx's answer for a PIN that cannot be judged
// inside a transaction (its stored hash is slow to verify).
var ErrCheckOutside = errors.New("walletpay: this PIN is checked before the transaction")

// Pay judges the PIN of the payer userID and runs fn in the same
// transaction; fn moves the money with move (at the point it chooses, e.g.
// after locking its own record) and records the product's state, so both
// commit together or not at all. A refused PIN runs nothing: its recorded
// failure commits and the refusal is returned. A PIN that must be checked
// outside (ErrCheckOutside) is checked with CheckPIN first.
func Pay(ctx context.Context, db *store.DB, w Wallets, userID, pin string,
	fn func(ctx context.Context, tx *store.Tx, move func(Transfer) (entryID string, err error)) error) error {
	pay := func(ctx context.Context, tx *store.Tx) error {
		return fn(ctx, tx, func(t Transfer) (string, error) { return w.Move(ctx, tx, t) })
	}
	var refused error
	err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		refusal, err := w.CheckPINTx(ctx, tx, userID, pin)
		if refused = refusal; err != nil || refusal != nil {
			return err
		}
		return pay(ctx, tx)
	})
	switch {
	case err == nil:
		return refused
	case !errors.Is(err, ErrCheckOutside):
		return err
	}
	if err := w.CheckPIN(ctx, userID, pin); err != nil {
		return err
	}
	return db.Transact(ctx, pay)
}

// Rejection says whether err ends a payment attempt (the payment is
// rejected, with reason) rather than asking the payer to try again (a wrong
// PIN with attempts left, a check in progress) or failing for another
// cause: insufficient funds and a wallet locked by wrong PINs end it.
func Rejection(err error) (reason string, rejected bool) {
	switch {
	case apperr.Is(err, apperr.InsufficientFunds):
		return "insufficient_funds", true
	case apperr.Is(err, apperr.Forbidden):
		return "pin_locked", true
	}
	return "", false
}
