package platform

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cashgate/cashgate/internal/redistest"
)

// switchable is a Redis whose scripts fail while down is set; calls counts
// the scripts it was asked to run.
type switchable struct {
	redis.Scripter
	down  atomic.Bool
	calls atomic.Int64
}

func (s *switchable) EvalSha(ctx context.Context, sha string, keys []string, args ...any) *redis.Cmd {
	s.calls.Add(1)
	if s.down.Load() {
		cmd := redis.NewCmd(ctx)
		cmd.SetErr(errors.New("dial tcp 10.0.0.9:6379: connect: no route to host"))
		return cmd
	}
	return s.Scripter.EvalSha(ctx, sha, keys, args...)
}

// TestRedisLimiterFailsOpen: while Redis does not answer, a process decides
// alone with its token bucket — kept in step with what it admitted through
// Redis — warns once, counts each request decided so, and tries Redis
// again after redisRetry; then Redis's count of the window holds again.
func TestRedisLimiterFailsOpen(t *testing.T) {
	c := redistest.Client(t)
	rdb := &switchable{Scripter: c}
	var logs bytes.Buffer
	var fallbacks atomic.Int64
	r := newRedisLimiter(rdb, redistest.Prefix(t, c), slog.New(slog.NewTextHandler(&logs, nil)), func() { fallbacks.Add(1) })
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	take := func(now time.Time, n int) (admitted int) {
		for i := 0; i < n; i++ {
			if ok, _ := r.allow(ctx, "key_a", 10, now); ok {
				admitted++
			}
		}
		return admitted
	}
	if got := take(t0, 4); got != 4 || fallbacks.Load() != 0 {
		t.Fatalf("Redis up: %d of 4 admitted, %d fallbacks", got, fallbacks.Load())
	}
	rdb.down.Store(true)
	if got := take(t0, 10); got != 6 {
		t.Fatalf("Redis down: the bucket admitted %d, want the 6 left of 10 after the 4 admitted through Redis", got)
	}
	if fallbacks.Load() != 10 || rdb.calls.Load() != 5 {
		t.Fatalf("%d fallbacks (want 10), %d calls of Redis (want 4 and the one that failed)", fallbacks.Load(), rdb.calls.Load())
	}
	rdb.down.Store(false)
	if got := take(t0.Add(redisRetry/2), 1); got != 0 || rdb.calls.Load() != 5 {
		t.Fatalf("within redisRetry of the failure: %d admitted, %d calls of Redis; want the empty bucket to decide", got, rdb.calls.Load())
	}
	if got := take(t0.Add(redisRetry), 10); got != 6 {
		t.Fatalf("Redis back: %d admitted, want the 6 the window has left in Redis", got)
	}
	out := logs.String()
	if strings.Count(out, "Redis does not answer") != 1 || strings.Count(out, "Redis answers again") != 1 || !strings.Contains(out, "no route to host") {
		t.Fatalf("logs, want one warning and one recovery line:\n%s", out)
	}
	ok, retry := r.allow(ctx, "key_a", 10, t0.Add(15*time.Second))
	if ok || retry != 45*time.Second {
		t.Fatalf("past the limit at 12:00:15: %v, retry %v; want refused until the window ends", ok, retry)
	}
}
