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
// again with a fresh Timestamp. A tenant that keeps the plain scheme can
// still require it for the writes the plain Hash cannot bind (settings
// requireHmacBodylessWrites, see unboundWrite).
//
// After MaxAuthFailures failed signatures within AuthFailureWindow the
// configuration is locked for AuthLockout (403 "Too many attempts.") for the
// client address they came from (see lockKey). Failures are counted
// atomically (recordFailure), a good signature does not reset them, and at
// most MaxAuthFailures per window are answered 401: the rest, however many
// arrive at once, get 403.
const (
	MaxAuthFailures   = 10
	AuthFailureWindow = 15 * time.Minute
	AuthLockout       = 15 * time.Minute
	SignatureSkew     = 5 * time.Minute
)

// The guide's authentication messages, with their wire codes. "Invalid
// token." and "Configuration not found." are answered with the codes of
// their statuses (401 InvalidToken, 404 NotFound).
var (
	MsgInvalidToken    = GuideMsg{Code: "InvalidToken", Message: "Invalid token."}
	MsgTooManyAttempts = GuideMsg{Code: "TooManyAttempts", Message: "Too many attempts."}
	MsgConfigNotFound  = GuideMsg{Code: "NotFound", Message: "Configuration not found."}
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
		return httpx.Principal{}, MsgInvalidToken.ErrAt(apperr.Unauthenticated, "ConfigurationId")
	}
	if !isReference(cfg) {
		return httpx.Principal{}, MsgConfigNotFound.Err(apperr.NotFound)
	}
	now := s.now()
	lock := lockKey(cfg, r)
	tenantID, key, err := s.signingKey(ctx, cfg)
	if apperr.Is(err, apperr.NotFound) {
		return httpx.Principal{}, MsgConfigNotFound.Err(apperr.NotFound)
	}
	if err != nil {
		return httpx.Principal{}, err
	}
	st, err := s.cachedSettings(ctx, tenantID)
	if err != nil {
		return httpx.Principal{}, err
	}
	ok, unsigned := false, false // unsigned: a Hash where a Signature is required
	var sigExpires time.Time
	switch {
	case sig != "":
		sigExpires, ok = checkSignature(key, r, body, sig, r.Header.Get("Timestamp"), now)
	case st.RequireHMAC, st.RequireHMACBodyless && unboundWrite(r.Method, body):
		unsigned = true
	default:
		ok = checkHash(key, body, hash)
	}
	// The lock is read once, after the guess is checked (which changes
	// nothing): while it holds, every request gets 403 "Too many attempts."
	// whether its guess was right or wrong, so nothing is learnt from it,
	// and a lock taken while the guess was checked holds for it too. A good
	// signature does not clear earlier failures: only the window expires
	// them (else 9 guesses and one good request, repeated, would never lock).
	if err := s.lockedOut(ctx, lock, now); err != nil {
		return httpx.Principal{}, err
	}
	if unsigned {
		return httpx.Principal{}, MsgInvalidToken.ErrAt(apperr.Unauthenticated, "Signature")
	}
	if !ok {
		if err := s.recordFailure(ctx, lock, now); err != nil {
			return httpx.Principal{}, err
		}
		return httpx.Principal{}, MsgInvalidToken.ErrAt(apperr.Unauthenticated, "Hash")
	}
	if sig != "" {
		if err := s.useSignature(ctx, sig, sigExpires); err != nil {
			return httpx.Principal{}, err
		}
	}
	*stp = &st
	return httpx.Principal{TenantID: tenantID, KeyID: cfg}, nil
}

// unboundWrite tells whether a write is one the plain Hash cannot bind to
// its target: a body-less write (every body-less request, GETs included,
// carries the same Hash, SHA-512 of the key alone, so a Hash seen on any GET
// would cancel any payment job) or a PATCH or DELETE (the cancels and the
// token deletion, whose body is ignored: the Hash of any body seen, a
// capture's say, would do as well).
func unboundWrite(method string, body []byte) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	case http.MethodPatch, http.MethodDelete:
		return true
	}
	return len(body) == 0
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
		return MsgInvalidToken.ErrAt(apperr.Unauthenticated, "Signature")
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

// lockedOut answers 403 "Too many attempts." while lock is locked at now.
func (s *Service) lockedOut(ctx context.Context, lock string, now time.Time) error {
	var lockedUntil int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT locked_until FROM gateway_auth_failures WHERE lock_key = $1`, lock).Scan(&lockedUntil)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("gateway: auth state: %w", err)
	}
	if lockedUntil > now.UnixMicro() {
		return tooManyAttempts(fromMicros(lockedUntil).Sub(now))
	}
	return nil
}

func tooManyAttempts(wait time.Duration) error {
	e := MsgTooManyAttempts.Err(apperr.Forbidden)
	e.RetryAfterSeconds = int(wait.Seconds()) + 1
	return e
}

// recordFailure counts a failed signature under lock (see lockKey) in one
// guarded upsert, atomic on both engines: a failure is counted only while
// the key is not locked and its window holds fewer than MaxAuthFailures
// (a window that has run out starts again at 1); the failure that reaches
// MaxAuthFailures sets locked_until in the same statement, and
// locked_until only ever grows (a concurrent writer never shortens or
// clears a lock). A failure that is not counted was refused: the request
// gets 403 "Too many attempts." instead of the 401 that tells the guess was
// checked, so however many arrive at once at most MaxAuthFailures per
// window learn their result.
func (s *Service) recordFailure(ctx context.Context, lock string, now time.Time) error {
	ctx = context.WithoutCancel(ctx)
	n, w, until := now.UnixMicro(), AuthFailureWindow.Microseconds(), now.Add(AuthLockout).UnixMicro()
	first := int64(0)
	if MaxAuthFailures <= 1 {
		first = until
	}
	var counted bool
	err := s.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		rows, err := tx.QueryContext(ctx, `INSERT INTO gateway_auth_failures AS f (lock_key, failures, window_start, locked_until) VALUES ($1, 1, $2, $5)
			ON CONFLICT (lock_key) DO UPDATE SET
				failures = CASE WHEN f.window_start + $3 <= $2 THEN 1 ELSE f.failures + 1 END,
				window_start = CASE WHEN f.window_start + $3 <= $2 THEN $2 ELSE f.window_start END,
				locked_until = CASE WHEN (CASE WHEN f.window_start + $3 <= $2 THEN 1 ELSE f.failures + 1 END) >= $4 AND f.locked_until < $6
					THEN $6 ELSE f.locked_until END
			WHERE f.locked_until <= $2 AND (f.failures < $4 OR f.window_start + $3 <= $2)
			RETURNING failures`, lock, n, w, MaxAuthFailures, first, until)
		if err != nil {
			return err
		}
		defer rows.Close()
		counted = rows.Next()
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("gateway: record auth failure: %w", err)
	}
	if !counted {
		if err := s.lockedOut(ctx, lock, now); err != nil {
			return err
		}
		// At the limit but not locked: only the window's end frees it.
		return tooManyAttempts(AuthFailureWindow)
	}
	return nil
}
