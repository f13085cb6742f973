package platform

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/store"
)

// Usage per APP key (seed 001: "The APP key is used to track API requests
// usage and for billing"): every request the authentication middleware
// admits is counted against its key and the UTC day of the injected clock,
// in memory (an increment under the mutex the usage limiter already takes:
// no statement and no write on the request's path). FlushUsage adds the
// counts to app_key_usage (an upsert adding the delta, one transaction for
// all keys), run every few seconds by RunUsageFlusher and once more when
// it stops (shutdown, after the last request was answered). Several
// processes on one database each add their own deltas.
//
// What a crash can lose: the requests counted since the last successful
// flush, at most the flush interval's worth (plus the time a flush takes).
// A failed flush keeps its counts in memory for the next one, so while the
// database refuses writes that bound grows until a flush succeeds again.

// DefaultUsageFlushInterval is how often RunUsageFlusher flushes by default.
const DefaultUsageFlushInterval = 5 * time.Second

// UsageDays is how many days of usage the portal and the API show.
const UsageDays = 30

// usageKey is one counter: a key's requests on one UTC day.
type usageKey struct {
	key, tenant, day string
}

// utcDay is the UTC date of t, as stored.
func utcDay(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// countUse counts one admitted request; s.mu is held.
func (s *Service) countUse(k authKey, now time.Time) {
	if s.counts == nil {
		s.counts = make(map[usageKey]int64)
	}
	s.counts[usageKey{key: k.ID, tenant: k.TenantID, day: utcDay(now)}]++
}

// FlushUsage adds the requests counted since the last flush to
// app_key_usage in one transaction. When it fails the counts stay in memory
// and the next flush adds them.
func (s *Service) FlushUsage(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	pending := s.counts
	s.counts = make(map[usageKey]int64)
	s.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	keys := make([]usageKey, 0, len(pending))
	for k := range pending {
		keys = append(keys, k)
	}
	// One order everywhere, so flushes of several processes never deadlock.
	slices.SortFunc(keys, func(a, b usageKey) int {
		return strings.Compare(a.key+"|"+a.day, b.key+"|"+b.day)
	})
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `INSERT INTO app_key_usage (key_id, day, tenant_id, requests) VALUES ($1, $2, $3, $4)
				ON CONFLICT (key_id, day) DO UPDATE SET requests = app_key_usage.requests + excluded.requests`,
				k.key, k.day, k.tenant, pending[k]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.mu.Lock()
		for k, n := range pending {
			s.counts[k] += n
		}
		s.mu.Unlock()
		return fmt.Errorf("platform: flush APP key usage: %w", err)
	}
	return nil
}

// RunUsageFlusher flushes the usage counts every interval (0:
// DefaultUsageFlushInterval) until ctx ends, then once more, so a clean
// shutdown loses nothing.
func (s *Service) RunUsageFlusher(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = DefaultUsageFlushInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := s.FlushUsage(ctx); err != nil {
				s.log.WarnContext(ctx, "platform: APP key usage kept in memory for the next flush", "err", err)
			}
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := s.FlushUsage(final); err != nil {
				s.log.ErrorContext(final, "platform: APP key usage of the last seconds lost at shutdown", "err", err)
			}
			return
		}
	}
}

// DayUsage is a key's requests on one UTC day.
type DayUsage struct {
	Day      string // YYYY-MM-DD (UTC)
	Requests int64
}

// KeyUsage is a key's usage over the last UsageDays UTC days, today
// included.
type KeyUsage struct {
	KeyID    string
	From, To string     // the first and the last day (UTC dates)
	Total    int64      // requests over the days
	Days     []DayUsage // the days with requests, newest first
}

// sqlKeyUsage reads a key's counted days in a range, newest first.
const sqlKeyUsage = `SELECT day, requests FROM app_key_usage WHERE key_id = $1 AND day >= $2 AND day <= $3 ORDER BY day DESC`

// Usage returns the usage of one of the tenant's keys over the last
// UsageDays days: what the database holds plus this process's requests not
// flushed yet (another process's reach the database within its flush
// interval).
func (s *Service) Usage(ctx context.Context, tenant, keyID string) (KeyUsage, error) {
	k, err := s.Key(ctx, tenant, keyID)
	if err != nil {
		return KeyUsage{}, err
	}
	now := s.clk.Now().UTC()
	u := KeyUsage{KeyID: k.ID, From: utcDay(now.AddDate(0, 0, 1-UsageDays)), To: utcDay(now)}
	s.flushMu.Lock() // no flush between the read and the pending counts
	defer s.flushMu.Unlock()
	byDay := map[string]int64{}
	rows, err := s.db.Reader(ctx).QueryContext(ctx, sqlKeyUsage, k.ID, u.From, u.To)
	if err != nil {
		return KeyUsage{}, fmt.Errorf("platform: key usage: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d DayUsage
		if err := rows.Scan(&d.Day, &d.Requests); err != nil {
			return KeyUsage{}, fmt.Errorf("platform: key usage: %w", err)
		}
		byDay[d.Day] += d.Requests
	}
	if err := rows.Err(); err != nil {
		return KeyUsage{}, fmt.Errorf("platform: key usage: %w", err)
	}
	s.mu.Lock()
	for c, n := range s.counts {
		if c.key == k.ID && c.day >= u.From && c.day <= u.To {
			byDay[c.day] += n
		}
	}
	s.mu.Unlock()
	for day, n := range byDay {
		u.Days = append(u.Days, DayUsage{Day: day, Requests: n})
		u.Total += n
	}
	slices.SortFunc(u.Days, func(a, b DayUsage) int { return strings.Compare(b.Day, a.Day) })
	return u, nil
}
