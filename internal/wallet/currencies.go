package wallet

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/store"
)

// Balances in several currencies. A wallet holds one ledger account per
// currency, all in LedgerScope with the owner and purpose of its EUR one
// (wallet_users.account_id): the EUR account is made with the user, the
// others the first time a transaction needs them (AccountIn), inside that
// transaction. The seed-000 movements (sends, money requests, fees,
// limits, withdrawals) stay in EUR; money reaches another currency's
// account by a sandbox top-up in that currency (from the bank clearing
// account in it) or by the products that pay in it.

// walletPurpose is the ledger purpose of a user's wallet accounts.
const walletPurpose = "wallet"

// parseCurrency reads an ISO 4217 code internal/money supports (upper or
// lower case) as an Invalid error naming field when it is none.
func parseCurrency(field, code string) (string, error) {
	c, err := money.ParseCurrency(strings.ToUpper(strings.TrimSpace(code)))
	if err != nil {
		return "", apperr.InvalidField(field, "%v", err)
	}
	return c.Code(), nil
}

// AccountIn returns the ledger account of a user's wallet in currency,
// creating it in tx when the user has none in that currency yet. Call it
// in the transaction that moves the money.
func (s *Service) AccountIn(ctx context.Context, tx *store.Tx, userID, currency string) (ledgerAccountID string, err error) {
	code, err := parseCurrency("currency", currency)
	if err != nil {
		return "", err
	}
	u, err := s.userByID(ctx, tx, userID)
	if err != nil {
		return "", err
	}
	return s.accountIn(ctx, tx, u, code)
}

// accountIn is AccountIn for a user row and a valid currency code.
func (s *Service) accountIn(ctx context.Context, tx *store.Tx, u user, code string) (string, error) {
	if code == Currency {
		return u.AccountID, nil
	}
	a, err := s.ledger.EnsureAccount(ctx, tx, u.account(code))
	if err != nil {
		return "", err
	}
	return a.ID, nil
}

// clearingIn returns the issuer's bank clearing account in a currency,
// creating it in tx when needed.
func (s *Service) clearingIn(ctx context.Context, tx *store.Tx, code string) (string, error) {
	if code == Currency {
		return s.acct.clearing, nil
	}
	a, err := s.ledger.EnsureAccount(ctx, tx, ledger.AccountSpec{TenantID: LedgerScope, Owner: ownerBank, Purpose: "clearing", Currency: code, AllowOverdraft: true, Hot: true})
	if err != nil {
		return "", err
	}
	return a.ID, nil
}

// walletBalance is a ledger account's balance as the wallet shows it.
func walletBalance(a ledger.Account) WalletBalance {
	return WalletBalance{Available: formatMinor(a.Balance.Available, a.Currency), Posted: formatMinor(a.Balance.Posted, a.Currency), Currency: a.Currency}
}

// zeroBalance is the balance of a currency the wallet does not hold.
func zeroBalance(code string) WalletBalance {
	return WalletBalance{Available: formatMinor(0, code), Posted: formatMinor(0, code), Currency: code}
}

// Balances returns a user's balances in every currency the wallet holds:
// EUR always and first, then the others by currency code.
func (s *Service) Balances(ctx context.Context, userID string) ([]WalletBalance, error) {
	u, err := s.userByID(ctx, s.db.Read(), userID)
	if err != nil {
		return nil, err
	}
	return s.balances(ctx, s.db.Read(), u)
}

// balances is Balances for a user row, read through q.
func (s *Service) balances(ctx context.Context, q store.Querier, u user) ([]WalletBalance, error) {
	accounts, err := s.ledger.Accounts(ctx, q, LedgerScope, ledger.AccountFilter{Owner: u.owner(), Limit: 1000})
	if err != nil {
		return nil, err
	}
	out := []WalletBalance{zeroBalance(Currency)}
	for _, a := range accounts {
		switch {
		case a.Purpose != walletPurpose:
		case a.Currency == Currency:
			out[0] = walletBalance(a)
		default:
			out = append(out, walletBalance(a))
		}
	}
	slices.SortFunc(out[1:], func(a, b WalletBalance) int { return cmp.Compare(a.Currency, b.Currency) })
	return out, nil
}

// BalanceIn returns a user's balance in one currency: zero in a currency
// the wallet does not hold (nothing is created).
func (s *Service) BalanceIn(ctx context.Context, userID, currency string) (WalletBalance, error) {
	code, err := parseCurrency("currency", currency)
	if err != nil {
		return WalletBalance{}, err
	}
	u, err := s.userByID(ctx, s.db.Read(), userID)
	if err != nil {
		return WalletBalance{}, err
	}
	a, err := s.ledger.FindAccount(ctx, s.db.Read(), ledger.AccountSpec{TenantID: LedgerScope, Owner: u.owner(), Purpose: walletPurpose, Currency: code})
	if apperr.Is(err, apperr.NotFound) {
		return zeroBalance(code), nil
	}
	if err != nil {
		return WalletBalance{}, err
	}
	return walletBalance(a), nil
}
