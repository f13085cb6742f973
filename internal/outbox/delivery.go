package outbox

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/telemetry"
)

// DeliveryState is the state of a webhook delivery.
type DeliveryState string

// The delivery states.
const (
	DeliveryPending   DeliveryState = "pending"   // attempts follow the schedule
	DeliverySucceeded DeliveryState = "succeeded" // an attempt was acknowledged
	DeliveryFailed    DeliveryState = "failed"    // the schedule ran out (or the endpoint went away)
)

func (s DeliveryState) valid() bool {
	return s == DeliveryPending || s == DeliverySucceeded || s == DeliveryFailed
}

// Delivery is one event sent to one endpoint — or, for a callback
// (Webhooks.Callback), to one URL the caller supplied —, over one or more
// attempts. Its id is the webhook-id header of every attempt.
type Delivery struct {
	ID       string `json:"id"`
	TenantID string `json:"tenantId"`
	// EndpointID is the endpoint delivered to; "" for a callback.
	EndpointID string `json:"endpointId"`
	// TargetURL is the URL a callback is delivered to; "" for an endpoint
	// delivery (it goes to the endpoint's current URL).
	TargetURL      string        `json:"targetUrl,omitempty"`
	EventID        string        `json:"eventId"`
	EventType      string        `json:"eventType"`
	State          DeliveryState `json:"state"`
	Attempts       int           `json:"attempts"`
	FirstAttemptAt *time.Time    `json:"firstAttemptAt,omitempty"`
	LastAttemptAt  *time.Time    `json:"lastAttemptAt,omitempty"`
	NextAttemptAt  *time.Time    `json:"nextAttemptAt,omitempty"`
	LastStatusCode int           `json:"lastStatusCode,omitempty"`
	LastError      string        `json:"lastError,omitempty"`
	CreatedAt      time.Time     `json:"createdAt"`
	UpdatedAt      time.Time     `json:"updatedAt"`
}

// AttemptState is the state of one attempt in the delivery log.
type AttemptState string

// The attempt states. An attempt is recorded in flight, in a committed
// transaction of its own, before its request is sent, so the log never
// under-reports what a receiver may have got.
const (
	// AttemptInFlight: the request is being sent (or its worker died and
	// no later claim of the delivery has looked yet).
	AttemptInFlight AttemptState = "in_flight"
	// AttemptCompleted: the attempt has its outcome (response or error).
	AttemptCompleted AttemptState = "completed"
	// AttemptInterrupted: the worker stopped (a crash, a lost lease)
	// before recording the outcome; the receiver may or may not have got
	// the request. A later claim marked it and made a new attempt.
	AttemptInterrupted AttemptState = "interrupted"
)

// interruptedError is the error of an interrupted attempt in the log.
const interruptedError = "interrupted: the worker stopped before the outcome was recorded; the receiver may have got this attempt"

// Attempt is one row of the delivery log.
type Attempt struct {
	DeliveryID  string       `json:"deliveryId"`
	Attempt     int          `json:"attempt"`
	State       AttemptState `json:"state"`
	AttemptedAt time.Time    `json:"attemptedAt"`
	Manual      bool         `json:"manual"`
	// StatusCode is 0 when no response arrived (timeout, refused connection).
	StatusCode int `json:"statusCode,omitempty"`
	// ResponseBody is the first 4 KiB of the response body.
	ResponseBody string `json:"responseBody,omitempty"`
	Error        string `json:"error,omitempty"`
	DurationMS   int64  `json:"durationMs"`
	Acknowledged bool   `json:"acknowledged"`
}

// DeliveryDetail is a delivery with its attempt log.
type DeliveryDetail struct {
	Delivery
	AttemptLog []Attempt `json:"attemptLog"`
}

// DeliveryFilter selects deliveries of a tenant.
type DeliveryFilter struct {
	EndpointID string
	EventID    string
	State      DeliveryState
	PageRequest
}

// DeliveryPage is one page of deliveries, newest first.
type DeliveryPage struct {
	Items      []Delivery `json:"items"`
	NextCursor string     `json:"nextCursor,omitempty"`
}

