package webkit

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/store"
)

// Throttle counts password checks (or any other guessable attempt) per key
// in the database, so every process sharing it agrees.
//
// An attempt is counted before its secret is checked (Reserve): within the
// window at most Max attempts of a key are let through, and the one that
// reaches Max locks the key for Lock at once, before its check runs. So
// however many guesses arrive at once, at most Max are checked, and a right
// password arriving after them is refused until the lock ends. A right
// secret (Succeeded) clears the keys' counts and the locks this attempt took;
// a check that could not run (Release) gives its attempt back.
type Throttle struct {
	db     *store.DB
	clk    clock.Clock
	window time.Duration
}

// Limit is one key to count an attempt against.
type Limit struct {
	Key  string        // e.g. "portal-login:ada@example.com@203.0.113.9"
	Max  int           // attempts per window; the Max-th locks the key
	Lock time.Duration // how long the key stays locked
}

// LockedError refuses an attempt while a key is locked.
type LockedError struct {
	Until time.Time
	Wait  time.Duration
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("too many attempts: locked for %s", e.Wait.Round(time.Second))
}

// Minutes is the wait rounded up to whole minutes (at least 1), for people.
func (e *LockedError) Minutes() int { return max(1, int(math.Ceil(e.Wait.Minutes()))) }

// Attempt is an attempt counted by Reserve.
type Attempt struct {
	keys []attemptKey
}

type attemptKey struct {
	key    string
	window int64 // the window the attempt was counted in
	lock   int64 // the lock this attempt took, else 0
}

// Reserve counts one attempt against every limit, in one transaction, or
// refuses it (*LockedError) without counting when any key is locked.
func (t *Throttle) Reserve(ctx context.Context, limits ...Limit) (Attempt, error) {
	limits = slices.Clone(limits)
	slices.SortFunc(limits, func(a, b Limit) int { return strings.Compare(a.Key, b.Key) }) // one lock order everywhere
	limits = slices.CompactFunc(limits, func(a, b Limit) bool { return a.Key == b.Key })
	now := t.clk.Now()
	var a Attempt
	err := t.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		a = Attempt{}
		for _, l := range limits {
			k, err := t.count(ctx, tx, l, now)
			if err != nil {
				return err
			}
			a.keys = append(a.keys, k)
		}
		return nil
	})
	return a, err
}

// count counts the attempt against one key inside tx.
func (t *Throttle) count(ctx context.Context, tx *store.Tx, l Limit, now time.Time) (attemptKey, error) {
	n := now.UnixMicro()
	var failures int
	var windowStart, lockedUntil int64
	// One upsert creates or locks the key's row and reads it.
	if err := tx.QueryRowContext(ctx, `INSERT INTO web_login_throttle (key, failures, window_start, locked_until) VALUES ($1, 0, $2, 0)
		ON CONFLICT (key) DO UPDATE SET failures = web_login_throttle.failures
		RETURNING failures, window_start, locked_until`, l.Key, n).Scan(&failures, &windowStart, &lockedUntil); err != nil {
		return attemptKey{}, err
	}
	if lockedUntil > n {
		until := time.UnixMicro(lockedUntil).UTC()
		return attemptKey{}, &LockedError{Until: until, Wait: until.Sub(now)}
	}
	if lockedUntil != 0 || time.UnixMicro(windowStart).Add(t.window).Compare(now) <= 0 {
		failures, windowStart, lockedUntil = 0, n, 0
	}
	if failures >= l.Max { // only while the attempt that reached Max gives its lock back
		return attemptKey{}, &LockedError{Until: now.Add(time.Second), Wait: time.Second}
	}
	failures++
	k := attemptKey{key: l.Key, window: windowStart}
	if failures >= l.Max {
		lockedUntil = now.Add(l.Lock).UnixMicro()
		k.lock = lockedUntil
	}
	_, err := tx.ExecContext(ctx, `UPDATE web_login_throttle SET failures = $1, window_start = $2, locked_until = $3 WHERE key = $4`,
		failures, windowStart, lockedUntil, l.Key)
	return k, err
}

// Succeeded ends an attempt whose secret was right: the keys' counts are
// cleared, and the locks this attempt took lifted.
func (t *Throttle) Succeeded(ctx context.Context, a Attempt) error {
	return t.end(ctx, a, false)
}

// Release gives back an attempt whose check could not run (an error, not
// a wrong secret).
func (t *Throttle) Release(ctx context.Context, a Attempt) error {
	return t.end(ctx, a, true)
}

func (t *Throttle) end(ctx context.Context, a Attempt, release bool) error {
	const unlock = `locked_until = CASE WHEN locked_until = $2 THEN 0 ELSE locked_until END`
	err := t.db.Transact(context.WithoutCancel(ctx), func(ctx context.Context, tx *store.Tx) error {
		for _, k := range a.keys {
			q, args := `UPDATE web_login_throttle SET failures = 0, `+unlock+` WHERE key = $1`, []any{k.key, max(k.lock, 1)}
			if release {
				q = `UPDATE web_login_throttle SET failures = failures - 1, ` + unlock + ` WHERE key = $1 AND failures > 0 AND window_start = $3`
				args = append(args, k.window)
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("webkit: end attempt: %w", err)
	}
	return nil
}
