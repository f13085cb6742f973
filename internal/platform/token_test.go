package platform_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

func oauthBody(code, desc string) string {
	return fmt.Sprintf(`{"error":%q,"error_description":%q}`+"\n", code, desc)
}

func TestTokenEndpoint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		ctx := context.Background()
		tc := e.tenant(platform.Production, "")
		pinned := e.tenant(platform.Production, "4321")
		boss, err := e.svc.CreateTenant(ctx, platform.TenantSpec{Name: "Other", Mode: platform.Production, AdminUsername: "boss", AdminPassword: "boss password"})
		if err != nil {
			t.Fatal(err)
		}
		key := tc.APIKey
		kid := keyID(key)
		remoteOnly, err := e.svc.CreateKey(ctx, tc.TenantID, "remote", nil, []httpx.API{httpx.APIRemote})
		if err != nil {
			t.Fatal(err)
		}

		cases := []struct {
			name    string
			body    string
			headers []string
			status  int
			want    string // exact body, or "" for a token response
			scope   string
		}{
			{"client credentials, form", "grant_type=client_credentials", []string{apiKey(key), form}, 200, "", "platform remote cashier"},
			{"client credentials, JSON", `{"grant_type":"client_credentials"}`, []string{apiKey(key), jsonCT}, 200, "", "platform remote cashier"},
			{"client credentials, client_id/secret", "grant_type=client_credentials&client_id=" + kid + "&client_secret=" + key, []string{apiKey(key), form}, 200, "", "platform remote cashier"},
			{"client credentials, Basic", "grant_type=client_credentials", []string{apiKey(key), form, basic(kid, key)}, 200, "", "platform remote cashier"},
			{"narrower scope", "grant_type=client_credentials&scope=cashier+remote", []string{apiKey(key), form}, 200, "", "remote cashier"},
			{"password", "grant_type=password&username=admin&password=correct+horse", []string{apiKey(key), form}, 200, "", "platform remote cashier"},
			{"password, JSON", `{"grant_type":"password","username":"admin","password":"correct horse"}`, []string{apiKey(key), jsonCT}, 200, "", "platform remote cashier"},
			{"password with PIN", "grant_type=password&username=admin&password=correct+horse&pin=4321", []string{apiKey(pinned.APIKey), form}, 200, "", "platform remote cashier"},
			{"remote-only key", "grant_type=client_credentials&scope=remote", []string{apiKey(remoteOnly.APIKey), form}, 403, fmt.Sprintf(errBody, "Access to this API has been disallowed"), ""},

			{"no api-key", "grant_type=client_credentials", []string{form}, 401, fmt.Sprintf(errBody, "Authorization field missing"), ""},
			{"wrong Basic secret", "grant_type=client_credentials", []string{apiKey(key), form, basic(kid, "nope")}, 401,
				oauthBody("invalid_client", "client_id and client_secret must be the id and the value of the APP key in the api-key header"), ""},
			{"client_id of another key", "grant_type=client_credentials&client_id=" + remoteOnly.ID + "&client_secret=" + key, []string{apiKey(key), form}, 401,
				oauthBody("invalid_client", "client_id and client_secret must be the id and the value of the APP key in the api-key header"), ""},
			{"Basic and body credentials", "grant_type=client_credentials&client_id=" + kid, []string{apiKey(key), form, basic(kid, key)}, 400,
				oauthBody("invalid_request", "use one client authentication method, not HTTP Basic and body parameters"), ""},
			{"no grant type", "", []string{apiKey(key), form}, 400, oauthBody("invalid_request", "grant_type is required"), ""},
			{"unsupported grant", "grant_type=authorization_code", []string{apiKey(key), form}, 400,
				oauthBody("unsupported_grant_type", `grant_type "authorization_code" is not supported; use "client_credentials" or "password"`), ""},
			{"repeated parameter", "grant_type=password&grant_type=password", []string{apiKey(key), form}, 400, oauthBody("invalid_request", `parameter "grant_type" is repeated`), ""},
			{"bad content type", "grant_type=password", []string{apiKey(key), "Content-Type: text/plain"}, 400,
				oauthBody("invalid_request", "Content-Type must be application/x-www-form-urlencoded or application/json"), ""},
			{"bad JSON", `{"grant_type":`, []string{apiKey(key), jsonCT}, 400, oauthBody("invalid_request", "malformed JSON: unexpected end of body"), ""},
			{"scope beyond the key", "grant_type=client_credentials&scope=platform+wallet", []string{apiKey(key), form}, 400,
				oauthBody("invalid_scope", `scope "wallet" is not allowed for this APP key (allowed: platform remote cashier)`), ""},
			{"password missing", "grant_type=password&username=admin", []string{apiKey(key), form}, 400,
				oauthBody("invalid_request", "username and password are required for the password grant"), ""},
			{"unknown user", "grant_type=password&username=root&password=correct+horse", []string{apiKey(key), form}, 400,
				oauthBody("invalid_grant", "Invalid username or password"), ""},
			{"user of another tenant", "grant_type=password&username=boss&password=boss+password", []string{apiKey(key), form}, 400,
				oauthBody("invalid_grant", "Invalid username or password"), ""},
			{"own user of the other tenant", "grant_type=password&username=boss&password=boss+password", []string{apiKey(boss.APIKey), form}, 200, "", "platform remote cashier"},
			{"PIN missing", "grant_type=password&username=admin&password=correct+horse", []string{apiKey(pinned.APIKey), form}, 400,
				oauthBody("invalid_request", "pin is required for this user"), ""},
			{"wrong PIN", "grant_type=password&username=admin&password=correct+horse&pin=1111", []string{apiKey(pinned.APIKey), form}, 400,
				oauthBody("invalid_grant", "Invalid PIN"), ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.do("POST", "/auth/oauth/token", c.body, c.headers...)
				if r.status != c.status {
					t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
				}
				if c.want != "" {
					if r.body != c.want {
						t.Fatalf("body %s\nwant %s", r.body, c.want)
					}
					return
				}
				m := r.json(t)
				if m["token_type"] != "Bearer" || m["expires_in"] != float64(900) || m["scope"] != c.scope || r.header.Get("Cache-Control") != "no-store" {
					t.Fatalf("token response %v (Cache-Control %q)", m, r.header.Get("Cache-Control"))
				}
				tok := m["access_token"].(string)
				if r := e.do("GET", "/remote/ping", "", c.headers[0], bearer(tok)); r.status != 200 { // with its api-key, as always
					t.Fatalf("token on remote: %d %s", r.status, r.body)
				}
				if r := e.do("GET", "/remote/ping", "", bearer(tok)); r.status != 401 || r.body != fmt.Sprintf(errBody, "Authorization field missing") {
					t.Fatalf("token on remote: %d %s", r.status, r.body)
				}
			})
		}
		// A token is limited to its scope, and cannot mint tokens itself.
		tok := e.token(key, "grant_type=client_credentials&scope=remote")
		if r := e.do("GET", "/dummyapi/status", "", apiKey(key), bearer(tok)); r.status != 403 {
			t.Fatalf("token beyond its scope: %d", r.status)
		}
		full := e.token(key, "grant_type=client_credentials")
		if r := e.do("POST", "/auth/oauth/token", "grant_type=client_credentials", bearer(full), form); r.status != 401 ||
			r.body != fmt.Sprintf(errBody, "Authorization field missing") {
			t.Fatalf("token minting tokens: %d %s", r.status, r.body)
		}
		who := e.whoami(apiKey(key), bearer(full))
		if who.KeyID != kid || who.UserID != "" || who.Mode != "production" {
			t.Fatalf("client-credentials principal %+v", who)
		}
	})
}

