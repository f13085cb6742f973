package gateway

import (
	"context"
	"sync"
	"time"
)

// What the hot path reads on every request, cached where it is safe:
//
//   - a configuration's tenant and signing key (KeyCacheTTL): keys are
//     only ever created today; should one be rotated or removed, the old
//     one keeps working in a process for at most the TTL;
//   - a tenant's settings as the API requests see them (SettingsCacheTTL):
//     PutSettings drops the entry in its own process at once; other
//     processes on the same database see a change within the TTL. Work
//     done in a transaction (capture, refund, settlement, the hosted
//     pages) reads the settings in that transaction, uncached;
//   - a tenant's time zone (ZoneCacheTTL): loading it reads the tenant
//     and parses the zone's tzdata, too much for every payment; a zone
//     changed in the platform applies to the settlement cutoff, the
//     cancellation cutoff and the hosted pages within the TTL (a batch
//     already scheduled for the old midnight still runs then);
//   - that the tenant's settlement batch of a day is scheduled: remembered
//     once a transaction that scheduled it has committed (the job exists
//     for good then), so later payments of the day skip the insert.
//
// Never cached: the lock-out state of a configuration. Every request reads
// it, so a lock taken by any process refuses the next request everywhere,
// and every failed signature is counted in the database.
const (
	KeyCacheTTL      = 30 * time.Second
	SettingsCacheTTL = 5 * time.Second
	ZoneCacheTTL     = 30 * time.Second
)

// ttlCache maps keys to values that expire at the service clock's time.
type ttlCache[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
}

func (c *ttlCache[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// put stores v until now+ttl; entries that expired are swept when the map
// has grown (so configurations never seen again do not pile up).
func (c *ttlCache[K, V]) put(k K, v V, now time.Time, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[K]ttlEntry[V]{}
	}
	if len(c.m) >= 1024 {
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
	}
	c.m[k] = ttlEntry[V]{v: v, expires: now.Add(ttl)}
}

func (c *ttlCache[K, V]) drop(k K) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

type signingKey struct{ tenantID, key string }

// signingKey returns the configuration's tenant and signing key (cached).
func (s *Service) signingKey(ctx context.Context, configID string) (tenantID, key string, err error) {
	now := s.Clock.Now()
	if k, ok := s.keyCache.get(configID, now); ok {
		return k.tenantID, k.key, nil
	}
	tenantID, key, err = s.Keys.SigningKey(ctx, configID)
	if err != nil {
		return "", "", err
	}
	s.keyCache.put(configID, signingKey{tenantID, key}, now, KeyCacheTTL)
	return tenantID, key, nil
}

// cachedSettings returns the tenant's settings for an API request (cached).
func (s *Service) cachedSettings(ctx context.Context, tenantID string) (settings, error) {
	now := s.Clock.Now()
	if st, ok := s.settingsCache.get(tenantID, now); ok {
		return st, nil
	}
	st, err := s.settings(ctx, s.DB.Reader(ctx), tenantID)
	if err != nil {
		return settings{}, err
	}
	s.settingsCache.put(tenantID, st, now, SettingsCacheTTL)
	return st, nil
}

type settleKey struct {
	tenant string
	cutoff int64
}

// settlementScheduled reports whether the tenant's batch at cutoff is
// known to be scheduled (by a committed transaction).
func (s *Service) settlementScheduled(tenantID string, cutoff time.Time) bool {
	_, ok := s.scheduled.Load(settleKey{tenantID, cutoff.UnixMicro()})
	return ok
}

// rememberSettlement records, after the commit of a transaction that called
// scheduleSettlement at now, that the batch is scheduled; batches whose
// cutoff passed are forgotten.
func (s *Service) rememberSettlement(ctx context.Context, tenantID string, now time.Time) {
	loc, _, err := s.zone(ctx, tenantID)
	if err != nil {
		return
	}
	cutoff := midnightAfter(now, loc)
	if _, loaded := s.scheduled.LoadOrStore(settleKey{tenantID, cutoff.UnixMicro()}, struct{}{}); loaded {
		return
	}
	s.scheduled.Range(func(k, _ any) bool {
		if k.(settleKey).cutoff < now.UnixMicro() {
			s.scheduled.Delete(k)
		}
		return true
	})
}
