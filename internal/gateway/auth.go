package gateway

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// Request authentication (the guide's "Generate your Gateway API signature"):
//
//   - ConfigurationId: the tenant's gateway configuration;
//   - Hash: hex SHA-512 of the signing key followed by the raw request body
//     (empty for GET and body-less PATCH), compared in constant time, in
//     any letter case.
//
// The stronger optional scheme, which a tenant can require (settings
// requireHmac): Timestamp (unix seconds, within 5 minutes of the server's
// clock) and Signature, the hex HMAC-SHA512 keyed by the signing key of
// Timestamp + "\n" + method + "\n" + path?query + "\n" + body — it binds the
// method and the URL and cannot be replayed later; within its window each
// signature is accepted once (gateway_seen_signatures), so a retry signs
// again with a fresh Timestamp.
//
// After MaxAuthFailures failed signatures within AuthFailureWindow the
// configuration is locked for AuthLockout (403 "Too many attempts.") for the
// client address they came from (see lockKey).
const (
	MaxAuthFailures    = 10
	AuthFailureWindow  = 15 * time.Minute
	AuthLockout        = 15 * time.Minute
	SignatureSkew      = 5 * time.Minute
	MsgInvalidToken    = "Invalid token."
	MsgTooManyAttempts = "Too many attempts."
	MsgConfigNotFound  = "Configuration not found."
)

// Authenticate is the gateway API's authentication middleware. It puts the
// tenant (Principal.TenantID) and configuration (Principal.KeyID) in the
// request context and restores the body it read for the handlers.
func (s *Service) Authenticate(errw httpx.ErrorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := httpx.ReadBody(r, 0)
			if err != nil {
				errw(w, r, err)
				return
			}
			var st *settings
			p, err := s.verify(r, body, &st)
			if err != nil {
				errw(w, r, err)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			ctx := context.WithValue(httpx.WithPrincipal(r.Context(), p), settingsKey{}, st)
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// settingsKey carries the tenant's settings, read once per request by
// Authenticate, to the handlers of that request.
type settingsKey struct{}

// requestSettings returns the settings Authenticate read for this request
// (of tenantID), else reads them.
func (s *Service) requestSettings(ctx context.Context, tenantID string) (settings, error) {
	if st, ok := ctx.Value(settingsKey{}).(*settings); ok && st != nil {
		if p, ok := httpx.PrincipalFrom(ctx); ok && p.TenantID == tenantID {
			return *st, nil
		}
	}
	return s.cachedSettings(ctx, tenantID)
}

// TenantOf finds the tenant Authenticate put in the request (for the
// idempotency middleware).
func TenantOf(r *http.Request) (string, bool) {
	p, ok := httpx.PrincipalFrom(r.Context())
	return p.TenantID, ok && p.TenantID != ""
}

func (s *Service) verify(r *http.Request, body []byte, stp **settings) (httpx.Principal, error) {
	ctx := r.Context()
	cfg := strings.TrimSpace(r.Header.Get("ConfigurationId"))
	hash := strings.Join(strings.Fields(r.Header.Get("Hash")), "")
	sig := strings.TrimSpace(r.Header.Get("Signature"))
	if cfg == "" || (hash == "" && sig == "") {
		return httpx.Principal{}, &apperr.Error{Code: apperr.Unauthenticated, Message: MsgInvalidToken, Field: "ConfigurationId"}
	}
	if !isReference(cfg) {
		return httpx.Principal{}, apperr.New(apperr.NotFound, MsgConfigNotFound)
	}
	now := s.now()
	lock := lockKey(cfg, r)
	var failures int
	var windowStart, lockedUntil int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT failures, window_start, locked_until FROM gateway_auth_failures WHERE lock_key = $1`, lock).
		Scan(&failures, &windowStart, &lockedUntil)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return httpx.Principal{}, fmt.Errorf("gateway: auth state: %w", err)
	}
	if lockedUntil > now.UnixMicro() {
		return httpx.Principal{}, &apperr.Error{Code: apperr.Forbidden, Message: MsgTooManyAttempts,
			RetryAfterSeconds: int(fromMicros(lockedUntil).Sub(now).Seconds()) + 1}
	}
	tenantID, key, err := s.signingKey(ctx, cfg)
	if apperr.Is(err, apperr.NotFound) {
		return httpx.Principal{}, apperr.New(apperr.NotFound, MsgConfigNotFound)
	}
	if err != nil {
		return httpx.Principal{}, err
	}
	st, err := s.cachedSettings(ctx, tenantID)
	if err != nil {
		return httpx.Principal{}, err
	}
	ok := false
	var sigExpires time.Time
	if sig != "" {
		sigExpires, ok = checkSignature(key, r, body, sig, r.Header.Get("Timestamp"), now)
	} else {
		if st.RequireHMAC {
			return httpx.Principal{}, &apperr.Error{Code: apperr.Unauthenticated, Message: MsgInvalidToken, Field: "Signature"}
		}
		ok = checkHash(key, body, hash)
	}
	if !ok {
		if err := s.recordFailure(ctx, lock, now); err != nil {
			return httpx.Principal{}, err
		}
		return httpx.Principal{}, &apperr.Error{Code: apperr.Unauthenticated, Message: MsgInvalidToken, Field: "Hash"}
	}
	if sig != "" {
		if err := s.useSignature(ctx, sig, sigExpires); err != nil {
			return httpx.Principal{}, err
		}
	}
	if failures > 0 {
		if err := s.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM gateway_auth_failures WHERE lock_key = $1 AND locked_until <= $2`, lock, now.UnixMicro())
			return err
		}); err != nil {
			return httpx.Principal{}, err
		}
	}
	*stp = &st
	return httpx.Principal{TenantID: tenantID, KeyID: cfg}, nil
}

