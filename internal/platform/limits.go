package platform

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/store"
)

// Usage limits across processes. A limiter decides whether an APP key's
// request is within the key's limit, sharing the count with the other
// processes of the cluster through one of two stores:
//
//   - the database (dbLimiter, the default, nothing else to run): each
//     process admits a key's requests through its own token bucket and
//     counts, per minute window, what it admitted; SyncLimits writes those
//     counts to app_key_windows, reads what the other processes on the
//     database admitted in the same window, and takes what they admitted
//     since the last sync out of its own bucket. So every process's bucket
//     drains with the whole cluster's requests. RunLimitSync syncs every
//     LimitSyncInterval. The bound: a key can exceed its limit by what the
//     other processes admitted for it since the last sync — at most one
//     LimitSyncInterval of its traffic elsewhere (plus, at a minute
//     boundary, the last second of the window that ended) — and a single
//     process never exceeds it.
//   - Redis (redisLimiter, Config.Redis; limits_redis.go): every request
//     counts itself in Redis, atomically, in its key's minute window; the
//     cluster admits exactly the limit in each window.

// limiter applies the usage limits of APP keys.
type limiter interface {
	// allow takes one request of key id, whose limit is per requests a
	// minute (per > 0), at now. When it is refused, retry is how long until
	// the key has room again.
	allow(ctx context.Context, id string, per int, now time.Time) (ok bool, retry time.Duration)
}

// newLimiter returns the limiter of cfg: Redis when it has one, else the
// database.
func newLimiter(db *store.DB, clk clock.Clock, log *slog.Logger, cfg Config) limiter {
	if cfg.Redis != nil {
		return newRedisLimiter(cfg.Redis, cfg.RedisKeyPrefix, log, cfg.OnLimitFallback)
	}
	// The worker name has its own random source: the seeded ids of tests
	// do not move.
	return &dbLimiter{b: newBuckets(), db: db, clk: clk, worker: "wk_" + ids.New(nil).Secret(8)}
}

// LimitSyncInterval is how often RunLimitSync syncs the windows.
const LimitSyncInterval = time.Second

// windowKeep is how long the rows of past windows are kept.
const windowKeep = 10 * time.Minute

// buckets are this process's token buckets, one per APP key in use: per
// tokens refilled at per a minute, driven by the injected clock. The
// database limiter drains them with the other processes' requests; the
// Redis limiter falls back on them when Redis does not answer.
type buckets struct {
	mu        sync.Mutex
	m         map[string]*bucket // by key id
	lastSweep time.Time
	// What the other processes admitted per key in peerWindow, as of the
	// last sync (dbLimiter).
	peers      map[string]int
	peerWindow time.Time
}

// bucket is one key's token bucket in this process.
type bucket struct {
	lim  *rate.Limiter
	per  int
	seen time.Time // last request
	// The current minute window: requests this process admitted in it, and
	// the other processes' as of the last sync.
	window       time.Time
	mine, others int
}

func newBuckets() *buckets { return &buckets{m: make(map[string]*bucket)} }

// take takes a token from key id's bucket (made, or remade when its limit
// changed, on the way), counting the request in the window of now.
func (b *buckets) take(id string, per int, now time.Time) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Sub(b.lastSweep) >= idleEviction {
		for id, u := range b.m {
			if now.Sub(u.seen) >= idleEviction {
				delete(b.m, id)
			}
		}
		b.lastSweep = now
	}
	u := b.m[id]
	if u == nil || u.per != per {
		nu := &bucket{per: per, lim: rate.NewLimiter(rate.Limit(float64(per)/60), per)}
		if u != nil {
			nu.window, nu.mine, nu.others = u.window, u.mine, u.others
		}
		u = nu
		b.m[id] = u
	}
	u.seen = now
	u.roll(now, b.peers, b.peerWindow, id)
	if !u.lim.AllowN(now, 1) {
		wait := (1 - u.lim.TokensAt(now)) / (float64(per) / 60)
		return false, time.Duration(wait * float64(time.Second))
	}
	u.mine++
	return true, 0
}

