package platform_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/redistest"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestUsageLimitAcrossProcesses: two platform services on one database
// (two cashgate processes) share a key's limit once they have synced: what
// one admitted is taken out of the other's bucket, so together they admit
// the limit and no more.
func TestUsageLimitAcrossProcesses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		cfg := testConfig()
		cfg.SandboxRequestsPerMinute = 10
		a, b := newEnv(t, db, cfg), newEnv(t, db, cfg)
		key := apiKey(a.tenant(platform.Sandbox, "").APIKey)
		call := func(e *env, want int, what string) {
			t.Helper()
			if r := e.do("GET", "/dummyapi/status", "", key); r.status != want {
				t.Fatalf("%s: %d %s, want %d", what, r.status, r.body, want)
			}
		}
		sync := func(e *env) {
			t.Helper()
			if err := e.svc.SyncLimits(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 8; i++ {
			call(a, 200, "process A")
		}
		call(b, 200, "process B's first")
		sync(a)
		sync(b) // B learns of A's 8: one request left in its bucket
		call(b, 200, "process B's second")
		call(b, 429, "process B past the shared limit")
		sync(b)
		sync(a) // A learns of B's 2
		call(a, 429, "process A past the shared limit")
		var rows int
		if err := db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM app_key_windows`).Scan(&rows); err != nil || rows != 2 {
			t.Fatalf("window rows %d (%v), want one per process", rows, err)
		}
	})
}

// TestUsageLimitForAKeyNewToAProcess: a process that has not seen a key in
// this minute still learns, at its sync, what the others admitted for it.
func TestUsageLimitForAKeyNewToAProcess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		cfg := testConfig()
		cfg.SandboxRequestsPerMinute = 10
		a, b := newEnv(t, db, cfg), newEnv(t, db, cfg)
		key := apiKey(a.tenant(platform.Sandbox, "").APIKey)
		for i := 0; i < 8; i++ {
			if r := a.do("GET", "/dummyapi/status", "", key); r.status != 200 {
				t.Fatalf("process A request %d: %d", i+1, r.status)
			}
		}
		for _, e := range []*env{a, b} {
			if err := e.svc.SyncLimits(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		for i, want := range []int{200, 200, 429} {
			if r := b.do("GET", "/dummyapi/status", "", key); r.status != want {
				t.Fatalf("process B request %d: %d, want %d", i+1, r.status, want)
			}
		}
	})
}

// TestUsageLimitOnRedis: three platform services (three processes) keep a
// key's limit in one Redis; 60 concurrent requests spread over them admit
// exactly the limit, the others answer 429 with Retry-After to the end of
// the minute; the next minute admits the limit again; nothing is written to
// app_key_windows.
func TestUsageLimitOnRedis(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rdb := redistest.Client(t)
		cfg := testConfig()
		cfg.SandboxRequestsPerMinute = 10
		cfg.Redis, cfg.RedisKeyPrefix = rdb, redistest.Prefix(t, rdb)
		envs := []*env{newEnv(t, db, cfg), newEnv(t, db, cfg), newEnv(t, db, cfg)}
		key := apiKey(envs[0].tenant(platform.Sandbox, "").APIKey)
		burst := func(wantRetry string) {
			t.Helper()
			var admitted, refused atomic.Int64
			var wg sync.WaitGroup
			for i := 0; i < 60; i++ {
				wg.Go(func() {
					switch r := envs[i%3].do("GET", "/dummyapi/status", "", key); {
					case r.status == 200:
						admitted.Add(1)
					case r.status == 429 && r.header.Get("Retry-After") == wantRetry:
						refused.Add(1)
					default:
						t.Errorf("request %d: %d %s (Retry-After %q)", i, r.status, r.body, r.header.Get("Retry-After"))
					}
				})
			}
			wg.Wait()
			if admitted.Load() != 10 || refused.Load() != 50 {
				t.Fatalf("admitted %d and refused %d of 60 on three processes, want exactly the limit (10) and 50", admitted.Load(), refused.Load())
			}
		}
		burst("60") // at 12:00:00
		for _, e := range envs {
			if err := e.svc.SyncLimits(ctx); err != nil {
				t.Fatal(err)
			}
			e.clk.Advance(70 * time.Second) // 12:01:10, the next window
		}
		burst("50")
		var rows int
		if err := db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM app_key_windows`).Scan(&rows); err != nil || rows != 0 {
			t.Fatalf("window rows %d (%v), want none: the limits are in Redis", rows, err)
		}
	})
}

// TestUsageLimitWhenRedisDoesNotAnswer: a Redis that refuses connections,
// and one that accepts them and never answers: the process decides alone
// with its own token bucket (the limit, then 429 in the API's format),
// and counts each request it decided so.
func TestUsageLimitWhenRedisDoesNotAnswer(t *testing.T) {
	refused := func(t *testing.T) string { // a port nothing listens on
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	silent := func(t *testing.T) string { // accepts, reads, never answers
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
			}
		}()
		return ln.Addr().String()
	}
	for _, tc := range []struct {
		name string
		addr func(t *testing.T) string
	}{{"refused", refused}, {"silent", silent}} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				rdb := redis.NewClient(&redis.Options{Addr: tc.addr(t), ContextTimeoutEnabled: true, DisableIdentity: true})
				t.Cleanup(func() { rdb.Close() })
				var fallbacks atomic.Int64
				cfg := testConfig()
				cfg.SandboxRequestsPerMinute = 5
				cfg.Redis, cfg.OnLimitFallback = rdb, func() { fallbacks.Add(1) }
				e := newEnv(t, db, cfg)
				key := apiKey(e.tenant(platform.Sandbox, "").APIKey)
				for i, want := range []int{200, 200, 200, 200, 200, 429} {
					if r := e.do("GET", "/dummyapi/status", "", key); r.status != want {
						t.Fatalf("request %d: %d %s, want %d", i+1, r.status, r.body, want)
					} else if want == 429 && (r.header.Get("Retry-After") != "12" || r.body != fmt.Sprintf(errBody, "Usage limit of 5 requests per minute exceeded for this APP key")) {
						t.Fatalf("refused: %s (Retry-After %q)", r.body, r.header.Get("Retry-After"))
					}
				}
				if fallbacks.Load() != 6 {
					t.Fatalf("%d requests counted as decided without Redis, want 6", fallbacks.Load())
				}
			})
		})
	}
}
