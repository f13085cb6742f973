package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/remote"
	"github.com/cashgate/cashgate/internal/store"
)

// The sandbox clock. A sandbox installation (Config.Sandbox: cashgate serve
// --sandbox; refused while production tenants exist, and it creates none)
// runs on a clock that can be moved forward: AdvanceClock moves it step by
// step to every due job in turn — settlements at midnight, authorisation
// and job expiries, request expiries, webhook retries, recurring children —
// and runs it, so a developer sees what a week does in a second, with the
// webhooks the week would send. The offset is kept in the settings table;
// other processes on the same database pick it up within a second.

const (
	clockSetting = "sandbox.clock_offset" // nanoseconds, decimal
	// maxAdvance bounds one move (a year and a bit).
	maxAdvance = 400 * 24 * time.Hour
	// maxClockSteps bounds the jobs one move runs in turn.
	maxClockSteps = 100_000
	// clockPoll is how often a serving process rereads the offset.
	clockPoll = time.Second
)

// clockPollers are the sweeps that run every few seconds or minutes and do
// only what the data says is due (expire remote payments past expires_at,
// purge old signatures and web sessions): a move does not stop for them —
// a week would be 120,000 stops — but they run at every stop it makes for
// the other jobs (at least hourly: the hourly maintenance) and at its end.
var clockPollers = []string{remote.JobExpire, gateway.KindPurgeSignatures, jobPurgeWeb}

// ClockReport is where the sandbox clock stands after a move.
type ClockReport struct {
	Now     time.Time `json:"now"`
	Offset  string    `json:"offset"`
	JobsRun int       `json:"jobsRun"`
}

// openSandboxClock makes the installation a sandbox when Config.Sandbox
// says so or its clock was moved before (such a database never becomes a
// production one), checks it holds no production tenant, and moves the
// clock to the kept offset.
func (a *App) openSandboxClock(ctx context.Context) error {
	moved, err := a.keptOffset(ctx)
	if err != nil {
		return err
	}
	if !a.Config.Sandbox && moved == 0 {
		return nil
	}
	if !a.Config.Sandbox {
		a.Log.Warn("this installation's clock was moved (a sandbox): it runs as one", "offset", moved)
		a.Config.Sandbox = true
	}
	a.sandbox = a.offset
	var n int
	if err := a.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM tenants WHERE mode = 'production'`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("--sandbox refused: the database holds %d production tenant(s); a sandbox clock would move their money's time", n)
	}
	a.sandbox.MoveTo(moved)
	return nil
}

// keptOffset returns the offset kept in the database (0: never moved).
func (a *App) keptOffset(ctx context.Context) (time.Duration, error) {
	var v string
	err := a.DB.Read().QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, clockSetting).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	off, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("sandbox clock: the kept offset %q is damaged", v)
	}
	return time.Duration(off), nil
}

// reloadClock moves the clock to the kept offset when that is ahead.
func (a *App) reloadClock(ctx context.Context) (bool, error) {
	off, err := a.keptOffset(ctx)
	if err != nil {
		return false, err
	}
	return a.sandbox.MoveTo(off), nil
}

// AdvanceClock moves the sandbox clock forward by d, running each job that
// falls due on the way at its own time, in order, and keeps the new offset
// in one last transaction, in which answer (when set) records the report
// as the HTTP answer (httpx.Reply). The jobs run under a context of their
// own, not the request's.
func (a *App) AdvanceClock(ctx context.Context, d time.Duration, answer func(ctx context.Context, tx *store.Tx, r ClockReport) error) (ClockReport, error) {
	if a.sandbox == nil {
		return ClockReport{}, apperr.New(apperr.Forbidden, "the clock moves only on a sandbox installation (cashgate serve --sandbox)")
	}
	if d <= 0 || d > maxAdvance {
		return ClockReport{}, apperr.InvalidField("advance", "advance must be a positive duration of at most 400 days, like 7d or 36h")
	}
	if _, err := a.reloadClock(ctx); err != nil {
		return ClockReport{}, err
	}
	for _, schedule := range a.schedules { // the recurring jobs, as when workers start
		if err := schedule(ctx); err != nil {
			return ClockReport{}, err
		}
	}
	target := a.sandbox.Offset() + d
	jobs := context.Background()
	ran := 0
	for steps := 0; ; steps++ {
		if steps == maxClockSteps {
			return ClockReport{}, fmt.Errorf("sandbox clock: more than %d jobs fell due on the way; advance in smaller steps", maxClockSteps)
		}
		next, ok, err := a.nextDueBy(ctx, a.sandbox.Now().Add(target-a.sandbox.Offset()))
		if err != nil {
			return ClockReport{}, err
		}
		if !ok {
			break
		}
		a.sandbox.MoveTo(a.sandbox.Offset() + max(next.Sub(a.sandbox.Now()), 0))
		n, err := a.Runner.RunDue(jobs)
		if err != nil {
			return ClockReport{}, err
		}
		if n == 0 {
			break // due but not runnable here (claimed by another process): it runs there
		}
		ran += n
	}
	a.sandbox.MoveTo(target)
	n, err := a.Runner.RunDue(jobs)
	if err != nil {
		return ClockReport{}, err
	}
	r := ClockReport{Now: a.sandbox.Now(), Offset: a.sandbox.Offset().String(), JobsRun: ran + n}
	if err := a.keepClock(ctx, func(ctx context.Context, tx *store.Tx) error {
		if answer == nil {
			return nil
		}
		return answer(ctx, tx, r)
	}); err != nil {
		return ClockReport{}, err
	}
	a.Log.InfoContext(ctx, "sandbox clock moved", "by", d, "offset", a.sandbox.Offset(), "now", r.Now, "jobs_run", r.JobsRun)
	return r, nil
}

// nextDueBy returns the run time of the earliest ready job due by t.
// The pollers are left out (clockPollers).
func (a *App) nextDueBy(ctx context.Context, t time.Time) (time.Time, bool, error) {
	args := []any{t.UnixMicro()}
	marks := make([]string, len(clockPollers))
	for i, k := range clockPollers {
		args = append(args, k)
		marks[i] = "$" + strconv.Itoa(i+2)
	}
	var at sql.NullInt64
	if err := a.DB.Read().QueryRowContext(ctx, `SELECT MIN(run_at) FROM jobs WHERE state = 'ready' AND run_at <= $1
		AND kind NOT IN (`+strings.Join(marks, ", ")+`)`, args...).Scan(&at); err != nil {
		return time.Time{}, false, err
	}
	if !at.Valid {
		return time.Time{}, false, nil
	}
	return time.UnixMicro(at.Int64).UTC(), true, nil
}

// keepClock keeps the clock's offset (never lowering a kept one that
// another process moved further), and runs also in the same transaction.
func (a *App) keepClock(ctx context.Context, also func(ctx context.Context, tx *store.Tx) error) error {
	return a.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		off := strconv.FormatInt(int64(a.sandbox.Offset()), 10)
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value, created_at = excluded.created_at
			WHERE CAST(settings.value AS BIGINT) < CAST(excluded.value AS BIGINT)`,
			clockSetting, off, a.sandbox.Now().UnixMicro()); err != nil {
			return err
		}
		return also(ctx, tx)
	})
}

