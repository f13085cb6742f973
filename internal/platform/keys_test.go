package platform_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestSandboxOneKey: a sandbox tenant holds one active key; it may rotate it.
func TestSandboxOneKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		ctx := context.Background()
		sb := e.tenant(platform.Sandbox, "")
		oneKey := fmt.Sprintf(errBody, "Sandbox accounts can hold only one active APP key; rotate the existing key instead")

		r := e.do("POST", "/platform/keys", `{"name":"second"}`, apiKey(sb.APIKey))
		if r.status != 409 || r.body != oneKey {
			t.Fatalf("second sandbox key over HTTP: %d %s", r.status, r.body)
		}
		if _, err := e.svc.CreateKey(ctx, sb.BusinessCode, "second", nil, nil); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("second sandbox key from the CLI: %v", err)
		}
		// Rotation (even with a grace period asked for) revokes the old key at once.
		r = e.do("POST", "/platform/keys/"+keyID(sb.APIKey)+"/rotate", `{"graceSeconds":3600}`, apiKey(sb.APIKey))
		if r.status != 201 {
			t.Fatalf("rotate: %d %s", r.status, r.body)
		}
		m := r.json(t)
		newKey := m["apiKey"].(string)
		if m["replaces"] != keyID(sb.APIKey) || m["status"] != "active" || m["name"] != "default" {
			t.Fatalf("rotate response %v", m)
		}
		if r := e.do("GET", "/dummyapi/status", "", apiKey(sb.APIKey)); r.status != 401 || r.body != fmt.Sprintf(errBody, "APP key has been revoked") {
			t.Fatalf("old sandbox key after rotation: %d %s", r.status, r.body)
		}
		if r := e.do("GET", "/dummyapi/status", "", apiKey(newKey)); r.status != 200 {
			t.Fatalf("new sandbox key: %d %s", r.status, r.body)
		}
		// Once the only key is revoked, a new one may be created (by the CLI).
		if _, err := e.svc.RevokeKey(ctx, sb.TenantID, keyID(newKey)); err != nil {
			t.Fatal(err)
		}
		k, err := e.svc.CreateKey(ctx, sb.TenantID, "fresh", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r := e.do("GET", "/dummyapi/status", "", apiKey(k.APIKey)); r.status != 200 {
			t.Fatalf("fresh key: %d", r.status)
		}
		keys, err := e.svc.ListKeys(ctx, sb.TenantID)
		if err != nil || len(keys) != 3 {
			t.Fatalf("ListKeys: %d keys, %v", len(keys), err)
		}
	})
}

