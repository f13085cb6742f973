package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
)

// JobState is the state of a job.
type JobState string

// The job states.
const (
	JobReady   JobState = "ready"   // waiting for run_at
	JobRunning JobState = "running" // claimed by a worker until locked_until
	JobDone    JobState = "done"    // the handler returned nil
	JobFailed  JobState = "failed"  // the handler returned a Permanent error: never retried
	JobDead    JobState = "dead"    // max_attempts attempts in a row failed
)

// DefaultMaxAttempts is used when JobSpec.MaxAttempts is 0.
const DefaultMaxAttempts = 10

// JobSpec describes a job to enqueue.
type JobSpec struct {
	Kind     string // required; selects the HandlerFunc
	TenantID string // "" for installation-wide jobs
	// Payload is a json.RawMessage or any value that encodes to JSON.
	Payload any
	// RunAt is when the job becomes due; zero means now.
	RunAt time.Time
	// UniqueKey, when set, makes Enqueue a no-op if a job with the same key
	// exists in any state, so "settlement:<tenant>:2026-11-21" runs once.
	UniqueKey string
	// MaxAttempts bounds consecutive failed attempts (DefaultMaxAttempts when 0).
	MaxAttempts int
}

// Job is a stored job, as handed to a HandlerFunc.
type Job struct {
	ID       string
	Kind     string
	TenantID string
	Payload  json.RawMessage
	RunAt    time.Time
	State    JobState
	// Attempt counts the attempts since the job was enqueued or last
	// rescheduled with RetryAt; inside a handler it is 1 on the first run.
	Attempt     int
	MaxAttempts int
	LastError   string
	UniqueKey   string
	CreatedAt   time.Time
	UpdatedAt   time.Time

	// lockedUntil is the end of the claim the handler runs under (set by
	// the Runner's claim): with Attempt it identifies that claim, so a
	// handler can fence its own writes on still holding it (see
	// Webhooks.beginAttempt).
	lockedUntil time.Time
}

// Enqueue adds a job in the caller's transaction tx (or in its own
// transaction when tx is nil). It returns the job id and whether a new job
// was created: with a UniqueKey that is already taken, it returns the
// existing job's id and false.
func (o *Outbox) Enqueue(ctx context.Context, tx *store.Tx, spec JobSpec) (id string, created bool, err error) {
	if tx == nil {
		err = o.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			id, created, err = o.Enqueue(ctx, tx, spec)
			return err
		})
		return id, created, err
	}
	if strings.TrimSpace(spec.Kind) == "" {
		return "", false, apperr.InvalidField("kind", "job kind is required")
	}
	payload, err := marshalJSON(spec.Payload, "job payload")
	if err != nil {
		return "", false, err
	}
	if spec.MaxAttempts < 0 {
		return "", false, apperr.InvalidField("maxAttempts", "max attempts must not be negative")
	}
	if spec.MaxAttempts == 0 {
		spec.MaxAttempts = DefaultMaxAttempts
	}
	now := o.now()
	runAt := spec.RunAt.UTC().Truncate(time.Microsecond)
	if spec.RunAt.IsZero() {
		runAt = now
	}
	var unique any
	if spec.UniqueKey != "" {
		unique = spec.UniqueKey
	}
	id = o.ids.ID("job")
	// ON CONFLICT DO NOTHING instead of catching the unique violation: on
	// PostgreSQL a failed statement would abort the caller's transaction.
	res, err := tx.ExecContext(ctx,
		`INSERT INTO jobs (id, kind, tenant_id, payload, run_at, state, attempts, max_attempts, unique_key, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, 'ready', 0, $6, $7, $8, $8) ON CONFLICT DO NOTHING`,
		id, spec.Kind, spec.TenantID, payload, micros(runAt), spec.MaxAttempts, unique, micros(now))
	if err != nil {
		return "", false, fmt.Errorf("outbox: enqueue %s: %w", spec.Kind, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return "", false, fmt.Errorf("outbox: enqueue %s: %w", spec.Kind, err)
	} else if n == 1 {
		return id, true, nil
	}
	if spec.UniqueKey == "" {
		return "", false, fmt.Errorf("outbox: enqueue %s: job id collision", spec.Kind)
	}
	if err := tx.QueryRowContext(ctx, `SELECT id FROM jobs WHERE unique_key = $1`, spec.UniqueKey).Scan(&id); err != nil {
		return "", false, fmt.Errorf("outbox: enqueue %s: find job with unique key: %w", spec.Kind, err)
	}
	return id, false, nil
}

const jobColumns = `id, kind, tenant_id, payload, run_at, state, attempts, max_attempts, last_error, unique_key, created_at, updated_at`

func scanJob(s interface{ Scan(...any) error }) (Job, error) {
	var j Job
	var payload string
	var runAt, created, updated int64
	var unique sql.NullString
	if err := s.Scan(&j.ID, &j.Kind, &j.TenantID, &payload, &runAt, &j.State, &j.Attempt, &j.MaxAttempts,
		&j.LastError, &unique, &created, &updated); err != nil {
		return Job{}, err
	}
	j.Payload = json.RawMessage(payload)
	j.RunAt, j.CreatedAt, j.UpdatedAt = fromMicros(runAt), fromMicros(created), fromMicros(updated)
	j.UniqueKey = unique.String
	return j, nil
}

// GetJob returns a job by id (for operators and tests).
func (o *Outbox) GetJob(ctx context.Context, id string) (Job, error) {
	j, err := scanJob(o.db.Read().QueryRowContext(ctx, "SELECT "+jobColumns+" FROM jobs WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, apperr.New(apperr.NotFound, "job %q not found", id)
	}
	if err != nil {
		return Job{}, fmt.Errorf("outbox: get job: %w", err)
	}
	return j, nil
}

// Retry is the error a HandlerFunc returns to reschedule its job at a
// specific time instead of the default backoff. It starts a fresh series of
// attempts: the attempt counter is reset, so a job that reschedules itself
// on purpose (a webhook delivery following its schedule) never goes dead
// for it.
type Retry struct {
	At     time.Time
	Reason error // optional: recorded as the job's last error
}

// RetryAt returns a *Retry for at.
func RetryAt(at time.Time) error { return &Retry{At: at} }

func (r *Retry) Error() string {
	s := "retry at " + r.At.UTC().Format(time.RFC3339Nano)
	if r.Reason != nil {
		s += ": " + r.Reason.Error()
	}
	return s
}

// Unwrap returns the reason.
func (r *Retry) Unwrap() error { return r.Reason }

// permanent marks an error that must not be retried.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps err so that the job fails at once (state failed) instead
// of being retried.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was wrapped by Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}
