package platform

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/store"
)

// Usage limits across processes. Each process admits a key's requests
// through its token bucket (auth.go) and counts, per minute window, what
// it admitted; SyncLimits writes those counts to app_key_windows, reads
// what the other processes on the database admitted in the same window,
// and takes what they admitted since the last sync out of its own bucket.
// So every process's bucket drains with the whole cluster's requests, and
// the key's limit holds across processes. RunLimitSync syncs every
// LimitSyncInterval.
//
// The bound: a key can exceed its limit by what the other processes
// admitted for it since the last sync — at most one LimitSyncInterval of
// its traffic elsewhere (plus, at a minute boundary, the last second of the
// window that ended) — and a single process never exceeds it.

// LimitSyncInterval is how often RunLimitSync syncs the windows.
const LimitSyncInterval = time.Second

// windowKeep is how long the rows of past windows are kept.
const windowKeep = 10 * time.Minute

// roll moves u to the minute window of now, starting it with what the
// other processes admitted in it as of the last sync (peers), so a process
// that sees a key for the first time in a window knows what the others
// took; s.mu is held.
func (u *keyUsage) roll(now time.Time, peers map[string]int, peerWindow time.Time, id string) {
	w := now.Truncate(time.Minute)
	if u.window.Equal(w) {
		return
	}
	u.window, u.mine, u.others = w, 0, 0
	if peerWindow.Equal(w) {
		u.drain(now, peers[id])
	}
}

// drain takes the other processes' requests since the last sync out of u's
// bucket (into debt, when they took more than it holds); s.mu is held.
func (u *keyUsage) drain(now time.Time, others int) {
	delta := others - u.others
	u.others = others
	if u.lim == nil || delta <= 0 {
		return
	}
	u.lim.ReserveN(now, min(delta, u.lim.Burst()))
}

// windowCount is one key's count in the current window.
type windowCount struct {
	key  string
	mine int
}

// SyncLimits writes this process's counts of the current window and reads
// the other processes', in one transaction.
func (s *Service) SyncLimits(ctx context.Context) error {
	now := s.clk.Now()
	w := now.Truncate(time.Minute)
	s.mu.Lock()
	var counts []windowCount
	for id, u := range s.usage {
		if u.lim != nil && u.window.Equal(w) {
			counts = append(counts, windowCount{key: id, mine: u.mine})
		}
	}
	s.mu.Unlock()
	purge := now.Sub(s.lastPurge) >= time.Minute
	slices.SortFunc(counts, func(a, b windowCount) int { return strings.Compare(a.key, b.key) })
	others := map[string]int{}
	var err error
	if len(counts) == 0 && !purge { // nothing to write: read the others only
		err = s.readOthers(ctx, s.db.Read(), w, others)
	} else {
		err = s.writeAndRead(ctx, counts, w, purge, others)
	}
	if err != nil {
		return fmt.Errorf("platform: sync usage limits: %w", err)
	}
	if purge {
		s.lastPurge = now
	}
	s.mu.Lock()
	s.peers, s.peerWindow = others, w
	for _, c := range counts {
		if u := s.usage[c.key]; u != nil && u.window.Equal(w) {
			u.drain(now, others[c.key])
		}
	}
	s.mu.Unlock()
	return nil
}

// writeAndRead writes this process's counts of window w (purging old
// windows when purge is set) and reads the others', in one transaction.
func (s *Service) writeAndRead(ctx context.Context, counts []windowCount, w time.Time, purge bool, others map[string]int) error {
	return s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		clear(others)
		if purge {
			if _, err := tx.ExecContext(ctx, `DELETE FROM app_key_windows WHERE window_start < $1`, micros(w.Add(-windowKeep))); err != nil {
				return err
			}
		}
		for _, c := range counts {
			if _, err := tx.ExecContext(ctx, `INSERT INTO app_key_windows (key_id, window_start, worker, requests) VALUES ($1, $2, $3, $4)
				ON CONFLICT (key_id, window_start, worker) DO UPDATE SET requests = excluded.requests`,
				c.key, micros(w), s.worker, c.mine); err != nil {
				return err
			}
		}
		return s.readOthers(ctx, tx, w, others)
	})
}

// readOthers reads the other processes' counts of window w by key.
func (s *Service) readOthers(ctx context.Context, q store.Querier, w time.Time, into map[string]int) error {
	rows, err := q.QueryContext(ctx, `SELECT key_id, SUM(requests) FROM app_key_windows
		WHERE window_start = $1 AND worker <> $2 GROUP BY key_id`, micros(w), s.worker)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return err
		}
		into[id] = int(n)
	}
	return rows.Err()
}

// RunLimitSync syncs the usage limits every interval (0: LimitSyncInterval)
// until ctx ends.
func (s *Service) RunLimitSync(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = LimitSyncInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.SyncLimits(ctx); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "platform: usage limits kept per process until the next sync", "err", err)
			}
		}
	}
}