// TestProductionKeys: several keys, list, revoke, rotate with grace, expire
// and renew.
func TestProductionKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		ctx := context.Background()
		prod := e.tenant(platform.Production, "")
		main := prod.APIKey

		r := e.do("POST", "/platform/keys", `{"name":"pos","apis":["remote","platform"],"expiresAt":"2026-06-01T00:00:00Z"}`, apiKey(main))
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		pos := r.json(t)
		posKey := pos["apiKey"].(string)
		if fmt.Sprint(pos["apis"]) != "[platform remote]" || pos["expiresAt"] != "2026-06-01T00:00:00Z" ||
			pos["expiresAtLocal"] != "2026-06-01T09:00:00+09:00" || pos["prefix"] != posKey[:20] || pos["status"] != "active" {
			t.Fatalf("created key %v", pos)
		}
		r = e.do("POST", "/platform/keys", `{"name":"backoffice"}`, apiKey(main))
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		bo := r.json(t)["apiKey"].(string)
		for _, k := range []string{main, posKey, bo} {
			if r := e.do("GET", "/dummyapi/status", "", apiKey(k)); r.status != 200 {
				t.Fatalf("key %s: %d", k[:20], r.status)
			}
		}
		invalid := []struct{ body, msg string }{
			{`{"apis":["wallet"]}`, `unknown API "wallet"; allowed are platform, remote and cashier`},
			{`{"expiresAt":"tomorrow"}`, `expiresAt must be an RFC 3339 timestamp such as "2027-01-31T23:59:59Z"`},
			{`{"expiresAt":"2020-01-01T00:00:00Z"}`, `expiresAt must be in the future`},
			{`{"nmae":"typo"}`, `unknown field "nmae"`},
		}
		for _, c := range invalid {
			if r := e.do("POST", "/platform/keys", c.body, apiKey(main)); r.status != 400 || r.body != fmt.Sprintf(errBody, c.msg) {
				t.Fatalf("%s: %d %s", c.body, r.status, r.body)
			}
		}

		// List: newest first, never a secret.
		r = e.do("GET", "/platform/keys", "", apiKey(main))
		list := r.json(t)["keys"].([]any)
		if r.status != 200 || len(list) != 3 {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		for _, k := range list {
			if _, ok := k.(map[string]any)["apiKey"]; ok {
				t.Fatal("list shows a secret")
			}
		}

		// Revoke over HTTP.
		r = e.do("POST", "/platform/keys/"+keyID(bo)+"/revoke", "", apiKey(main))
		if r.status != 200 || r.json(t)["status"] != "revoked" {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		if r := e.do("GET", "/dummyapi/status", "", apiKey(bo)); r.status != 401 {
			t.Fatalf("revoked key: %d", r.status)
		}
		if r := e.do("POST", "/platform/keys/key_0000000000000000/revoke", "", apiKey(main)); r.status != 404 ||
			r.body != fmt.Sprintf(errBody, `APP key "key_0000000000000000" not found`) {
			t.Fatalf("revoke unknown: %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/platform/keys/"+keyID(bo)+"/rotate", "", apiKey(main)); r.status != 409 {
			t.Fatalf("rotate revoked: %d %s", r.status, r.body)
		}

		// Rotate with a grace period: both work until it ends.
		r = e.do("POST", "/platform/keys/"+keyID(posKey)+"/rotate", `{"graceSeconds":3600}`, apiKey(main))
		if r.status != 201 {
			t.Fatalf("rotate: %d %s", r.status, r.body)
		}
		rotated := r.json(t)
		newPos := rotated["apiKey"].(string)
		if fmt.Sprint(rotated["apis"]) != "[platform remote]" || rotated["name"] != "pos" || rotated["expiresAt"] != "2026-06-01T00:00:00Z" {
			t.Fatalf("rotated key keeps settings: %v", rotated)
		}
		old, err := e.svc.Key(ctx, prod.TenantID, keyID(posKey))
		if err != nil || old.Status(e.clk.Now()) != platform.KeyRotating || old.ReplacedBy != keyID(newPos) {
			t.Fatalf("old key %+v %v", old, err)
		}
		for _, k := range []string{posKey, newPos} {
			if r := e.do("GET", "/remote/ping", "", apiKey(k)); r.status != 200 {
				t.Fatalf("during grace: %d", r.status)
			}
		}
		e.clk.Advance(time.Hour)
		if r := e.do("GET", "/remote/ping", "", apiKey(posKey)); r.status != 401 || r.body != fmt.Sprintf(errBody, "APP key has been revoked") {
			t.Fatalf("after grace: %d %s", r.status, r.body)
		}
		if r := e.do("GET", "/remote/ping", "", apiKey(newPos)); r.status != 200 {
			t.Fatalf("new key after grace: %d", r.status)
		}

		// An admin expires a key; the holder renews it by rotation (CLI).
		if _, err := e.svc.ExpireKey(ctx, prod.BusinessCode, keyID(main)); err != nil {
			t.Fatal(err)
		}
		if r := e.do("GET", "/dummyapi/status", "", apiKey(main)); r.status != 401 || r.body != fmt.Sprintf(errBody, "Key has expired, please renew") {
			t.Fatalf("expired: %d %s", r.status, r.body)
		}
		renewed, err := e.svc.RotateKey(ctx, prod.BusinessCode, keyID(main), 0)
		if err != nil {
			t.Fatal(err)
		}
		if renewed.ExpiresAt != nil {
			t.Fatalf("renewed key of a key without expiry expires at %v", renewed.ExpiresAt)
		}
		if r := e.do("GET", "/dummyapi/status", "", apiKey(renewed.APIKey)); r.status != 200 {
			t.Fatalf("renewed: %d", r.status)
		}
		if _, err := e.svc.RotateKey(ctx, prod.TenantID, renewed.ID, 8*24*time.Hour); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("grace beyond the maximum: %v", err)
		}
		if _, err := e.svc.CreateKey(ctx, "NOSUCHCO", "x", nil, nil); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("unknown tenant: %v", err)
		}
		// Keys are per tenant: another tenant cannot touch them.
		other := e.tenant(platform.Production, "")
		if r := e.do("POST", "/platform/keys/"+renewed.ID+"/revoke", "", apiKey(other.APIKey)); r.status != 404 {
			t.Fatalf("cross-tenant revoke: %d %s", r.status, r.body)
		}
		if _, err := e.svc.RevokeKey(ctx, other.TenantID, renewed.ID); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("cross-tenant revoke from the CLI: %v", err)
		}
	})
}

