package platform

import (
	"cmp"
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
)

// tokenIssuer is the "iss" of every access token.
const tokenIssuer = "cashgate"

// The OAuth 2.0 grant types of POST /auth/oauth/token.
const (
	GrantClientCredentials = "client_credentials"
	GrantPassword          = "password"
)

// tokenClaims are an access token's claims. A token is only as good as its
// APP key: every use loads the key and refuses the token when the key is
// revoked or expired.
type tokenClaims struct {
	Tenant string `json:"tenant"`
	Key    string `json:"key"`
	User   string `json:"user,omitempty"`
	Mode   string `json:"mode"`
	Scope  string `json:"scope"` // space-separated APIs
	jwt.RegisteredClaims
}

func (c *tokenClaims) allows(api httpx.API) bool {
	for _, f := range strings.Fields(c.Scope) {
		if f == string(api) {
			return true
		}
	}
	return false
}

// issueToken signs an access token for the key (and user, for the password
// grant) limited to scope.
func (s *Service) issueToken(p httpx.Principal, user string, scope []httpx.API) (string, error) {
	now := s.clk.Now()
	c := tokenClaims{
		Tenant: p.TenantID, Key: p.KeyID, User: user, Mode: p.Mode, Scope: scopeString(scope),
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    tokenIssuer,
			Subject:   cmp.Or(user, p.KeyID),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.cfg.TokenTTL)),
			ID:        s.gen.Secret(16),
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.secret)
}

func scopeString(apis []httpx.API) string {
	parts := make([]string, len(apis))
	for i, a := range apis {
		parts[i] = string(a)
	}
	return strings.Join(parts, " ")
}

// parseToken verifies an access token's signature, issuer and expiry (by the
// injected clock).
func (s *Service) parseToken(raw string) (*tokenClaims, error) {
	var c tokenClaims
	_, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return s.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithTimeFunc(s.clk.Now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(tokenIssuer))
	if errors.Is(err, jwt.ErrTokenExpired) {
		return nil, unauthenticated(MsgTokenExpired)
	}
	if err != nil || c.Key == "" || c.Tenant == "" {
		return nil, unauthenticated(MsgInvalidToken)
	}
	return &c, nil
}

// TokenRequest is the body of POST /auth/oauth/token, form-encoded
// (RFC 6749) or JSON. Its names are RFC 6749's (snake_case); "pin" is
// cashgate's addition for users with a PIN.
type TokenRequest struct {
	GrantType    string `json:"grant_type"`
	Username     string `json:"username,omitempty"`
	Password     string `json:"password,omitempty"`
	PIN          string `json:"pin,omitempty"`
	ClientID     string `json:"client_id,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`
	Scope        string `json:"scope,omitempty"` // space-separated APIs; default: all the key's
}

// TokenResponse is the RFC 6749 §5.1 access token response.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"` // "Bearer"
	ExpiresIn   int    `json:"expires_in"` // seconds
	Scope       string `json:"scope"`
}

// OAuthError is the RFC 6749 §5.2 error response.
type OAuthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// oauthError is a token endpoint failure in RFC 6749 terms.
type oauthError struct {
	status     int
	code       string
	desc       string
	retryAfter int
	basic      bool // the client authenticated with HTTP Basic: answer with WWW-Authenticate
}

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

func invalidRequest(format string, args ...any) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_request", desc: fmt.Sprintf(format, args...)}
}

