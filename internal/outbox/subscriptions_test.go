package outbox

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestSubscriptionCache: every change of an endpoint through this process
// applies to the very next event; a change through another process (its own
// Outbox and cache on the same database) applies once SubscriptionCacheTTL
// has passed; a rolled-back transaction leaves nothing in the cache.
func TestSubscriptionCache(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		deliveries := func() int {
			return count(t, db, `SELECT COUNT(*) FROM webhook_deliveries WHERE tenant_id = 'ten_a'`)
		}
		e.emit(t, "ten_a", "payment.paid", map[string]string{"n": "1"}) // caches "no endpoint"
		ep, err := e.wh.CreateEndpoint(ctx, "ten_a", CreateEndpointRequest{URL: "http://127.0.0.1:9/hook", EventTypes: []string{"payment.*"}})
		ok(t, err)
		steps := []struct {
			name   string
			change func()
			want   int // deliveries in all after one more event
		}{
			{"created", func() {}, 1},
			{"filter changed", func() {
				_, err := e.wh.UpdateEndpoint(ctx, "ten_a", ep.ID, UpdateEndpointRequest{EventTypes: []string{"refund.*"}})
				ok(t, err)
			}, 1},
			{"filter back", func() {
				_, err := e.wh.UpdateEndpoint(ctx, "ten_a", ep.ID, UpdateEndpointRequest{EventTypes: []string{"*"}})
				ok(t, err)
			}, 2},
			{"disabled", func() { _, err := e.wh.DisableEndpoint(ctx, "ten_a", ep.ID); ok(t, err) }, 2},
			{"enabled", func() {
				on := true
				_, err := e.wh.UpdateEndpoint(ctx, "ten_a", ep.ID, UpdateEndpointRequest{Enabled: &on})
				ok(t, err)
			}, 3},
			{"deleted", func() { ok(t, e.wh.DeleteEndpoint(ctx, "ten_a", ep.ID)) }, 3},
		}
		for _, s := range steps {
			s.change()
			e.emit(t, "ten_a", "payment.paid", map[string]string{"step": s.name})
			if got := deliveries(); got != s.want {
				t.Fatalf("after %s: %d deliveries, want %d", s.name, got, s.want)
			}
		}

		// Another process creates an endpoint: this one's cache says "none"
		// until the TTL has passed.
		other := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		_, err = other.wh.CreateEndpoint(ctx, "ten_a", CreateEndpointRequest{URL: "http://127.0.0.1:9/other", EventTypes: []string{"*"}})
		ok(t, err)
		e.emit(t, "ten_a", "payment.paid", nil)
		if got := deliveries(); got != 3 {
			t.Fatalf("within the TTL: %d deliveries, want 3 (cached)", got)
		}
		e.clk.Advance(SubscriptionCacheTTL)
		e.emit(t, "ten_a", "payment.paid", nil)
		if got := deliveries(); got != 4 {
			t.Fatalf("after the TTL: %d deliveries, want 4", got)
		}

		// A load inside a transaction that rolls back is not remembered.
		e.clk.Advance(SubscriptionCacheTTL)
		boom := errors.New("boom")
		err = db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			if _, err := e.ob.Emit(ctx, tx, Event{TenantID: "ten_a", Type: "payment.paid", Subject: "x"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("rolled back emit: %v", err)
		}
		if _, hit, _ := e.ob.subs.lookup("ten_a", e.clk.Now()); hit {
			t.Fatal("a rolled-back transaction's load was cached")
		}
	})
}

// TestSubscriptionCacheRefusesStaleLoads: a load that began before an
// endpoint change and finishes after its eviction is not stored.
func TestSubscriptionCacheRefusesStaleLoads(t *testing.T) {
	c := newSubscriptions()
	now := time.Unix(0, 0)
	_, hit, gen := c.lookup("t", now)
	if hit {
		t.Fatal("empty cache hits")
	}
	c.evict("t") // the change commits while the load runs
	c.store("t", gen, []subscriber{{id: "stale"}}, now)
	if _, hit, _ := c.lookup("t", now); hit {
		t.Fatal("a stale load was stored")
	}
	_, _, gen = c.lookup("t", now)
	c.store("t", gen, []subscriber{{id: "fresh"}}, now)
	if subs, hit, _ := c.lookup("t", now); !hit || subs[0].id != "fresh" {
		t.Fatalf("fresh load: %v %v", subs, hit)
	}
	if _, hit, _ := c.lookup("t", now.Add(SubscriptionCacheTTL)); hit {
		t.Fatal("an entry outlived the TTL")
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
