// Package app is cashgate's composition root: it turns a Config into open
// storage, the product services, the HTTP handler and the job runner. The
// command line (cmd/cashgate), the load command and end-to-end tests all build
// cashgate through here.
package app

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/store"
)

// Config is everything an operator can set. Each field has a flag and an
// environment variable (see cmd/cashgate); Defaults fills the rest.
type Config struct {
	Addr string // CASHGATE_ADDR, default 127.0.0.1:8080
	// PublicURL is the address clients reach cashgate at (behind a proxy:
	// the proxy's https address). Links, hosted-page addresses and return
	// URLs are built on it, never on the request's Host header.
	// CASHGATE_PUBLIC_URL; default http://<Addr> (see PublicBase).
	PublicURL   string
	DatabaseURL string // CASHGATE_DATABASE_URL, default sqlite:<DataDir>/cashgate.db
	DataDir     string // CASHGATE_DATA_DIR, default ./data
	AutoMigrate bool   // CASHGATE_AUTO_MIGRATE, default true
	// Pepper is mixed into every password and PIN hash. CASHGATE_PEPPER (hex);
	// when unset, a random one is created once in DataDir/pepper.
	Pepper []byte
	// KEK is the key-encryption key (32 bytes) sealing stored secrets
	// (webhook secrets, card-gateway signing keys). CASHGATE_KEK (hex); when
	// unset, a random one is created once in DataDir/kek.
	KEK []byte
	// AllowPrivateWebhooks lets webhook URLs point at loopback/private
	// addresses (tests, local demos). CASHGATE_ALLOW_PRIVATE_WEBHOOKS.
	AllowPrivateWebhooks bool
	// WebhookLease is how long a worker's claim of a webhook delivery lasts:
	// a delivery whose worker died is attempted again after it (the
	// interrupted attempt stays in the delivery log). CASHGATE_WEBHOOK_LEASE,
	// default the 10s request timeout + 30s; at least the timeout.
	WebhookLease time.Duration
	// SecureCookies marks session cookies Secure even on plain-HTTP requests
	// (when an https proxy serves the installation). CASHGATE_SECURE_COOKIES.
	SecureCookies    bool
	SandboxRPM       int           // CASHGATE_SANDBOX_RPM: requests per minute per sandbox key, default 60
	ProductionRPM    int           // CASHGATE_PRODUCTION_RPM: per production key, default 6000
	TokenTTL         time.Duration // CASHGATE_TOKEN_TTL: OAuth access token lifetime, default 15m
	IdempotencyLease time.Duration // CASHGATE_IDEMPOTENCY_LEASE: how long a crashed request holds its Idempotency-Key, default 10s
	DBMaxConns       int           // CASHGATE_DB_MAX_CONNS: PostgreSQL pool size (SQLite: readers), default 16 (SQLite 4)
	DBAcquireTimeout time.Duration // CASHGATE_DB_ACQUIRE_TIMEOUT: longest wait for a connection or commit slot before 503, default 5s
	BlockedEndpoints []string      // CASHGATE_BLOCKED_ENDPOINTS: comma-separated "METHOD /path" refused with 403
	Workers          int           // CASHGATE_WORKERS: concurrent background jobs, default 4
	// CashierSimSeed chooses which notifications of the cashier's simulated
	// PSP are delayed, duplicated or reordered. CASHGATE_CASHIER_SIM_SEED.
	CashierSimSeed int
	OTLPEndpoint   string // OTEL_EXPORTER_OTLP_ENDPOINT: OTLP/HTTP collector for traces; empty: tracing off
	// RedisURL, when set, keeps the usage limits per APP key in that Redis
	// (exact across processes) instead of the database. CASHGATE_REDIS_URL.
	RedisURL        string
	Sandbox         bool          // CASHGATE_SANDBOX: a sandbox installation with a clock that can be moved forward
	UsageFlush      time.Duration // CASHGATE_USAGE_FLUSH: how often the requests counted per APP key and day are written (a crash loses at most that much), default 5s
	ShutdownTimeout time.Duration // CASHGATE_SHUTDOWN_TIMEOUT: grace for in-flight requests, default 30s
	LogLevel        string        // CASHGATE_LOG_LEVEL: debug, info, warn, error
	LogFormat       string        // CASHGATE_LOG_FORMAT: text or json
}

// Defaults returns the configuration with every default set.
func Defaults() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		DataDir:         "data",
		AutoMigrate:     true,
		SandboxRPM:      60,
		ProductionRPM:   6000,
		TokenTTL:        15 * time.Minute,
		Workers:         4,
		UsageFlush:      5 * time.Second,
		ShutdownTimeout: 30 * time.Second,
		LogLevel:        "info",
		LogFormat:       "text",
	}
}

