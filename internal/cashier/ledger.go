package cashier

import (
	"context"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
)

// Ledger kinds of the cashier's entries.
const (
	KindDeposit = "cashier_deposit"
	KindRefund  = "cashier_refund"
	KindPayout  = "cashier_payout"
)

// Purposes of a customer's accounts.
const (
	purposeBalance = "balance" // may be withdrawn; deposits authorised are its pending_in
	purposePayouts = "payouts" // payouts requested, not yet paid
)

func customerSpec(tenantID, customerID, purpose, currency string) ledger.AccountSpec {
	return ledger.AccountSpec{TenantID: tenantID, Owner: "cashier-customer:" + customerID, Purpose: purpose, Currency: currency}
}

// customerAccount returns (creating it in tx) a customer's account.
func (s *Service) customerAccount(ctx context.Context, tx *store.Tx, tenantID, customerID, purpose, currency string) (string, error) {
	a, err := s.ledger.EnsureAccount(ctx, tx, customerSpec(tenantID, customerID, purpose, currency))
	return a.ID, err
}

// clearing returns (creating it in tx) the clearing account of a PSP in the
// tenant's scope: the outside world that PSP moves money with (it may go
// negative). The card PSP's is the card scheme's, shared with the card
// gateway.
func (s *Service) clearing(ctx context.Context, tx *store.Tx, tenantID string, c Connector, currency string) (string, error) {
	if c.Info().Name == PSPCard {
		return s.cards.Clearing(ctx, tx, tenantID, currency)
	}
	a, err := s.ledger.EnsureAccount(ctx, tx, ledger.AccountSpec{TenantID: tenantID, Owner: "cashier-psp:" + c.Info().Name,
		Purpose: "clearing", Currency: currency, AllowOverdraft: true})
	return a.ID, err
}

// platformAccount is the tenant's own money paying what a customer's
// balance does not cover when the CRM is the balance authority.
func (s *Service) platformAccount(ctx context.Context, tx *store.Tx, tenantID, currency string) (string, error) {
	a, err := s.ledger.EnsureAccount(ctx, tx, ledger.AccountSpec{TenantID: tenantID, Owner: "cashier", Purpose: "platform",
		Currency: currency, AllowOverdraft: true})
	return a.ID, err
}

// available is the customer's balance available in tx (0 without an account).
func (s *Service) available(ctx context.Context, tx *store.Tx, tenantID, customerID, currency string) (int64, error) {
	a, err := s.ledger.FindAccount(ctx, tx, customerSpec(tenantID, customerID, purposeBalance, currency))
	if apperr.Is(err, apperr.NotFound) {
		return 0, nil
	}
	return a.Balance.Available, err
}

// post writes a balanced entry of the tenant.
func (s *Service) post(ctx context.Context, tx *store.Tx, tenantID, kind, ref, desc string, postings ...ledger.Posting) error {
	var ps []ledger.Posting
	for _, p := range postings {
		if p.Amount != 0 {
			ps = append(ps, p)
		}
	}
	_, err := s.ledger.Post(ctx, tx, ledger.Entry{TenantID: tenantID, Kind: kind, Reference: ref, Description: desc, Postings: ps})
	return err
}