// followClock rereads the kept offset every clockPoll until ctx ends, so a
// move made by another process (cashgate clock advance) reaches this one.
func (a *App) followClock(ctx context.Context) {
	t := time.NewTicker(clockPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := a.reloadClock(ctx); err != nil && ctx.Err() == nil {
				a.Log.Warn("sandbox clock: could not reread the offset", "err", err)
			}
		}
	}
}

// ParseAdvance parses a clock move: a Go duration ("36h", "90m") or whole
// days ("7d").
func ParseAdvance(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, apperr.InvalidField("advance", "advance %q: want whole days like 7d, or a duration like 36h", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, apperr.InvalidField("advance", "advance %q: want whole days like 7d, or a duration like 36h", s)
	}
	return d, nil
}

// clockRequest is the body of POST /platform/sandbox/clock.
type clockRequest struct {
	Advance string `json:"advance" doc:"how far to move the clock: whole days (7d) or a duration (36h, 90m)" example:"7d"`
}

// sandboxRoutes are the sandbox clock's routes (platform API, sandbox
// tenants of a sandbox installation).
func (a *App) sandboxRoutes(errw httpx.ErrorWriter) []httpx.Route {
	return []httpx.Route{
		{Method: http.MethodGet, Path: "/platform/sandbox/clock", API: httpx.APIPlatform,
			Summary: "Sandbox installations: cashgate's time and how far it was moved", Response: ClockReport{},
			Handler: httpx.Handle(errw, http.StatusOK, func(r *http.Request, _ httpx.NoBody) (ClockReport, error) {
				if err := a.sandboxCaller(r); err != nil {
					return ClockReport{}, err
				}
				return ClockReport{Now: a.sandbox.Now(), Offset: a.sandbox.Offset().String()}, nil
			})},
		{Method: http.MethodPost, Path: "/platform/sandbox/clock", API: httpx.APIPlatform,
			Summary: "Sandbox installations: move cashgate's clock forward and run what falls due, in order",
			Request: clockRequest{}, Response: ClockReport{},
			Handler: httpx.Handle(errw, http.StatusOK, func(r *http.Request, req clockRequest) (ClockReport, error) {
				if err := a.sandboxCaller(r); err != nil {
					return ClockReport{}, err
				}
				d, err := ParseAdvance(req.Advance)
				if err != nil {
					return ClockReport{}, err
				}
				return a.AdvanceClock(r.Context(), d, func(ctx context.Context, tx *store.Tx, rep ClockReport) error {
					return httpx.Reply(ctx, tx, http.StatusOK, rep)
				})
			})},
	}
}

// sandboxCaller refuses unless this is a sandbox installation.
func (a *App) sandboxCaller(r *http.Request) error {
	if a.sandbox == nil {
		return apperr.New(apperr.Forbidden, "the clock moves only on a sandbox installation (cashgate serve --sandbox)")
	}
	if _, ok := httpx.PrincipalFrom(r.Context()); !ok {
		return apperr.New(apperr.Unauthenticated, "Authorization field missing")
	}
	return nil
}