// checkHash compares hex(SHA-512(key + body)) with the given hex, in
// constant time and case-insensitively.
func checkHash(key string, body []byte, given string) bool {
	h := sha512.New()
	h.Write([]byte(key))
	h.Write(body)
	return equalHex(h.Sum(nil), given)
}

func equalHex(want []byte, given string) bool {
	got, err := hex.DecodeString(strings.ToLower(given))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(want, got) == 1
}

// Sign returns the Signature header of the HMAC scheme.
func Sign(key, timestamp, method, target string, body []byte) string {
	m := hmac.New(sha512.New, []byte(key))
	m.Write([]byte(timestamp + "\n" + method + "\n" + target + "\n"))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// HashOf returns the Hash header for body: hex SHA-512 of key + body.
func HashOf(key string, body []byte) string {
	h := sha512.New()
	h.Write([]byte(key))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// checkSignature verifies the HMAC scheme's Signature and Timestamp at now
// and returns when the signature stops being acceptable (Timestamp +
// SignatureSkew): until then it must be remembered to refuse a replay.
func checkSignature(key string, r *http.Request, body []byte, sig, ts string, now time.Time) (time.Time, bool) {
	sec, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	t := time.Unix(sec, 0)
	if t.Before(now.Add(-SignatureSkew)) || t.After(now.Add(SignatureSkew)) {
		return time.Time{}, false
	}
	target := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	m := hmac.New(sha512.New, []byte(key))
	m.Write([]byte(strings.TrimSpace(ts) + "\n" + r.Method + "\n" + target + "\n"))
	m.Write(body)
	return t.Add(SignatureSkew), equalHex(m.Sum(nil), sig)
}

// useSignature records a valid signature of the HMAC scheme as used, until
// expires; a signature already recorded is a replay (the same request sent
// again within its window, by anyone who saw it) and is refused with the
// guide's 401 "Invalid token.". A replay is not counted as a failure towards
// the lock-out: it carries a valid signature, most likely a client's own
// retry, which must sign again with a fresh Timestamp. The row is kept under
// the signature's canonical (lower-case) hex, since any letter case of it
// verifies.
func (s *Service) useSignature(ctx context.Context, sig string, expires time.Time) error {
	canon := strings.ToLower(sig)
	var n int64
	err := s.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO gateway_seen_signatures (signature, expires_at) VALUES ($1, $2)
			ON CONFLICT (signature) DO NOTHING`, canon, expires.UnixMicro())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("gateway: record signature: %w", err)
	}
	if n == 0 {
		return &apperr.Error{Code: apperr.Unauthenticated, Message: MsgInvalidToken, Field: "Signature"}
	}
	return nil
}

// Purging the signatures whose window has passed: a recurring job.
const (
	KindPurgeSignatures  = "gateway.purge_signatures"
	PurgeSignaturesEvery = 10 * time.Minute
	purgeBatch           = 500
)

// ScheduleHousekeeping enqueues the recurring purge of used signatures,
// due now, unless it exists already (the app's schedule hook: it runs when
// the workers start).
func (s *Service) ScheduleHousekeeping(ctx context.Context) error {
	_, _, err := s.Outbox.Enqueue(ctx, nil, outbox.JobSpec{Kind: KindPurgeSignatures, RunAt: s.Clock.Now(), UniqueKey: KindPurgeSignatures})
	return err
}

// PurgeSignatures deletes the used signatures that expired at or before
// now, in short batches, and returns how many.
func (s *Service) PurgeSignatures(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM gateway_seen_signatures WHERE signature IN
				(SELECT signature FROM gateway_seen_signatures WHERE expires_at <= $1 LIMIT `+strconv.Itoa(purgeBatch)+`)`, now.UnixMicro())
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("gateway: purge signatures: %w", err)
		}
		total += n
		if n < purgeBatch {
			return total, nil
		}
	}
}

