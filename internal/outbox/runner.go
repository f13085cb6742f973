package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/store"
)

// HandlerFunc runs one job. It returns nil when the job is done, a *Retry
// (RetryAt) to run it again at a given time, an error wrapped by Permanent
// to fail it for good, and any other error to retry it with backoff until
// max_attempts attempts in a row have failed (then it is dead). A panic
// counts as an error. The context is cancelled when the lease runs out.
//
// A handler may run more than once for one job (a worker can crash after
// the handler's effects but before recording the result), so handlers must
// be idempotent.
type HandlerFunc func(ctx context.Context, job Job) error

// RunnerOptions tune a Runner.
type RunnerOptions struct {
	// WorkerID names this worker in locked_by (default host:pid:instance).
	WorkerID string
	// Concurrency is how many jobs run at once (default 4).
	Concurrency int
	// PollInterval is how often Run looks for due jobs when idle (default 1s).
	PollInterval time.Duration
	// Lease is how long a claimed job belongs to this worker (default 5m),
	// for kinds registered without a lease of their own (HandleLease).
	// A handler must finish within it; after it, another worker may claim
	// the job again, as it would for a crashed worker.
	Lease time.Duration
	// Backoff gives the delay after failed attempt n (1-based) (default DefaultBackoff).
	Backoff func(attempt int) time.Duration
}

// DefaultBackoff doubles from 10 seconds per failed attempt, capped at one hour.
func DefaultBackoff(attempt int) time.Duration {
	d := 10 * time.Second
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// Runner claims due jobs and runs their handlers. Several Runners — in one
// process or in several processes on one database — may run at once: a job
// is claimed by one of them at a time (FOR UPDATE SKIP LOCKED on
// PostgreSQL, the single writer on SQLite).
type Runner struct {
	db  *store.DB
	clk clock.Clock
	log *slog.Logger
	opt RunnerOptions

	mu       sync.RWMutex
	handlers map[string]kindHandler
}

// kindHandler is the handler of a job kind and its claim lease.
type kindHandler struct {
	fn    HandlerFunc
	lease time.Duration
}

// NewRunner returns a Runner with no handlers; register them with Handle.
func NewRunner(db *store.DB, clk clock.Clock, log *slog.Logger, opt RunnerOptions) *Runner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 4
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = time.Second
	}
	if opt.Lease <= 0 {
		opt.Lease = 5 * time.Minute
	}
	if opt.Backoff == nil {
		opt.Backoff = DefaultBackoff
	}
	r := &Runner{db: db, clk: clk, opt: opt, handlers: map[string]kindHandler{}}
	if r.opt.WorkerID == "" {
		host, _ := os.Hostname()
		r.opt.WorkerID = fmt.Sprintf("%s:%d:%p", host, os.Getpid(), r)
	}
	r.log = log.With("worker", r.opt.WorkerID)
	return r
}

// WorkerID returns the id this Runner writes in locked_by.
func (r *Runner) WorkerID() string { return r.opt.WorkerID }

// Handle registers fn for jobs of kind. A Runner claims only jobs of the
// kinds it has handlers for. Registering a kind twice panics (a wiring bug).
func (r *Runner) Handle(kind string, fn HandlerFunc) { r.HandleLease(kind, 0, fn) }

// HandleLease registers fn for jobs of kind, claimed for lease instead of
// RunnerOptions.Lease (lease <= 0: RunnerOptions.Lease). A short lease
// makes a job whose worker died run again soon; the handler must finish
// within it.
func (r *Runner) HandleLease(kind string, lease time.Duration, fn HandlerFunc) {
	if kind == "" || fn == nil {
		panic("outbox: Handle needs a kind and a handler")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.handlers[kind]; dup {
		panic("outbox: a handler for job kind " + kind + " is already registered")
	}
	if lease <= 0 {
		lease = r.opt.Lease
	}
	r.handlers[kind] = kindHandler{fn: fn, lease: lease}
}

func (r *Runner) kinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.handlers))
	for k := range r.handlers {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (r *Runner) handler(kind string) HandlerFunc {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.handlers[kind].fn
}

// lease is how long a claim of a job of kind lasts.
func (r *Runner) lease(kind string) time.Duration {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if h, ok := r.handlers[kind]; ok {
		return h.lease
	}
	return r.opt.Lease
}

func (r *Runner) now() time.Time { return r.clk.Now().UTC().Truncate(time.Microsecond) }

// RunDue claims and runs every job due at the clock's current time —
// including jobs that handlers enqueue for now while it runs — and returns
// how many ran. Jobs rescheduled during the call (retries) are left for a
// later call. Tests drive it with a fake clock.
func (r *Runner) RunDue(ctx context.Context) (int, error) {
	cutoff := r.now()
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		jobs, err := r.claim(ctx, r.opt.Concurrency, cutoff)
		if err != nil {
			return total, err
		}
		if len(jobs) == 0 {
			return total, nil
		}
		var wg sync.WaitGroup
		for _, j := range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.execute(ctx, j)
			}()
		}
		wg.Wait()
		total += len(jobs)
	}
}