func invalidGrant(format string, args ...any) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_grant", desc: fmt.Sprintf(format, args...)}
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	noStore(w)
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	if e.status == http.StatusUnauthorized && e.basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="cashgate"`)
	}
	httpx.WriteJSON(w, e.status, OAuthError{Error: e.code, ErrorDescription: e.desc})
}

// parseTokenRequest reads a form-encoded or JSON token request.
func parseTokenRequest(r *http.Request) (TokenRequest, *oauthError) {
	var req TokenRequest
	body, err := httpx.ReadBody(r, 64<<10)
	if err != nil {
		return req, invalidRequest("%s", apperr.From(err).Message)
	}
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		if err := httpx.Unmarshal(body, &req, httpx.DecodeOptions{AllowUnknownFields: true}); err != nil {
			return req, invalidRequest("%s", apperr.From(err).Message)
		}
	case mt == "application/x-www-form-urlencoded" || (ct == "" && len(body) == 0):
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return req, invalidRequest("malformed form body")
		}
		for name, v := range vals {
			if len(v) > 1 {
				return req, invalidRequest("parameter %q is repeated", name)
			}
		}
		if err := httpx.CheckForm(vals); err != nil {
			return req, invalidRequest("%s", apperr.From(err).Message)
		}
		req = TokenRequest{GrantType: vals.Get("grant_type"), Username: vals.Get("username"), Password: vals.Get("password"),
			PIN: vals.Get("pin"), ClientID: vals.Get("client_id"), ClientSecret: vals.Get("client_secret"), Scope: vals.Get("scope")}
	default:
		return req, invalidRequest("Content-Type must be application/x-www-form-urlencoded or application/json")
	}
	return req, nil
}

// handleToken is POST /auth/oauth/token. It runs behind Authenticate and
// also requires the api-key header itself (the guide: the api-key is always
// required), so a bearer token cannot mint tokens. Errors after
// authentication are RFC 6749 error responses.
func (s *Service) handleToken(errw httpx.ErrorWriter) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := httpx.PrincipalFrom(r.Context())
		apiKey := strings.TrimSpace(r.Header.Get(HeaderAPIKey))
		if !ok || apiKey == "" {
			errw(w, r, unauthenticated(MsgAuthorizationMissing))
			return
		}
		resp, err := s.token(r, p, apiKey)
		if err != nil {
			var oe *oauthError
			if errors.As(err, &oe) {
				writeOAuthError(w, oe)
				return
			}
			s.log.ErrorContext(r.Context(), "token endpoint failed", "err", err)
			writeOAuthError(w, &oauthError{status: http.StatusInternalServerError, code: "server_error"})
			return
		}
		noStore(w)
		httpx.WriteJSON(w, http.StatusOK, resp)
	}
}

func (s *Service) token(r *http.Request, p httpx.Principal, apiKey string) (TokenResponse, error) {
	ctx := r.Context()
	req, oe := parseTokenRequest(r)
	if oe != nil {
		return TokenResponse{}, oe
	}
	// Client authentication is optional (the api-key already authenticates
	// the client); when given it must name the same APP key.
	id, secret, basic := r.BasicAuth()
	if basic {
		if req.ClientID != "" || req.ClientSecret != "" {
			return TokenResponse{}, invalidRequest("use one client authentication method, not HTTP Basic and body parameters")
		}
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = req.ClientID, req.ClientSecret
	}
	if id != "" || secret != "" {
		if id != p.KeyID || subtle.ConstantTimeCompare([]byte(secret), []byte(apiKey)) != 1 {
			return TokenResponse{}, &oauthError{status: http.StatusUnauthorized, code: "invalid_client",
				desc: "client_id and client_secret must be the id and the value of the APP key in the api-key header", basic: basic}
		}
	}
	k, err := s.loadAuthKey(ctx, p.KeyID)
	if err != nil {
		return TokenResponse{}, fmt.Errorf("platform: load APP key: %w", err)
	}
	scope := k.APIs
	if fields := strings.Fields(req.Scope); len(fields) > 0 {
		var want []httpx.API
		for _, f := range fields {
			if !k.Allows(httpx.API(f)) {
				return TokenResponse{}, &oauthError{status: http.StatusBadRequest, code: "invalid_scope",
					desc: fmt.Sprintf("scope %q is not allowed for this APP key (allowed: %s)", f, scopeString(k.APIs))}
			}
			want = append(want, httpx.API(f))
		}
		if scope, err = normalizeAPIs(want); err != nil {
			return TokenResponse{}, err
		}
	}
	var user string
	switch req.GrantType {
	case GrantClientCredentials:
	case GrantPassword:
		if user, err = s.login(ctx, p.TenantID, req.Username, req.Password, req.PIN); err != nil {
			return TokenResponse{}, err
		}
	case "":
		return TokenResponse{}, invalidRequest("grant_type is required")
	default:
		return TokenResponse{}, &oauthError{status: http.StatusBadRequest, code: "unsupported_grant_type",
			desc: fmt.Sprintf("grant_type %q is not supported; use %q or %q", req.GrantType, GrantClientCredentials, GrantPassword)}
	}
	tok, err := s.issueToken(p, user, scope)
	if err != nil {
		return TokenResponse{}, err
	}
	return TokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(s.cfg.TokenTTL / time.Second), Scope: scopeString(scope)}, nil
}

// login checks an admin user's password (and PIN, when the user has one)
// for the password grant and returns the user id. After MaxFailedLogins
// wrong passwords or PINs in a row the user is locked for LockoutDuration;
// while locked, even the right password is refused without being checked.
//
// Each attempt is counted before its password is verified (reserveLogin: a
// guarded UPDATE that only succeeds while the user is not locked and fewer
// than MaxFailedLogins attempts are counted), so however many guesses
// arrive at once at most MaxFailedLogins are verified, and a right password
// arriving after them is refused. A success resets the count (the
// reservations of guesses still being verified are forgiven with it: at
// most MaxFailedLogins more); anything else that is not a wrong secret
// gives its reservation back.
func (s *Service) login(ctx context.Context, tenantID, username, password, pin string) (string, error) {
	if username == "" || password == "" {
		return "", invalidRequest("username and password are required for the password grant")
	}
	var id, pwHash string
	var pinHash sql.NullString
	err := s.db.Read().QueryRowContext(ctx,
		`SELECT id, password_hash, pin_hash FROM admin_users WHERE tenant_id = $1 AND username = $2`,
		tenantID, username).Scan(&id, &pwHash, &pinHash)
	if errors.Is(err, sql.ErrNoRows) {
		_, _ = s.hasher.Verify(s.dummy, password) // same work as for a real user
		return "", invalidGrant("Invalid username or password")
	}
	if err != nil {
		return "", fmt.Errorf("platform: load user: %w", err)
	}
	now := s.clk.Now()
	n, err := s.reserveLogin(ctx, id, now)
	if err != nil {
		return "", err
	}
	ok, err := s.hasher.Verify(pwHash, password)
	if err != nil {
		s.releaseLogin(ctx, id)
		return "", err
	}
	if !ok {
		return "", s.loginFailed(ctx, id, n, "Invalid username or password")
	}
	if pinHash.Valid {
		if pin == "" {
			s.releaseLogin(ctx, id)
			return "", invalidRequest("pin is required for this user")
		}
		if ok, err = s.hasher.Verify(pinHash.String, pin); err != nil {
			s.releaseLogin(ctx, id)
			return "", err
		}
		if !ok {
			return "", s.loginFailed(ctx, id, n, "Invalid PIN")
		}
	}
	// A lock taken meanwhile by a guess counted after this attempt stays;
	// the one this attempt took (it reached the limit) is cleared.
	own := int64(-1)
	if n >= s.cfg.MaxFailedLogins {
		own = lockUntil(now, s.cfg.LockoutDuration)
	}
	if err := s.db.Transact(context.WithoutCancel(ctx), func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE admin_users SET failed_attempts = 0, locked_until = NULL
			WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2 OR locked_until = $3)`, id, micros(now), own)
		return err
	}); err != nil {
		return "", fmt.Errorf("platform: reset failed logins: %w", err)
	}
	return id, nil
}

