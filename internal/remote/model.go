package remote

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
)

// Statuses of a remote payment.
const (
	StatusPending  = "pending"
	StatusPaid     = "paid"
	StatusCanceled = "canceled"
	StatusRejected = "rejected"
	StatusRefunded = "refunded"
)

// payment is a stored remote payment.
type payment struct {
	ID, TenantID   string
	Amount         int64
	Currency       string
	Note           string
	Metadata       string // JSON object text
	Status         string
	To, PayableTo  string
	From, Method   string
	RedirectURL    string
	RejectReason   string
	CancelReason   string
	RefundedAmount int64
	LedgerEntry    string
	ExpiresAt      time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	PaidAt         time.Time
	CanceledAt     time.Time
	// Challenged is set once a 3-D Secure challenge was opened for the
	// payment: only then can challenges (and vaulted cards) be left to purge.
	Challenged bool
}

// payable reports whether an attempt to pay may start.
func (p *payment) payable(now time.Time) bool {
	return (p.Status == StatusPending || p.Status == StatusRejected) && now.Before(p.ExpiresAt)
}

const paymentCols = `id, tenant_id, amount, currency, note, metadata, status, to_account, payable_to, from_account, method,
	redirect_url, reject_reason, cancel_reason, refunded_amount, ledger_entry, expires_at, created_at, updated_at, paid_at, canceled_at, challenged`

func scanPayment(row interface{ Scan(...any) error }) (*payment, error) {
	var p payment
	var exp, created, updated, paid, canceled int64
	err := row.Scan(&p.ID, &p.TenantID, &p.Amount, &p.Currency, &p.Note, &p.Metadata, &p.Status, &p.To, &p.PayableTo, &p.From, &p.Method,
		&p.RedirectURL, &p.RejectReason, &p.CancelReason, &p.RefundedAmount, &p.LedgerEntry, &exp, &created, &updated, &paid, &canceled, &p.Challenged)
	if err != nil {
		return nil, err
	}
	p.ExpiresAt, p.CreatedAt, p.UpdatedAt = fromMicros(exp), fromMicros(created), fromMicros(updated)
	p.PaidAt, p.CanceledAt = fromMicros(paid), fromMicros(canceled)
	return &p, nil
}

// notFound is the answer for an unknown id and for another tenant's id alike.
func notFound(id string) error {
	return apperr.New(apperr.NotFound, "remote payment %q not found", id)
}

// load reads the tenant's payment (lock: FOR UPDATE on PostgreSQL, inside a
// transaction).
func (s *Service) load(ctx context.Context, q store.Querier, tenantID, id string, lock bool) (*payment, error) {
	suffix := ""
	if lock {
		suffix = s.db.ForUpdate()
	}
	p, err := scanPayment(q.QueryRowContext(ctx, `SELECT `+paymentCols+` FROM remote_payments WHERE id = $1 AND tenant_id = $2`+suffix, id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("remote: load payment: %w", err)
	}
	return p, nil
}

func insertPayment(ctx context.Context, tx *store.Tx, p *payment) (inserted bool, err error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO remote_payments (`+paymentCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
		ON CONFLICT (id) DO NOTHING`,
		p.ID, p.TenantID, p.Amount, p.Currency, p.Note, p.Metadata, p.Status, p.To, p.PayableTo, p.From, p.Method,
		p.RedirectURL, p.RejectReason, p.CancelReason, p.RefundedAmount, p.LedgerEntry,
		micros(p.ExpiresAt), micros(p.CreatedAt), micros(p.UpdatedAt), micros(p.PaidAt), micros(p.CanceledAt), p.Challenged)
	if err != nil {
		return false, fmt.Errorf("remote: insert payment: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	return true, insertMetadata(ctx, tx, p)
}

// insertMetadata indexes the top-level scalar metadata values for the list
// filter metadata[key]=value, with the payment's created_at (the order the
// list walks them in).
func insertMetadata(ctx context.Context, tx *store.Tx, p *payment) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(p.Metadata), &m); err != nil {
		return fmt.Errorf("remote: metadata: %w", err)
	}
	for k, raw := range m {
		v, ok := scalar(raw)
		if !ok {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO remote_payment_metadata (payment_id, tenant_id, key, value, created_at) VALUES ($1, $2, $3, $4, $5)`,
			p.ID, p.TenantID, k, v, micros(p.CreatedAt)); err != nil {
			return fmt.Errorf("remote: insert metadata: %w", err)
		}
	}
	return nil
}

// scalar returns a JSON string's value, or a number's or boolean's JSON
// text; objects, arrays and null are not indexed.
func scalar(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	switch raw[0] {
	case '{', '[', 'n':
		return "", false
	}
	return string(raw), true
}

// save writes the payment's mutable fields.
func savePayment(ctx context.Context, tx *store.Tx, p *payment) error {
	_, err := tx.ExecContext(ctx, `UPDATE remote_payments SET status = $1, from_account = $2, method = $3, reject_reason = $4, cancel_reason = $5,
		refunded_amount = $6, ledger_entry = $7, updated_at = $8, paid_at = $9, canceled_at = $10 WHERE id = $11`,
		p.Status, p.From, p.Method, p.RejectReason, p.CancelReason, p.RefundedAmount, p.LedgerEntry,
		micros(p.UpdatedAt), micros(p.PaidAt), micros(p.CanceledAt), p.ID)
	if err != nil {
		return fmt.Errorf("remote: save payment: %w", err)
	}
	return nil
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}