const deliveryColumns = `id, tenant_id, endpoint_id, target_url, event_id, event_type, state, attempts, first_attempt_at, last_attempt_at,
	next_attempt_at, last_status, last_error, created_at, updated_at`

func scanDelivery(s interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	var first, last, next, status sql.NullInt64
	var created, updated int64
	if err := s.Scan(&d.ID, &d.TenantID, &d.EndpointID, &d.TargetURL, &d.EventID, &d.EventType, &d.State, &d.Attempts,
		&first, &last, &next, &status, &d.LastError, &created, &updated); err != nil {
		return Delivery{}, err
	}
	d.FirstAttemptAt, d.LastAttemptAt, d.NextAttemptAt = nullMicros(first), nullMicros(last), nullMicros(next)
	d.LastStatusCode = int(status.Int64)
	d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
	return d, nil
}

func (w *Webhooks) delivery(ctx context.Context, q store.Querier, tenantID, id string) (Delivery, error) {
	d, err := scanDelivery(q.QueryRowContext(ctx,
		"SELECT "+deliveryColumns+" FROM webhook_deliveries WHERE id = $1 AND tenant_id = $2", id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, apperr.New(apperr.NotFound, "webhook delivery %q not found", id)
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("outbox: get delivery: %w", err)
	}
	return d, nil
}

// ListDeliveries returns the tenant's deliveries, newest first.
func (w *Webhooks) ListDeliveries(ctx context.Context, tenantID string, f DeliveryFilter) (DeliveryPage, error) {
	q := w.db.Read()
	if f.State != "" && !f.State.valid() {
		return DeliveryPage{}, apperr.InvalidField("state", "state must be pending, succeeded or failed, not %q", f.State)
	}
	limit, after, err := f.page(ctx, q, "webhook_deliveries", tenantID)
	if err != nil {
		return DeliveryPage{}, err
	}
	query, args := deliveriesQuery(tenantID, f, limit, after)
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return DeliveryPage{}, fmt.Errorf("outbox: list deliveries: %w", err)
	}
	defer rows.Close()
	items := []Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return DeliveryPage{}, fmt.Errorf("outbox: list deliveries: %w", err)
		}
		items = append(items, d)
	}
	if err := rows.Err(); err != nil {
		return DeliveryPage{}, fmt.Errorf("outbox: list deliveries: %w", err)
	}
	var p DeliveryPage
	p.Items, p.NextCursor = nextCursor(items, limit, func(d Delivery) string { return d.ID })
	return p, nil
}

// deliveriesQuery is the SELECT of one page of deliveries (one row more
// than limit, to know whether another page follows).
func deliveriesQuery(tenantID string, f DeliveryFilter, limit int, after *keyset) (string, []any) {
	var qb query
	qb.and("tenant_id = ?", tenantID)
	if f.EndpointID != "" {
		qb.and("endpoint_id = ?", f.EndpointID)
	}
	if f.EventID != "" {
		qb.and("event_id = ?", f.EventID)
	}
	if f.State != "" {
		qb.and("state = ?", string(f.State))
	}
	after.and(&qb)
	return "SELECT " + deliveryColumns + " FROM webhook_deliveries" + qb.sql() +
		" ORDER BY created_at DESC, id DESC LIMIT " + qb.arg(limit+1), qb.args
}

// sqlAttemptLog lists a delivery's attempts in order.
const sqlAttemptLog = `SELECT delivery_id, attempt, state, attempted_at, manual, status_code, response_body, error, duration_ms, acknowledged
FROM webhook_attempts WHERE delivery_id = $1 AND tenant_id = $2 ORDER BY attempt`

