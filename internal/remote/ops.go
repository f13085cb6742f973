package remote

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// Get returns the tenant's payment; another tenant's id is NotFound, as an
// unknown one.
func (s *Service) Get(ctx context.Context, tenantID, id string) (Payment, error) {
	p, err := s.load(ctx, s.db.Read(), tenantID, id, false)
	if err != nil {
		return Payment{}, err
	}
	return s.view(p), nil
}

// Cancel cancels a payment not yet paid (pending or rejected) and answers
// it from inside its transaction; a paid, refunded or canceled payment is a
// Conflict naming its status.
func (s *Service) Cancel(ctx context.Context, tenantID, id string) (Payment, error) {
	var out Payment
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		p, err := s.load(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if p.Status != StatusPending && p.Status != StatusRejected {
			return apperr.New(apperr.Conflict, "remote payment %s is %s: only a pending or rejected payment can be canceled", id, p.Status)
		}
		if err := s.cancel(ctx, tx, p, "merchant"); err != nil {
			return err
		}
		out = s.view(p)
		return httpx.Reply(ctx, tx, http.StatusOK, out)
	})
	return out, err
}

// cancelByPayer is the payer's cancel on the hosted page (cancel_reason
// "payer"); only a payable payment can be canceled.
func (s *Service) cancelByPayer(ctx context.Context, id string) (*payment, error) {
	var out *payment
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		p, err := s.lockPayable(ctx, tx, id)
		if err != nil {
			return err
		}
		out = p
		return s.cancel(ctx, tx, p, "payer")
	})
	return out, err
}

func (s *Service) cancel(ctx context.Context, tx *store.Tx, p *payment, reason string) error {
	now := s.now()
	p.Status, p.CancelReason, p.CanceledAt, p.UpdatedAt = StatusCanceled, reason, now, now
	if err := savePayment(ctx, tx, p); err != nil {
		return err
	}
	if err := s.purgeChallenges(ctx, tx, p); err != nil {
		return err
	}
	return s.emit(ctx, tx, p, "canceled")
}

// expiryBatch bounds the payments one expiry transaction cancels, so a
// backlog is cleared in short transactions (the LIMIT of
// sqlExpiredPayments).
const expiryBatch = 100

// ScheduleExpiry enqueues the expiry sweep, due now, unless it exists
// already (the app calls it when its workers start).
func (s *Service) ScheduleExpiry(ctx context.Context) error {
	_, _, err := s.events.Enqueue(ctx, nil, outbox.JobSpec{Kind: JobExpire, RunAt: s.now(), UniqueKey: JobExpire})
	return err
}

// Expire is the handler of JobExpire: it cancels every payment still
// unpaid at its expires_at, then runs again ExpiryEvery later. A job
// naming one payment (from an earlier version) expires that one only.
func (s *Service) Expire(ctx context.Context, jb outbox.Job) error {
	var pl idPayload
	if len(jb.Payload) > 0 {
		if err := json.Unmarshal(jb.Payload, &pl); err != nil {
			return outbox.Permanent(err)
		}
	}
	if pl.ID != "" {
		return s.expireOne(ctx, jb.TenantID, pl.ID)
	}
	now := s.now()
	for {
		n, err := s.expireDue(ctx, now)
		if err != nil {
			return err
		}
		if n > 0 {
			s.log.Info("remote payments expired", "count", n)
		}
		if n < expiryBatch {
			return outbox.RetryAt(now.Add(s.every))
		}
	}
}

