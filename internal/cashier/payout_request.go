package cashier

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
)

// PayoutRequest is the body of POST /cashier/v1/payouts.
type PayoutRequest struct {
	CustomerID string `json:"customerId"`
	PSP        string `json:"psp"` // wallet, bank, sim
	// Amount is required for a free payout; a fixed payout's is its
	// session's (given, it must match).
	Amount      string      `json:"amount,omitempty"`
	Currency    string      `json:"currency,omitempty"`
	Reference   string      `json:"reference,omitempty"`
	SessionID   string      `json:"sessionId,omitempty"`
	Destination Destination `json:"destination"`
}

// payoutPlan is a checked payout about to be requested.
type payoutPlan struct {
	st           Settings
	c            Connector
	p            *payout
	withdrawable int64 // the CRM's answer (balance authority crm)
}

// RequestPayout is the Payment API's payout request.
func (s *Service) RequestPayout(ctx context.Context, tenantID string, in PayoutRequest) (Payout, error) {
	return s.requestPayout(ctx, tenantID, in, ChannelAPI)
}

// requestPayout checks a payout, takes its amount out of what the
// customer may withdraw (held in the customer's payouts account until an
// agent decides) and answers it (201, requested) from inside that
// transaction.
func (s *Service) requestPayout(ctx context.Context, tenantID string, in PayoutRequest, channel string) (Payout, error) {
	pl, err := s.planPayout(ctx, tenantID, in, channel)
	if err != nil {
		return Payout{}, err
	}
	if pl.st.BalanceAuthority == AuthorityCRM {
		if pl.withdrawable, err = s.withdrawable(ctx, tenantID, pl.st, pl.p.CustomerID, pl.p.Amount, pl.p.Currency); err != nil {
			return Payout{}, err
		}
	}
	loc, err := s.location(ctx, tenantID)
	if err != nil {
		return Payout{}, err
	}
	var out Payout
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := s.fundPayout(ctx, tx, pl, loc); err != nil {
			return err
		}
		out = viewPayout(pl.p)
		return httpx.Reply(ctx, tx, http.StatusCreated, out)
	})
	return out, err
}

// planPayout checks a payout against the settings, the PSP and the customer.
func (s *Service) planPayout(ctx context.Context, tenantID string, in PayoutRequest, channel string) (*payoutPlan, error) {
	st, err := s.settings(ctx, s.db.Read(), tenantID)
	if err != nil {
		return nil, err
	}
	c, err := s.payoutPSP(st, channel, in.PSP)
	if err != nil {
		return nil, err
	}
	if err := CheckCustomerID("customerId", in.CustomerID); err != nil {
		return nil, err
	}
	cust, err := s.payable(ctx, s.db.Read(), tenantID, in.CustomerID, in.Currency, false)
	if err != nil {
		return nil, err
	}
	now := s.now()
	p := &payout{ID: s.ids.ID("cpo"), TenantID: tenantID, CustomerID: cust.ID, PSP: c.Info().Name, Channel: channel, Currency: cust.Currency,
		Status: PayoutRequested, CreatedAt: now, UpdatedAt: now}
	if p.Reference, err = checkReference(in.Reference); err != nil {
		return nil, err
	}
	pl := &payoutPlan{st: st, c: c, p: p}
	if err := s.payoutAmount(ctx, pl, in); err != nil {
		return nil, err
	}
	if err := c.Info().takes(p.Amount, p.Currency); err != nil {
		return nil, err
	}
	p.Destination, err = c.CheckDestination(ctx, in.Destination)
	return pl, err
}

func (s *Service) payoutPSP(st Settings, channel, name string) (Connector, error) {
	if !st.Payouts {
		return nil, apperr.New(apperr.Forbidden, "payouts are not enabled for this tenant (settings.payouts)")
	}
	if (channel == ChannelAPI && st.Integration == IntegrationCashier) || (channel == ChannelCashier && st.Integration == IntegrationPayment) {
		return nil, apperr.New(apperr.Forbidden, "this tenant's integration is %q (settings.integration): %s payouts are not accepted", st.Integration, channel)
	}
	if !slices.Contains(st.PayoutPSPs, name) {
		return nil, apperr.InvalidField("psp", "psp %q is not enabled for payouts (settings.payoutPsps: %s)", name, strings.Join(st.PayoutPSPs, ", "))
	}
	return s.psp("psp", name)
}

