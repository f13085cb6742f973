package wallet

import (
	"context"
	"fmt"
	"time"

	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// JobHousekeeping is the wallet's recurring clean-up job: it deletes login
// sessions past their expiry (merchant salts are stateless: nothing to
// delete), then reschedules itself
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
}

// Sweep deletes the login sessions that expired at or before now. A
// session is useless once expired (AuthenticateSession refuses it).
// Logged-out sessions are deleted at logout.
func (s *Service) Sweep(ctx context.Context, now time.Time) (Swept, error) {
	var out Swept
	for _, t := range []struct {
		n          *int64
		table, key string
	}{
		{&out.Sessions, "wallet_sessions", "token_hash"},
	} {
		q := fmt.Sprintf(`DELETE FROM %[1]s WHERE %[2]s IN (SELECT %[2]s FROM %[1]s WHERE expires_at <= $1 LIMIT %[3]d)`, t.table, t.key, housekeepingBatch)
		for {
			var n int64
			err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
				res, err := tx.ExecContext(ctx, q, micros(now))
				if err != nil {
					return err
				}
				n, err = res.RowsAffected()
				return err
			})
			if err != nil {
				return out, fmt.Errorf("wallet: housekeeping %s: %w", t.table, err)
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
	if swept.Sessions > 0 {
		s.log.Info("wallet housekeeping", "expired_sessions", swept.Sessions)
	}
	return outbox.RetryAt(now.Add(s.cfg.HousekeepingEvery))
}
