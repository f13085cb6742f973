package wallet

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/walletpay"
)

// The wallet as the payments core sees it: walletpay.Wallets (paying from
// a wallet, confirmed with the PIN) and the merchants' receiving wallets of
// remote payments. The app hands the Service to the products that pay
// from wallets; none of them imports this package.

var _ walletpay.Wallets = (*Service)(nil)

func payerOf(u user) walletpay.Payer {
	return walletpay.Payer{UserID: u.ID, Username: u.Username, AccountNumber: u.AccountNumber}
}

// OpenSession opens a wallet session for a payer (throttled as the wallet
// app's login, per user and client address).
func (s *Service) OpenSession(ctx context.Context, username, password, clientAddr string) (walletpay.Session, error) {
	sess, err := s.LoginFrom(ctx, username, password, clientAddr)
	if err != nil {
		return walletpay.Session{}, err
	}
	return walletpay.Session{Token: sess.Token, ExpiresAt: sess.ExpiresAt,
		Payer: walletpay.Payer{UserID: sess.User.ID, Username: sess.User.Username, AccountNumber: sess.User.AccountNumber}}, nil
}

// SessionPayer returns the payer of a wallet session token.
func (s *Service) SessionPayer(ctx context.Context, token string) (walletpay.Payer, error) {
	u, err := s.sessionOf(ctx, token)
	if err != nil {
		return walletpay.Payer{}, err
	}
	return payerOf(u), nil
}

// Available returns a user's available balance in currency, in minor
// units (0 in a currency the wallet does not hold).
func (s *Service) Available(ctx context.Context, userID, currency string) (int64, error) {
	code, err := parseCurrency("currency", currency)
	if err != nil {
		return 0, err
	}
	u, err := s.userByID(ctx, s.db.Read(), userID)
	if err != nil {
		return 0, err
	}
	a, err := s.ledger.FindAccount(ctx, s.db.Read(), ledger.AccountSpec{TenantID: LedgerScope, Owner: u.owner(), Purpose: walletPurpose, Currency: code})
	if apperr.Is(err, apperr.NotFound) {
		return 0, nil
	}
	return a.Balance.Available, err
}

// CheckPINTx judges the payer's PIN inside the payment's transaction tx
// (keyedPINInTx): the refusal (a wrong PIN, a lock) is recorded in tx, which
// must commit; err aborts it. A PIN whose hash is still argon2id is
// walletpay.ErrCheckOutside: Pay then checks it with CheckPIN first, which
// re-keys it.
func (s *Service) CheckPINTx(ctx context.Context, tx *store.Tx, userID, pin string) (refusal, err error) {
	if !pinRE.MatchString(pin) {
		return apperr.InvalidField("pin", "PIN must be 4 to 6 digits"), nil
	}
	ok, failures, locked, err := s.keyedPINInTx(ctx, tx, userID, pin)
	var ae *apperr.Error
	switch {
	case errors.Is(err, errSlowPIN):
		return nil, walletpay.ErrCheckOutside
	case errors.As(err, &ae):
		return err, nil // already locked
	case err != nil:
		return nil, err
	}
	return s.pinOutcome(ok, failures, locked), nil
}

// CheckPIN verifies a user's PIN (one check at a time per user, a lock
// after MaxPINFailures wrong ones in a row).
func (s *Service) CheckPIN(ctx context.Context, userID, pin string) error {
	return s.checkPIN(ctx, userID, pin)
}

// Move posts t in tx as one ledger entry between the two wallets' accounts
// in its currency (created when missing) and lists it in both wallets'
// transactions: a payment ("payment") from the payer, or a refund
// ("refund") back to it. A payment to a wallet that is not active, or a
// refund to a closed one, fails the transaction when it commits.
func (s *Service) Move(ctx context.Context, tx *store.Tx, t walletpay.Transfer) (string, error) {
	from, err := s.party(ctx, tx, t.From)
	if err != nil {
		return "", err
	}
	to, err := s.party(ctx, tx, t.To)
	if err != nil {
		return "", err
	}
	code, err := parseCurrency("currency", t.Currency)
	if err != nil {
		return "", err
	}
	src, err := s.accountIn(ctx, tx, from, code)
	if err != nil {
		return "", err
	}
	dst, err := s.accountIn(ctx, tx, to, code)
	if err != nil {
		return "", err
	}
	entry, err := s.ledger.Transfer(ctx, tx, ledger.TransferSpec{TenantID: LedgerScope, From: src, To: dst, Currency: code, Amount: t.Amount,
		Kind: t.Kind, Reference: t.Reference, Description: t.Description})
	if apperr.Is(err, apperr.InsufficientFunds) {
		return "", apperr.New(apperr.InsufficientFunds, "insufficient funds: %s %s is more than the wallet's available balance", formatMinor(t.Amount, code), code)
	}
	if err != nil {
		return "", err
	}
	// A suspended or closed merchant wallet receives no payment; a refund
	// still reaches a suspended customer, as the wallet's own refunds do.
	refund := from.Kind == KindCorporate && to.Kind != KindCorporate
	s.receiving(tx, "the recipient", to.ID, refund, nil)
	return entry, s.listMove(ctx, tx, from, to, code, t, entry)
}

