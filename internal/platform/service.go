// Package platform is the Cloud Payments platform layer (seed 001) every
// other cashgate API stands on: tenants (business profiles with a tenant ID
// and a business code), their admin users, APP keys, OAuth access tokens,
// the api-key authentication middleware with per-key usage limits, and the
// Idempotency-Key middleware mounted on every write endpoint of every API.
//
// Secrets are never stored in the clear: passwords and PINs are argon2id
// hashes of a peppered input, APP key secrets are SHA-256 hashes (they are
// 256-bit random, so a fast hash is enough), access tokens are short-lived
// HS256 JWTs checked against their APP key on every use. The one exception is
// the card gateway's signing key, which the gateway needs in full to verify
// SHA-512(key + body): it is sealed with the key-encryption key when one is
// configured (Config.KeyEncryptionKey) and stored as is otherwise.
package platform

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/passhash"
	"github.com/cashgate/cashgate/internal/store"
)

// Defaults used when the Config field is zero.
const (
	DefaultSandboxRequestsPerMinute    = 60
	DefaultProductionRequestsPerMinute = 6000
	DefaultTokenTTL                    = 15 * time.Minute
	DefaultMaxFailedLogins             = 5
	DefaultLockoutDuration             = 15 * time.Minute
	DefaultIdempotencyTTL              = 24 * time.Hour
	DefaultIdempotencyWait             = 5 * time.Second
	DefaultIdempotencyLease            = 10 * time.Second
	// MaxRotationGrace bounds how long a rotated key keeps working.
	MaxRotationGrace = 7 * 24 * time.Hour
)

// tokenSecretSetting names the settings row holding the generated
// access-token signing secret (hex).
const tokenSecretSetting = "platform.token_signing_secret"

// Config configures the Service. The zero value is usable for development;
// production sets at least Pepper.
type Config struct {
	// Pepper is a server-side secret mixed (HMAC-SHA256) into every password
	// and PIN before argon2id hashing. It must never change once users exist:
	// changing it invalidates every stored password and PIN.
	Pepper []byte
	// SandboxRequestsPerMinute is the usage limit per sandbox APP key
	// (0: DefaultSandboxRequestsPerMinute; negative: unlimited).
	SandboxRequestsPerMinute int
	// ProductionRequestsPerMinute is the usage limit per production APP key
	// (0: DefaultProductionRequestsPerMinute; negative: unlimited).
	ProductionRequestsPerMinute int
	// TokenTTL is the lifetime of OAuth access tokens (0: DefaultTokenTTL).
	TokenTTL time.Duration
	// TokenSecret signs access tokens (HS256, at least 32 bytes). When empty
	// a secret is generated once and persisted in the settings table, so
	// several processes on one database share it.
	TokenSecret []byte
	// BlockedEndpoints are net/http ServeMux patterns ("METHOD /path",
	// "/prefix/", "GET /v1/things/{id}") answered with 403 "Requested
	// endpoint is forbidden" — deprecated or blacklisted endpoints.
	BlockedEndpoints []string
	// Argon2 are the password/PIN hashing parameters (zero: DefaultArgon2).
	// Stored hashes carry their own parameters, so changing these affects
	// new hashes only.
	Argon2 Argon2Params
	// KeyEncryptionKey, when set (32 bytes), seals the card-gateway signing
	// keys with AES-256-GCM. Without it they are stored as is.
	KeyEncryptionKey []byte
	// MaxFailedLogins wrong passwords or PINs in a row lock a user for
	// LockoutDuration (0: DefaultMaxFailedLogins, DefaultLockoutDuration).
	MaxFailedLogins int
	LockoutDuration time.Duration
	// IdempotencyTTL is how long an Idempotency-Key is remembered (0 or less
	// than 24 hours: DefaultIdempotencyTTL, 24 hours).
	IdempotencyTTL time.Duration
	// IdempotencyWait is how long a duplicate of a request still in progress
	// waits for it before answering 409 (0: DefaultIdempotencyWait).
	IdempotencyWait time.Duration
	// IdempotencyLease is how long a claim on a key holds it while its
	// request runs (0: DefaultIdempotencyLease). A process that died mid
	// request frees its keys after the lease; a retry then runs afresh
	// (nothing of the first attempt committed, see idempotency.go).
	IdempotencyLease time.Duration
	// StrictWriteContract turns a write that committed without answering
	// from inside its transaction (httpx.Reply) into a 500 instead of a
	// logged error: the tests run with it, so such a handler fails them.
	StrictWriteContract bool
	// SandboxOnly refuses production tenants (a sandbox installation:
	// cashgate serve --sandbox, whose clock can be moved forward).
	SandboxOnly bool
	// IdempotencyKEK, when set (32 bytes), seals stored idempotent answers
	// (AES-256-GCM): they may carry secrets such as new APP keys.
	IdempotencyKEK []byte
	// Redis, when set, keeps the usage limits per APP key: every request
	// counts itself there, so the processes sharing it admit exactly a
	// key's limit per minute (limits_redis.go; OpenRedis makes the client).
	// nil: the limits are shared through the database, within a second.
	Redis redis.Scripter
	// RedisKeyPrefix starts every Redis key cashgate writes (default
	// DefaultRedisKeyPrefix).
	RedisKeyPrefix string
	// OnLimitFallback, when set, is called for every request whose usage
	// limit this process decided alone because Redis did not answer.
	OnLimitFallback func()
}

