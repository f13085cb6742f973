package app_test

import (
	"encoding/hex"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/app"
	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestConfigFromEnv: every CASHGATE_* variable reaches its field.
func TestConfigFromEnv(t *testing.T) {
	kek := strings.Repeat("ab", 32)
	env := map[string]string{
		"CASHGATE_ADDR":                   "0.0.0.0:9000",
		"CASHGATE_PUBLIC_URL":             "https://pay.example.com/",
		"CASHGATE_DATABASE_URL":           "postgres://x@y/z",
		"CASHGATE_DATA_DIR":               "/var/lib/cashgate",
		"CASHGATE_AUTO_MIGRATE":           "false",
		"CASHGATE_ALLOW_PRIVATE_WEBHOOKS": "true",
		"CASHGATE_SECURE_COOKIES":         "true",
		"CASHGATE_SANDBOX_RPM":            "5",
		"CASHGATE_PRODUCTION_RPM":         "500",
		"CASHGATE_WORKERS":                "9",
		"CASHGATE_TOKEN_TTL":              "5m",
		"CASHGATE_SHUTDOWN_TIMEOUT":       "7s",
		"CASHGATE_WEBHOOK_LEASE":          "45s",
		"CASHGATE_IDEMPOTENCY_LEASE":      "3s",
		"CASHGATE_DB_MAX_CONNS":           "32",
		"CASHGATE_DB_ACQUIRE_TIMEOUT":     "2s",
		"CASHGATE_LOG_LEVEL":              "debug",
		"CASHGATE_LOG_FORMAT":             "json",
		"CASHGATE_BLOCKED_ENDPOINTS":      "GET /old, POST /older",
		"CASHGATE_PEPPER":                 strings.Repeat("01", 16),
		"CASHGATE_KEK":                    kek,
		"CASHGATE_REDIS_URL":              "redis://:pw@redis:6379/2",
	}
	c := app.Defaults()
	if err := c.FromEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	want := app.Defaults()
	want.Addr, want.DatabaseURL, want.DataDir = "0.0.0.0:9000", "postgres://x@y/z", "/var/lib/cashgate"
	want.PublicURL = "https://pay.example.com/"
	want.AutoMigrate, want.AllowPrivateWebhooks, want.SecureCookies = false, true, true
	want.SandboxRPM, want.ProductionRPM, want.Workers = 5, 500, 9
	want.TokenTTL, want.ShutdownTimeout, want.WebhookLease = 5*time.Minute, 7*time.Second, 45*time.Second
	want.IdempotencyLease, want.DBMaxConns, want.DBAcquireTimeout = 3*time.Second, 32, 2*time.Second
	want.LogLevel, want.LogFormat = "debug", "json"
	want.BlockedEndpoints = []string{"GET /old", "POST /older"}
	want.Pepper, _ = hex.DecodeString(strings.Repeat("01", 16))
	want.KEK, _ = hex.DecodeString(kek)
	want.RedisURL = "redis://:pw@redis:6379/2"
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("config from env:\n got %+v\nwant %+v", c, want)
	}
	for _, bad := range []string{"CASHGATE_WORKERS=-1", "CASHGATE_TOKEN_TTL=soon", "CASHGATE_KEK=abcd", "CASHGATE_SECURE_COOKIES=maybe"} {
		k, v, _ := strings.Cut(bad, "=")
		c := app.Defaults()
		if err := c.FromEnv(func(name string) string { return map[string]string{k: v}[name] }); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s: err = %v, want one naming %s", bad, err, k)
		}
	}
}

// TestPublicBase: the configured public URL wins; otherwise it is derived
// from the listen address.
func TestPublicBase(t *testing.T) {
	for _, tc := range []struct{ public, addr, want string }{
		{"https://pay.example.com/", "0.0.0.0:9000", "https://pay.example.com"},
		{"", "127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"", ":8080", "http://localhost:8080"},
		{"", "0.0.0.0:9000", "http://localhost:9000"},
		{"", "[::]:9000", "http://localhost:9000"},
		{"", "[::1]:9000", "http://[::1]:9000"},
	} {
		c := app.Config{PublicURL: tc.public, Addr: tc.addr}
		if got := c.PublicBase(); got != tc.want {
			t.Errorf("PublicBase(%q, %q) = %q, want %q", tc.public, tc.addr, got, tc.want)
		}
	}
}

// TestSandboxLimitFromConfig: the configured per-key limit of sandbox keys
// is the one the API enforces.
func TestSandboxLimitFromConfig(t *testing.T) {
	h := apptest.New(t, storetest.Engines()[0], apptest.Options{Seed: 4,
		Config: func(c *app.Config) { c.SandboxRPM = 2 },
		Tenant: &platform.TenantSpec{Name: "Sandbox Co", Mode: platform.Sandbox}})
	key := map[string]string{"api-key": h.Tenant.APIKey}
	for i := 0; i < 2; i++ {
		if r := h.Do(http.MethodGet, "/dummyapi/status", nil, key); r.Status != 200 {
			t.Fatalf("request %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	r := h.Do(http.MethodGet, "/dummyapi/status", nil, key)
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("third request with CASHGATE_SANDBOX_RPM=2: %d (Retry-After %q), want 429", r.Status, r.Header.Get("Retry-After"))
	}
}