// roll moves u to the minute window of now, starting it with what the
// other processes admitted in it as of the last sync (peers), so a process
// that sees a key for the first time in a window knows what the others
// took; b.mu is held.
func (u *bucket) roll(now time.Time, peers map[string]int, peerWindow time.Time, id string) {
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
// bucket (into debt, when they took more than it holds); b.mu is held.
func (u *bucket) drain(now time.Time, others int) {
	delta := others - u.others
	u.others = others
	if delta <= 0 {
		return
	}
	u.lim.ReserveN(now, min(delta, u.lim.Burst()))
}

// dbLimiter shares the usage limits through the database (app_key_windows).
type dbLimiter struct {
	b         *buckets
	db        *store.DB
	clk       clock.Clock
	worker    string    // this process, in app_key_windows
	lastPurge time.Time // of app_key_windows
}

func (d *dbLimiter) allow(_ context.Context, id string, per int, now time.Time) (bool, time.Duration) {
	return d.b.take(id, per, now)
}

// windowCount is one key's count in the current window.
type windowCount struct {
	key  string
	mine int
}

// SyncLimits writes this process's counts of the current window to the
// database and reads the other processes', in one transaction (nothing to
// do when the limits are kept in Redis).
func (s *Service) SyncLimits(ctx context.Context) error {
	if d, ok := s.limits.(*dbLimiter); ok {
		return d.sync(ctx)
	}
	return nil
}

func (d *dbLimiter) sync(ctx context.Context) error {
	now := d.clk.Now()
	w := now.Truncate(time.Minute)
	d.b.mu.Lock()
	var counts []windowCount
	for id, u := range d.b.m {
		if u.window.Equal(w) {
			counts = append(counts, windowCount{key: id, mine: u.mine})
		}
	}
	d.b.mu.Unlock()
	purge := now.Sub(d.lastPurge) >= time.Minute
	slices.SortFunc(counts, func(a, b windowCount) int { return strings.Compare(a.key, b.key) })
	others := map[string]int{}
	var err error
	if len(counts) == 0 && !purge { // nothing to write: read the others only
		err = d.readOthers(ctx, d.db.Read(), w, others)
	} else {
		err = d.writeAndRead(ctx, counts, w, purge, others)
	}
	if err != nil {
		return fmt.Errorf("platform: sync usage limits: %w", err)
	}
	if purge {
		d.lastPurge = now
	}
	d.b.mu.Lock()
	d.b.peers, d.b.peerWindow = others, w
	for _, c := range counts {
		if u := d.b.m[c.key]; u != nil && u.window.Equal(w) {
			u.drain(now, others[c.key])
		}
	}
	d.b.mu.Unlock()
	return nil
}

// writeAndRead writes this process's counts of window w (purging old
// windows when purge is set) and reads the others', in one transaction.
func (d *dbLimiter) writeAndRead(ctx context.Context, counts []windowCount, w time.Time, purge bool, others map[string]int) error {
	return d.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		clear(others)
		if purge {
			if _, err := tx.ExecContext(ctx, `DELETE FROM app_key_windows WHERE window_start < $1`, micros(w.Add(-windowKeep))); err != nil {
				return err
			}
		}
		for _, c := range counts {
			if _, err := tx.ExecContext(ctx, `INSERT INTO app_key_windows (key_id, window_start, worker, requests) VALUES ($1, $2, $3, $4)
				ON CONFLICT (key_id, window_start, worker) DO UPDATE SET requests = excluded.requests`,
				c.key, micros(w), d.worker, c.mine); err != nil {
				return err
			}
		}
		return d.readOthers(ctx, tx, w, others)
	})
}

// readOthers reads the other processes' counts of window w by key.
func (d *dbLimiter) readOthers(ctx context.Context, q store.Querier, w time.Time, into map[string]int) error {
	rows, err := q.QueryContext(ctx, `SELECT key_id, SUM(requests) FROM app_key_windows
		WHERE window_start = $1 AND worker <> $2 GROUP BY key_id`, micros(w), d.worker)
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

// RunLimitSync syncs the usage limits through the database every interval
// (0: LimitSyncInterval) until ctx ends. With Redis there is nothing to
// sync: it returns at once.
func (s *Service) RunLimitSync(ctx context.Context, every time.Duration) {
	if _, ok := s.limits.(*dbLimiter); !ok {
		return
	}
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