// Run polls for due jobs and runs them, at most Concurrency at a time, until
// ctx is cancelled. Then it stops claiming, waits for the handlers in flight
// to finish and record their results, and returns nil.
func (r *Runner) Run(ctx context.Context) error {
	n := r.opt.Concurrency
	busy := make(chan struct{}, n)  // one token per running handler
	freed := make(chan struct{}, n) // a handler finished
	var wg sync.WaitGroup
	defer wg.Wait()
	r.log.Info("job runner started", "kinds", strings.Join(r.kinds(), ","), "concurrency", n)
	defer r.log.Info("job runner stopped")
	for {
		if ctx.Err() != nil {
			return nil
		}
		free := n - len(busy)
		full := free == 0
		if free > 0 {
			jobs, err := r.claim(ctx, free, r.now())
			if err != nil && ctx.Err() == nil {
				r.log.Error("claiming jobs failed", "err", err)
			}
			for _, j := range jobs {
				busy <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					r.execute(ctx, j)
					<-busy
					select {
					case freed <- struct{}{}:
					default:
					}
				}()
			}
			// A full batch means more jobs may be due: claim again as soon
			// as a slot frees instead of sleeping a whole poll interval.
			full = len(jobs) == free
		}
		var wake <-chan struct{}
		if full {
			wake = freed
		}
		poll := time.NewTimer(r.opt.PollInterval)
		select {
		case <-ctx.Done():
			poll.Stop()
			return nil
		case <-poll.C:
		case <-wake:
			poll.Stop()
		}
	}
}

// leaseExpired is the last error of a job whose last allowed attempt's
// worker vanished.
const leaseExpired = "lease expired: the worker running the last attempt did not finish"

