package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/cashgate/cashgate/internal/store"
)

// SubscriptionCacheTTL is how long a process fans events out from its
// memory of a tenant's enabled webhook endpoints instead of reading them on
// every event. An endpoint created, changed, disabled or deleted through
// this process applies to the next event at once (the change evicts the
// tenant on commit); a change through another process sharing the database
// applies within SubscriptionCacheTTL. Deliveries re-read their endpoint
// before sending, so a disabled or deleted one is never sent to.
const SubscriptionCacheTTL = 2 * time.Second

// maxCachedTenants bounds the cache: past it, it starts over.
const maxCachedTenants = 1 << 14

// subscriber is an enabled endpoint and the event types it takes.
type subscriber struct {
	id     string
	filter []string
}

// subscriptions caches each tenant's subscribers. A tenant's generation
// grows with every eviction, so a load that read the endpoints before a
// change committed cannot store its stale answer after the change evicted.
type subscriptions struct {
	mu  sync.Mutex
	m   map[string]subEntry
	gen map[string]uint64
}

type subEntry struct {
	until time.Time
	subs  []subscriber
}

func newSubscriptions() *subscriptions {
	return &subscriptions{m: map[string]subEntry{}, gen: map[string]uint64{}}
}

// lookup returns the cached subscribers of a tenant, or the generation a
// load must present to store its result.
func (c *subscriptions) lookup(tenantID string, now time.Time) (subs []subscriber, hit bool, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[tenantID]; ok && now.Before(e.until) {
		return e.subs, true, 0
	}
	return nil, false, c.gen[tenantID]
}

func (c *subscriptions) store(tenantID string, gen uint64, subs []subscriber, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen[tenantID] != gen {
		return // an endpoint changed since the load began
	}
	if len(c.m) >= maxCachedTenants {
		c.m = map[string]subEntry{}
	}
	c.m[tenantID] = subEntry{until: now.Add(SubscriptionCacheTTL), subs: subs}
}

func (c *subscriptions) evict(tenantID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, tenantID)
	if len(c.gen) >= maxCachedTenants {
		c.gen = map[string]uint64{} // safe: every entry is gone with its generation
		c.m = map[string]subEntry{}
	}
	c.gen[tenantID]++
}

// endpointsChanged evicts a tenant's subscribers once tx commits: the
// webhook endpoints' writes call it.
func (o *Outbox) endpointsChanged(tx *store.Tx, tenantID string) {
	tx.OnCommit(func() { o.subs.evict(tenantID) })
}

// subscribedEndpoints returns the ids of the tenant's enabled endpoints whose
// filter matches typ, from the cache or read in tx (stored in the cache
// only once tx commits, so an uncommitted endpoint is never remembered).
func (o *Outbox) subscribedEndpoints(ctx context.Context, tx *store.Tx, tenantID, typ string) ([]string, error) {
	now := o.clk.Now()
	subs, hit, gen := o.subs.lookup(tenantID, now)
	if !hit {
		var err error
		if subs, err = loadSubscribers(ctx, tx, tenantID); err != nil {
			return nil, err
		}
		tx.OnCommit(func() { o.subs.store(tenantID, gen, subs, now) })
	}
	var out []string
	for _, s := range subs {
		if matchesType(s.filter, typ) {
			out = append(out, s.id)
		}
	}
	return out, nil
}

// loadSubscribers reads the tenant's enabled endpoints in creation order.
func loadSubscribers(ctx context.Context, tx *store.Tx, tenantID string) ([]subscriber, error) {
	rows, err := tx.QueryContext(ctx,
		`SELECT id, event_types FROM webhook_endpoints WHERE tenant_id = $1 AND enabled = $2 ORDER BY created_at, id`,
		tenantID, true)
	if err != nil {
		return nil, fmt.Errorf("outbox: endpoints for fan-out: %w", err)
	}
	defer rows.Close()
	var out []subscriber
	for rows.Next() {
		var s subscriber
		var types string
		if err := rows.Scan(&s.id, &types); err != nil {
			return nil, fmt.Errorf("outbox: endpoints for fan-out: %w", err)
		}
		if err := json.Unmarshal([]byte(types), &s.filter); err != nil {
			return nil, fmt.Errorf("outbox: endpoint %s event types: %w", s.id, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox: endpoints for fan-out: %w", err)
	}
	return out, nil
}
