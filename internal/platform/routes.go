package platform

import (
	"context"
	"net/http"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
)

// Timestamps in responses: every timestamp field X is RFC 3339 UTC, and a
// companion XLocal gives the same instant in the caller's time zone — the
// admin user's when the caller authenticated with a password-grant token,
// the tenant's otherwise (the admin user's zone defaults to the tenant's).

// StatusResponse is the body of GET /dummyapi/status.
type StatusResponse struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// TenantResponse is the caller's business profile.
type TenantResponse struct {
	TenantID       string `json:"tenantId"`
	BusinessCode   string `json:"businessCode"`
	Name           string `json:"name"`
	Mode           string `json:"mode"`
	Timezone       string `json:"timezone"`
	CreatedAt      string `json:"createdAt"`
	CreatedAtLocal string `json:"createdAtLocal"`
}

// KeyResponse describes an APP key (never its secret).
type KeyResponse struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	Prefix          string   `json:"prefix"`
	APIs            []string `json:"apis"`
	Status          string   `json:"status"` // active, rotating, expired, revoked
	CreatedAt       string   `json:"createdAt"`
	CreatedAtLocal  string   `json:"createdAtLocal"`
	ExpiresAt       string   `json:"expiresAt,omitempty"`
	ExpiresAtLocal  string   `json:"expiresAtLocal,omitempty"`
	RevokedAt       string   `json:"revokedAt,omitempty"`
	RevokedAtLocal  string   `json:"revokedAtLocal,omitempty"`
	LastUsedAt      string   `json:"lastUsedAt,omitempty"` // minute precision
	LastUsedAtLocal string   `json:"lastUsedAtLocal,omitempty"`
	ReplacedBy      string   `json:"replacedBy,omitempty"`
}

// KeyListResponse is the body of GET /platform/keys.
type KeyListResponse struct {
	Keys []KeyResponse `json:"keys"`
}

// CreateKeyRequest is the body of POST /platform/keys.
type CreateKeyRequest struct {
	Name      string   `json:"name,omitempty"`
	ExpiresAt string   `json:"expiresAt,omitempty"` // RFC 3339; empty: never
	APIs      []string `json:"apis,omitempty"`      // platform, remote, cashier; empty: all
}

// CreatedKeyResponse is a new APP key; apiKey is shown this once.
type CreatedKeyResponse struct {
	KeyResponse
	APIKey   string `json:"apiKey"`
	Replaces string `json:"replaces,omitempty"` // the rotated key
}

// KeyUsageResponse is the body of GET /platform/keys/{id}/usage: the key's
// requests per UTC day over the last 30 days, today included.
type KeyUsageResponse struct {
	KeyID string             `json:"keyId"`
	From  string             `json:"from"` // the first day, YYYY-MM-DD (UTC)
	To    string             `json:"to"`   // the last day: today (UTC)
	Total int64              `json:"total"`
	Days  []DayUsageResponse `json:"days"` // newest first; days without requests are left out
}

// DayUsageResponse is one day of a key's usage.
type DayUsageResponse struct {
	Date     string `json:"date"` // YYYY-MM-DD (UTC)
	Requests int64  `json:"requests"`
}

// RotateKeyRequest is the optional body of POST /platform/keys/{id}/rotate.
type RotateKeyRequest struct {
	// GraceSeconds keeps the old key working that long (production only; at
	// most 7 days). 0: the old key is revoked at once.
	GraceSeconds int `json:"graceSeconds,omitempty"`
}