// claim takes up to n jobs due at now (ready with run_at <= now, or running
// with an expired lease) for this worker.
func (r *Runner) claim(ctx context.Context, n int, now time.Time) ([]Job, error) {
	kinds := r.kinds()
	if len(kinds) == 0 || n <= 0 {
		return nil, nil
	}
	var claimed []Job
	err := r.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		claimed = nil
		var qb query
		nowArg := qb.arg(micros(now))
		limitArg := qb.arg(n)
		ph := make([]string, len(kinds))
		for i, k := range kinds {
			ph[i] = qb.arg(k)
		}
		rows, err := tx.QueryContext(ctx, "SELECT "+jobColumns+" FROM jobs WHERE kind IN ("+strings.Join(ph, ", ")+")"+
			" AND ((state = 'ready' AND run_at <= "+nowArg+") OR (state = 'running' AND locked_until <= "+nowArg+"))"+
			" ORDER BY run_at, id LIMIT "+limitArg+r.db.ForUpdateSkipLocked(), qb.args...)
		if err != nil {
			return err
		}
		var take, dead []Job
		for rows.Next() {
			j, err := scanJob(rows)
			if err != nil {
				rows.Close()
				return err
			}
			if j.State == JobRunning && j.Attempt >= j.MaxAttempts {
				dead = append(dead, j)
			} else {
				take = append(take, j)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		at := micros(now)
		for _, j := range dead {
			if _, err := tx.ExecContext(ctx,
				`UPDATE jobs SET state = 'dead', last_error = $1, locked_by = NULL, locked_until = NULL, updated_at = $2 WHERE id = $3`,
				leaseExpired, at, j.ID); err != nil {
				return err
			}
			r.log.Error("job dead", "job", j.ID, "kind", j.Kind, "attempts", j.Attempt, "err", leaseExpired)
		}
		if len(take) == 0 {
			return nil
		}
		// One update per lease (kinds may have leases of their own).
		byLease := map[time.Time][]int{}
		var untils []time.Time
		for i, j := range take {
			until := now.Add(r.lease(j.Kind))
			if _, seen := byLease[until]; !seen {
				untils = append(untils, until)
			}
			byLease[until] = append(byLease[until], i)
		}
		for _, until := range untils {
			ub := query{args: []any{r.opt.WorkerID, micros(until), at}}
			ids := make([]string, 0, len(byLease[until]))
			for _, i := range byLease[until] {
				ids = append(ids, ub.arg(take[i].ID))
			}
			if _, err := tx.ExecContext(ctx,
				`UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = $1, locked_until = $2, updated_at = $3 WHERE id IN (`+
					strings.Join(ids, ", ")+`)`, ub.args...); err != nil {
				return err
			}
			for _, i := range byLease[until] {
				take[i].State = JobRunning
				take[i].Attempt++
				take[i].lockedUntil = until
			}
		}
		claimed = take
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: claim jobs: %w", err)
	}
	return claimed, nil
}

// execute runs j's handler and records the result. The handler's context
// survives the cancellation of ctx (graceful shutdown lets it finish) but
// ends with the lease.
func (r *Runner) execute(ctx context.Context, j Job) {
	base := context.WithoutCancel(ctx)
	hctx, cancel := context.WithTimeout(base, r.lease(j.Kind))
	start := time.Now()
	err := r.call(hctx, j)
	cancel()
	r.finish(base, j, err, time.Since(start))
}

func (r *Runner) call(ctx context.Context, j Job) (err error) {
	h := r.handler(j.Kind)
	if h == nil {
		return fmt.Errorf("no handler for job kind %q", j.Kind)
	}
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("job handler panicked", "job", j.ID, "kind", j.Kind, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return h(ctx, j)
}

const maxErrorText = 2000

func errorText(err error) string {
	s := err.Error()
	if len(s) > maxErrorText {
		s = strings.ToValidUTF8(s[:maxErrorText], "") + "…"
	}
	return s
}

// finish records the outcome of attempt j.Attempt. The update is fenced on
// (locked_by, attempts): if the lease ran out and another worker claimed the
// job meanwhile, this late result is dropped.
func (r *Runner) finish(ctx context.Context, j Job, err error, took time.Duration) {
	now := r.now()
	state, runAt, attempts, lastErr := JobDone, j.RunAt, j.Attempt, j.LastError
	var retry *Retry
	switch {
	case err == nil:
	case errors.As(err, &retry):
		state, attempts, lastErr = JobReady, 0, ""
		if retry.Reason != nil {
			lastErr = errorText(retry.Reason)
		}
		runAt = retry.At.UTC().Truncate(time.Microsecond)
		if !runAt.After(now) {
			// Strictly later than now, so one RunDue call cannot loop on it.
			runAt = now.Add(time.Microsecond)
		}
	case IsPermanent(err):
		state, lastErr = JobFailed, errorText(err)
	case j.Attempt >= j.MaxAttempts:
		state, lastErr = JobDead, errorText(err)
	default:
		state, lastErr = JobReady, errorText(err)
		runAt = now.Add(r.opt.Backoff(j.Attempt))
	}
	var fenced bool
	uerr := r.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE jobs SET state = $1, run_at = $2, attempts = $3, last_error = $4, locked_by = NULL, locked_until = NULL, updated_at = $5
			 WHERE id = $6 AND state = 'running' AND locked_by = $7 AND attempts = $8`,
			string(state), micros(runAt), attempts, lastErr, micros(now), j.ID, r.opt.WorkerID, j.Attempt)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		fenced = n == 0
		return err
	})
	log := r.log.With("job", j.ID, "kind", j.Kind, "attempt", j.Attempt, "took", took)
	switch {
	case uerr != nil:
		log.Error("recording job result failed; the job runs again when its lease expires", "err", uerr)
	case fenced:
		log.Warn("job result dropped: the lease expired and the job was claimed again")
	case state == JobDead:
		log.Error("job dead after max attempts", "err", err)
	case state == JobFailed:
		log.Error("job failed permanently", "err", err)
	case state == JobReady && retry == nil:
		log.Warn("job failed; retrying", "err", err, "run_at", runAt)
	default:
		log.Debug("job finished", "state", state, "run_at", runAt)
	}
}
