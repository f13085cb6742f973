package platform_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestAuthenticateResponses checks every authentication outcome, byte for
// byte, through an HTTP server.
func TestAuthenticateResponses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		ctx := context.Background()
		prod := e.tenant(platform.Production, "")
		valid := prod.APIKey

		expiring := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)
		expired, err := e.svc.CreateKey(ctx, prod.TenantID, "soon expired", &expiring, nil)
		if err != nil {
			t.Fatal(err)
		}
		revoked, err := e.svc.CreateKey(ctx, prod.BusinessCode, "revoked", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.RevokeKey(ctx, prod.TenantID, revoked.ID); err != nil {
			t.Fatal(err)
		}
		remoteOnly, err := e.svc.CreateKey(ctx, prod.TenantID, "remote only", nil, []httpx.API{httpx.APIRemote})
		if err != nil {
			t.Fatal(err)
		}
		// Wrong secret for an existing key id.
		wrongSecret := valid[:len(valid)-4] + "0000"
		if wrongSecret == valid {
			wrongSecret = valid[:len(valid)-4] + "1111"
		}
		// Before expiry the soon-expiring key works; then time passes.
		if r := e.do("GET", "/dummyapi/status", "", apiKey(expired.APIKey)); r.status != 200 || r.body != okBody {
			t.Fatalf("before expiry: %d %s", r.status, r.body)
		}
		e.clk.Advance(90 * time.Minute)
		tok := e.token(valid, "grant_type=client_credentials")
		// A key revoked after its token was issued.
		later, err := e.svc.CreateKey(ctx, prod.TenantID, "revoked later", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		laterTok := e.token(later.APIKey, "grant_type=client_credentials")
		if _, err := e.svc.RevokeKey(ctx, prod.TenantID, later.ID); err != nil {
			t.Fatal(err)
		}
		missing := fmt.Sprintf(errBody, "Authorization field missing")

		cases := []struct {
			name    string
			method  string
			path    string
			headers []string
			status  int
			body    string
		}{
			{"valid key", "GET", "/dummyapi/status", []string{apiKey(valid)}, 200, okBody},
			// Seed 001: the api-key header is always required; a bearer
			// token comes with it, never instead of it.
			{"token without its key", "GET", "/dummyapi/status", []string{bearer(tok)}, 401, missing},
			{"token with an empty api-key", "GET", "/dummyapi/status", []string{"api-key: ", bearer(tok)}, 401, missing},
			{"garbage token without a key", "GET", "/dummyapi/status", []string{bearer("not.a.jwt")}, 401, missing},
			{"key and its token", "GET", "/dummyapi/status", []string{apiKey(valid), bearer(tok)}, 200, okBody},
			{"unknown key with a valid token", "GET", "/dummyapi/status", []string{apiKey("cgk_0123456789abcdef_" + strings.Repeat("ab", 32)), bearer(tok)}, 401, fmt.Sprintf(errBody, "Invalid APP key")},
			{"wrong secret with its token", "GET", "/dummyapi/status", []string{apiKey(wrongSecret), bearer(tok)}, 401, fmt.Sprintf(errBody, "Invalid APP key")},
			{"revoked key with its token", "GET", "/dummyapi/status", []string{apiKey(later.APIKey), bearer(laterTok)}, 401, fmt.Sprintf(errBody, "APP key has been revoked")},
			{"valid key with a revoked key's token", "GET", "/dummyapi/status", []string{apiKey(valid), bearer(laterTok)}, 401, fmt.Sprintf(errBody, "Invalid access token")},
			{"no credentials", "GET", "/dummyapi/status", nil, 401, fmt.Sprintf(errBody, "Authorization field missing")},
			{"empty api-key", "GET", "/dummyapi/status", []string{"api-key: "}, 401, fmt.Sprintf(errBody, "Authorization field missing")},
			{"basic is not a credential here", "GET", "/dummyapi/status", []string{basic("a", "b")}, 401, fmt.Sprintf(errBody, "Authorization field missing")},
			{"expired key", "GET", "/dummyapi/status", []string{apiKey(expired.APIKey)}, 401, fmt.Sprintf(errBody, "Key has expired, please renew")},
			{"revoked key", "GET", "/dummyapi/status", []string{apiKey(revoked.APIKey)}, 401, fmt.Sprintf(errBody, "APP key has been revoked")},
			{"unknown key", "GET", "/dummyapi/status", []string{apiKey("cgk_0123456789abcdef_" + strings.Repeat("ab", 32))}, 401, fmt.Sprintf(errBody, "Invalid APP key")},
			{"malformed key", "GET", "/dummyapi/status", []string{apiKey("fcb6bd81970001eefda1cefd728d2b224d149b8b2ed542719eff")}, 401, fmt.Sprintf(errBody, "Invalid APP key")},
			{"wrong secret", "GET", "/dummyapi/status", []string{apiKey(wrongSecret)}, 401, fmt.Sprintf(errBody, "Invalid APP key")},
			{"key with a garbage token", "GET", "/dummyapi/status", []string{apiKey(valid), bearer("not.a.jwt")}, 401, fmt.Sprintf(errBody, "Invalid access token")},
			{"key with an empty bearer", "GET", "/dummyapi/status", []string{apiKey(valid), "Authorization: Bearer "}, 401, fmt.Sprintf(errBody, "Invalid access token")},
			{"token of another key", "GET", "/dummyapi/status", []string{apiKey(remoteOnly.APIKey), bearer(tok)}, 401, fmt.Sprintf(errBody, "Invalid access token")},
			{"key not allowed on API", "GET", "/dummyapi/status", []string{apiKey(remoteOnly.APIKey)}, 403, fmt.Sprintf(errBody, "Access to this API has been disallowed")},
			{"key not allowed on cashier", "GET", "/cashier/ping", []string{apiKey(remoteOnly.APIKey)}, 403, fmt.Sprintf(errBody, "Access to this API has been disallowed")},
			{"key allowed on remote", "GET", "/remote/ping", []string{apiKey(remoteOnly.APIKey)}, 200, `{"ok":true}` + "\n"},
			{"blocked endpoint", "GET", "/remote/deprecated", []string{apiKey(valid)}, 403, fmt.Sprintf(errBody, "Requested endpoint is forbidden")},
			{"blocked pattern with wildcard", "POST", "/remote/legacy/42", []string{apiKey(valid)}, 403, fmt.Sprintf(errBody, "Requested endpoint is forbidden")},
			{"blocked endpoint needs a key first", "GET", "/remote/deprecated", nil, 401, fmt.Sprintf(errBody, "Authorization field missing")},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.do(c.method, c.path, "", c.headers...)
				if r.status != c.status || r.body != c.body {
					t.Fatalf("got %d %q, want %d %q", r.status, r.body, c.status, c.body)
				}
				if c.status != 200 && r.header.Get("Content-Type") != "application/json" {
					t.Fatalf("Content-Type %q", r.header.Get("Content-Type"))
				}
			})
		}
	})
}

