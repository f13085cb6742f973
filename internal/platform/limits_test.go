package platform_test

import (
	"context"
	"testing"

	"github.com/cashgate/cashgate/internal/platform"
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
