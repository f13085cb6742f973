package gateway

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/store"
)

// jobParams are the non-card parameters kept with a job.
type jobParams struct {
	ReturnSuccess string `json:"returnUrlSuccess,omitempty"`
	ReturnFailed  string `json:"returnUrlFailed,omitempty"`
	ReturnCancel  string `json:"returnUrlCancelled,omitempty"`
	WebhookURL    string `json:"webhookUrl,omitempty"`
	// MCC and Recipient: a financial institution's payment (MCC 6012)
	// carries recipientDetails, handed to the acquirer at authorisation.
	MCC       string     `json:"mcc,omitempty"`
	Recipient *Recipient `json:"recipient,omitempty"`
	// Recurrence: the recurrenceCriteria of a recurring parent or child.
	Recurrence *recurrence `json:"recurrence,omitempty"`
	// Description: what a payment link is for, shown on its hosted page.
	Description string `json:"description,omitempty"`
	// Customer: the request's customerReference (customers.go).
	Customer string `json:"customer,omitempty"`
	// FrameDomains: the request's parentFrameDomains (embed.go).
	FrameDomains []string `json:"frameDomains,omitempty"`
	// PageRef: the payment page template the request named (templates.go;
	// "" for the tenant's default).
	PageRef string `json:"pageRef,omitempty"`
}

type job struct {
	Ref, TenantID, ConfigID, TraceRef, Type, Locale string
	OrderNumber                                     string
	Order                                           PaymentOrder
	Methods, Options                                []string
	Flags                                           map[string]bool
	Params                                          jobParams
	Currency                                        money.Currency
	Amount, Collected                               int64
	Status, Parent                                  string
	ExpiresAt, DueAt, PaidAt, CreatedAt, UpdatedAt  time.Time
	Payments                                        []*payment
	// brand is the payment page template of its hosted pages (pageJob).
	brand *pageBrand
	// Warnings are the guide's warnings about the request being answered
	// (not stored: a later read of the job has none).
	Warnings []Warning
	// frames are the origins its hosted page may be framed by now (set
	// where the page is read: pageJob).
	frames []string
	// offer is what its hosted page offers now (pageJob, paypal.go).
	offer methodOffer
}

type payment struct {
	Ref, JobRef, TenantID, Status                                      string
	Currency                                                           money.Currency
	Amount, Authorised, Captured, Refunded, PendingAmount, Settled     int64
	FeeCharged, FeeReturned                                            int64 // taken at settlement; given back by refunds
	CaptureClosed                                                      bool
	FirstCaptureAt, LastCaptureAt                                      time.Time
	HoldID                                                             string
	MOTO                                                               bool
	CardID, MaskedPAN, ThreeDS, CVCResult, PageToken, Acquiring, TxnID string
	VoidTxnID, Token                                                   string
	// Method is the payment method the payment was taken with (MethodPayPal,
	// or the card method chosen where PayPal was offered too); "" for a card
	// payment of a job that offered cards only.
	Method                       string
	PaidAt, CreatedAt, UpdatedAt time.Time
	Steps                        []step
	Captures                     []capture
	Refunds                      []refund
}

type step struct {
	Ref, Action, Status, Message string
	Seq                          int
	Amount                       int64
	CreatedAt                    time.Time
}

type capture struct {
	Ref, Status, TxnID string
	Amount             int64
	Final              bool
	CreatedAt          time.Time
}

