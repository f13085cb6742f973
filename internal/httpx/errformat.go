package httpx

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/cashgate/cashgate/internal/apperr"
)

// This file is the one place where domain errors (apperr codes) become the
// error format each API documents. Products return *apperr.Error and never
// write error bodies themselves.

// ErrorWriter writes err as an error response in one API's format.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, err error)

// Status maps a code to the HTTP status all cashgate APIs share unless an
// API's guide says otherwise.
func Status(code apperr.Code) int {
	switch code {
	case apperr.Invalid:
		return http.StatusBadRequest
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.Conflict, apperr.IdempotencyInFlight:
		return http.StatusConflict
	case apperr.IdempotencyMismatch:
		return http.StatusUnprocessableEntity
	case apperr.InsufficientFunds, apperr.LimitExceeded:
		return http.StatusUnprocessableEntity
	case apperr.Unauthenticated:
		return http.StatusUnauthorized
	case apperr.Forbidden:
		return http.StatusForbidden
	case apperr.RateLimited:
		return http.StatusTooManyRequests
	case apperr.TooLarge:
		return http.StatusRequestEntityTooLarge
	case apperr.UnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case apperr.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// StatusClientClosed is logged when the client disconnected before the answer (nginx's 499).
const StatusClientClosed = 499

// PlatformErrors writes errors the way the platform guide (seed 001) does:
// exactly {"error": "message"} — nothing else, so the documented bodies
// ({"error": "Authorization field missing"} …) match byte for byte. Used by
// the platform, remote and cashier APIs, which share the api-key
// authentication.
func PlatformErrors(log *slog.Logger) ErrorWriter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(w http.ResponseWriter, r *http.Request, err error) {
		e := apperr.From(err)
		status := Status(e.Code)
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			// The client went away; nothing was committed and nobody reads the answer.
			log.DebugContext(r.Context(), "client closed the request", "method", r.Method, "path", r.URL.Path)
			w.WriteHeader(StatusClientClosed)
			return
		}
		if status >= 500 {
			log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		if e.RetryAfterSeconds > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfterSeconds))
		}
		WriteJSON(w, status, PlatformError{Error: e.Message})
	}
}

// PlatformError is the error body of the platform API (seed 001), also
// used by remote payments and the cashier.
type PlatformError struct {
	Error string `json:"error"`
}
