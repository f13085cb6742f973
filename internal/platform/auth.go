package platform

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
)

// HeaderAPIKey is the header carrying the APP key on every request.
const HeaderAPIKey = "api-key"

// The authentication error messages. The first four are the platform
// guide's, byte for byte.
const (
	MsgAuthorizationMissing = "Authorization field missing"
	MsgKeyExpired           = "Key has expired, please renew"
	MsgAPIDisallowed        = "Access to this API has been disallowed"
	MsgEndpointForbidden    = "Requested endpoint is forbidden"
	MsgInvalidKey           = "Invalid APP key"
	MsgKeyRevoked           = "APP key has been revoked"
	MsgInvalidToken         = "Invalid access token"
	MsgTokenExpired         = "Access token has expired"
)

func unauthenticated(msg string) error { return apperr.New(apperr.Unauthenticated, "%s", msg) }
func errInvalidKey() error             { return unauthenticated(MsgInvalidKey) }

// Authenticate returns the middleware guarding one of the api-key APIs
// (platform, remote, cashier). Every request carries its APP key in the
// "api-key" header, as seed 001 says ("The one always required parameter
// is the api-key"); "Authorization: Bearer <access token>" from
// POST /auth/oauth/token may come with it (an admin user's token names
// the user, e.g. for the cashier's Agent API) and must then belong to the
// key. A token alone is refused like a request without a key. In order,
// it refuses:
//
//   - no api-key (with or without a token): 401 "Authorization field missing";
//   - an unknown or malformed key or token: 401 "Invalid APP key" / "Invalid access token";
//   - a token of another key: 401 "Invalid access token";
//   - a revoked key: 401 "APP key has been revoked";
//   - an expired key: 401 "Key has expired, please renew"; an expired token: 401 "Access token has expired";
//   - a key (or token scope) not allowed on api: 403 "Access to this API has been disallowed";
//   - an endpoint in Config.BlockedEndpoints: 403 "Requested endpoint is forbidden";
//   - past the key's usage limit: 429 with Retry-After.
//
// Otherwise the request goes on with an httpx.Principal in its context.
// Errors are written by errw (httpx.PlatformErrors gives the guide's bodies).
func (s *Service) Authenticate(api httpx.API, errw httpx.ErrorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := s.authenticate(r, api)
			if err != nil {
				errw(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(httpx.WithPrincipal(r.Context(), p)))
		})
	}
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

func (s *Service) authenticate(r *http.Request, api httpx.API) (httpx.Principal, error) {
	ctx := r.Context()
	apiKey := strings.TrimSpace(r.Header.Get(HeaderAPIKey))
	if apiKey == "" {
		return httpx.Principal{}, unauthenticated(MsgAuthorizationMissing)
	}
	k, err := s.keyByAPIKey(ctx, apiKey)
	if err != nil {
		return httpx.Principal{}, err
	}
	var claims *tokenClaims
	if token, hasToken := bearerToken(r); hasToken {
		if claims, err = s.parseToken(token); err != nil {
			return httpx.Principal{}, err
		}
		if claims.Key != k.ID || claims.Tenant != k.TenantID {
			return httpx.Principal{}, unauthenticated(MsgInvalidToken)
		}
	}
	now := s.clk.Now()
	if k.Revoked(now) {
		return httpx.Principal{}, unauthenticated(MsgKeyRevoked)
	}
	if k.Expired(now) {
		return httpx.Principal{}, unauthenticated(MsgKeyExpired)
	}
	if !k.Allows(api) || (claims != nil && !claims.allows(api)) {
		return httpx.Principal{}, apperr.New(apperr.Forbidden, "%s", MsgAPIDisallowed)
	}
	if s.isBlocked(r) {
		return httpx.Principal{}, apperr.New(apperr.Forbidden, "%s", MsgEndpointForbidden)
	}
	if err := s.admit(ctx, k, now); err != nil {
		return httpx.Principal{}, err
	}
	p := httpx.Principal{TenantID: k.TenantID, KeyID: k.ID, Mode: string(k.mode)}
	if claims != nil {
		p.UserID = claims.User
	}
	return p, nil
}

// isBlocked reports whether the request matches a blocked endpoint pattern.
func (s *Service) isBlocked(r *http.Request) bool {
	if s.blocked == nil {
		return false
	}
	p := r.URL.Path
	if p == "" {
		p = "/"
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	probe := &http.Request{Method: r.Method, Host: r.Host, URL: &url.URL{Path: clean}}
	_, pattern := s.blocked.Handler(probe)
	return pattern != ""
}

// keyUsage is the per-process bookkeeping of one APP key's use.
type keyUsage struct {
	seen    time.Time // last request
	touched time.Time // last write of last_used_at by this process
}

// idleEviction is how long a key's token bucket (limits.go) and use
// bookkeeping are kept without requests. A bucket refills completely within
// a minute, so dropping it after that is the same as keeping it.
const idleEviction = 2 * time.Minute

// lastUsedPrecision is how often last_used_at is written per key: at most
// once a minute, not once per request.
const lastUsedPrecision = time.Minute

// admit applies the key's usage limit (limits.go: a token bucket of
// perMinute tokens refilled at perMinute per minute, driven by the injected
// clock and shared through the database, or a count per minute in Redis)
// and records the use: counted in memory for the usage per day (usage.go),
// and last_used_at written at most once a minute.
func (s *Service) admit(ctx context.Context, k authKey, now time.Time) error {
	per := s.cfg.SandboxRequestsPerMinute
	if k.mode == Production {
		per = s.cfg.ProductionRequestsPerMinute
	}
	if per > 0 {
		if ok, retry := s.limits.allow(ctx, k.ID, per, now); !ok {
			return &apperr.Error{Code: apperr.RateLimited, RetryAfterSeconds: max(1, int(math.Ceil(retry.Seconds()))),
				Message: fmt.Sprintf("Usage limit of %d requests per minute exceeded for this APP key", per)}
		}
	}
	s.mu.Lock()
	if now.Sub(s.lastSweep) >= idleEviction {
		for id, u := range s.usage {
			if now.Sub(u.seen) >= idleEviction {
				delete(s.usage, id)
			}
		}
		s.lastSweep = now
	}
	u := s.usage[k.ID]
	if u == nil {
		u = &keyUsage{}
		s.usage[k.ID] = u
	}
	u.seen = now
	s.countUse(k, now)
	touch := now.Sub(u.touched) >= lastUsedPrecision && (k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= lastUsedPrecision)
	if touch {
		u.touched = now
	}
	s.mu.Unlock()
	if touch {
		err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.ExecContext(ctx,
				`UPDATE app_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)`,
				micros(now), k.ID)
			return err
		})
		if err != nil {
			s.log.WarnContext(ctx, "platform: could not record APP key use", "key", k.ID, "err", err)
		}
	}
	return nil
}