// GetDelivery returns a delivery of the tenant with its attempt log.
func (w *Webhooks) GetDelivery(ctx context.Context, tenantID, id string) (DeliveryDetail, error) {
	q := w.db.Read()
	d, err := w.delivery(ctx, q, tenantID, id)
	if err != nil {
		return DeliveryDetail{}, err
	}
	rows, err := q.QueryContext(ctx, sqlAttemptLog, id, tenantID)
	if err != nil {
		return DeliveryDetail{}, fmt.Errorf("outbox: delivery attempts: %w", err)
	}
	defer rows.Close()
	out := DeliveryDetail{Delivery: d, AttemptLog: []Attempt{}}
	for rows.Next() {
		var a Attempt
		var at int64
		var status sql.NullInt64
		if err := rows.Scan(&a.DeliveryID, &a.Attempt, &a.State, &at, &a.Manual, &status, &a.ResponseBody, &a.Error,
			&a.DurationMS, &a.Acknowledged); err != nil {
			return DeliveryDetail{}, fmt.Errorf("outbox: delivery attempts: %w", err)
		}
		a.AttemptedAt, a.StatusCode = fromMicros(at), int(status.Int64)
		out.AttemptLog = append(out.AttemptLog, a)
	}
	if err := rows.Err(); err != nil {
		return DeliveryDetail{}, fmt.Errorf("outbox: delivery attempts: %w", err)
	}
	return out, nil
}

// Resend queues a manual attempt of a delivery, due now, whatever its state.
// A manual attempt that is acknowledged makes the delivery succeeded; one
// that is not leaves the state and the schedule as they were. The endpoint
// must still exist and be enabled; a callback is resent to its TargetURL.
func (w *Webhooks) Resend(ctx context.Context, tenantID, id string) (Delivery, error) {
	var d Delivery
	err := w.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		if d, err = w.delivery(ctx, tx, tenantID, id); err != nil {
			return err
		}
		if !d.callback() {
			ep, err := w.endpoint(ctx, tx, tenantID, d.EndpointID, "")
			if apperr.Is(err, apperr.NotFound) {
				return apperr.New(apperr.Conflict, "the endpoint of delivery %q was deleted", id)
			}
			if err != nil {
				return err
			}
			if !ep.Enabled {
				return apperr.New(apperr.Conflict, "webhook endpoint %q is disabled; enable it before resending", ep.ID)
			}
		}
		if _, _, err = w.ob.Enqueue(ctx, tx, JobSpec{Kind: KindWebhookDelivery, TenantID: tenantID,
			Payload: deliverPayload{DeliveryID: id, Manual: true}}); err != nil {
			return err
		}
		return httpx.Answer(ctx, tx, d) // the answer commits with the queued attempt
	})
	return d, err
}

// webhookBody is the JSON body of a delivery.
type webhookBody struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	TenantID  string          `json:"tenantId"`
	CreatedAt time.Time       `json:"createdAt"`
	Data      json.RawMessage `json:"data"`
}

// Limits on what is read and kept of a response.
const (
	ackBodyLimit    = 64 << 10 // what an Acknowledger sees
	loggedBodyLimit = 4 << 10  // what the attempt log keeps
)

// attemptResult is the outcome of one HTTP attempt.
type attemptResult struct {
	status int
	body   []byte
	err    error
	took   time.Duration
}

func (a attemptResult) errText() string {
	if a.err != nil {
		return errorText(a.err)
	}
	return ""
}

// deliver is the KindWebhookDelivery job handler: one attempt of a delivery.
func (w *Webhooks) deliver(ctx context.Context, job Job) error {
	var p deliverPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil || p.DeliveryID == "" {
		return Permanent(fmt.Errorf("bad webhook job payload %s", job.Payload))
	}
	if err := w.markInterrupted(ctx, job, p.DeliveryID); err != nil {
		return err
	}
	q := w.db.Read()
	d, err := w.delivery(ctx, q, job.TenantID, p.DeliveryID)
	if apperr.Is(err, apperr.NotFound) {
		w.log.Warn("webhook delivery vanished", "delivery", p.DeliveryID)
		return nil
	}
	if err != nil {
		return err
	}
	if !p.Manual && d.State != DeliveryPending {
		return nil
	}
	if d.callback() {
		return w.attempt(ctx, job, d, p.Manual, nil)
	}
	ep, err := w.endpoint(ctx, q, d.TenantID, d.EndpointID, "")
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return err
	}
	if err != nil || !ep.Enabled {
		reason := "endpoint deleted"
		if err == nil {
			reason = "endpoint disabled"
		}
		if p.Manual {
			w.log.Info("manual webhook resend skipped", "delivery", d.ID, "reason", reason)
			return nil
		}
		return w.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.ExecContext(ctx,
				`UPDATE webhook_deliveries SET state = 'failed', last_error = $1, next_attempt_at = NULL, updated_at = $2
				 WHERE id = $3 AND state = 'pending'`, reason, micros(w.ob.now()), d.ID)
			return err
		})
	}
	return w.attempt(ctx, job, d, p.Manual, &ep)
}