// payoutAmount: a fixed payout is its session's amount, a free one the
// customer's.
func (s *Service) payoutAmount(ctx context.Context, pl *payoutPlan, in PayoutRequest) error {
	p := pl.p
	fixed := pl.st.PayoutAmount == AmountFixed
	if in.SessionID != "" {
		x, err := s.usableSession(ctx, s.db.Read(), p.TenantID, in.SessionID, IntentPayout, p.CustomerID)
		if err != nil {
			return err
		}
		p.SessionID, p.Amount = x.ID, x.Amount
	}
	if fixed && p.SessionID == "" {
		return apperr.InvalidField("sessionId", "this tenant's payouts are fixed (settings.payoutAmount): a payout is requested for a session (sessionId)")
	}
	if fixed {
		if in.Amount != "" {
			if a, err := parseAmount("amount", in.Amount, p.Currency); err != nil || a != p.Amount {
				return apperr.InvalidField("amount", "a fixed payout is the session's amount, %s %s", format(p.Amount, p.Currency), p.Currency)
			}
		}
		return nil
	}
	if in.Amount == "" {
		return apperr.InvalidField("amount", "amount is required")
	}
	var err error
	p.Amount, err = parseAmount("amount", in.Amount, p.Currency)
	return err
}

// fundPayout, in tx with the customer locked: the limits, what the
// customer may withdraw, the money moved and the payout stored requested.
func (s *Service) fundPayout(ctx context.Context, tx *store.Tx, pl *payoutPlan, loc *time.Location) error {
	p := pl.p
	cust, err := s.payable(ctx, tx, p.TenantID, p.CustomerID, p.Currency, true)
	if err != nil {
		return err
	}
	if err := s.payoutLimits(ctx, tx, cust, p, loc); err != nil {
		return err
	}
	if err := s.split(ctx, tx, pl); err != nil {
		return err
	}
	if err := s.payoutFunds(ctx, tx, p); err != nil {
		return err
	}
	if err := insertPayout(ctx, tx, p); err != nil {
		return err
	}
	if p.SessionID != "" {
		if err := completeSession(ctx, tx, p.SessionID, p.ID); err != nil {
			return err
		}
	}
	return s.emit(ctx, tx, p.TenantID, "cashier.payout.requested", p.ID, viewPayout(p))
}

// split decides what pays the payout. Ledger authority: the customer's
// balance, all of it or the payout is refused. CRM authority: the CRM's
// withdrawable less the payouts in flight must cover it; the customer's
// balance pays what it can and the Platform's funds the rest.
func (s *Service) split(ctx context.Context, tx *store.Tx, pl *payoutPlan) error {
	p := pl.p
	avail, err := s.available(ctx, tx, p.TenantID, p.CustomerID, p.Currency)
	if err != nil {
		return err
	}
	if pl.st.BalanceAuthority == AuthorityLedger {
		if p.Amount > avail {
			return apperr.New(apperr.InsufficientFunds, "customer %s may withdraw at most %s %s", p.CustomerID, format(avail, p.Currency), p.Currency)
		}
		p.FromBalance = p.Amount
		return nil
	}
	var inflight int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM cashier_payouts WHERE tenant_id = $1 AND customer_id = $2
		AND status IN ('requested', 'approved', 'processing')`, p.TenantID, p.CustomerID).Scan(&inflight); err != nil {
		return fmt.Errorf("cashier: payouts in flight: %w", err)
	}
	if p.Amount+inflight > pl.withdrawable {
		return apperr.New(apperr.InsufficientFunds, "customer %s may withdraw %s %s (the Platform's balance) of which %s %s are in payouts under way",
			p.CustomerID, format(pl.withdrawable, p.Currency), p.Currency, format(inflight, p.Currency), p.Currency)
	}
	p.FromBalance = min(p.Amount, max(avail, 0))
	p.FromPlatform = p.Amount - p.FromBalance
	return nil
}

// payoutLimits refuses a payout past the customer's limits (the day
// counts payouts requested, approved, processing and paid).
func (s *Service) payoutLimits(ctx context.Context, tx *store.Tx, c *customer, p *payout, loc *time.Location) error {
	if c.MaxPayout > 0 && p.Amount > c.MaxPayout {
		return apperr.New(apperr.LimitExceeded, "a payout of customer %s is at most %s %s", c.ID, format(c.MaxPayout, c.Currency), c.Currency)
	}
	if c.DailyPayout == 0 {
		return nil
	}
	var today int64
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM cashier_payouts WHERE tenant_id = $1 AND customer_id = $2 AND created_at >= $3
		AND status IN ('requested', 'approved', 'processing', 'paid')`, c.TenantID, c.ID, micros(dayStart(p.CreatedAt, loc))).Scan(&today)
	if err != nil {
		return fmt.Errorf("cashier: payouts of the day: %w", err)
	}
	if today+p.Amount > c.DailyPayout {
		return apperr.New(apperr.LimitExceeded, "customer %s may withdraw %s %s a day; %s %s are requested or paid today",
			c.ID, format(c.DailyPayout, c.Currency), c.Currency, format(today, c.Currency), c.Currency)
	}
	return nil
}