// Service is the platform: tenants, users, keys, tokens and the middleware.
// It is safe for concurrent use. Its in-memory state (usage limiters, the
// last-used bookkeeping, the usage counts not flushed yet) is per process;
// everything else is in the database.
type Service struct {
	db      *store.DB
	clk     clock.Clock
	gen     *ids.Gen
	log     *slog.Logger
	cfg     Config
	hasher  *passhash.Hasher
	secret  []byte         // access-token signing secret
	blocked *http.ServeMux // matches Config.BlockedEndpoints
	kek     cipher.AEAD    // nil: gateway signing keys stored as is
	idemKEK cipher.AEAD    // nil: idempotent answers stored as is
	dummy   string         // a hash verified for unknown users, so timing does not tell them apart

	limits limiter // the usage limits per APP key (limits.go)

	mu        sync.Mutex
	usage     map[string]*keyUsage // by key id
	lastSweep time.Time
	counts    map[usageKey]int64 // requests admitted since the last usage flush (usage.go)

	flushMu sync.Mutex // one usage flush at a time; Usage reads between flushes

	keys keyCache // APP keys by id, for KeyCacheTTL
}

// New returns the Service. It loads (or, on first start, generates and
// persists) the access-token signing secret.
func New(db *store.DB, clk clock.Clock, gen *ids.Gen, log *slog.Logger, cfg Config) (*Service, error) {
	if db == nil || clk == nil || gen == nil {
		return nil, errors.New("platform: New needs a database, a clock and an id generator")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.SandboxRequestsPerMinute == 0 {
		cfg.SandboxRequestsPerMinute = DefaultSandboxRequestsPerMinute
	}
	if cfg.ProductionRequestsPerMinute == 0 {
		cfg.ProductionRequestsPerMinute = DefaultProductionRequestsPerMinute
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.MaxFailedLogins <= 0 {
		cfg.MaxFailedLogins = DefaultMaxFailedLogins
	}
	if cfg.LockoutDuration <= 0 {
		cfg.LockoutDuration = DefaultLockoutDuration
	}
	if cfg.IdempotencyTTL < DefaultIdempotencyTTL {
		cfg.IdempotencyTTL = DefaultIdempotencyTTL
	}
	if cfg.IdempotencyWait <= 0 {
		cfg.IdempotencyWait = DefaultIdempotencyWait
	}
	if cfg.IdempotencyLease <= 0 {
		cfg.IdempotencyLease = DefaultIdempotencyLease
	}
	if cfg.Argon2 == (Argon2Params{}) {
		cfg.Argon2 = DefaultArgon2()
	}
	if err := cfg.Argon2.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.Pepper) == 0 {
		log.Warn("platform: no password pepper configured; passwords and PINs are hashed without one")
	}
	s := &Service{
		db: db, clk: clk, gen: gen, log: log, cfg: cfg,
		hasher: passhash.New(cfg.Argon2, cfg.Pepper, runtime.GOMAXPROCS(0)),
		usage:  make(map[string]*keyUsage),
		counts: make(map[usageKey]int64),
	}
	s.limits = newLimiter(db, clk, log, cfg)
	var err error
	if s.blocked, err = compileBlocked(cfg.BlockedEndpoints); err != nil {
		return nil, err
	}
	if s.kek, err = newAEAD(cfg.KeyEncryptionKey); err != nil {
		return nil, err
	}
	if s.idemKEK, err = newAEAD(cfg.IdempotencyKEK); err != nil {
		return nil, err
	}
	if s.dummy, err = s.hasher.Hash("not a password", gen.Bytes(int(cfg.Argon2.SaltLength))); err != nil {
		return nil, err
	}
	switch {
	case len(cfg.TokenSecret) >= 32:
		s.secret = cfg.TokenSecret
	case len(cfg.TokenSecret) > 0:
		return nil, fmt.Errorf("platform: token secret must be at least 32 bytes, not %d", len(cfg.TokenSecret))
	default:
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if s.secret, err = s.loadTokenSecret(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// loadTokenSecret returns the persisted signing secret, creating it if this
// is the first start. Concurrent first starts agree on one secret.
func (s *Service) loadTokenSecret(ctx context.Context) ([]byte, error) {
	candidate := s.gen.Secret(32)
	var stored string
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO settings (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
			tokenSecretSetting, candidate, s.clk.Now().UnixMicro()); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, tokenSecretSetting).Scan(&stored)
	})
	if err != nil {
		return nil, fmt.Errorf("platform: token signing secret: %w", err)
	}
	b, err := hex.DecodeString(stored)
	if err != nil || len(b) < 32 {
		return nil, fmt.Errorf("platform: settings %q is not a hex secret of at least 32 bytes", tokenSecretSetting)
	}
	return b, nil
}

// compileBlocked turns the blocked endpoint patterns into a ServeMux used
// only for matching.
func compileBlocked(patterns []string) (mux *http.ServeMux, err error) {
	if len(patterns) == 0 {
		return nil, nil
	}
	mux = http.NewServeMux()
	blocked := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, p := range patterns {
		func() {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("platform: blocked endpoint %q: %v", p, r)
				}
			}()
			mux.Handle(p, blocked)
		}()
		if err != nil {
			return nil, err
		}
	}
	return mux, nil
}

// micros converts t to the stored representation.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros converts a stored timestamp to UTC time.
func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// nullTime converts a nullable stored timestamp.
func nullTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// nullMicros converts an optional time for storage.
func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// newAEAD returns AES-256-GCM under key, or nil for an empty key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) == 0 {
		return nil, nil
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("platform: key-encryption key must be 32 bytes, not %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("platform: key-encryption key: %w", err)
	}
	a, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("platform: key-encryption key: %w", err)
	}
	return a, nil
}
