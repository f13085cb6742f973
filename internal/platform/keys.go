package platform

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
)

// APP key format: "cgk_" + 16 hex characters of key id + "_" + 64 hex
// characters of secret (32 random bytes). The key id part is not secret; the
// stored id is "key_" + that part, and only SHA-256(secret) is stored.
const (
	keyPrefix    = "cgk_"
	keyIDHexLen  = 16
	keySecretLen = 32 // bytes
)

// AllAPIs returns the APIs an APP key may be allowed on, in canonical order.
func AllAPIs() []httpx.API {
	return []httpx.API{httpx.APIPlatform, httpx.APIRemote, httpx.APICashier}
}

// KeyStatus is the state of an APP key at a moment.
type KeyStatus string

// The key states.
const (
	KeyActive   KeyStatus = "active"
	KeyRotating KeyStatus = "rotating" // rotated; still valid until its revocation time (grace period)
	KeyExpired  KeyStatus = "expired"
	KeyRevoked  KeyStatus = "revoked"
)

// Key is an APP key without its secret.
type Key struct {
	ID         string // "key_…"
	TenantID   string
	Name       string
	Prefix     string // "cgk_<hex>", safe to display
	APIs       []httpx.API
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time // may be in the future while a rotated key is in its grace period
	LastUsedAt *time.Time // minute precision
	ReplacedBy string     // id of the key that replaced it by rotation
}

// Revoked reports whether the key is revoked at now.
func (k Key) Revoked(now time.Time) bool { return k.RevokedAt != nil && !k.RevokedAt.After(now) }

// Expired reports whether the key has expired at now.
func (k Key) Expired(now time.Time) bool { return k.ExpiresAt != nil && !k.ExpiresAt.After(now) }

// Status returns the key's state at now.
func (k Key) Status(now time.Time) KeyStatus {
	switch {
	case k.Revoked(now):
		return KeyRevoked
	case k.Expired(now):
		return KeyExpired
	case k.RevokedAt != nil:
		return KeyRotating
	}
	return KeyActive
}

// Allows reports whether the key may be used on api.
func (k Key) Allows(api httpx.API) bool {
	for _, a := range k.APIs {
		if a == api {
			return true
		}
	}
	return false
}

// KeyCreated is a new key with its plain APP key, shown once.
type KeyCreated struct {
	Key
	APIKey string
}

type keyMaterial struct {
	id, plain, prefix, hash string
}

func (s *Service) newKeyMaterial() keyMaterial {
	idPart := s.gen.Secret(keyIDHexLen / 2)
	secret := s.gen.Secret(keySecretLen)
	return keyMaterial{
		id:     "key_" + idPart,
		plain:  keyPrefix + idPart + "_" + secret,
		prefix: keyPrefix + idPart,
		hash:   hashSecret(secret),
	}
}

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// parseAPIKey splits an APP key into its stored id and its secret.
func parseAPIKey(apiKey string) (id, secret string, ok bool) {
	rest, found := strings.CutPrefix(apiKey, keyPrefix)
	if !found {
		return "", "", false
	}
	idPart, secret, found := strings.Cut(rest, "_")
	if !found || len(idPart) != keyIDHexLen || len(secret) != 2*keySecretLen || !isLowerHex(idPart) || !isLowerHex(secret) {
		return "", "", false
	}
	return "key_" + idPart, secret, true
}

func encodeAPIs(apis []httpx.API) string {
	parts := make([]string, len(apis))
	for i, a := range apis {
		parts[i] = string(a)
	}
	return strings.Join(parts, ",")
}

func decodeAPIs(s string) []httpx.API {
	var out []httpx.API
	for _, p := range strings.Split(s, ",") {
		if p != "" {
			out = append(out, httpx.API(p))
		}
	}
	return out
}