// TestSandboxUsageLimit drives the per-key limiter with the fake clock.
func TestSandboxUsageLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig()) // default: 60 per minute for sandbox keys
		sb := e.tenant(platform.Sandbox, "")
		prod := e.tenant(platform.Production, "")
		for i := 0; i < platform.DefaultSandboxRequestsPerMinute; i++ {
			if r := e.do("GET", "/dummyapi/status", "", apiKey(sb.APIKey)); r.status != 200 {
				t.Fatalf("request %d: %d %s", i+1, r.status, r.body)
			}
		}
		r := e.do("GET", "/dummyapi/status", "", apiKey(sb.APIKey))
		want := fmt.Sprintf(errBody, "Usage limit of 60 requests per minute exceeded for this APP key")
		if r.status != 429 || r.body != want || r.header.Get("Retry-After") != "1" {
			t.Fatalf("over the limit: %d %q Retry-After %q", r.status, r.body, r.header.Get("Retry-After"))
		}
		// Tokens of the key share its limit.
		tokReq := e.do("POST", "/auth/oauth/token", "grant_type=client_credentials", apiKey(sb.APIKey), form)
		if tokReq.status != 429 {
			t.Fatalf("token request over the limit: %d", tokReq.status)
		}
		// Production keys have a far higher limit.
		for i := 0; i < platform.DefaultSandboxRequestsPerMinute+10; i++ {
			if r := e.do("GET", "/dummyapi/status", "", apiKey(prod.APIKey)); r.status != 200 {
				t.Fatalf("production request %d: %d %s", i+1, r.status, r.body)
			}
		}
		e.clk.Advance(time.Minute)
		if r := e.do("GET", "/dummyapi/status", "", apiKey(sb.APIKey)); r.status != 200 || r.body != okBody {
			t.Fatalf("a minute later: %d %s", r.status, r.body)
		}
	})
}