// runPurgeSignatures is the recurring purge job: it reschedules itself.
func (s *Service) runPurgeSignatures(ctx context.Context, _ outbox.Job) error {
	n, err := s.PurgeSignatures(ctx, s.now())
	if err != nil {
		return err
	}
	if n > 0 {
		s.Log.Info("purged used gateway signatures", "count", n)
	}
	return outbox.RetryAt(s.Clock.Now().Add(PurgeSignaturesEvery))
}

// lockKey names what repeated failures lock: the configuration as used from
// one client address. Someone who learns a merchant's ConfigurationId (it is
// in every job response) and sends bad hashes locks out only their own
// address, not the merchant's servers. Behind a reverse proxy every client
// shares the proxy's address and the lock falls back to the whole
// configuration (X-Forwarded-For is not trusted: a client could forge it).
func lockKey(cfg string, r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return cfg + "@" + host
}

// recordFailure counts a failed signature under lock (see lockKey) and
// locks it after too many.
func (s *Service) recordFailure(ctx context.Context, lock string, now time.Time) error {
	return s.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		var failures int
		var windowStart int64
		err := tx.QueryRowContext(ctx, `SELECT failures, window_start FROM gateway_auth_failures WHERE lock_key = $1`+s.DB.ForUpdate(), lock).
			Scan(&failures, &windowStart)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO gateway_auth_failures (lock_key, failures, window_start, locked_until) VALUES ($1, 1, $2, 0)
				ON CONFLICT (lock_key) DO UPDATE SET failures = gateway_auth_failures.failures + 1`, lock, now.UnixMicro())
			return err
		case err != nil:
			return err
		}
		if fromMicros(windowStart).Add(AuthFailureWindow).Before(now) {
			failures, windowStart = 0, now.UnixMicro()
		}
		failures++
		var locked int64
		if failures >= MaxAuthFailures {
			locked = now.Add(AuthLockout).UnixMicro()
			failures, windowStart = 0, now.UnixMicro()
		}
		_, err = tx.ExecContext(ctx, `UPDATE gateway_auth_failures SET failures = $1, window_start = $2, locked_until = $3 WHERE lock_key = $4`,
			failures, windowStart, locked, lock)
		return err
	})
}
