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
				if err := h.app.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error { _, err := tx.ExecContext(ctx, q, args...); return err }); err != nil {
					t.Fatal(err)
				}
			}
			path := "/api/gateway/supported-payment-methods"
			if r := h.call("GET", path, ""); r.Status != 200 { // caches key and settings
				t.Fatalf("first call: %d %s", r.Status, r.Body)
			}
			// A lock-out taken by another process refuses the next request
			// at once, cached key or not.
			exec(`INSERT INTO gateway_auth_failures (lock_key, failures, window_start, locked_until) VALUES ($1, 0, $2, $3)`,
				h.Tenant.ConfigurationID+"@127.0.0.1", h.Clock.Now().UnixMicro(), h.Clock.Now().Add(time.Hour).UnixMicro())
			if r := h.call("GET", path, ""); r.Status != 403 {
				t.Errorf("locked elsewhere: %d %s", r.Status, r.Body)
			}
			exec(`DELETE FROM gateway_auth_failures WHERE lock_key = $1`, h.Tenant.ConfigurationID+"@127.0.0.1")
			if r := h.call("GET", path, ""); r.Status != 200 {
				t.Fatalf("unlocked: %d %s", r.Status, r.Body)
			}
			// Settings changed by another process apply within the TTL…
			exec(`INSERT INTO gateway_settings (tenant_id, require_hmac, updated_at) VALUES ($1, TRUE, 0)
				ON CONFLICT (tenant_id) DO UPDATE SET require_hmac = TRUE`, h.Tenant.TenantID)
			h.Clock.Advance(gateway.SettingsCacheTTL)
			if r := h.call("GET", path, ""); r.Status != 401 {
				t.Errorf("HMAC required elsewhere, after the TTL: %d %s", r.Status, r.Body)
			}
			// …and through this process at once.
			h.settings(gateway.GatewaySettings{AutoCapture: true})
			if r := h.call("GET", path, ""); r.Status != 200 {
				t.Errorf("HMAC no longer required: %d %s", r.Status, r.Body)
			}
			h.settings(gateway.GatewaySettings{AutoCapture: false})
			if m := h.must("POST", "/api/gateway/payment-jobs", moto("cache-auth", "1.00"), 201); firstPayment(m)["status"] != "Authorised" {
				t.Errorf("auto capture off not applied at once: %v", firstPayment(m)["status"])
			}
			h.settings(gateway.GatewaySettings{AutoCapture: true})
			// A configuration removed elsewhere stops working within the key TTL.
			exec(`DELETE FROM gateway_configurations WHERE id = $1`, h.Tenant.ConfigurationID)
			h.Clock.Advance(gateway.KeyCacheTTL)
			if r := h.call("GET", path, ""); r.Status != 404 {
				t.Errorf("removed configuration after the TTL: %d %s", r.Status, r.Body)
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
				return h.count(`SELECT COUNT(*) FROM jobs WHERE kind = 'gateway.settle' AND tenant_id = $1`, h.Tenant.TenantID)
			}
			for i, order := range []string{"day1-a", "day1-b", "day1-c"} {
				h.must("POST", "/api/gateway/payment-jobs", moto(order, "1.00"), 201)
				if n := settles(); n != 1 {
					t.Errorf("after payment %d: %d settlement jobs", i+1, n)
				}
			}
			h.Clock.Set(time.Date(2026, 11, 22, 0, 0, 1, 0, time.UTC))
			h.RunDue()
			if p, a, _ := h.balances(); p != 0 || a != 300 {
				t.Errorf("after the batch: pending %d available %d", p, a)
			}
			h.must("POST", "/api/gateway/payment-jobs", moto("day2-a", "2.00"), 201)
			h.must("POST", "/api/gateway/payment-jobs", moto("day2-b", "2.00"), 201)
			if n := settles(); n != 2 {
				t.Errorf("day 2: %d settlement jobs, want 2", n)
			}
			h.Clock.Set(time.Date(2026, 11, 23, 0, 0, 1, 0, time.UTC))
			h.RunDue()
			if p, a, _ := h.balances(); p != 0 || a != 700 {
				t.Errorf("after the second batch: pending %d available %d", p, a)
			}
		})
	}
}

// TestTenantZoneChange: a tenant's time zone changed in the platform applies
// to the gateway within ZoneCacheTTL: the next payment schedules the
// settlement batch at midnight in the new zone.
func TestTenantZoneChange(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			ctx := context.Background()
			settleRuns := func() []time.Time {
				t.Helper()
				rows, err := h.app.DB.Read().QueryContext(ctx, `SELECT run_at FROM jobs WHERE kind = 'gateway.settle' AND tenant_id = $1 ORDER BY run_at`, h.Tenant.TenantID)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var out []time.Time
				for rows.Next() {
					var us int64
					if err := rows.Scan(&us); err != nil {
						t.Fatal(err)
					}
					out = append(out, time.UnixMicro(us).UTC())
				}
				return out
			}
			h.must("POST", "/api/gateway/payment-jobs", moto("zone-london", "1.00"), 201)
			london := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
			if got := settleRuns(); len(got) != 1 || !got[0].Equal(london) {
				t.Fatalf("settlement at %v, want [%v]", got, london)
			}
			if err := h.app.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
				_, err := tx.ExecContext(ctx, `UPDATE tenants SET timezone = 'America/New_York' WHERE id = $1`, h.Tenant.TenantID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			h.Clock.Advance(gateway.ZoneCacheTTL)
			h.must("POST", "/api/gateway/payment-jobs", moto("zone-new-york", "1.00"), 201)
			newYork := time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC) // midnight EST
			if got := settleRuns(); len(got) != 2 || !got[1].Equal(newYork) {
				t.Fatalf("settlement at %v, want [%v %v]", got, london, newYork)
			}
		})
	}
}