// markInterrupted marks the attempts of delivery id that a dead worker left
// in flight as interrupted: those of job (this claim of it has not made
// one yet, so any in flight is an earlier claim's, whose lease ran out)
// and those of any job that no longer holds a live claim. The attempts
// counter counted them when they began.
func (w *Webhooks) markInterrupted(ctx context.Context, job Job, id string) error {
	// The common case, nothing in flight, costs a read and no write.
	var inFlight int
	if err := w.db.Read().QueryRowContext(ctx,
		`SELECT COUNT(*) FROM webhook_attempts WHERE delivery_id = $1 AND tenant_id = $2 AND state = 'in_flight'`,
		id, job.TenantID).Scan(&inFlight); err != nil {
		return fmt.Errorf("outbox: webhook attempts in flight: %w", err)
	}
	if inFlight == 0 {
		return nil
	}
	var n int64
	err := w.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE webhook_attempts SET state = 'interrupted', error = $1
			 WHERE delivery_id = $2 AND tenant_id = $3 AND state = 'in_flight'
			 AND (job_id = $4 OR job_id NOT IN (SELECT id FROM jobs WHERE state = 'running' AND locked_until > $5))`,
			interruptedError, id, job.TenantID, job.ID, micros(w.ob.now()))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("outbox: mark interrupted webhook attempts: %w", err)
	}
	if n > 0 {
		w.log.Warn("webhook attempts interrupted by a stopped worker; attempting again", "delivery", id, "interrupted", n)
	}
	return nil
}

// errLeaseLost is returned by beginAttempt when the job's claim has
// ended (its lease ran out and another claim may be running it): the
// attempt is not made.
var errLeaseLost = errors.New("outbox: the claim of the delivery job ended before the attempt")

// beginAttempt records attempt number n of d, in flight, in a committed
// transaction of its own before the request is sent, and counts it. It is
// fenced on job's claim (the job row locked, still running under the same
// claim), so a worker whose lease ran out never sends. Attempt numbers
// come from the delivery's counter under its row lock: one attempt per
// number.
func (w *Webhooks) beginAttempt(ctx context.Context, job Job, d Delivery, manual bool, at time.Time) (int, error) {
	var n int
	err := w.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		if job.ID != "" {
			var one int
			err := tx.QueryRowContext(ctx,
				`SELECT 1 FROM jobs WHERE id = $1 AND state = 'running' AND attempts = $2 AND locked_until = $3`+w.db.ForUpdate(),
				job.ID, job.Attempt, micros(job.lockedUntil)).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return errLeaseLost
			}
			if err != nil {
				return err
			}
		}
		if err := tx.QueryRowContext(ctx,
			`UPDATE webhook_deliveries SET attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, $1), updated_at = $1
			 WHERE id = $2 RETURNING attempts`, micros(at), d.ID).Scan(&n); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO webhook_attempts (delivery_id, attempt, tenant_id, state, job_id, attempted_at, manual, status_code, response_body, error, duration_ms, acknowledged)
			 VALUES ($1, $2, $3, 'in_flight', $4, $5, $6, NULL, '', '', 0, $7)`,
			d.ID, n, d.TenantID, job.ID, micros(at), manual, false)
		return err
	})
	return n, err
}

// callback reports whether d is a callback (Webhooks.Callback) rather than a
// delivery to an endpoint.
func (d Delivery) callback() bool { return d.EndpointID == "" }