// TestUsageLimitConfigurable checks configured limits, including none.
func TestUsageLimitConfigurable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		cfg := testConfig()
		cfg.SandboxRequestsPerMinute = 3
		cfg.ProductionRequestsPerMinute = -1 // unlimited
		e := newEnv(t, db, cfg)
		sb := e.tenant(platform.Sandbox, "")
		prod := e.tenant(platform.Production, "")
		for i := 0; i < 3; i++ {
			if r := e.do("GET", "/dummyapi/status", "", apiKey(sb.APIKey)); r.status != 200 {
				t.Fatalf("request %d: %d", i+1, r.status)
			}
		}
		r := e.do("GET", "/dummyapi/status", "", apiKey(sb.APIKey))
		if r.status != 429 || r.header.Get("Retry-After") != "20" {
			t.Fatalf("over the limit: %d Retry-After %q", r.status, r.header.Get("Retry-After"))
		}
		e.clk.Advance(20 * time.Second) // one request's worth refills
		if r := e.do("GET", "/dummyapi/status", "", apiKey(sb.APIKey)); r.status != 200 {
			t.Fatalf("after 20s: %d", r.status)
		}
		for i := 0; i < 200; i++ {
			if r := e.do("GET", "/dummyapi/status", "", apiKey(prod.APIKey)); r.status != 200 {
				t.Fatalf("unlimited production request %d: %d", i+1, r.status)
			}
		}
	})
}

// TestLastUsed checks last_used_at is recorded at minute precision.
func TestLastUsed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		ctx := context.Background()
		tc := e.tenant(platform.Production, "")
		lastUsed := func() *time.Time {
			k, err := e.svc.Key(ctx, tc.TenantID, keyID(tc.APIKey))
			if err != nil {
				t.Fatal(err)
			}
			return k.LastUsedAt
		}
		if lu := lastUsed(); lu != nil {
			t.Fatalf("unused key has last use %v", lu)
		}
		e.do("GET", "/dummyapi/status", "", apiKey(tc.APIKey))
		if lu := lastUsed(); lu == nil || !lu.Equal(t0) {
			t.Fatalf("last use %v, want %v", lu, t0)
		}
		e.clk.Advance(30 * time.Second)
		e.do("GET", "/dummyapi/status", "", apiKey(tc.APIKey))
		if lu := lastUsed(); !lu.Equal(t0) {
			t.Fatalf("written again within a minute: %v", lu)
		}
		e.clk.Advance(31 * time.Second)
		e.do("GET", "/dummyapi/status", "", apiKey(tc.APIKey))
		if lu := lastUsed(); !lu.Equal(t0.Add(61 * time.Second)) {
			t.Fatalf("last use %v, want %v", lu, t0.Add(61*time.Second))
		}
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	db := storetest.SQLite(t)
	cases := []struct {
		name string
		mod  func(*platform.Config)
	}{
		{"bad blocked pattern", func(c *platform.Config) { c.BlockedEndpoints = []string{"GET"} }},
		{"duplicate blocked pattern", func(c *platform.Config) { c.BlockedEndpoints = []string{"GET /a", "GET /a"} }},
		{"short KEK", func(c *platform.Config) { c.KeyEncryptionKey = []byte("short") }},
		{"short token secret", func(c *platform.Config) { c.TokenSecret = []byte("short") }},
		{"bad argon2", func(c *platform.Config) { c.Argon2 = platform.Argon2Params{Memory: 1, Iterations: 1, Parallelism: 1} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig()
			c.mod(&cfg)
			if _, err := platform.New(db, newFakeClock(), newGen(), nil, cfg); err == nil {
				t.Fatal("New accepted a bad configuration")
			}
		})
	}
}