// Routes returns the platform API's routes. The server mounts each behind
// Authenticate(route.API, errw), and its POSTs also behind Idempotency(errw).
func (s *Service) Routes(errw httpx.ErrorWriter) []httpx.Route {
	return []httpx.Route{
		{Method: http.MethodGet, Path: "/dummyapi/status", API: httpx.APIPlatform,
			Summary: "Check that the APP key (or access token) is valid", Response: StatusResponse{},
			Handler: func(w http.ResponseWriter, r *http.Request) {
				httpx.WriteJSON(w, http.StatusOK, StatusResponse{Status: "OK", Message: "Your APP Key is valid"})
			}},
		{Method: http.MethodPost, Path: "/auth/oauth/token", API: httpx.APIPlatform,
			Summary: "Get an OAuth 2.0 access token (client_credentials or password grant; form-encoded or JSON)",
			Request: TokenRequest{}, Response: TokenResponse{}, Handler: s.handleToken(errw)},
		{Method: http.MethodGet, Path: "/platform/tenant", API: httpx.APIPlatform,
			Summary: "The caller's business profile", Response: TenantResponse{}, Handler: httpx.Handle(errw, http.StatusOK, s.handleTenant)},
		{Method: http.MethodGet, Path: "/platform/keys", API: httpx.APIPlatform,
			Summary: "List the tenant's APP keys", Response: KeyListResponse{}, Handler: httpx.Handle(errw, http.StatusOK, s.handleListKeys)},
		{Method: http.MethodPost, Path: "/platform/keys", API: httpx.APIPlatform, Status: http.StatusCreated,
			Summary: "Create an APP key (production: several; sandbox: only one active key)",
			Request: CreateKeyRequest{}, Response: CreatedKeyResponse{}, Handler: httpx.Handle(errw, http.StatusCreated, s.handleCreateKey)},
		{Method: http.MethodGet, Path: "/platform/keys/{id}/usage", API: httpx.APIPlatform,
			Summary: "An APP key's requests per UTC day over the last 30 days (for billing)", Response: KeyUsageResponse{},
			Handler: httpx.Handle(errw, http.StatusOK, s.handleKeyUsage)},
		{Method: http.MethodPost, Path: "/platform/keys/{id}/revoke", API: httpx.APIPlatform,
			Summary: "Revoke an APP key now", Response: KeyResponse{}, Handler: httpx.Handle(errw, http.StatusOK, s.handleRevokeKey)},
		{Method: http.MethodPost, Path: "/platform/keys/{id}/rotate", API: httpx.APIPlatform, Status: http.StatusCreated,
			Summary: "Replace an APP key by a new one (optionally keeping the old one for a grace period)",
			Request: RotateKeyRequest{}, Response: CreatedKeyResponse{}, Handler: httpx.HandleOptionalBody(errw, http.StatusCreated, s.handleRotateKey)},
	}
}

// view carries what a handler needs to render timestamps.
type view struct {
	now  time.Time
	zone string
}

func (s *Service) viewFor(ctx context.Context, p httpx.Principal) (view, Tenant, error) {
	t, err := s.Tenant(ctx, p.TenantID)
	if err != nil {
		return view{}, Tenant{}, err
	}
	return view{now: s.clk.Now(), zone: s.zoneFor(ctx, p, t)}, t, nil
}

func (v view) times(t *time.Time) (utc, local string) {
	if t == nil {
		return "", ""
	}
	return FormatUTC(*t), FormatInZone(*t, v.zone)
}

func (v view) key(k Key) KeyResponse {
	out := KeyResponse{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Status: string(k.Status(v.now)), ReplacedBy: k.ReplacedBy,
		APIs: make([]string, len(k.APIs))}
	for i, a := range k.APIs {
		out.APIs[i] = string(a)
	}
	out.CreatedAt, out.CreatedAtLocal = v.times(&k.CreatedAt)
	out.ExpiresAt, out.ExpiresAtLocal = v.times(k.ExpiresAt)
	out.RevokedAt, out.RevokedAtLocal = v.times(k.RevokedAt)
	out.LastUsedAt, out.LastUsedAtLocal = v.times(k.LastUsedAt)
	return out
}

// principal returns the caller or an error when the route was mounted
// without Authenticate.
func principal(r *http.Request) (httpx.Principal, error) {
	p, ok := httpx.PrincipalFrom(r.Context())
	if !ok {
		return p, unauthenticated(MsgAuthorizationMissing)
	}
	return p, nil
}

func (s *Service) handleTenant(r *http.Request, _ httpx.NoBody) (TenantResponse, error) {
	p, err := principal(r)
	if err != nil {
		return TenantResponse{}, err
	}
	v, t, err := s.viewFor(r.Context(), p)
	if err != nil {
		return TenantResponse{}, err
	}
	out := TenantResponse{TenantID: t.ID, BusinessCode: t.BusinessCode, Name: t.Name, Mode: string(t.Mode), Timezone: t.Timezone}
	out.CreatedAt, out.CreatedAtLocal = v.times(&t.CreatedAt)
	return out, nil
}

func (s *Service) handleListKeys(r *http.Request, _ httpx.NoBody) (KeyListResponse, error) {
	p, err := principal(r)
	if err != nil {
		return KeyListResponse{}, err
	}
	v, _, err := s.viewFor(r.Context(), p)
	if err != nil {
		return KeyListResponse{}, err
	}
	keys, err := s.ListKeys(r.Context(), p.TenantID)
	if err != nil {
		return KeyListResponse{}, err
	}
	out := KeyListResponse{Keys: make([]KeyResponse, len(keys))}
	for i, k := range keys {
		out.Keys[i] = v.key(k)
	}
	return out, nil
}