// reserveLogin counts an attempt of userID before its secret is verified
// and returns the count including it. It refuses (invalid_grant with
// Retry-After) while the user is locked or MaxFailedLogins attempts are
// already counted; a lock that has run out starts the count again. The
// attempt that reaches the limit takes the lock at once (lockUntil), before
// it is verified: a wrong secret keeps it, a right one clears it (unless a
// later lock replaced it), and a process that dies meanwhile leaves a lock
// that runs out rather than a count stuck at the limit.
func (s *Service) reserveLogin(ctx context.Context, userID string, now time.Time) (int, error) {
	var n int
	var reserved bool
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE admin_users SET
				failed_attempts = CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN 1 ELSE failed_attempts + 1 END,
				locked_until = CASE
					WHEN (CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN 1 ELSE failed_attempts + 1 END) >= $3 THEN $4
					WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN NULL
					ELSE locked_until END
			WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2)
				AND (failed_attempts < $3 OR (locked_until IS NOT NULL AND locked_until <= $2))
			RETURNING failed_attempts`, userID, micros(now), s.cfg.MaxFailedLogins, lockUntil(now, s.cfg.LockoutDuration))
		if err != nil {
			return err
		}
		defer rows.Close()
		if reserved = rows.Next(); reserved {
			if err := rows.Scan(&n); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		return 0, fmt.Errorf("platform: count login attempt: %w", err)
	}
	if reserved {
		return n, nil
	}
	var locked sql.NullInt64
	if err := s.db.Read().QueryRowContext(ctx, `SELECT locked_until FROM admin_users WHERE id = $1`, userID).Scan(&locked); err != nil {
		return 0, fmt.Errorf("platform: load user: %w", err)
	}
	// Locked, or the limit is taken by attempts still being verified (the
	// last of them locks the user if it fails).
	wait := s.cfg.LockoutDuration
	if locked.Valid && locked.Int64 > micros(now) {
		wait = fromMicros(locked.Int64).Sub(now)
	}
	e := invalidGrant("Too many failed attempts; the user is locked, try again later")
	e.retryAfter = max(1, int(math.Ceil(wait.Seconds())))
	return 0, e
}

// lockUntil is the lock the attempt at now that reaches the limit takes.
func lockUntil(now time.Time, d time.Duration) int64 { return micros(now.Add(d)) }

// releaseLogin gives back an attempt reserved by reserveLogin that was not
// a wrong secret.
func (s *Service) releaseLogin(ctx context.Context, userID string) {
	err := s.db.Transact(context.WithoutCancel(ctx), func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE admin_users SET failed_attempts = failed_attempts - 1 WHERE id = $1 AND failed_attempts > 0`, userID)
		return err
	})
	if err != nil {
		s.log.WarnContext(ctx, "release login attempt", "user", userID, "err", err)
	}
}

// loginFailed answers the attempt counted n-th (see reserveLogin) that was
// a wrong password or PIN: the one that reached the limit has locked the
// user already, and the count stays at the limit while locked, so no
// attempt is reserved until the lock runs out.
func (s *Service) loginFailed(ctx context.Context, userID string, n int, desc string) error {
	lockedNow := n >= s.cfg.MaxFailedLogins
	e := invalidGrant("%s", desc)
	if lockedNow {
		e.desc += "; too many failed attempts, the user is locked for " + s.cfg.LockoutDuration.String()
		e.retryAfter = int(math.Ceil(s.cfg.LockoutDuration.Seconds()))
	}
	s.log.InfoContext(ctx, "failed login", "user", userID, "locked", lockedNow)
	return e
}
