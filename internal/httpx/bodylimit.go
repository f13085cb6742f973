package httpx

import (
	"context"
	"net/http"
)

type bodyLimitKey struct{}

// WithBodyLimit gives the requests of a route whose body may be bigger
// than MaxBodyBytes (Route.MaxBody) their limit, for middleware that reads
// the body before the handler (Idempotency-Key); 0 leaves next as it is.
func WithBodyLimit(limit int64, next http.Handler) http.Handler {
	if limit <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bodyLimitKey{}, limit)))
	})
}

// BodyLimit is the request's body limit: its route's (WithBodyLimit), else
// MaxBodyBytes.
func BodyLimit(r *http.Request) int64 {
	if n, ok := r.Context().Value(bodyLimitKey{}).(int64); ok {
		return n
	}
	return MaxBodyBytes
}