func (s *Service) handleCreateKey(r *http.Request, req CreateKeyRequest) (CreatedKeyResponse, error) {
	p, err := principal(r)
	if err != nil {
		return CreatedKeyResponse{}, err
	}
	var expires *time.Time
	if req.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, req.ExpiresAt)
		if err != nil {
			return CreatedKeyResponse{}, apperr.InvalidField("expiresAt", "expiresAt must be an RFC 3339 timestamp such as \"2027-01-31T23:59:59Z\"")
		}
		expires = &t
	}
	apis := make([]httpx.API, len(req.APIs))
	for i, a := range req.APIs {
		apis[i] = httpx.API(a)
	}
	var out CreatedKeyResponse
	ctx := httpx.Answering(r.Context(), http.StatusCreated, &out, func(ctx context.Context, k KeyCreated) (CreatedKeyResponse, error) {
		return s.created(ctx, p, k, "")
	})
	_, err = s.CreateKey(ctx, p.TenantID, req.Name, expires, apis)
	return out, err
}

// created renders a new key (shown with its secret this once).
func (s *Service) created(ctx context.Context, p httpx.Principal, k KeyCreated, replaces string) (CreatedKeyResponse, error) {
	v, _, err := s.viewFor(ctx, p)
	if err != nil {
		return CreatedKeyResponse{}, err
	}
	return CreatedKeyResponse{KeyResponse: v.key(k.Key), APIKey: k.APIKey, Replaces: replaces}, nil
}

func (s *Service) handleRevokeKey(r *http.Request, _ httpx.NoBody) (KeyResponse, error) {
	p, err := principal(r)
	if err != nil {
		return KeyResponse{}, err
	}
	var out KeyResponse
	ctx := httpx.Answering(r.Context(), http.StatusOK, &out, func(ctx context.Context, k Key) (KeyResponse, error) {
		v, _, err := s.viewFor(ctx, p)
		if err != nil {
			return KeyResponse{}, err
		}
		return v.key(k), nil
	})
	_, err = s.RevokeKey(ctx, p.TenantID, r.PathValue("id"))
	return out, err
}

func (s *Service) handleKeyUsage(r *http.Request, _ httpx.NoBody) (KeyUsageResponse, error) {
	p, err := principal(r)
	if err != nil {
		return KeyUsageResponse{}, err
	}
	u, err := s.Usage(r.Context(), p.TenantID, r.PathValue("id"))
	if err != nil {
		return KeyUsageResponse{}, err
	}
	out := KeyUsageResponse{KeyID: u.KeyID, From: u.From, To: u.To, Total: u.Total, Days: make([]DayUsageResponse, len(u.Days))}
	for i, d := range u.Days {
		out.Days[i] = DayUsageResponse{Date: d.Day, Requests: d.Requests}
	}
	return out, nil
}

// handleRotateKey takes an optional body: none means no grace period.
func (s *Service) handleRotateKey(r *http.Request, req RotateKeyRequest) (CreatedKeyResponse, error) {
	p, err := principal(r)
	if err != nil {
		return CreatedKeyResponse{}, err
	}
	if req.GraceSeconds < 0 || req.GraceSeconds > int(MaxRotationGrace/time.Second) {
		return CreatedKeyResponse{}, apperr.InvalidField("graceSeconds", "graceSeconds must be between 0 and %d", int(MaxRotationGrace/time.Second))
	}
	id := r.PathValue("id")
	var out CreatedKeyResponse
	ctx := httpx.Answering(r.Context(), http.StatusCreated, &out, func(ctx context.Context, k KeyCreated) (CreatedKeyResponse, error) {
		return s.created(ctx, p, k, id)
	})
	_, err = s.RotateKey(ctx, p.TenantID, id, time.Duration(req.GraceSeconds)*time.Second)
	return out, err
}

// KeyJSON renders a key as the platform API does (timestamps in the
// tenant's time zone besides UTC), for the command line.
func (s *Service) KeyJSON(ctx context.Context, k Key) (KeyResponse, error) {
	t, err := s.Tenant(ctx, k.TenantID)
	if err != nil {
		return KeyResponse{}, err
	}
	return view{now: s.clk.Now(), zone: t.Timezone}.key(k), nil
}