// attempt makes one attempt of d — to ep, signed, or for a callback (ep
// nil) to d.TargetURL, unsigned —: it records the attempt in flight
// (beginAttempt), sends it, then records the outcome in the attempt log
// and moves the delivery along its schedule.
func (w *Webhooks) attempt(ctx context.Context, job Job, d Delivery, manual bool, ep *endpointRow) error {
	ev, err := w.ob.GetEvent(ctx, d.TenantID, d.EventID)
	if err != nil {
		return err
	}
	at := w.ob.now()
	n, err := w.beginAttempt(ctx, job, d, manual, at)
	if errors.Is(err, errLeaseLost) {
		w.log.Warn("webhook attempt not made: the job's lease ran out", "delivery", d.ID, "job", job.ID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("outbox: record webhook attempt: %w", err)
	}
	res := w.send(ctx, d, ep, ev, n, at)
	ack := res.err == nil && w.acknowledger(ev.Type)(ev, res.status, res.body)
	if res.err == nil && !ack {
		res.err = fmt.Errorf("not acknowledged: HTTP %d", res.status)
	}
	// The outcome is recorded even when the handler's context ended (the
	// request was sent): a context of its own keeps the log complete.
	rctx := context.WithoutCancel(ctx)
	var next time.Time
	late := false
	err = w.db.Transact(rctx, func(ctx context.Context, tx *store.Tx) error {
		next, late = time.Time{}, false
		var latest int
		var state DeliveryState
		var first, nextAt sql.NullInt64
		if err := tx.QueryRowContext(ctx,
			`UPDATE webhook_deliveries SET updated_at = $1 WHERE id = $2
			 RETURNING attempts, state, first_attempt_at, next_attempt_at`, micros(at), d.ID).Scan(&latest, &state, &first, &nextAt); err != nil {
			return err
		}
		var status any
		if res.status != 0 {
			status = res.status
		}
		logged := res.body[:min(len(res.body), loggedBodyLimit)]
		text := strings.ReplaceAll(strings.ToValidUTF8(string(logged), "\uFFFD"), "\x00", "")
		// An attempt marked interrupted meanwhile (this worker outlived its
		// lease) gets its real outcome: it did happen.
		if _, err := tx.ExecContext(ctx,
			`UPDATE webhook_attempts SET state = 'completed', status_code = $1, response_body = $2, error = $3, duration_ms = $4, acknowledged = $5
			 WHERE delivery_id = $6 AND attempt = $7 AND state IN ('in_flight', 'interrupted')`,
			status, text, res.errText(), res.took.Milliseconds(), ack, d.ID, n); err != nil {
			return err
		}
		firstAt := at
		if first.Valid {
			firstAt = fromMicros(first.Int64)
		}
		switch {
		case ack:
			state, nextAt = DeliverySucceeded, sql.NullInt64{}
		case state != DeliveryPending, manual, n != latest:
			// A manual attempt that failed, a scheduled one that lost a race
			// with a manual success, or a late outcome of an attempt a later
			// one followed: state and schedule stay.
		default:
			if off, ok := w.opt.Schedule.Next(at.Sub(firstAt)); ok {
				next = firstAt.Add(off)
				nextAt = sql.NullInt64{Int64: micros(next), Valid: true}
			} else {
				state, nextAt = DeliveryFailed, sql.NullInt64{}
			}
		}
		if late = n != latest; late && !ack {
			return nil // the latest attempt's outcome stays the delivery's
		}
		_, err := tx.ExecContext(ctx,
			`UPDATE webhook_deliveries SET state = $1, first_attempt_at = $2, last_attempt_at = $3, next_attempt_at = $4,
			 last_status = $5, last_error = $6, updated_at = $3 WHERE id = $7`,
			string(state), micros(firstAt), micros(at), nextAt, status, res.errText(), d.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("outbox: record webhook attempt: %w", err)
	}
	log := w.log.With("delivery", d.ID, "event", ev.ID, "attempt", n, "status", res.status, "manual", manual)
	endpoint := "callback"
	if ep != nil {
		endpoint = ep.ID
		log = log.With("endpoint", ep.ID)
	} else {
		log = log.With("callback_host", urlHost(d.TargetURL))
	}
	if w.opt.OnAttempt != nil {
		w.opt.OnAttempt(endpoint, ack)
	}
	switch {
	case ack:
		log.Info("webhook delivered")
	case late:
		log.Warn("late outcome of a webhook attempt that a later attempt followed", "err", res.err)
	case !next.IsZero():
		log.Warn("webhook attempt failed; retrying", "err", res.err, "next_attempt_at", next)
		return &Retry{At: next, Reason: res.err}
	case !manual:
		log.Error("webhook delivery failed: retry schedule exhausted", "err", res.err)
	default:
		log.Warn("manual webhook attempt failed", "err", res.err)
	}
	return nil
}

// send renders ev and posts it as attempt n of d, in a client span.
func (w *Webhooks) send(ctx context.Context, d Delivery, ep *endpointRow, ev Event, n int, at time.Time) attemptResult {
	ctx, span := w.tracer.Start(ctx, "webhook.deliver", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("cashgate.delivery", d.ID), attribute.String("cashgate.event_type", ev.Type), attribute.Int("cashgate.attempt", n)))
	defer span.End()
	if ep != nil {
		span.SetAttributes(attribute.String("cashgate.endpoint", ep.ID))
	}
	var res attemptResult
	if body, ctype, err := w.renderer(ev.Type)(ev); err != nil {
		res.err = fmt.Errorf("rendering the %s body: %w", ev.Type, err)
	} else {
		res = w.post(ctx, d, ep, body, ctype, at)
	}
	if res.status != 0 {
		span.SetAttributes(attribute.Int("http.response.status_code", res.status))
	}
	if res.err != nil {
		span.SetStatus(codes.Error, res.errText())
	}
	return res
}

// post makes one HTTP attempt of delivery d with body: to ep, signed, or
// for a callback (ep nil) to d.TargetURL, with webhook-id and
// webhook-timestamp but no webhook-signature.
func (w *Webhooks) post(ctx context.Context, d Delivery, ep *endpointRow, body []byte, contentType string, at time.Time) attemptResult {
	start := time.Now()
	fail := func(err error) attemptResult { return attemptResult{err: err, took: time.Since(start)} }
	msgID, target := d.ID, d.TargetURL
	var secrets []string
	if ep != nil {
		target = ep.URL
		secrets = append(secrets, ep.secret)
		if ep.previous != "" && ep.previousUntil.Valid && at.Before(fromMicros(ep.previousUntil.Int64)) {
			secrets = append(secrets, ep.previous)
		}
	}
	sigs := make([]string, 0, len(secrets))
	for _, sealed := range secrets {
		secret, err := w.unseal(sealed, ep.ID)
		if err != nil {
			return fail(err)
		}
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			return fail(fmt.Errorf("endpoint %s secret: %w", ep.ID, err))
		}
		sig, err := wh.Sign(msgID, at, body)
		if err != nil {
			return fail(err)
		}
		sigs = append(sigs, sig)
	}
	ctx, cancel := context.WithTimeout(ctx, w.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fail(err)
	}
	if contentType == "" {
		contentType = "application/json"
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "cashgate-webhooks/1")
	telemetry.Propagator().Inject(ctx, propagation.HeaderCarrier(req.Header))
	req.Header.Set(standardwebhooks.HeaderWebhookID, msgID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	if len(sigs) > 0 {
		req.Header.Set(standardwebhooks.HeaderWebhookSignature, strings.Join(sigs, " "))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return fail(w.describe(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, ackBodyLimit))
	res := attemptResult{status: resp.StatusCode, body: b, took: time.Since(start)}
	if err != nil {
		res.err = fmt.Errorf("reading the response: %w", w.describe(err))
	}
	return res
}

// describe makes transport errors readable in the attempt log.
func (w *Webhooks) describe(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("timeout: no complete response within %s: %w", w.opt.Timeout, err)
	}
	return err
}

// urlHost returns the host of a URL for logs (a callback URL's path and
// query may carry tokens).
func urlHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}
