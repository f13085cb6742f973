// Package redistest gives tests a Redis, found through
// CASHGATE_TEST_REDIS_URL. Without it the Redis tests are skipped with a
// one-line reason, unless CASHGATE_TEST_REQUIRE_REDIS=1 (set by
// scripts/test.sh, so by .ci/run), which makes them fail. Each test gets
// its own key prefix, and its keys are deleted when it ends, so tests
// running in parallel on one Redis do not meet.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// EnvURL names the variable holding the Redis URL for tests.
const EnvURL = "CASHGATE_TEST_REDIS_URL"

// EnvRequire, when "1", turns a missing Redis into a failure.
const EnvRequire = "CASHGATE_TEST_REQUIRE_REDIS"

// URL returns the test Redis's URL; it skips (or fails, in CI) without one.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s is not set but %s=1: the Redis tests must run", EnvURL, EnvRequire)
		}
		t.Skipf("Redis tests skipped: set %s (e.g. redis://127.0.0.1:6379) to run them", EnvURL)
	}
	return u
}

// Client returns a client of the test Redis, closed when the test ends.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(URL(t))
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	opt.ContextTimeoutEnabled = true
	opt.DisableIdentity = true
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		t.Fatalf("redis at %s: %v", opt.Addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Prefix returns a key prefix of the test's own ("cgtest:<random>:"); the
// keys under it are deleted when the test ends.
func Prefix(t testing.TB, c *redis.Client) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	p := "cgtest:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, p+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Logf("redis: deleting the keys of %s: %v", p, err)
		}
	})
	return p
}