func TestTokenLifetimeAndRevocation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		ctx := context.Background()
		tc := e.tenant(platform.Production, "")
		tok := e.token(tc.APIKey, "grant_type=password&username=admin&password=correct+horse")
		if r := e.do("GET", "/dummyapi/status", "", apiKey(tc.APIKey), bearer(tok)); r.status != 200 || r.body != okBody {
			t.Fatalf("fresh token: %d %s", r.status, r.body)
		}
		// Another process on the same database accepts it: the signing
		// secret is persisted, not per process.
		other, err := platform.New(db, e.clk, e.gen, slog.New(slog.DiscardHandler), testConfig())
		if err != nil {
			t.Fatal(err)
		}
		srv2 := httptest.NewServer(e.mux(other))
		defer srv2.Close()
		if r := e.on(srv2).do("GET", "/dummyapi/status", "", apiKey(tc.APIKey), bearer(tok)); r.status != 200 {
			t.Fatalf("token on a second process: %d %s", r.status, r.body)
		}
		e.clk.Advance(14 * time.Minute)
		if r := e.do("GET", "/dummyapi/status", "", apiKey(tc.APIKey), bearer(tok)); r.status != 200 {
			t.Fatalf("token at 14 min: %d", r.status)
		}
		e.clk.Advance(time.Minute)
		if r := e.do("GET", "/dummyapi/status", "", apiKey(tc.APIKey), bearer(tok)); r.status != 401 || r.body != fmt.Sprintf(errBody, "Access token has expired") {
			t.Fatalf("token at 15 min: %d %s", r.status, r.body)
		}
		// Revoking the key kills its tokens at once.
		tok = e.token(tc.APIKey, "grant_type=client_credentials")
		if _, err := e.svc.RevokeKey(ctx, tc.TenantID, keyID(tc.APIKey)); err != nil {
			t.Fatal(err)
		}
		if r := e.do("GET", "/dummyapi/status", "", apiKey(tc.APIKey), bearer(tok)); r.status != 401 || r.body != fmt.Sprintf(errBody, "APP key has been revoked") {
			t.Fatalf("token of a revoked key: %d %s", r.status, r.body)
		}
		// A token signed with another secret is refused.
		cfg := testConfig()
		cfg.TokenSecret = []byte(strings.Repeat("x", 32))
		foreign, err := platform.New(db, e.clk, e.gen, nil, cfg)
		if err != nil {
			t.Fatal(err)
		}
		tc2 := e.tenant(platform.Production, "")
		srv3 := httptest.NewServer(e.mux(foreign))
		defer srv3.Close()
		ftok := e.on(srv3).token(tc2.APIKey, "grant_type=client_credentials")
		if r := e.do("GET", "/dummyapi/status", "", apiKey(tc2.APIKey), bearer(ftok)); r.status != 401 || r.body != fmt.Sprintf(errBody, "Invalid access token") {
			t.Fatalf("foreign token: %d %s", r.status, r.body)
		}
	})
}

func TestLoginLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		tc := e.tenant(platform.Production, "2468")
		login := func(password, pin string) resp {
			return e.do("POST", "/auth/oauth/token", "grant_type=password&username=admin&password="+password+"&pin="+pin, apiKey(tc.APIKey), form)
		}
		// Four failures (password or PIN), then a success resets the count.
		for i, c := range [][2]string{{"wrong", "2468"}, {"correct+horse", "0000"}, {"wrong", "2468"}, {"wrong", ""}} {
			if r := login(c[0], c[1]); r.status != 400 || r.json(t)["error"] != "invalid_grant" {
				t.Fatalf("failure %d: %d %s", i+1, r.status, r.body)
			}
		}
		if r := login("correct+horse", "2468"); r.status != 200 {
			t.Fatalf("success after 4 failures: %d %s", r.status, r.body)
		}
		// Five in a row lock the user.
		for i := 1; i <= 5; i++ {
			r := login("wrong", "2468")
			want := "Invalid username or password"
			if i == 5 {
				want += "; too many failed attempts, the user is locked for 15m0s"
			}
			if r.status != 400 || r.body != oauthBody("invalid_grant", want) {
				t.Fatalf("failure %d: %d %s", i, r.status, r.body)
			}
		}
		r := login("correct+horse", "2468")
		if r.status != 400 || r.body != oauthBody("invalid_grant", "Too many failed attempts; the user is locked, try again later") ||
			r.header.Get("Retry-After") != "900" {
			t.Fatalf("locked: %d %s Retry-After %q", r.status, r.body, r.header.Get("Retry-After"))
		}
		e.clk.Advance(10 * time.Minute)
		if r := login("correct+horse", "2468"); r.status != 400 || r.header.Get("Retry-After") != "300" {
			t.Fatalf("still locked: %d %s", r.status, r.body)
		}
		e.clk.Advance(5 * time.Minute)
		if r := login("correct+horse", "2468"); r.status != 200 {
			t.Fatalf("after the lock: %d %s", r.status, r.body)
		}
	})
}

// TestLoginLockoutConcurrent: a burst of wrong passwords at once gets at
// most MaxFailedLogins verified (answered "Invalid username or password");
// the rest are refused unverified, and so is the right password after them.
func TestLoginLockoutConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, n := range []int{40, 100} {
			e := newEnv(t, db, testConfig())
			tc := e.tenant(platform.Production, "2468")
			login := func(password string) resp {
				return e.do("POST", "/auth/oauth/token", "grant_type=password&username=admin&pin=2468&password="+password, apiKey(tc.APIKey), form)
			}
			var mu sync.Mutex
			var verified, refused, other int
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					r := login(fmt.Sprintf("guess%d", i))
					mu.Lock()
					defer mu.Unlock()
					switch desc, _ := r.json(t)["error_description"].(string); {
					case strings.HasPrefix(desc, "Invalid username or password"):
						verified++
					case strings.HasPrefix(desc, "Too many failed attempts"):
						refused++
					default:
						other++
						t.Errorf("guess %d: %d %s", i, r.status, r.body)
					}
				}(i)
			}
			wg.Wait()
			if verified != platform.DefaultMaxFailedLogins || refused != n-verified {
				t.Errorf("%d guesses at once: %d verified, %d refused, %d other; want %d verified", n, verified, refused, other, platform.DefaultMaxFailedLogins)
			}
			if r := login("correct+horse"); r.status != 400 || !strings.Contains(r.body, "Too many failed attempts") {
				t.Errorf("right password after the burst: %d %s", r.status, r.body)
			}
		}
	})
}
