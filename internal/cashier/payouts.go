package cashier

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
)

// Payout statuses.
const (
	PayoutRequested  = "requested"
	PayoutApproved   = "approved"
	PayoutRejected   = "rejected"
	PayoutProcessing = "processing"
	PayoutPaid       = "paid"
	PayoutFailed     = "failed"
	PayoutReturned   = "returned"
)

// payoutNext are the steps a payout may take from each status.
var payoutNext = map[string][]string{
	PayoutRequested:  {PayoutApproved, PayoutRejected},
	PayoutApproved:   {PayoutProcessing, PayoutFailed},
	PayoutProcessing: {PayoutPaid, PayoutFailed, PayoutReturned},
}

type payout struct {
	ID, TenantID, CustomerID, PSP, Channel string
	Amount                                 int64
	Currency, Status, Reference, SessionID string
	Destination                            Destination
	FromBalance, FromPlatform              int64
	PSPRef, BatchID, Reason, DecidedBy     string
	Attempts                               int
	PSPSeq                                 int64
	CreatedAt, UpdatedAt, DecidedAt        time.Time
	PaidAt                                 time.Time
}

const payoutCols = `id, tenant_id, customer_id, psp, channel, amount, currency, status, reference, session_id, destination, from_balance,
	from_platform, psp_reference, batch_id, reason, decided_by, attempts, psp_seq, created_at, updated_at, decided_at, paid_at`

func scanPayout(row interface{ Scan(...any) error }) (*payout, error) {
	var p payout
	var dest string
	var created, updated, decided, paid int64
	if err := row.Scan(&p.ID, &p.TenantID, &p.CustomerID, &p.PSP, &p.Channel, &p.Amount, &p.Currency, &p.Status, &p.Reference, &p.SessionID,
		&dest, &p.FromBalance, &p.FromPlatform, &p.PSPRef, &p.BatchID, &p.Reason, &p.DecidedBy, &p.Attempts, &p.PSPSeq,
		&created, &updated, &decided, &paid); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(dest), &p.Destination); err != nil {
		return nil, fmt.Errorf("cashier: payout destination: %w", err)
	}
	p.CreatedAt, p.UpdatedAt, p.DecidedAt, p.PaidAt = fromMicros(created), fromMicros(updated), fromMicros(decided), fromMicros(paid)
	return &p, nil
}

