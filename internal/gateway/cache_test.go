package gateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestHotPathCaches: what API requests cache (signing keys, settings, the
// day's settlement batch) follows changes made elsewhere within its TTL,
// changes made through this process at once, and never delays a lock-out.
func TestHotPathCaches(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			ctx := context.Background()
			// exec changes the database as another cashgate process would.
			exec := func(q string, args ...any) {
				t.Helper()
				if err := h.app.DB.Transact(ctx, func(tx *store.Tx) error { _, err := tx.ExecContext(ctx, q, args...); return err }); err != nil {
					t.Fatal(err)
				}
			}
			path := "/api/gateway/supported-payment-methods"
			if r := h.call("GET", path, ""); r.status != 200 { // caches key and settings
				t.Fatalf("first call: %d %s", r.status, r.body)
			}
			// A lock-out taken by another process refuses the next request
			// at once, cached key or not.
			exec(`INSERT INTO gateway_auth_failures (lock_key, failures, window_start, locked_until) VALUES ($1, 0, $2, $3)`,
				h.tenant.ConfigurationID+"@127.0.0.1", h.clock.Now().UnixMicro(), h.clock.Now().Add(time.Hour).UnixMicro())
			if r := h.call("GET", path, ""); r.status != 403 {
				t.Errorf("locked elsewhere: %d %s", r.status, r.body)
			}
			exec(`DELETE FROM gateway_auth_failures WHERE lock_key = $1`, h.tenant.ConfigurationID+"@127.0.0.1")
			if r := h.call("GET", path, ""); r.status != 200 {
				t.Fatalf("unlocked: %d %s", r.status, r.body)
			}
			// Settings changed by another process apply within the TTL…
			exec(`INSERT INTO gateway_settings (tenant_id, require_hmac, updated_at) VALUES ($1, TRUE, 0)
				ON CONFLICT (tenant_id) DO UPDATE SET require_hmac = TRUE`, h.tenant.TenantID)
			h.clock.Advance(gateway.SettingsCacheTTL)
			if r := h.call("GET", path, ""); r.status != 401 {
				t.Errorf("HMAC required elsewhere, after the TTL: %d %s", r.status, r.body)
			}
			// …and through this process at once.
			h.settings(gateway.GatewaySettings{AutoCapture: true})
			if r := h.call("GET", path, ""); r.status != 200 {
				t.Errorf("HMAC no longer required: %d %s", r.status, r.body)
			}
			h.settings(gateway.GatewaySettings{AutoCapture: false})
			if m := h.must("POST", "/api/gateway/payment-jobs", moto("cache-auth", "1.00"), 201); firstPayment(m)["status"] != "Authorised" {
				t.Errorf("auto capture off not applied at once: %v", firstPayment(m)["status"])
			}
			h.settings(gateway.GatewaySettings{AutoCapture: true})
			// A configuration removed elsewhere stops working within the key TTL.
			exec(`DELETE FROM gateway_configurations WHERE id = $1`, h.tenant.ConfigurationID)
			h.clock.Advance(gateway.KeyCacheTTL)
			if r := h.call("GET", path, ""); r.status != 404 {
				t.Errorf("removed configuration after the TTL: %d %s", r.status, r.body)
			}
		})
	}
}

// TestSettlementScheduledOncePerDay: payments of one day share one
// settlement job; the next day's payments schedule the next.
func TestSettlementScheduledOncePerDay(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			settles := func() int {
				return h.count(`SELECT COUNT(*) FROM jobs WHERE kind = 'gateway.settle' AND tenant_id = $1`, h.tenant.TenantID)
			}
			for i, order := range []string{"day1-a", "day1-b", "day1-c"} {
				h.must("POST", "/api/gateway/payment-jobs", moto(order, "1.00"), 201)
				if n := settles(); n != 1 {
					t.Errorf("after payment %d: %d settlement jobs", i+1, n)
				}
			}
			h.clock.Set(time.Date(2026, 11, 22, 0, 0, 1, 0, time.UTC))
			if _, err := h.app.Runner.RunDue(context.Background()); err != nil {
				t.Fatal(err)
			}
			if p, a, _ := h.balances(); p != 0 || a != 300 {
				t.Errorf("after the batch: pending %d available %d", p, a)
			}
			h.must("POST", "/api/gateway/payment-jobs", moto("day2-a", "2.00"), 201)
			h.must("POST", "/api/gateway/payment-jobs", moto("day2-b", "2.00"), 201)
			if n := settles(); n != 2 {
				t.Errorf("day 2: %d settlement jobs, want 2", n)
			}
			h.clock.Set(time.Date(2026, 11, 23, 0, 0, 1, 0, time.UTC))
			if _, err := h.app.Runner.RunDue(context.Background()); err != nil {
				t.Fatal(err)
			}
			if p, a, _ := h.balances(); p != 0 || a != 700 {
				t.Errorf("after the second batch: pending %d available %d", p, a)
			}
		})
	}
}