// normalizeAPIs validates an allow list; empty means all APIs. The result is
// deduplicated, in canonical order.
func normalizeAPIs(apis []httpx.API) ([]httpx.API, error) {
	if len(apis) == 0 {
		return AllAPIs(), nil
	}
	want := map[httpx.API]bool{}
	for _, a := range apis {
		if !(Key{APIs: AllAPIs()}).Allows(a) {
			return nil, apperr.InvalidField("apis", "unknown API %q; allowed are platform, remote and cashier", a)
		}
		want[a] = true
	}
	var out []httpx.API
	for _, a := range AllAPIs() {
		if want[a] {
			out = append(out, a)
		}
	}
	return out, nil
}

func insertKey(ctx context.Context, tx *store.Tx, m keyMaterial, tenantID, name string, apis []httpx.API, now time.Time, expiresAt *time.Time) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO app_keys (id, tenant_id, name, prefix, secret_hash, apis, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		m.id, tenantID, name, m.prefix, m.hash, encodeAPIs(apis), micros(now), nullMicros(expiresAt))
	return err
}

const keyColumns = `k.id, k.tenant_id, k.name, k.prefix, k.apis, k.created_at, k.expires_at, k.revoked_at, k.last_used_at, k.replaced_by`

func scanKey(row interface{ Scan(...any) error }, extra ...any) (Key, error) {
	var k Key
	var apis string
	var created int64
	var expires, revoked, used sql.NullInt64
	var replaced sql.NullString
	dst := append([]any{&k.ID, &k.TenantID, &k.Name, &k.Prefix, &apis, &created, &expires, &revoked, &used, &replaced}, extra...)
	if err := row.Scan(dst...); err != nil {
		return Key{}, err
	}
	k.APIs, k.CreatedAt = decodeAPIs(apis), fromMicros(created)
	k.ExpiresAt, k.RevokedAt, k.LastUsedAt = nullTime(expires), nullTime(revoked), nullTime(used)
	k.ReplacedBy = replaced.String
	return k, nil
}

// authKey is a key as authentication needs it: with its hash and its
// tenant's mode.
type authKey struct {
	Key
	hash string
	mode Mode
}

// KeyCacheTTL is how long a process authenticates an APP key from memory
// instead of the database. A key revoked, expired or rotated through this
// process stops working here at once (the change evicts it on commit); on
// other processes sharing the database it stops within KeyCacheTTL.
const KeyCacheTTL = 2 * time.Second

// maxCachedKeys bounds the key cache: past it, it starts over.
const maxCachedKeys = 1 << 14

// keyCache remembers APP keys (with their hash and tenant mode) by id.
type keyCache struct {
	mu sync.Mutex
	m  map[string]cachedKey
}

type cachedKey struct {
	k     authKey
	until time.Time
}

func (c *keyCache) get(id string, now time.Time) (authKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || !now.Before(e.until) {
		return authKey{}, false
	}
	return e.k, true
}

func (c *keyCache) put(k authKey, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedKeys {
		c.m = make(map[string]cachedKey)
	}
	c.m[k.ID] = cachedKey{k: k, until: now.Add(KeyCacheTTL)}
}

func (c *keyCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// loadAuthKey returns the key by id, from the key cache when it is fresh;
// sql.ErrNoRows when there is none.
func (s *Service) loadAuthKey(ctx context.Context, id string) (authKey, error) {
	now := s.clk.Now()
	if k, ok := s.keys.get(id, now); ok {
		return k, nil
	}
	k, err := s.readAuthKey(ctx, id)
	if err == nil {
		s.keys.put(k, now)
	}
	return k, err
}

// readAuthKey reads the key by id from the database.
func (s *Service) readAuthKey(ctx context.Context, id string) (authKey, error) {
	var a authKey
	var mode string
	k, err := scanKey(s.db.Read().QueryRowContext(ctx,
		`SELECT `+keyColumns+`, k.secret_hash, t.mode FROM app_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.id = $1`, id),
		&a.hash, &mode)
	if err != nil {
		return authKey{}, err
	}
	a.Key, a.mode = k, Mode(mode)
	return a, nil
}

// keyByAPIKey authenticates a plain APP key. Unknown ids and wrong secrets
// are the same error; the secret is compared in constant time.
func (s *Service) keyByAPIKey(ctx context.Context, apiKey string) (authKey, error) {
	id, secret, ok := parseAPIKey(apiKey)
	if !ok {
		return authKey{}, errInvalidKey()
	}
	k, err := s.loadAuthKey(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return authKey{}, errInvalidKey()
	}
	if err != nil {
		return authKey{}, fmt.Errorf("platform: load APP key: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(k.hash)) != 1 {
		return authKey{}, errInvalidKey()
	}
	return k, nil
}

func validKeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "default"
	}
	if utf8.RuneCountInString(name) > 100 {
		return "", apperr.InvalidField("name", "name must be at most 100 characters")
	}
	return name, nil
}