func (s *Service) loadPayout(ctx context.Context, q store.Querier, tenantID, id string, lock bool) (*payout, error) {
	suffix := ""
	if lock {
		suffix = s.forUpdate()
	}
	p, err := scanPayout(q.QueryRowContext(ctx, `SELECT `+payoutCols+` FROM cashier_payouts WHERE id = $1 AND tenant_id = $2`+suffix, id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "payout %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("cashier: load payout: %w", err)
	}
	return p, nil
}

func insertPayout(ctx context.Context, tx *store.Tx, p *payout) error {
	dest, _ := json.Marshal(p.Destination)
	res, err := tx.ExecContext(ctx, `INSERT INTO cashier_payouts (`+payoutCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23) ON CONFLICT DO NOTHING`,
		p.ID, p.TenantID, p.CustomerID, p.PSP, p.Channel, p.Amount, p.Currency, p.Status, p.Reference, p.SessionID, string(dest), p.FromBalance,
		p.FromPlatform, p.PSPRef, p.BatchID, p.Reason, p.DecidedBy, p.Attempts, p.PSPSeq, micros(p.CreatedAt), micros(p.UpdatedAt),
		micros(p.DecidedAt), micros(p.PaidAt))
	if err != nil {
		return fmt.Errorf("cashier: insert payout: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = &apperr.Error{Code: apperr.Conflict, Field: "reference", Message: fmt.Sprintf("a payout with reference %q exists already", p.Reference)}
		}
		return err
	}
	return nil
}

func savePayout(ctx context.Context, tx *store.Tx, p *payout) error {
	_, err := tx.ExecContext(ctx, `UPDATE cashier_payouts SET status = $1, psp_reference = $2, batch_id = $3, reason = $4, decided_by = $5,
		attempts = $6, psp_seq = $7, updated_at = $8, decided_at = $9, paid_at = $10 WHERE id = $11`,
		p.Status, p.PSPRef, p.BatchID, p.Reason, p.DecidedBy, p.Attempts, p.PSPSeq, micros(p.UpdatedAt), micros(p.DecidedAt), micros(p.PaidAt), p.ID)
	if err != nil {
		return fmt.Errorf("cashier: save payout: %w", err)
	}
	return nil
}

// applyPayout moves p, locked in tx, to res.Status with its ledger entry
// and event; the same status again only records what res adds; a step the
// state machine does not allow is a Conflict.
func (s *Service) applyPayout(ctx context.Context, tx *store.Tx, p *payout, c Connector, res Result) error {
	if res.PSPRef != "" {
		p.PSPRef = res.PSPRef
	}
	now := s.now()
	p.UpdatedAt = now
	if res.Status == p.Status {
		return savePayout(ctx, tx, p)
	}
	if !canMove(payoutNext, p.Status, res.Status) {
		return apperr.New(apperr.Conflict, "payout %s is %s: it cannot become %s", p.ID, p.Status, res.Status)
	}
	switch res.Status {
	case PayoutPaid:
		p.PaidAt = now
		if err := s.payoutPaid(ctx, tx, p, c); err != nil {
			return err
		}
	case PayoutRejected, PayoutFailed, PayoutReturned:
		if err := s.payoutBack(ctx, tx, p); err != nil {
			return err
		}
	}
	p.Status = res.Status
	if res.Reason != "" {
		p.Reason = res.Reason
	}
	if err := savePayout(ctx, tx, p); err != nil {
		return err
	}
	return s.emit(ctx, tx, p.TenantID, "cashier.payout."+p.Status, p.ID, viewPayout(p))
}

// payoutFunds posts a requested payout: the customer's balance (and the
// Platform's funds) → the customer's payouts in flight.
func (s *Service) payoutFunds(ctx context.Context, tx *store.Tx, p *payout) error {
	bal, pay, plat, err := s.payoutAccounts(ctx, tx, p)
	if err != nil {
		return err
	}
	return s.post(ctx, tx, p.TenantID, KindPayout, p.ID, "payout requested",
		ledger.Posting{AccountID: bal, Currency: p.Currency, Amount: -p.FromBalance},
		ledger.Posting{AccountID: plat, Currency: p.Currency, Amount: -p.FromPlatform},
		ledger.Posting{AccountID: pay, Currency: p.Currency, Amount: p.Amount})
}

// payoutBack gives a payout that will not be paid back where it came from.
func (s *Service) payoutBack(ctx context.Context, tx *store.Tx, p *payout) error {
	bal, pay, plat, err := s.payoutAccounts(ctx, tx, p)
	if err != nil {
		return err
	}
	return s.post(ctx, tx, p.TenantID, KindPayout, p.ID, "payout not paid",
		ledger.Posting{AccountID: pay, Currency: p.Currency, Amount: -p.Amount},
		ledger.Posting{AccountID: bal, Currency: p.Currency, Amount: p.FromBalance},
		ledger.Posting{AccountID: plat, Currency: p.Currency, Amount: p.FromPlatform})
}

// payoutPaid: the customer's payouts in flight → the PSP's clearing.
func (s *Service) payoutPaid(ctx context.Context, tx *store.Tx, p *payout, c Connector) error {
	_, pay, _, err := s.payoutAccounts(ctx, tx, p)
	if err != nil {
		return err
	}
	clearing, err := s.clearing(ctx, tx, p.TenantID, c, p.Currency)
	if err != nil {
		return err
	}
	_, err = s.ledger.Transfer(ctx, tx, ledger.TransferSpec{TenantID: p.TenantID, From: pay, To: clearing, Currency: p.Currency,
		Amount: p.Amount, Kind: KindPayout, Reference: p.ID, Description: "payout paid"})
	return err
}

func (s *Service) payoutAccounts(ctx context.Context, tx *store.Tx, p *payout) (bal, pay, plat string, err error) {
	if bal, err = s.customerAccount(ctx, tx, p.TenantID, p.CustomerID, purposeBalance, p.Currency); err != nil {
		return
	}
	if pay, err = s.customerAccount(ctx, tx, p.TenantID, p.CustomerID, purposePayouts, p.Currency); err != nil {
		return
	}
	plat, err = s.platformAccount(ctx, tx, p.TenantID, p.Currency)
	return
}

// Payout is a payout on the wire.
type Payout struct {
	ID           string      `json:"id"`
	CustomerID   string      `json:"customerId"`
	PSP          string      `json:"psp"`
	Channel      string      `json:"channel"`
	Status       string      `json:"status"`
	Amount       string      `json:"amount"`
	Currency     string      `json:"currency"`
	Destination  Destination `json:"destination"`
	FromBalance  string      `json:"fromBalance"`  // what the customer's balance in cashgate paid
	FromPlatform string      `json:"fromPlatform"` // what the Platform's funds paid (CRM balance authority)
	Reference    *string     `json:"reference"`
	SessionID    *string     `json:"sessionId"`
	PSPReference *string     `json:"pspReference"`
	BatchID      *string     `json:"batchId"`
	Reason       *string     `json:"reason"`
	DecidedBy    *string     `json:"decidedBy"` // the agent who approved or rejected it
	Attempts     int         `json:"attempts"`
	CreatedAt    time.Time   `json:"createdAt"`
	UpdatedAt    time.Time   `json:"updatedAt"`
	DecidedAt    *time.Time  `json:"decidedAt"`
	PaidAt       *time.Time  `json:"paidAt"`
}

func viewPayout(p *payout) Payout {
	return Payout{ID: p.ID, CustomerID: p.CustomerID, PSP: p.PSP, Channel: p.Channel, Status: p.Status, Amount: format(p.Amount, p.Currency),
		Currency: p.Currency, Destination: p.Destination, FromBalance: format(p.FromBalance, p.Currency), FromPlatform: format(p.FromPlatform, p.Currency),
		Reference: opt(p.Reference), SessionID: opt(p.SessionID), PSPReference: opt(p.PSPRef), BatchID: opt(p.BatchID), Reason: opt(p.Reason),
		DecidedBy: opt(p.DecidedBy), Attempts: p.Attempts, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, DecidedAt: optTime(p.DecidedAt), PaidAt: optTime(p.PaidAt)}
}
