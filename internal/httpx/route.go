package httpx

import (
	"context"
	"net"
	"net/http"
)

// API names one of cashgate's APIs; it decides authentication and the error format.
type API string

// The APIs.
const (
	APIPlatform API = "platform" // seed 001: api-key header or bearer token, {"error": …}
	APIGateway  API = "gateway"  // seed 003
	APIWallet   API = "wallet"   // seed 000
	APIRemote   API = "remote"   // seed 004
	APICashier  API = "cashier"  // seed 002
	APIPublic   API = "public"   // no authentication: health, metrics, OpenAPI, hosted pages
)

// Route is one HTTP route of a product. Products return their routes; the
// server mounts them (internal/server/routes.go) and the OpenAPI document is
// generated from the same list, so every route is documented.
type Route struct {
	Method  string // GET, POST, PATCH, DELETE
	Path    string // net/http ServeMux pattern path, e.g. "/platform/ledger/accounts/{id}"
	API     API
	Summary string
	// Request and Response are zero values of the JSON body types, for the
	// OpenAPI schema (nil when there is no JSON body).
	Request  any
	Response any
	// RequestMedia lists the media types of a body that is not JSON
	// (e.g. "text/csv", "multipart/form-data"), documented as such.
	RequestMedia []string
	// RawBody lists the media types of a body that is a file itself (not
	// JSON), for the OpenAPI document.
	RawBody []string
	// MaxBody is the route's body limit when above MaxBodyBytes (an
	// upload), honoured by the Idempotency-Key middleware too.
	MaxBody int64
	// Status is the success status (200 when 0).
	Status int
	// Query lists documented query parameters.
	Query   []string
	Handler http.HandlerFunc
}

// Principal is the authenticated caller of a request.
type Principal struct {
	TenantID string
	KeyID    string // the APP key used, directly or through a token
	UserID   string // admin user, when authenticated by password grant
	Mode     string // "sandbox" or "production"
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller of the request, if authenticated.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// ClientAddr is the IP of the request's connection, for throttling per
// client address (X-Forwarded-For is not trusted).
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