// activeKeys counts the tenant's keys that are neither revoked nor expired
// (keys in a rotation grace period count).
func activeKeys(ctx context.Context, tx *store.Tx, tenantID string, now time.Time) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM app_keys WHERE tenant_id = $1
		   AND (revoked_at IS NULL OR revoked_at > $2) AND (expires_at IS NULL OR expires_at > $2)`,
		tenantID, micros(now)).Scan(&n)
	return n, err
}

// CreateKey creates an APP key for the tenant (tenant ID or business code)
// allowed on apis (empty: all), expiring at expiresAt (nil: never). A sandbox
// tenant may hold only one active key: a second one is apperr.Conflict
// (rotate the existing key instead); production tenants may hold several.
func (s *Service) CreateKey(ctx context.Context, tenant, name string, expiresAt *time.Time, apis []httpx.API) (KeyCreated, error) {
	return s.CreateKeyWith(ctx, tenant, name, expiresAt, apis, nil)
}

// CreateKeyWith is CreateKey running inTx (when set) inside the key's
// transaction, with the key made: the portal keeps the new secret for its
// one-time reveal in the same commit.
func (s *Service) CreateKeyWith(ctx context.Context, tenant, name string, expiresAt *time.Time, apis []httpx.API,
	inTx func(ctx context.Context, tx *store.Tx, k KeyCreated) error) (KeyCreated, error) {
	name, err := validKeyName(name)
	if err != nil {
		return KeyCreated{}, err
	}
	if apis, err = normalizeAPIs(apis); err != nil {
		return KeyCreated{}, err
	}
	m := s.newKeyMaterial()
	var out KeyCreated
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		now := s.clk.Now()
		if expiresAt != nil && !expiresAt.After(now) {
			return apperr.InvalidField("expiresAt", "expiresAt must be in the future")
		}
		t, err := s.tenant(ctx, tx, tenant, true)
		if err != nil {
			return err
		}
		if t.Mode == Sandbox {
			n, err := activeKeys(ctx, tx, t.ID, now)
			if err != nil {
				return err
			}
			if n > 0 {
				return apperr.New(apperr.Conflict, "Sandbox accounts can hold only one active APP key; rotate the existing key instead")
			}
		}
		if err := insertKey(ctx, tx, m, t.ID, name, apis, now, expiresAt); err != nil {
			return err
		}
		out = KeyCreated{APIKey: m.plain, Key: Key{ID: m.id, TenantID: t.ID, Name: name, Prefix: m.prefix, APIs: apis,
			CreatedAt: fromMicros(micros(now)), ExpiresAt: roundTime(expiresAt)}}
		if inTx != nil {
			if err := inTx(ctx, tx, out); err != nil {
				return err
			}
		}
		return httpx.Answer(ctx, tx, out) // the answer commits with the key
	})
	if err != nil {
		return KeyCreated{}, wrapStore("create APP key", err)
	}
	return out, nil
}

// roundTime truncates to the stored microsecond precision.
func roundTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	r := fromMicros(micros(*t))
	return &r
}

// sqlKeysOfTenant lists a tenant's keys, newest first.
const sqlKeysOfTenant = `SELECT ` + keyColumns + ` FROM app_keys k WHERE k.tenant_id = $1 ORDER BY k.created_at DESC, k.id`

// ListKeys returns the tenant's keys (all states), newest first.
func (s *Service) ListKeys(ctx context.Context, tenant string) ([]Key, error) {
	t, err := s.Tenant(ctx, tenant)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Read().QueryContext(ctx, sqlKeysOfTenant, t.ID)
	if err != nil {
		return nil, fmt.Errorf("platform: list keys: %w", err)
	}
	defer rows.Close()
	out := []Key{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("platform: list keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// Key returns one of the tenant's keys.
func (s *Service) Key(ctx context.Context, tenant, keyID string) (Key, error) {
	t, err := s.Tenant(ctx, tenant)
	if err != nil {
		return Key{}, err
	}
	return s.keyOf(ctx, s.db.Read(), t.ID, keyID, false)
}

func (s *Service) keyOf(ctx context.Context, q store.Querier, tenantID, keyID string, lock bool) (Key, error) {
	suffix := ""
	if lock {
		suffix = s.db.ForUpdate()
	}
	k, err := scanKey(q.QueryRowContext(ctx,
		`SELECT `+keyColumns+` FROM app_keys k WHERE k.tenant_id = $1 AND k.id = $2`+suffix, tenantID, keyID))
	if errors.Is(err, sql.ErrNoRows) {
		return Key{}, apperr.New(apperr.NotFound, "APP key %q not found", keyID)
	}
	if err != nil {
		return Key{}, fmt.Errorf("platform: load APP key: %w", err)
	}
	return k, nil
}

// RevokeKey revokes the key now (also ending a rotation grace period).
// Revoking a revoked key changes nothing. Tokens issued for the key stop
// working at once.
func (s *Service) RevokeKey(ctx context.Context, tenant, keyID string) (Key, error) {
	return s.updateKey(ctx, tenant, keyID,
		`UPDATE app_keys SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND (revoked_at IS NULL OR revoked_at > $3)`)
}

// ExpireKey makes the key expire now (an admin's answer to a technical or
// security issue: callers get "Key has expired, please renew" and the key can
// be renewed by rotation). Expiring an expired key changes nothing.
func (s *Service) ExpireKey(ctx context.Context, tenant, keyID string) (Key, error) {
	return s.updateKey(ctx, tenant, keyID,
		`UPDATE app_keys SET expires_at = $3 WHERE tenant_id = $1 AND id = $2 AND (expires_at IS NULL OR expires_at > $3)`)
}

func (s *Service) updateKey(ctx context.Context, tenant, keyID, update string) (Key, error) {
	var out Key
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		t, err := s.tenant(ctx, tx, tenant, false)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, update, t.ID, keyID, micros(s.clk.Now())); err != nil {
			return err
		}
		tx.OnCommit(func() { s.keys.forget(keyID) })
		if out, err = s.keyOf(ctx, tx, t.ID, keyID, false); err != nil {
			return err
		}
		return httpx.Answer(ctx, tx, out) // the answer commits with the change
	})
	if err != nil {
		return Key{}, wrapStore("update APP key", err)
	}
	return out, nil
}

// RotateKey replaces the key with a new one of the same name, allowed APIs
// and pending expiry (rotation swaps the secret; it does not extend a
// limited key's life), and returns the new key. The old key keeps working
// for grace (at most MaxRotationGrace) and is revoked after it; grace 0
// revokes it at once. Sandbox tenants may rotate their single key, but always
// without grace (they may never hold two working keys). Expired keys may be
// rotated: that is how a key is renewed, and the renewed key has no expiry.
// A revoked or already rotated key is apperr.Conflict.
func (s *Service) RotateKey(ctx context.Context, tenant, keyID string, grace time.Duration) (KeyCreated, error) {
	return s.RotateKeyWith(ctx, tenant, keyID, grace, nil)
}

// RotateKeyWith is RotateKey running inTx (when set) inside the rotation's
// transaction, after the new key is written: an error from it rolls the
// rotation back (the developer portal seals the new key there).
func (s *Service) RotateKeyWith(ctx context.Context, tenant, keyID string, grace time.Duration, inTx func(ctx context.Context, tx *store.Tx, k KeyCreated) error) (KeyCreated, error) {
	if grace < 0 || grace > MaxRotationGrace {
		return KeyCreated{}, apperr.InvalidField("graceSeconds", "grace period must be between 0 and %d seconds", int(MaxRotationGrace/time.Second))
	}
	m := s.newKeyMaterial()
	var out KeyCreated
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		now := s.clk.Now()
		t, err := s.tenant(ctx, tx, tenant, true)
		if err != nil {
			return err
		}
		old, err := s.keyOf(ctx, tx, t.ID, keyID, true)
		if err != nil {
			return err
		}
		if old.RevokedAt != nil {
			return apperr.New(apperr.Conflict, "APP key %s has already been revoked or rotated", keyID)
		}
		g := grace
		if t.Mode == Sandbox {
			g = 0
		}
		var expires *time.Time // a pending expiry carries over; an expired key is renewed without one
		if old.ExpiresAt != nil && old.ExpiresAt.After(now) {
			expires = old.ExpiresAt
		}
		if err := insertKey(ctx, tx, m, t.ID, old.Name, old.APIs, now, expires); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE app_keys SET revoked_at = $3, replaced_by = $4 WHERE tenant_id = $1 AND id = $2`,
			t.ID, old.ID, micros(now.Add(g)), m.id); err != nil {
			return err
		}
		tx.OnCommit(func() { s.keys.forget(old.ID) })
		out = KeyCreated{APIKey: m.plain, Key: Key{ID: m.id, TenantID: t.ID, Name: old.Name, Prefix: m.prefix,
			APIs: old.APIs, CreatedAt: fromMicros(micros(now)), ExpiresAt: roundTime(expires)}}
		if inTx != nil {
			if err := inTx(ctx, tx, out); err != nil {
				return err
			}
		}
		return httpx.Answer(ctx, tx, out) // the answer commits with the rotation
	})
	if err != nil {
		return KeyCreated{}, wrapStore("rotate APP key", err)
	}
	return out, nil
}