// expireDue cancels up to expiryBatch payments unpaid at now, in one
// transaction, and returns how many it canceled.
func (s *Service) expireDue(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		n = 0
		due, err := expiredPayments(ctx, tx, now)
		if err != nil {
			return err
		}
		for _, d := range due {
			p, err := s.load(ctx, tx, d.tenantID, d.id, true)
			if err != nil {
				return err
			}
			if p.Status != StatusPending && p.Status != StatusRejected {
				continue // paid or canceled since the list was read
			}
			if err := s.cancel(ctx, tx, p, "expired"); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

type dueRef struct{ tenantID, id string }

// sqlExpiredPayments is the expiry sweep's query ($1: now, µs).
const sqlExpiredPayments = `SELECT tenant_id, id FROM remote_payments
	WHERE status IN ('pending', 'rejected') AND expires_at <= $1 ORDER BY expires_at LIMIT 100`

// expiredPayments lists up to expiryBatch payments pending or rejected at
// now whose expires_at has passed (index remote_payments_expiry).
func expiredPayments(ctx context.Context, tx *store.Tx, now time.Time) ([]dueRef, error) {
	rows, err := tx.QueryContext(ctx, sqlExpiredPayments, micros(now))
	if err != nil {
		return nil, fmt.Errorf("remote: expired payments: %w", err)
	}
	defer rows.Close()
	var out []dueRef
	for rows.Next() {
		var d dueRef
		if err := rows.Scan(&d.tenantID, &d.id); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// expireOne cancels one payment if it is still unpaid at its expires_at.
func (s *Service) expireOne(ctx context.Context, tenantID, id string) error {
	return s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		p, err := s.load(ctx, tx, tenantID, id, true)
		if err != nil {
			return outbox.Permanent(err)
		}
		if p.Status != StatusPending && p.Status != StatusRejected {
			return nil
		}
		if s.now().Before(p.ExpiresAt) {
			return outbox.RetryAt(p.ExpiresAt)
		}
		return s.cancel(ctx, tx, p, "expired")
	})
}

// ListFilter selects payments of a tenant.
type ListFilter struct {
	Status       string
	CreatedFrom  time.Time         // inclusive
	CreatedTo    time.Time         // exclusive
	Metadata     map[string]string // top-level metadata values, all must match
	Limit        int               // 1..MaxPage, default DefaultPage
	Cursor       string
	cursorMicros int64
	cursorID     string
}

// Page sizes of the list.
const (
	DefaultPage = 20
	MaxPage     = 100
)

// List returns a page of the tenant's payments, newest first.
func (s *Service) List(ctx context.Context, tenantID string, f ListFilter) (PaymentList, error) {
	if err := f.check(); err != nil {
		return PaymentList{}, err
	}
	q, args := f.query(tenantID)
	rows, err := s.db.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return PaymentList{}, fmt.Errorf("remote: list payments: %w", err)
	}
	defer rows.Close()
	out := PaymentList{Data: []Payment{}}
	var last *payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return PaymentList{}, err
		}
		if len(out.Data) == f.Limit {
			out.Next = cursorOf(last)
			break
		}
		out.Data, last = append(out.Data, s.view(p)), p
	}
	return out, rows.Err()
}

func (f *ListFilter) check() error {
	switch f.Status {
	case "", StatusPending, StatusPaid, StatusCanceled, StatusRejected, StatusRefunded:
	default:
		return apperr.InvalidField("status", "status must be pending, paid, canceled, rejected or refunded")
	}
	if f.Limit == 0 {
		f.Limit = DefaultPage
	}
	if f.Limit < 1 || f.Limit > MaxPage {
		return apperr.InvalidField("limit", "limit must be between 1 and %d", MaxPage)
	}
	if f.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(f.Cursor)
		at, id, ok := strings.Cut(string(b), ":")
		n, perr := strconv.ParseInt(at, 10, 64)
		if err != nil || !ok || perr != nil || id == "" {
			return apperr.InvalidField("cursor", "cursor is not one this API gave out")
		}
		f.cursorMicros, f.cursorID = n, id
	}
	return nil
}

func cursorOf(p *payment) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(p.CreatedAt.UnixMicro(), 10) + ":" + p.ID))
}

// query is the SELECT of one page (one row more than the limit, to know
// whether another page follows). With a metadata filter, the first key's
// metadata rows drive: their index walks the payments with that value
// newest first, whatever their number (created_at is copied into them).
func (f *ListFilter) query(tenantID string) (string, []any) {
	args := []any{tenantID}
	var where []string
	add := func(cond string, v ...any) {
		for _, a := range v {
			args = append(args, a)
			cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1)
		}
		where = append(where, cond)
	}
	from, at, id := "remote_payments p", "p.created_at", "p.id"
	keys := slices.Sorted(maps.Keys(f.Metadata))
	if len(keys) == 0 {
		add("p.tenant_id = $1")
	} else {
		// A payment's metadata rows carry its tenant and created_at
		// (insertMetadata), so the payment is looked up by its id; the
		// created_at equality, true by construction, keeps PostgreSQL
		// from probing remote_payments_status with the id as a join filter
		// instead (which it picks on small tables, see TestListQueryPlans).
		from, at, id = "remote_payment_metadata m JOIN remote_payments p ON p.id = m.payment_id AND p.created_at = m.created_at",
			"m.created_at", "m.payment_id"
		add("m.tenant_id = $1 AND m.key = ? AND m.value = ?", keys[0], f.Metadata[keys[0]])
		keys = keys[1:]
	}
	if f.Status != "" {
		add("p.status = ?", f.Status)
	}
	if !f.CreatedFrom.IsZero() {
		add(at+" >= ?", f.CreatedFrom.UnixMicro())
	}
	if !f.CreatedTo.IsZero() {
		add(at+" < ?", f.CreatedTo.UnixMicro())
	}
	for _, k := range keys {
		add("p.id IN (SELECT payment_id FROM remote_payment_metadata WHERE tenant_id = ? AND key = ? AND value = ?)", tenantID, k, f.Metadata[k])
	}
	if f.cursorID != "" {
		add("("+at+", "+id+") < (?, ?)", f.cursorMicros, f.cursorID)
	}
	return `SELECT ` + qualified("p", paymentCols) + ` FROM ` + from + ` WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + at + ` DESC, ` + id + ` DESC LIMIT ` + strconv.Itoa(f.Limit+1), args
}

// qualified prefixes each column of the list cols with alias.
func qualified(alias, cols string) string {
	fields := strings.Split(cols, ",")
	for i, c := range fields {
		fields[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(fields, ", ")
}
