package platform_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// storedUsage reads app_key_usage for a key: day → requests.
func storedUsage(t *testing.T, db *store.DB, key string) map[string]int64 {
	t.Helper()
	rows, err := db.Read().QueryContext(context.Background(), `SELECT day, requests FROM app_key_usage WHERE key_id = $1`, key)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var day string
		var n int64
		if err := rows.Scan(&day, &n); err != nil {
			t.Fatal(err)
		}
		out[day] = n
	}
	return out
}

func (e *env) flush() {
	e.t.Helper()
	if err := e.svc.FlushUsage(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// TestKeyUsageCounts: N concurrent requests are N after a flush, with no
// row written before it; requests on each side of midnight (UTC, injected
// clock) count on their own day; unflushed requests show in Usage; a
// request refused by the usage limit is not counted.
func TestKeyUsageCounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		ten := e.tenant(platform.Production, "")
		id := keyID(ten.APIKey)
		const n = 40
		parallel(n, func(int) {
			if r := e.do("GET", "/dummyapi/status", "", apiKey(ten.APIKey)); r.status != 200 {
				t.Errorf("status: %d %s", r.status, r.body)
			}
		})
		if got := storedUsage(t, db, id); len(got) != 0 {
			t.Fatalf("usage written before a flush: %v", got)
		}
		e.flush()
		if got := storedUsage(t, db, id); len(got) != 1 || got["2026-03-01"] != n {
			t.Fatalf("after a flush: %v, want %d on 2026-03-01", got, n)
		}
		// Across midnight UTC.
		e.clk.Set(time.Date(2026, 3, 1, 23, 59, 59, 0, time.UTC))
		for range 3 {
			e.do("GET", "/dummyapi/status", "", apiKey(ten.APIKey))
		}
		e.clk.Advance(2 * time.Second)
		for range 4 {
			e.do("GET", "/dummyapi/status", "", apiKey(ten.APIKey))
		}
		e.flush()
		if got := storedUsage(t, db, id); got["2026-03-01"] != n+3 || got["2026-03-02"] != 4 {
			t.Fatalf("across midnight: %v", got)
		}
		// Not flushed yet: Usage adds this process's pending counts.
		e.do("GET", "/dummyapi/status", "", apiKey(ten.APIKey))
		u, err := e.svc.Usage(context.Background(), ten.TenantID, id)
		if err != nil || u.Total != n+8 || len(u.Days) != 2 || u.Days[0] != (platform.DayUsage{Day: "2026-03-02", Requests: 5}) ||
			u.From != "2026-02-01" || u.To != "2026-03-02" {
			t.Fatalf("usage %+v %v", u, err)
		}
		// The sandbox limit (60 a minute): refused requests are not counted.
		sb := e.tenant(platform.Sandbox, "")
		for range 65 {
			e.do("GET", "/dummyapi/status", "", apiKey(sb.APIKey))
		}
		e.flush()
		if got := storedUsage(t, db, keyID(sb.APIKey)); got["2026-03-02"] != platform.DefaultSandboxRequestsPerMinute {
			t.Fatalf("sandbox usage %v, want the %d admitted", got, platform.DefaultSandboxRequestsPerMinute)
		}
	})
}

// TestKeyUsageConcurrentFlushes: requests and flushes running at the same
// time lose and double nothing; a flush that fails keeps its counts for
// the next one.
func TestKeyUsageConcurrentFlushes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		ten := e.tenant(platform.Production, "")
		other := e.tenant(platform.Production, "")
		const n = 60
		parallel(n, func(i int) {
			key := ten.APIKey
			if i%3 == 0 {
				key = other.APIKey
			}
			e.do("GET", "/dummyapi/status", "", apiKey(key))
			if i%10 == 0 {
				if err := e.svc.FlushUsage(context.Background()); err != nil {
					t.Error(err)
				}
			}
		})
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		e.do("GET", "/dummyapi/status", "", apiKey(ten.APIKey))
		if err := e.svc.FlushUsage(cancelled); err == nil {
			t.Fatal("a flush with a cancelled context succeeded")
		}
		e.flush()
		if a, b := storedUsage(t, db, keyID(ten.APIKey))["2026-03-01"], storedUsage(t, db, keyID(other.APIKey))["2026-03-01"]; a != 41 || b != 20 {
			t.Fatalf("usage %d and %d, want 41 and 20", a, b)
		}
	})
}