// SetKeyExpiry sets when the key expires (nil: never). The time must lie
// in the future. A revoked or rotated key is apperr.Conflict, and so is an
// expired one: an expired key is renewed by rotation, not revived.
func (s *Service) SetKeyExpiry(ctx context.Context, tenant, keyID string, expiresAt *time.Time) (Key, error) {
	var out Key
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		now := s.clk.Now()
		if expiresAt != nil && !expiresAt.After(now) {
			return apperr.InvalidField("expiresAt", "expiresAt must be in the future")
		}
		t, err := s.tenant(ctx, tx, tenant, true)
		if err != nil {
			return err
		}
		k, err := s.keyOf(ctx, tx, t.ID, keyID, true)
		if err != nil {
			return err
		}
		switch k.Status(now) {
		case KeyRevoked, KeyRotating:
			return apperr.New(apperr.Conflict, "APP key %s has been revoked or rotated: its expiry can no longer change", keyID)
		case KeyExpired:
			return apperr.New(apperr.Conflict, "APP key %s has expired: rotate it to renew it", keyID)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE app_keys SET expires_at = $3 WHERE tenant_id = $1 AND id = $2`,
			t.ID, keyID, nullMicros(expiresAt)); err != nil {
			return err
		}
		tx.OnCommit(func() { s.keys.forget(keyID) })
		if out, err = s.keyOf(ctx, tx, t.ID, keyID, false); err != nil {
			return err
		}
		return httpx.Answer(ctx, tx, out)
	})
	if err != nil {
		return Key{}, wrapStore("set APP key expiry", err)
	}
	return out, nil
}

// wrapStore passes domain errors through and labels others.
func wrapStore(what string, err error) error {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return err
	}
	return fmt.Errorf("platform: %s: %w", what, err)
}