// listMove records a Move in wallet_transactions, so both wallets list it.
func (s *Service) listMove(ctx context.Context, tx *store.Tx, from, to user, code string, t walletpay.Transfer, entry string) error {
	kind, tenant := "payment", to.TenantID
	if from.Kind == KindCorporate && to.Kind != KindCorporate {
		kind, tenant = "refund", from.TenantID
	}
	now := s.now()
	desc := t.Description
	if desc == "" {
		desc = t.Kind + " " + t.Reference
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO wallet_transactions (id, kind, status, tenant_id, from_user, to_user, amount, currency, description, reference, entry_id, created_at, updated_at)
VALUES ($1, $2, 'completed', $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
		s.txID(now), kind, tenant, from.ID, to.ID, t.Amount, code, desc, t.Reference, entry, micros(now))
	if err != nil {
		return fmt.Errorf("wallet: list move: %w", err)
	}
	return nil
}

// CheckAccount returns the account number s names (spaces allowed) when a
// wallet has it, else an invalid-field error for field.
func (s *Service) CheckAccount(ctx context.Context, field, number string) (string, error) {
	n, err := ParseAccountNumber(field, number)
	if err != nil { // named in the message too: the platform's error format has no field
		return "", apperr.InvalidField(field, "%s: %s", field, apperr.From(err).Message)
	}
	if _, err := s.UserByAccountNumber(ctx, s.db.Read(), n); err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return "", apperr.InvalidField(field, "%s: no cashgate wallet has the account number %s", field, FormatAccountNumber(n))
		}
		return "", err
	}
	return n, nil
}

// ReceivingAccount returns the account number of the tenant's corporate
// wallet, which remote payments credit. A tenant without one gets a
// receive-only corporate wallet opened: no one can log in to it (no
// password or PIN matches, see noSecret) and it has no bank account,
// until the merchant claims it with POST /platform/wallet/corporate
// (OpenCorporate), which sets the login and the bank account.
func (s *Service) ReceivingAccount(ctx context.Context, tenantID string) (string, error) {
	for range 2 { // a concurrent first payment may open it meanwhile
		c, err := s.corporateOf(ctx, s.db.Read(), "tenant_id", tenantID)
		if err == nil {
			u, err := s.userByID(ctx, s.db.Read(), c.UserID)
			return u.AccountNumber, err
		}
		if !apperr.Is(err, apperr.NotFound) {
			return "", err
		}
		n, err := s.openReceiveOnly(ctx, tenantID)
		if !apperr.Is(err, apperr.Conflict) {
			return n, err
		}
	}
	return "", apperr.New(apperr.Unavailable, "the merchant's wallet is being opened; try again")
}

// openReceiveOnly opens the receive-only corporate wallet of a tenant.
func (s *Service) openReceiveOnly(ctx context.Context, tenantID string) (string, error) {
	ten, err := s.tenants.Tenant(ctx, tenantID)
	if err != nil {
		return "", err
	}
	u := user{ID: s.ids.ID("wus"), Username: "merchant-" + strings.ToLower(ten.BusinessCode), Kind: KindCorporate, Tier: TierCorporate,
		TenantID: ten.ID, TopUpRef: s.topUpRef(), PassHash: noSecret, PINHash: noSecret, CreatedAt: s.now()}
	secret := "cgm_" + s.ids.Secret(32)
	var out CorporateWallet
	err = s.transactNumbered(ctx, func(ctx context.Context, tx *store.Tx) error {
		out, err = s.insertCorporate(ctx, tx, ten.ID, ten.BusinessCode, ten.Name, &u, "", "", secret, s.seal(ten.ID, secret))
		return err
	})
	if err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "wallet: opened a receive-only corporate wallet for remote payments", "tenant", ten.ID, "account", out.AccountNumber)
	return out.AccountNumber, nil
}

// LedgerAccount returns, in tx, the ledger scope and the account of the
// wallet with the account number in currency (created when missing): the
// account a card payment into the wallet credits.
func (s *Service) LedgerAccount(ctx context.Context, tx *store.Tx, number, currency string) (scope, accountID string, err error) {
	u, err := s.userByNumber(ctx, tx, number)
	if err != nil {
		return "", "", err
	}
	code, err := parseCurrency("currency", currency)
	if err != nil {
		return "", "", err
	}
	id, err := s.accountIn(ctx, tx, u, code)
	return LedgerScope, id, err
}