// TestKeyUsageAPI: GET /platform/keys/{id}/usage (golden file); another
// tenant's key is not found, in the platform's error format.
func TestKeyUsageAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		ten := e.tenant(platform.Production, "")
		other := e.tenant(platform.Production, "")
		id := keyID(ten.APIKey)
		e.do("GET", "/dummyapi/status", "", apiKey(ten.APIKey))
		e.flush()
		e.clk.Advance(24 * time.Hour)
		e.do("GET", "/dummyapi/status", "", apiKey(ten.APIKey))
		r := e.do("GET", "/platform/keys/"+id+"/usage", "", apiKey(ten.APIKey))
		if r.status != 200 {
			t.Fatalf("usage: %d %s", r.status, r.body)
		}
		golden(t, "key_usage.json", strings.ReplaceAll(r.body, id, "key_#1"))
		r = e.do("GET", "/platform/keys/"+id+"/usage", "", apiKey(other.APIKey))
		if r.status != 404 || r.body != fmt.Sprintf(errBody, fmt.Sprintf("APP key %q not found", id)) {
			t.Fatalf("another tenant's key: %d %s", r.status, r.body)
		}
	})
}

// golden compares body with testdata/name (rewritten with -update, from
// the SQLite run).
func golden(t *testing.T, name, body string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update && strings.HasSuffix(t.Name(), "sqlite") {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal([]byte(body), want) {
		t.Errorf("%s differs from the golden file:\n got: %s\nwant: %s", name, body, want)
	}
}

// TestSetKeyExpiry: an expiry is set, moved and cleared; a past one, a
// revoked key, an expired key and another tenant's key are refused.
func TestSetKeyExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		ctx := context.Background()
		ten := e.tenant(platform.Production, "")
		other := e.tenant(platform.Production, "")
		id := keyID(ten.APIKey)
		at := t0.Add(time.Hour)
		k, err := e.svc.SetKeyExpiry(ctx, ten.TenantID, id, &at)
		if err != nil || k.ExpiresAt == nil || !k.ExpiresAt.Equal(at) {
			t.Fatalf("set: %+v %v", k, err)
		}
		if k, err = e.svc.SetKeyExpiry(ctx, ten.TenantID, id, nil); err != nil || k.ExpiresAt != nil {
			t.Fatalf("clear: %+v %v", k, err)
		}
		past := t0.Add(-time.Minute)
		if _, err := e.svc.SetKeyExpiry(ctx, ten.TenantID, id, &past); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("past expiry: %v", err)
		}
		if _, err := e.svc.SetKeyExpiry(ctx, other.TenantID, id, &at); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("another tenant's key: %v", err)
		}
		soon := t0.Add(time.Minute)
		if _, err := e.svc.SetKeyExpiry(ctx, ten.TenantID, id, &soon); err != nil {
			t.Fatal(err)
		}
		e.clk.Advance(2 * time.Minute)
		if r := e.do("GET", "/dummyapi/status", "", apiKey(ten.APIKey)); r.status != 401 {
			t.Fatalf("expired key still works: %d", r.status)
		}
		later := t0.Add(time.Hour)
		if _, err := e.svc.SetKeyExpiry(ctx, ten.TenantID, id, &later); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("reviving an expired key: %v", err)
		}
		second, err := e.svc.CreateKey(ctx, ten.TenantID, "second", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.RevokeKey(ctx, ten.TenantID, second.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.SetKeyExpiry(ctx, ten.TenantID, second.ID, &later); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("revoked key: %v", err)
		}
	})
}

// TestTenantAdminsFrom: a tenant made with AdminsFrom has the other's admin
// users, whose passwords and PINs work on it.
func TestTenantAdminsFrom(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		sb := e.tenant(platform.Sandbox, "2468")
		prod, err := e.svc.CreateTenant(context.Background(), platform.TenantSpec{Name: "Live", Mode: platform.Production, AdminsFrom: sb.TenantID})
		if err != nil {
			t.Fatal(err)
		}
		if prod.AdminPassword != "" {
			t.Fatalf("a password was generated: %+v", prod)
		}
		users, err := e.svc.AdminUsers(context.Background(), prod.TenantID)
		if err != nil || len(users) != 1 || users[0].Username != "admin" || !users[0].HasPIN || users[0].Timezone != "Asia/Tokyo" {
			t.Fatalf("copied admins %+v %v", users, err)
		}
		e.token(prod.APIKey, "grant_type=password&username=admin&password=correct+horse&pin=2468")
	})
}