// TestKeyAPIs checks the allow list defaults and validation.
func TestKeyAPIs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		ctx := context.Background()
		prod := e.tenant(platform.Production, "")
		cases := []struct {
			in   []httpx.API
			want string
		}{
			{nil, "[platform remote cashier]"},
			{[]httpx.API{httpx.APICashier, httpx.APIRemote, httpx.APICashier}, "[remote cashier]"},
		}
		for _, c := range cases {
			k, err := e.svc.CreateKey(ctx, prod.TenantID, "", nil, c.in)
			if err != nil || fmt.Sprint(k.APIs) != c.want || k.Name != "default" {
				t.Fatalf("CreateKey(%v) = %v %q, %v", c.in, k.APIs, k.Name, err)
			}
		}
		if _, err := e.svc.CreateKey(ctx, prod.TenantID, "", nil, []httpx.API{httpx.APIGateway}); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("gateway API: %v", err)
		}
	})
}

// TestSandboxOneKeyConcurrent: concurrent creations cannot slip a second
// active key into a sandbox tenant.
func TestSandboxOneKeyConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		ctx := context.Background()
		sb := e.tenant(platform.Sandbox, "")
		if _, err := e.svc.RevokeKey(ctx, sb.TenantID, keyID(sb.APIKey)); err != nil {
			t.Fatal(err)
		}
		const n = 10
		errs := make([]error, n)
		parallel(n, func(i int) {
			_, errs[i] = e.svc.CreateKey(ctx, sb.TenantID, "racer", nil, nil)
		})
		created := 0
		for _, err := range errs {
			switch {
			case err == nil:
				created++
			case !apperr.Is(err, apperr.Conflict):
				t.Fatalf("unexpected error %v", err)
			}
		}
		if created != 1 {
			t.Fatalf("%d keys created concurrently, want 1", created)
		}
	})
}

// TestKeyCacheRevocationBound: a process remembers APP keys for
// KeyCacheTTL. A key revoked through this process stops working here at
// once; another process on the same database (a second service) accepts it
// until its cached copy is older than KeyCacheTTL, and not after.
func TestKeyCacheRevocationBound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		here := newEnv(t, db, testConfig())
		there := newEnv(t, db, testConfig())
		ten := here.tenant(platform.Production, "")
		for _, e := range []*env{here, there} {
			if r := e.do("GET", "/dummyapi/status", "", apiKey(ten.APIKey)); r.status != 200 {
				t.Fatalf("before revocation: %d %s", r.status, r.body)
			}
		}
		keys, err := here.svc.ListKeys(context.Background(), ten.TenantID)
		if err != nil || len(keys) != 1 {
			t.Fatalf("keys %v %v", keys, err)
		}
		if _, err := here.svc.RevokeKey(context.Background(), ten.TenantID, keys[0].ID); err != nil {
			t.Fatal(err)
		}
		if r := here.do("GET", "/dummyapi/status", "", apiKey(ten.APIKey)); r.status != 401 {
			t.Fatalf("revoked here, still accepted here: %d %s", r.status, r.body)
		}
		if r := there.do("GET", "/dummyapi/status", "", apiKey(ten.APIKey)); r.status != 200 {
			t.Fatalf("within the bound the other process may still accept it: %d %s", r.status, r.body)
		}
		there.clk.Advance(platform.KeyCacheTTL)
		if r := there.do("GET", "/dummyapi/status", "", apiKey(ten.APIKey)); r.status != 401 {
			t.Fatalf("past KeyCacheTTL the other process accepted a revoked key: %d %s", r.status, r.body)
		}
	})
}
