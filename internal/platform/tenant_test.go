package platform_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

func TestCreateTenant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, withKEK := range []bool{false, true} {
			cfg := testConfig()
			if withKEK {
				cfg.KeyEncryptionKey = []byte("0123456789abcdef0123456789abcdef")
			}
			e := newEnv(t, db, cfg)
			ctx := context.Background()
			tc, err := e.svc.CreateTenant(ctx, platform.TenantSpec{Name: "Kiosk", Mode: platform.Production, Timezone: "Europe/Berlin"})
			if err != nil {
				t.Fatal(err)
			}
			// The JSON shape is part of the CLI's contract.
			b, _ := json.Marshal(tc)
			var m map[string]string
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			var keys []string
			for k, v := range m {
				keys = append(keys, k)
				if v == "" {
					t.Errorf("%s is empty", k)
				}
			}
			slices.Sort(keys)
			want := []string{"adminPassword", "adminUsername", "apiKey", "businessCode", "configurationId", "signingKey", "tenantId"}
			if !slices.Equal(keys, want) {
				t.Fatalf("TenantCreated JSON keys %v, want %v", keys, want)
			}
			checks := []struct {
				name, value, pattern string
			}{
				{"tenantId", tc.TenantID, `^ten_[0-9a-z]{26}$`},
				{"businessCode", tc.BusinessCode, `^[A-Z0-9]{8}$`},
				{"apiKey", tc.APIKey, `^cgk_[0-9a-f]{16}_[0-9a-f]{64}$`},
				{"configurationId", tc.ConfigurationID, `^[1-9][0-9]{17}$`},
				{"signingKey", tc.SigningKey, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`},
				{"adminUsername", tc.AdminUsername, `^admin$`},
				{"adminPassword", tc.AdminPassword, `^[0-9a-f]{24}$`},
			}
			for _, c := range checks {
				if !regexp.MustCompile(c.pattern).MatchString(c.value) {
					t.Errorf("%s = %q, want %s", c.name, c.value, c.pattern)
				}
			}
			// The gateway finds the tenant and the key behind a ConfigurationId
			// and can verify SHA-512(key + body).
			tenantID, key, err := e.svc.GatewayConfigurations().SigningKey(ctx, tc.ConfigurationID)
			if err != nil || tenantID != tc.TenantID || key != tc.SigningKey {
				t.Fatalf("SigningKey = %q, %q, %v", tenantID, key, err)
			}
			var sealed, plain *string
			if err := db.Read().QueryRowContext(ctx, `SELECT signing_key_sealed, signing_key_plaintext FROM gateway_configurations WHERE id = $1`,
				tc.ConfigurationID).Scan(&sealed, &plain); err != nil {
				t.Fatal(err)
			}
			if withKEK && (sealed == nil || plain != nil || *sealed == tc.SigningKey) {
				t.Fatalf("with a KEK the key must be sealed: sealed=%v plain=%v", sealed, plain)
			}
			if !withKEK && (sealed != nil || plain == nil || *plain != tc.SigningKey) {
				t.Fatalf("without a KEK the key is stored as is: sealed=%v plain=%v", sealed, plain)
			}
			if _, _, err := e.svc.GatewayConfigurations().SigningKey(ctx, "999"); !apperr.Is(err, apperr.NotFound) {
				t.Fatalf("unknown configuration: %v", err)
			}
			// Secrets are stored hashed: the password as peppered argon2id,
			// the APP key as SHA-256 of its secret part.
			var pwHash, secretHash, prefix string
			if err := db.Read().QueryRowContext(ctx, `SELECT password_hash FROM admin_users WHERE tenant_id = $1`, tc.TenantID).Scan(&pwHash); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(pwHash, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(pwHash, tc.AdminPassword) {
				t.Fatalf("password hash %q", pwHash)
			}
			if err := db.Read().QueryRowContext(ctx, `SELECT secret_hash, prefix FROM app_keys WHERE tenant_id = $1`, tc.TenantID).Scan(&secretHash, &prefix); err != nil {
				t.Fatal(err)
			}
			secret := tc.APIKey[len("cgk_0123456789abcdef_"):]
			if sum := sha256.Sum256([]byte(secret)); secretHash != hex.EncodeToString(sum[:]) || prefix != tc.APIKey[:20] {
				t.Fatalf("stored key hash %q prefix %q", secretHash, prefix)
			}
			// The tenant by id and by business code (any case).
			for _, ref := range []string{tc.TenantID, tc.BusinessCode, "  " + tc.BusinessCode} {
				got, err := e.svc.Tenant(ctx, ref)
				if err != nil || got.ID != tc.TenantID || got.Mode != platform.Production || got.Timezone != "Europe/Berlin" || string(got.Settings) != "{}" {
					t.Fatalf("Tenant(%q) = %+v, %v", ref, got, err)
				}
			}
			// Its first key works, on all APIs.
			for _, p := range []string{"/dummyapi/status", "/remote/ping", "/cashier/ping"} {
				if r := e.do("GET", p, "", apiKey(tc.APIKey)); r.status != 200 {
					t.Fatalf("%s: %d %s", p, r.status, r.body)
				}
			}
			// The generated admin password logs in.
			if r := e.do("POST", "/auth/oauth/token", "grant_type=password&username=admin&password="+tc.AdminPassword, apiKey(tc.APIKey), form); r.status != 200 {
				t.Fatalf("generated password: %d %s", r.status, r.body)
			}
		}
	})
}

func TestCreateTenantInvalid(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		cases := []struct {
			name  string
			spec  platform.TenantSpec
			field string
		}{
			{"no name", platform.TenantSpec{Name: "  "}, "name"},
			{"bad mode", platform.TenantSpec{Name: "a", Mode: "live"}, "mode"},
			{"unknown zone", platform.TenantSpec{Name: "a", Timezone: "Mars/Olympus"}, "timezone"},
			{"Local zone", platform.TenantSpec{Name: "a", Timezone: "Local"}, "timezone"},
			{"bad admin zone", platform.TenantSpec{Name: "a", AdminTimezone: "Nowhere"}, "adminTimezone"},
			{"short password", platform.TenantSpec{Name: "a", AdminPassword: "short"}, "adminPassword"},
			{"bad username", platform.TenantSpec{Name: "a", AdminUsername: "with space"}, "adminUsername"},
			{"letters in PIN", platform.TenantSpec{Name: "a", AdminPIN: "12ab"}, "adminPin"},
			{"short PIN", platform.TenantSpec{Name: "a", AdminPIN: "123"}, "adminPin"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := e.svc.CreateTenant(context.Background(), c.spec)
				var ae *apperr.Error
				if !apperr.Is(err, apperr.Invalid) || !asErr(err, &ae) || ae.Field != c.field {
					t.Fatalf("got %v, want Invalid on %s", err, c.field)
				}
			})
		}
		tenants, err := e.svc.ListTenants(context.Background())
		if err != nil || len(tenants) != 0 {
			t.Fatalf("invalid specs created tenants: %v %v", tenants, err)
		}
	})
}

func asErr(err error, target **apperr.Error) bool {
	e, ok := err.(*apperr.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestTenantProfileAndTimeZones(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		ctx := context.Background()
		tc, err := e.svc.CreateTenant(ctx, platform.TenantSpec{Name: "Tokyo Shop", Timezone: "Asia/Tokyo",
			AdminPassword: "correct horse", AdminTimezone: "America/New_York"})
		if err != nil {
			t.Fatal(err)
		}
		// With the APP key: the tenant's zone.
		r := e.do("GET", "/platform/tenant", "", apiKey(tc.APIKey))
		want := `{"tenantId":"` + tc.TenantID + `","businessCode":"` + tc.BusinessCode +
			`","name":"Tokyo Shop","mode":"sandbox","timezone":"Asia/Tokyo","createdAt":"2026-03-01T12:00:00Z","createdAtLocal":"2026-03-01T21:00:00+09:00"}` + "\n"
		if r.status != 200 || r.body != want {
			t.Fatalf("got %d %s\nwant %s", r.status, r.body, want)
		}
		// As the admin user (password grant): the user's zone.
		tok := e.token(tc.APIKey, "grant_type=password&username=admin&password=correct+horse")
		r = e.do("GET", "/platform/tenant", "", apiKey(tc.APIKey), bearer(tok))
		if got := r.json(t)["createdAtLocal"]; got != "2026-03-01T07:00:00-05:00" {
			t.Fatalf("createdAtLocal for the admin = %v", got)
		}
		who := e.whoami(apiKey(tc.APIKey), bearer(tok))
		if who.KeyID != keyID(tc.APIKey) || who.TenantID != tc.TenantID || who.Mode != "sandbox" || who.UserID == "" {
			t.Fatalf("principal %+v", who)
		}
		u, err := e.svc.AdminUser(ctx, tc.TenantID, who.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if u.Username != "admin" || u.Timezone != "America/New_York" || u.HasPIN {
			t.Fatalf("user %+v", u)
		}
		if got := u.FormatTime(time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)); got != "2026-07-01T08:00:00-04:00" {
			t.Fatalf("FormatTime = %s", got)
		}
		if got := platform.FormatInZone(t0, ""); got != "2026-03-01T12:00:00Z" {
			t.Fatalf("FormatInZone default = %s", got)
		}
	})
}
