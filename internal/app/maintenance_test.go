package app

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// openForTest opens the app on engine e with a fake clock and seeded ids
// (internal tests reach the app's unexported scheduling; external ones use
// internal/apptest), and returns a row counter.
func openForTest(t *testing.T, e storetest.Engine, seed byte) (*App, *clock.Fake, func(q string, args ...any) int) {
	t.Helper()
	return openForTestWith(t, e, seed, nil)
}

// openForTestWith is openForTest with the Prometheus registry to use (nil:
// the app's own).
func openForTestWith(t *testing.T, e storetest.Engine, seed byte, reg *prometheus.Registry) (*App, *clock.Fake, func(q string, args ...any) int) {
	t.Helper()
	cfg := Defaults()
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL = e.URL(t)
	cfg.Pepper = bytes.Repeat([]byte{7}, 32)
	cfg.KEK = bytes.Repeat([]byte{9}, 32)
	clk := clock.NewFake(time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC))
	a, err := Open(context.Background(), cfg, Options{Clock: clk, Rand: rand.NewChaCha8([32]byte{seed}), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := a.DB.Read().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	return a, clk, count
}

// TestIdempotencyPurgeScheduled: the maintenance job is scheduled once
// however many workers start, keeps idempotency keys for 24 hours, purges
// them after, and reschedules itself an hour later.
func TestIdempotencyPurgeScheduled(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			a, clk, count := openForTest(t, e, 5)
			for i := 0; i < 2; i++ { // two workers starting
				if err := a.scheduleMaintenance(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if n := count(`SELECT COUNT(*) FROM jobs WHERE kind = $1`, jobPurgeIdempotency); n != 1 {
				t.Fatalf("%d purge jobs, want 1", n)
			}
			ten, err := a.Platform.CreateTenant(ctx, platform.TenantSpec{Name: "Acme", Mode: platform.Production})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(a.Handler)
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/platform/ledger/accounts", strings.NewReader(`{"owner":"a","purpose":"p","currency":"EUR"}`))
			req.Header.Set("api-key", ten.APIKey)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "k1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("request: %v %v", resp, err)
			}
			resp.Body.Close()
			keys := `SELECT COUNT(*) FROM idempotency_keys`
			if n := count(keys); n != 1 {
				t.Fatalf("%d idempotency keys stored, want 1", n)
			}
			clk.Advance(23 * time.Hour)
			if _, err := a.Runner.RunDue(ctx); err != nil {
				t.Fatal(err)
			}
			if n := count(keys); n != 1 {
				t.Fatalf("key purged after 23h; keys must be kept 24 hours")
			}
			clk.Advance(2 * time.Hour)
			if _, err := a.Runner.RunDue(ctx); err != nil {
				t.Fatal(err)
			}
			if n := count(keys); n != 0 {
				t.Fatalf("%d keys left after 25h, want 0", n)
			}
			var runAt int64
			if err := a.DB.Read().QueryRowContext(ctx, `SELECT run_at FROM jobs WHERE kind = $1 AND state = 'ready'`, jobPurgeIdempotency).Scan(&runAt); err != nil {
				t.Fatalf("purge job not rescheduled: %v", err)
			}
			if want := clk.Now().Add(purgeEvery).UnixMicro(); runAt != want {
				t.Fatalf("next purge at %v, want %v", time.UnixMicro(runAt).UTC(), time.UnixMicro(want).UTC())
			}
		})
	}
}
