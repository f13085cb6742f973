package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Usage limits in Redis (Config.Redis; cashgate serve --redis-url). Each
// request of a limited key runs one script on Redis: INCR the key's counter
// of the current minute window (UTC, of the injected clock), setting its
// expiry the first time, and admit the request when the count is within the
// limit. Redis runs scripts one at a time, so however many processes share
// it, a key is admitted exactly its limit in each minute window. The window
// is fixed: a key can use its limit at the end of one minute and again at
// the start of the next. Refused requests count too, which only pushes a
// count already past the limit further past it.
//
// When Redis does not answer within redisTimeout, the process fails open:
// it decides alone with its own token bucket of the key (the one the
// database limiter uses, kept in step with what it admitted through Redis),
// logs one warning (and one line when Redis answers again), calls
// Config.OnLimitFallback for each request decided so, and leaves Redis
// alone for redisRetry before it tries again. So while Redis is down each
// process holds a key to its limit — N processes to N times it — and every
// API keeps answering. Failing closed (503 for every request) would make
// Redis a hard dependency of every API for a limit that protects capacity,
// not money.

// DefaultRedisKeyPrefix starts cashgate's Redis keys.
const DefaultRedisKeyPrefix = "cashgate:"

const (
	// redisTimeout bounds one request's call to Redis.
	redisTimeout = 250 * time.Millisecond
	// redisRetry is how long a process decides alone after Redis failed
	// to answer, before it tries Redis again.
	redisRetry = time.Second
	// redisWindowTTL is how long a window's counter lives after its first
	// request: past the end of its minute, with room for clock skew
	// between processes.
	redisWindowTTL = 2 * time.Minute
	// redisOpenTimeout bounds OpenRedis's PING.
	redisOpenTimeout = 5 * time.Second
)

// takeScript counts one request in the counter KEYS[1], giving a new
// counter the expiry ARGV[1] (ms), and returns the count.
const takeScript = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`

// OpenRedis connects to the Redis at rawURL (redis://[user:password@]host:port[/db],
// rediss:// for TLS, unix:///path.sock) and checks that it answers PING.
// Its errors name the address, never the password.
func OpenRedis(ctx context.Context, rawURL string) (*redis.Client, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // it quotes the URL, password and all
			err = ue.Err
		}
		return nil, fmt.Errorf("redis URL: %w (want redis://[user:password@]host:port[/db], rediss://… or unix:///path)", err)
	}
	opt.ContextTimeoutEnabled = true // the per-request deadline (redisTimeout) holds
	opt.DisableIdentity = true
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(ctx, redisOpenTimeout)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis at %s does not answer PING: %w", opt.Addr, err)
	}
	return c, nil
}

// redisLimiter keeps the usage limits in Redis.
type redisLimiter struct {
	rdb        redis.Scripter
	script     *redis.Script
	prefix     string
	local      *buckets // decides while Redis does not answer
	log        *slog.Logger
	onFallback func()
	retryAt    atomic.Int64 // Unix ns before which Redis is not tried (after a failure)
	down       atomic.Bool  // Redis failed and has not answered since (logged once)
}

func newRedisLimiter(rdb redis.Scripter, prefix string, log *slog.Logger, onFallback func()) *redisLimiter {
	if prefix == "" {
		prefix = DefaultRedisKeyPrefix
	}
	if onFallback == nil {
		onFallback = func() {}
	}
	return &redisLimiter{rdb: rdb, script: redis.NewScript(takeScript), prefix: prefix, local: newBuckets(), log: log, onFallback: onFallback}
}

func (r *redisLimiter) allow(ctx context.Context, id string, per int, now time.Time) (bool, time.Duration) {
	if now.UnixNano() >= r.retryAt.Load() {
		w := now.UTC().Truncate(time.Minute)
		n, err := r.count(ctx, id, w)
		if err == nil {
			r.answered(ctx)
			if n > int64(per) {
				return false, w.Add(time.Minute).Sub(now)
			}
			r.local.take(id, per, now) // in step, for when Redis does not answer
			return true, 0
		}
		if ctx.Err() == nil { // not the client going away
			r.failed(ctx, now, err)
		}
	}
	r.onFallback()
	return r.local.take(id, per, now)
}

// count counts one request of key id in window w and returns the window's
// count.
func (r *redisLimiter) count(ctx context.Context, id string, w time.Time) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	key := r.prefix + "limit:" + id + ":" + strconv.FormatInt(w.Unix()/60, 10)
	return r.script.Run(ctx, r.rdb, []string{key}, redisWindowTTL.Milliseconds()).Int64()
}

// failed leaves Redis alone for redisRetry, warning once per outage.
func (r *redisLimiter) failed(ctx context.Context, now time.Time, err error) {
	r.retryAt.Store(now.Add(redisRetry).UnixNano())
	if r.down.CompareAndSwap(false, true) {
		r.log.WarnContext(ctx, "platform: Redis does not answer: usage limits are decided by each process alone until it does", "err", err)
	}
}

// answered notes that Redis answers (again).
func (r *redisLimiter) answered(ctx context.Context) {
	if r.down.Load() && r.down.CompareAndSwap(true, false) {
		r.log.InfoContext(ctx, "platform: Redis answers again: usage limits are shared again")
	}
}
