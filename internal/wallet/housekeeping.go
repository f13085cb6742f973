package wallet

import (
	"context"
	"fmt"
	"time"

	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// JobHousekeeping is the wallet's recurring clean-up job: it deletes login
// sessions past their expiry and login-throttle rows whose window and lock
// have run out (merchant salts are stateless: nothing to delete), then
// reschedules itself
// (outbox.RetryAt) Config.HousekeepingEvery later. One job exists per
// installation (unique key), however many processes schedule it.
const JobHousekeeping = "wallet.housekeeping"

// housekeepingBatch bounds the rows one delete removes, so a large backlog
// is cleared in short transactions that never hold the writer for long.
const housekeepingBatch = 500

// ScheduleHousekeeping enqueues the housekeeping job, due now, unless it
// exists already (the app calls it when its workers start).
func (s *Service) ScheduleHousekeeping(ctx context.Context) error {
	_, _, err := s.outbox.Enqueue(ctx, nil, outbox.JobSpec{Kind: JobHousekeeping, RunAt: s.clk.Now(), UniqueKey: JobHousekeeping})
	return err
}

// Swept counts what one housekeeping run deleted.
type Swept struct {
	Sessions int64 `json:"sessions"`
	// LoginThrottles are per-address login counters that no longer count:
	// their window (LoginWindow) and any lock ended.
	LoginThrottles int64 `json:"loginThrottles"`
	// WidgetTokens are widget tokens past the time their outcome may be
	// read (WidgetStatusOf); WidgetThrottles per-address widget counters
	// whose window ended.
	WidgetTokens    int64 `json:"widgetTokens"`
	WidgetThrottles int64 `json:"widgetThrottles"`
}

// Sweep deletes the login sessions that expired at or before now (a
// session is useless once expired: AuthenticateSession refuses it;
// logged-out sessions are deleted at logout) and the login-throttle rows
// that a new login would reset anyway.
func (s *Service) Sweep(ctx context.Context, now time.Time) (Swept, error) {
	var out Swept
	for _, t := range []struct {
		n    *int64
		what string
		q    string // with %d for the batch size
		args []any
	}{
		{&out.Sessions, "sessions", `DELETE FROM wallet_sessions WHERE token_hash IN (SELECT token_hash FROM wallet_sessions WHERE expires_at <= $1 LIMIT %d)`,
			[]any{micros(now)}},
		{&out.LoginThrottles, "login throttles", `DELETE FROM wallet_login_throttle WHERE (user_id, address) IN
			(SELECT user_id, address FROM wallet_login_throttle WHERE window_start <= $1 AND locked_until <= $2 LIMIT %d)`,
			[]any{micros(now.Add(-LoginWindow)), micros(now)}},
		{&out.WidgetTokens, "widget tokens", `DELETE FROM wallet_widget_tokens WHERE id IN (SELECT id FROM wallet_widget_tokens WHERE expires_at <= $1 LIMIT %d)`,
			[]any{micros(now.Add(-widgetReadable))}},
		{&out.WidgetThrottles, "widget throttles", `DELETE FROM wallet_widget_throttle WHERE address IN
			(SELECT address FROM wallet_widget_throttle WHERE window_start <= $1 LIMIT %d)`, []any{micros(now.Add(-WidgetAddressWindow))}},
	} {
		q := fmt.Sprintf(t.q, housekeepingBatch)
		for {
			var n int64
			err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
				res, err := tx.ExecContext(ctx, q, t.args...)
				if err != nil {
					return err
				}
				n, err = res.RowsAffected()
				return err
			})
			if err != nil {
				return out, fmt.Errorf("wallet: housekeeping %s: %w", t.what, err)
			}
			*t.n += n
			if n < housekeepingBatch {
				break
			}
		}
	}
	return out, nil
}

// Housekeeping is the handler of JobHousekeeping.
func (s *Service) Housekeeping(ctx context.Context, _ outbox.Job) error {
	now := s.now()
	swept, err := s.Sweep(ctx, now)
	if err != nil {
		return err
	}
	if swept.Sessions > 0 || swept.LoginThrottles > 0 {
		s.log.Info("wallet housekeeping", "expired_sessions", swept.Sessions, "stale_login_throttles", swept.LoginThrottles)
	}
	return outbox.RetryAt(now.Add(s.cfg.HousekeepingEvery))
}