// FromEnv overlays the CASHGATE_* variables found through getenv on c.
func (c *Config) FromEnv(getenv func(string) string) error {
	var errs []error
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	boolean := func(name string, dst *bool) {
		if v := getenv(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: not a boolean", name, v))
				return
			}
			*dst = b
		}
	}
	integer := func(name string, dst *int) {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				errs = append(errs, fmt.Errorf("%s=%q: not a non-negative integer", name, v))
				return
			}
			*dst = n
		}
	}
	duration := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q: not a positive duration like 15m", name, v))
				return
			}
			*dst = d
		}
	}
	str("CASHGATE_ADDR", &c.Addr)
	str("OTEL_EXPORTER_OTLP_ENDPOINT", &c.OTLPEndpoint)
	str("CASHGATE_PUBLIC_URL", &c.PublicURL)
	str("CASHGATE_REDIS_URL", &c.RedisURL)
	str("CASHGATE_DATABASE_URL", &c.DatabaseURL)
	str("CASHGATE_DATA_DIR", &c.DataDir)
	boolean("CASHGATE_AUTO_MIGRATE", &c.AutoMigrate)
	boolean("CASHGATE_SANDBOX", &c.Sandbox)
	boolean("CASHGATE_ALLOW_PRIVATE_WEBHOOKS", &c.AllowPrivateWebhooks)
	boolean("CASHGATE_SECURE_COOKIES", &c.SecureCookies)
	integer("CASHGATE_SANDBOX_RPM", &c.SandboxRPM)
	integer("CASHGATE_PRODUCTION_RPM", &c.ProductionRPM)
	integer("CASHGATE_WORKERS", &c.Workers)
	integer("CASHGATE_CASHIER_SIM_SEED", &c.CashierSimSeed)
	duration("CASHGATE_TOKEN_TTL", &c.TokenTTL)
	duration("CASHGATE_IDEMPOTENCY_LEASE", &c.IdempotencyLease)
	integer("CASHGATE_DB_MAX_CONNS", &c.DBMaxConns)
	duration("CASHGATE_DB_ACQUIRE_TIMEOUT", &c.DBAcquireTimeout)
	duration("CASHGATE_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout)
	duration("CASHGATE_WEBHOOK_LEASE", &c.WebhookLease)
	duration("CASHGATE_USAGE_FLUSH", &c.UsageFlush)
	str("CASHGATE_LOG_LEVEL", &c.LogLevel)
	str("CASHGATE_LOG_FORMAT", &c.LogFormat)
	if v := getenv("CASHGATE_BLOCKED_ENDPOINTS"); v != "" {
		c.BlockedEndpoints = SplitList(v)
	}
	if v := getenv("CASHGATE_PEPPER"); v != "" {
		p, err := hex.DecodeString(v)
		if err != nil || len(p) < 16 {
			errs = append(errs, errors.New("CASHGATE_PEPPER must be at least 16 bytes written as hex"))
		} else {
			c.Pepper = p
		}
	}
	if v := getenv("CASHGATE_KEK"); v != "" {
		k, err := hex.DecodeString(v)
		if err != nil || len(k) != 32 {
			errs = append(errs, errors.New("CASHGATE_KEK must be exactly 32 bytes written as hex (64 characters)"))
		} else {
			c.KEK = k
		}
	}
	return errors.Join(errs...)
}

// SplitList splits a comma-separated list, trimming blanks.
func SplitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// PublicBase returns the public base URL without a trailing slash:
// PublicURL, or else http://<Addr> (an unspecified listen host such as
// ":8080" or "0.0.0.0:8080" becomes localhost).
func (c Config) PublicBase() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return "http://" + c.Addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// URL returns the database URL, defaulting to the SQLite file in DataDir.
func (c Config) URL() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return store.DefaultURL(c.DataDir)
}

// LoadPepper returns c.Pepper, or the pepper kept in DataDir/pepper, creating
// that file with 32 random bytes the first time. created reports a new file.
func (c Config) LoadPepper(gen *ids.Gen) (pepper []byte, created bool, err error) {
	if len(c.Pepper) > 0 {
		return c.Pepper, false, nil
	}
	return c.secretFile("pepper", gen)
}

// LoadKEK returns c.KEK, or the key kept in DataDir/kek, creating that file
// with 32 random bytes the first time. created reports a new file.
func (c Config) LoadKEK(gen *ids.Gen) (kek []byte, created bool, err error) {
	if len(c.KEK) > 0 {
		return c.KEK, false, nil
	}
	return c.secretFile("kek", gen)
}

// secretFile reads DataDir/name (32 bytes as hex), creating it once.
func (c Config) secretFile(name string, gen *ids.Gen) ([]byte, bool, error) {
	path := filepath.Join(c.DataDir, name)
	if b, err := os.ReadFile(path); err == nil {
		p, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(p) != 32 {
			return nil, false, fmt.Errorf("%s is damaged: want 32 bytes as hex", path)
		}
		return p, false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, false, fmt.Errorf("create data directory: %w", err)
	}
	p := gen.Bytes(32)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // another process won the race
			return c.secretFile(name, gen)
		}
		return nil, false, fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.WriteString(hex.EncodeToString(p) + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, err
	}
	return p, true, f.Close()
}