type refund struct {
	Ref, Number, Status, TxnID string
	Amount                     int64
	CreatedAt                  time.Time
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func nullable(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// insertJob writes a new job. Its order number must not be held by another
// live or paid job of the tenant (of the parent, for a recurring child):
// migration 18's partial unique index.
func insertJob(ctx context.Context, tx *store.Tx, j *job) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO gateway_jobs (reference, tenant_id, configuration_id, trace_reference, type, locale,
		order_number, order_json, methods, options, flags, params_json, currency, amount, collected, status, parent_reference,
		expires_at, due_at, paid_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
		j.Ref, j.TenantID, j.ConfigID, j.TraceRef, j.Type, j.Locale, nullString(j.OrderNumber), mustJSON(j.Order),
		mustJSON(j.Methods), mustJSON(j.Options), mustJSON(j.Flags), mustJSON(j.Params), j.Currency.Code(), j.Amount, j.Collected,
		j.Status, j.Parent, j.ExpiresAt.UnixMicro(), j.DueAt.UnixMicro(), nullable(j.PaidAt), j.CreatedAt.UnixMicro(), j.UpdatedAt.UnixMicro())
	if store.IsUniqueViolation(err) {
		return MsgOrderNotUnique.Invalid("orderNumber")
	}
	if err != nil {
		return fmt.Errorf("gateway: insert job: %w", err)
	}
	return nil
}

func insertPayment(ctx context.Context, tx *store.Tx, p *payment) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO gateway_payments (reference, job_reference, tenant_id, status, currency, amount,
		authorised, captured, refunded, pending_amount, settled_amount, capture_closed, first_capture_at, last_capture_at, hold_id,
		moto, card_id, masked_pan, three_ds, cvc_result, page_token, acquiring, txn_id, void_txn_id, token, paid_at, created_at, updated_at, payment_method)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)`,
		p.Ref, p.JobRef, p.TenantID, p.Status, p.Currency.Code(), p.Amount, p.Authorised, p.Captured, p.Refunded, p.PendingAmount,
		p.Settled, p.CaptureClosed, nullable(p.FirstCaptureAt), nullable(p.LastCaptureAt), p.HoldID, p.MOTO, p.CardID, p.MaskedPAN,
		p.ThreeDS, p.CVCResult, p.PageToken, p.Acquiring, p.TxnID, p.VoidTxnID, p.Token, nullable(p.PaidAt), p.CreatedAt.UnixMicro(), p.UpdatedAt.UnixMicro(),
		p.Method)
	if err != nil {
		return fmt.Errorf("gateway: insert payment: %w", err)
	}
	for i := range p.Steps {
		if err := insertStep(ctx, tx, p.Ref, &p.Steps[i]); err != nil {
			return err
		}
	}
	return nil
}

func insertStep(ctx context.Context, tx *store.Tx, paymentRef string, st *step) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO gateway_steps (reference, payment_reference, seq, action, status, amount, message, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, st.Ref, paymentRef, st.Seq, st.Action, st.Status, st.Amount, st.Message, st.CreatedAt.UnixMicro())
	if err != nil {
		return fmt.Errorf("gateway: insert step: %w", err)
	}
	return nil
}

// savePayment writes the mutable columns of p (the caller has locked it or
// guards the update itself).
func savePayment(ctx context.Context, tx *store.Tx, p *payment) error {
	_, err := tx.ExecContext(ctx, `UPDATE gateway_payments SET status = $1, authorised = $2, captured = $3, refunded = $4,
		pending_amount = $5, settled_amount = $6, capture_closed = $7, first_capture_at = $8, last_capture_at = $9, hold_id = $10,
		card_id = $11, masked_pan = $12, three_ds = $13, cvc_result = $14, acquiring = $15, txn_id = $16, void_txn_id = $17,
		token = $18, paid_at = $19, updated_at = $20, payment_method = $22 WHERE reference = $21`,
		p.Status, p.Authorised, p.Captured, p.Refunded, p.PendingAmount, p.Settled, p.CaptureClosed, nullable(p.FirstCaptureAt),
		nullable(p.LastCaptureAt), p.HoldID, p.CardID, p.MaskedPAN, p.ThreeDS, p.CVCResult, p.Acquiring, p.TxnID, p.VoidTxnID,
		p.Token, nullable(p.PaidAt), p.UpdatedAt.UnixMicro(), p.Ref, p.Method)
	if err != nil {
		return fmt.Errorf("gateway: update payment: %w", err)
	}
	return nil
}

// saveJob writes a job's state; a job that is over (Cancelled, Expired)
// leaves migration 18's index and so frees its order number. A payment
// link's status is copied to its row in gateway_links (links.go).
func saveJob(ctx context.Context, tx *store.Tx, j *job) error {
	_, err := tx.ExecContext(ctx, `UPDATE gateway_jobs SET status = $1, collected = $2, paid_at = $3, updated_at = $4 WHERE reference = $5`,
		j.Status, j.Collected, nullable(j.PaidAt), j.UpdatedAt.UnixMicro(), j.Ref)
	if err == nil && j.isLink() {
		_, err = tx.ExecContext(ctx, `UPDATE gateway_links SET status = $1 WHERE job_reference = $2`, j.Status, j.Ref)
	}
	if err != nil {
		return fmt.Errorf("gateway: update job: %w", err)
	}
	return nil
}

const jobCols = `reference, tenant_id, configuration_id, trace_reference, type, locale, order_number, order_json, methods, options,
	flags, params_json, currency, amount, collected, status, parent_reference, expires_at, due_at, paid_at, created_at, updated_at`

func scanJob(row interface{ Scan(...any) error }) (*job, error) {
	j := &job{}
	var orderNumber sql.NullString
	var order, methods, options, flags, params, cur string
	var expires, due, created, updated int64
	var paid sql.NullInt64
	if err := row.Scan(&j.Ref, &j.TenantID, &j.ConfigID, &j.TraceRef, &j.Type, &j.Locale, &orderNumber, &order, &methods, &options,
		&flags, &params, &cur, &j.Amount, &j.Collected, &j.Status, &j.Parent, &expires, &due, &paid, &created, &updated); err != nil {
		return nil, err
	}
	for _, x := range []struct {
		s   string
		dst any
	}{{order, &j.Order}, {methods, &j.Methods}, {options, &j.Options}, {flags, &j.Flags}, {params, &j.Params}} {
		if err := json.Unmarshal([]byte(x.s), x.dst); err != nil {
			return nil, fmt.Errorf("gateway: job %s: %w", j.Ref, err)
		}
	}
	j.OrderNumber = orderNumber.String
	c, err := money.ParseCurrency(cur)
	if err != nil {
		return nil, err
	}
	j.Currency = c
	j.ExpiresAt, j.DueAt, j.PaidAt, j.CreatedAt, j.UpdatedAt = fromMicros(expires), fromMicros(due), nullTime(paid), fromMicros(created), fromMicros(updated)
	return j, nil
}

const paymentCols = `reference, job_reference, tenant_id, status, currency, amount, authorised, captured, refunded, pending_amount,
	settled_amount, capture_closed, first_capture_at, last_capture_at, hold_id, moto, card_id, masked_pan, three_ds, cvc_result,
	page_token, acquiring, txn_id, void_txn_id, token, paid_at, created_at, updated_at, fee_charged, fee_returned, payment_method`

func scanPayment(row interface{ Scan(...any) error }) (*payment, error) {
	p := &payment{}
	var cur string
	var first, last, paid sql.NullInt64
	var created, updated int64
	if err := row.Scan(&p.Ref, &p.JobRef, &p.TenantID, &p.Status, &cur, &p.Amount, &p.Authorised, &p.Captured, &p.Refunded,
		&p.PendingAmount, &p.Settled, &p.CaptureClosed, &first, &last, &p.HoldID, &p.MOTO, &p.CardID, &p.MaskedPAN, &p.ThreeDS,
		&p.CVCResult, &p.PageToken, &p.Acquiring, &p.TxnID, &p.VoidTxnID, &p.Token, &paid, &created, &updated, &p.FeeCharged, &p.FeeReturned,
		&p.Method); err != nil {
		return nil, err
	}
	c, err := money.ParseCurrency(cur)
	if err != nil {
		return nil, err
	}
	p.Currency = c
	p.FirstCaptureAt, p.LastCaptureAt, p.PaidAt = nullTime(first), nullTime(last), nullTime(paid)
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return p, nil
}

// The lists of a job's payments and of their steps, captures and refunds
// (GET of a payment job answers them all).
const (
	sqlJobPayments = `SELECT ` + paymentCols + ` FROM gateway_payments WHERE job_reference = $1 ORDER BY created_at, reference`
	sqlJobSteps    = `SELECT s.payment_reference, s.reference, s.seq, s.action, s.status, s.amount, s.message, s.created_at
		FROM gateway_steps s JOIN gateway_payments p ON p.reference = s.payment_reference WHERE p.job_reference = $1 ORDER BY s.seq`
	sqlJobCaptures = `SELECT c.payment_reference, c.reference, c.amount, c.is_final, c.status, c.txn_id, c.created_at
		FROM gateway_captures c JOIN gateway_payments p ON p.reference = c.payment_reference WHERE p.job_reference = $1 ORDER BY c.created_at, c.reference`
	sqlJobRefunds = `SELECT f.payment_reference, f.reference, f.refund_number, f.amount, f.status, f.txn_id, f.created_at
		FROM gateway_refunds f JOIN gateway_payments p ON p.reference = f.payment_reference WHERE p.job_reference = $1 ORDER BY f.created_at, f.reference`
)

// loadJob reads the tenant's job ref with its payments (and their steps,
// captures and refunds). lock locks the job row (PostgreSQL) so that
// concurrent changes of one job serialise.
func (s *Service) loadJob(ctx context.Context, q store.Querier, tenantID, ref string, lock bool) (*job, error) {
	if !isReference(ref) {
		return nil, apperr.New(apperr.NotFound, "Payment job not found.")
	}
	suffix := ""
	if lock {
		suffix = s.DB.ForUpdate()
	}
	j, err := scanJob(q.QueryRowContext(ctx, `SELECT `+jobCols+` FROM gateway_jobs WHERE reference = $1 AND tenant_id = $2`+suffix, ref, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "Payment job not found.")
	}
	if err != nil {
		return nil, fmt.Errorf("gateway: load job: %w", err)
	}
	// With lock the payments are locked too: the settlement batch locks
	// payments (not jobs), so a change of a job must read its payments'
	// amounts only once the batch is done with them.
	rows, err := q.QueryContext(ctx, sqlJobPayments+suffix, ref)
	if err != nil {
		return nil, fmt.Errorf("gateway: load payments: %w", err)
	}
	byRef := map[string]*payment{}
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		j.Payments = append(j.Payments, p)
		byRef[p.Ref] = p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(j.Payments) == 0 {
		return j, nil
	}
	// Each child row names its payment; loadJob reads from one snapshot
	// (Transact or Snapshot), so every one belongs to a payment read above.
	if err := attach(ctx, q, sqlJobSteps, ref, "step", byRef,
		func(r *sql.Rows, st *step, at *int64) (string, error) {
			var pr string
			err := r.Scan(&pr, &st.Ref, &st.Seq, &st.Action, &st.Status, &st.Amount, &st.Message, at)
			return pr, err
		},
		func(p *payment, st step, at int64) { st.CreatedAt = fromMicros(at); p.Steps = append(p.Steps, st) }); err != nil {
		return nil, err
	}
	if err := attach(ctx, q, sqlJobCaptures, ref, "capture", byRef,
		func(r *sql.Rows, c *capture, at *int64) (string, error) {
			var pr string
			err := r.Scan(&pr, &c.Ref, &c.Amount, &c.Final, &c.Status, &c.TxnID, at)
			return pr, err
		},
		func(p *payment, c capture, at int64) {
			c.CreatedAt = fromMicros(at)
			p.Captures = append(p.Captures, c)
		}); err != nil {
		return nil, err
	}
	if err := attach(ctx, q, sqlJobRefunds, ref, "refund", byRef,
		func(r *sql.Rows, f *refund, at *int64) (string, error) {
			var pr string
			err := r.Scan(&pr, &f.Ref, &f.Number, &f.Amount, &f.Status, &f.TxnID, at)
			return pr, err
		},
		func(p *payment, f refund, at int64) { f.CreatedAt = fromMicros(at); p.Refunds = append(p.Refunds, f) }); err != nil {
		return nil, err
	}
	return j, nil
}

// attach reads the rows of one kind of child (steps, captures, refunds) of
// a job's payments: scan fills a T and its created_at and returns the
// payment's reference, add hangs the row on its payment. A row of a payment
// that was not read is an inconsistent read, reported as an error.
func attach[T any](ctx context.Context, q store.Querier, query, ref, kind string, byRef map[string]*payment,
	scan func(r *sql.Rows, v *T, at *int64) (string, error), add func(p *payment, v T, at int64)) error {
	return eachRow(ctx, q, query, ref, func(r *sql.Rows) error {
		var v T
		var at int64
		pr, err := scan(r, &v, &at)
		if err != nil {
			return err
		}
		p := byRef[pr]
		if p == nil {
			return fmt.Errorf("gateway: %s row of payment %s outside job %s: inconsistent read", kind, pr, ref)
		}
		add(p, v, at)
		return nil
	})
}

func eachRow(ctx context.Context, q store.Querier, query string, arg any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, arg)
	if err != nil {
		return fmt.Errorf("gateway: query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (j *job) payment(ref string) (*payment, error) {
	for _, p := range j.Payments {
		if p.Ref == ref {
			return p, nil
		}
	}
	return nil, apperr.New(apperr.NotFound, "Payment not found.")
}

// isReference reports whether s looks like a numeric reference.
func isReference(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkURL accepts absolute http(s) URLs only.
func checkURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(raw) > 2000 {
		return apperr.InvalidField(field, "%s must be an absolute http or https URL.", field)
	}
	return nil
}

// returnURL appends the job and payment references (and the order number)
// to a return URL, as the guide shows:
// https://shop/?paymentjobref=…&paymentref=…&ordernumber=Payment+ref+D1[&status=cancelled].
func returnURL(base, jobRef, payRef, orderNumber string, cancelled bool) string {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
		if strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&") {
			sep = ""
		}
	}
	s := base + sep + "paymentjobref=" + jobRef + "&paymentref=" + payRef
	if orderNumber != "" {
		s += "&ordernumber=" + url.QueryEscape(orderNumber)
	}
	if cancelled {
		s += "&status=cancelled"
	}
	return s
}
