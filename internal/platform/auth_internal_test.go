package platform

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
)

// TestAdmitLimitsAndEviction drives the limiter map directly: limits per
// mode, Retry-After, and eviction of idle limiters.
func TestAdmitLimitsAndEviction(t *testing.T) {
	b := newBuckets()
	s := &Service{cfg: Config{SandboxRequestsPerMinute: 2, ProductionRequestsPerMinute: -1},
		usage: map[string]*keyUsage{}, log: slog.New(slog.DiscardHandler), limits: &dbLimiter{b: b}}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	use := func(id string, mode Mode, now time.Time) error {
		k := authKey{Key: Key{ID: id, LastUsedAt: &now}, mode: mode} // recently used: no write
		return s.admit(context.Background(), k, now)
	}
	for i := 0; i < 2; i++ {
		if err := use("key_a", Sandbox, t0); err != nil {
			t.Fatal(err)
		}
	}
	err := use("key_a", Sandbox, t0)
	var ae *apperr.Error
	if !apperr.Is(err, apperr.RateLimited) || !asAppErr(err, &ae) || ae.RetryAfterSeconds != 30 {
		t.Fatalf("third request: %v", err)
	}
	if err := use("key_a", Sandbox, t0.Add(30*time.Second)); err != nil {
		t.Fatalf("after 30s: %v", err)
	}
	for i := 0; i < 1000; i++ {
		if err := use("key_p", Production, t0); err != nil {
			t.Fatalf("unlimited production key: %v", err)
		}
	}
	if len(s.usage) != 2 || len(b.m) != 1 {
		t.Fatalf("%d keys in use, %d buckets; want 2 and 1 (none for the unlimited key)", len(s.usage), len(b.m))
	}
	if err := use("key_b", Sandbox, t0.Add(idleEviction+time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.usage["key_a"]; ok || len(s.usage) != 1 || len(b.m) != 1 {
		t.Fatalf("idle keys not evicted: %d keys and %d buckets left", len(s.usage), len(b.m))
	}
}

func asAppErr(err error, target **apperr.Error) bool {
	e, ok := err.(*apperr.Error)
	*target = e
	return ok
}
