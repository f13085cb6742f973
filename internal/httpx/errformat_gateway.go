package httpx

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/cashgate/cashgate/internal/apperr"
)

// GatewayErrorReport is the card gateway's (seed 003) error body:
//
//	{"errorReport": {"errors": [{"code": "CaptureAmountExceeded",
//	  "message": "The total capture amount exceeds original authorised amount.",
//	  "field": "amountToCapture"}], "warnings": []}}
//
// The guide lists its error and warning messages and the status of each
// call (400 request contains errors, 401 invalid token, 403 insufficient
// permissions, 404 configuration, payment job or payment not found); the
// messages are the guide's, verbatim, wherever one applies. code is the
// error's APICode, which the gateway sets with each guide message, else a
// generic name of the error's kind (RequestContainsErrors, InvalidToken…).
type GatewayErrorReport struct {
	ErrorReport GatewayErrorList `json:"errorReport"`
}

// GatewayErrorList lists the errors and warnings of a response.
type GatewayErrorList struct {
	Errors   []GatewayMessage `json:"errors"`
	Warnings []GatewayMessage `json:"warnings"`
}

// GatewayMessage is one error or warning.
type GatewayMessage struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// Detail says why, when the guide's message is generic ("The
	// validation for recipient detail fields failed.").
	Detail string `json:"detail,omitempty"`
}

// Detailer is implemented by the cause of an error whose guide message is
// generic: its Detail (safe to show) goes with the message.
type Detailer interface{ Detail() string }

// gatewayCode is the error's own gateway code (apperr.Error.APICode, set
// where a guide error is made) or else the generic code of its kind. It
// never looks at the message.
func gatewayCode(e *apperr.Error) string {
	if e.APICode != "" {
		return e.APICode
	}
	return gatewayKindCode(e.Code)
}

// gatewayKindCode is the generic gateway code of a kind of error.
func gatewayKindCode(code apperr.Code) string {
	switch code {
	case apperr.Invalid, apperr.Conflict, apperr.InsufficientFunds, apperr.LimitExceeded:
		return "RequestContainsErrors"
	case apperr.Unauthenticated:
		return "InvalidToken"
	case apperr.Forbidden:
		return "InsufficientPermissions"
	case apperr.NotFound:
		return "NotFound"
	case apperr.RateLimited:
		return "TooManyAttempts"
	case apperr.TooLarge:
		return "RequestTooLarge"
	case apperr.UnsupportedMedia:
		return "UnsupportedMediaType"
	case apperr.IdempotencyMismatch:
		return "IdempotencyKeyMismatch"
	case apperr.IdempotencyInFlight:
		return "IdempotencyKeyInFlight"
	}
	return "InternalError"
}

// GatewayStatus maps a code to the gateway guide's statuses: every refused
// operation (bad input, illegal transition, amount beyond what is allowed)
// is "400 Request contains errors".
func GatewayStatus(code apperr.Code) int {
	switch code {
	case apperr.Conflict, apperr.InsufficientFunds, apperr.LimitExceeded:
		return http.StatusBadRequest
	}
	return Status(code)
}

// GatewayErrors writes errors in the card gateway's format (see
// GatewayErrorReport).
func GatewayErrors(log *slog.Logger) ErrorWriter {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		e := apperr.From(err)
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			w.WriteHeader(StatusClientClosed)
			return
		}
		status := GatewayStatus(e.Code)
		if status >= 500 {
			log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		if e.RetryAfterSeconds > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfterSeconds))
		}
		m := GatewayMessage{Code: gatewayCode(e), Message: e.Message, Field: e.Field}
		var d Detailer
		if errors.As(e.Err, &d) {
			m.Detail = d.Detail()
		}
		WriteJSON(w, status, GatewayErrorReport{ErrorReport: GatewayErrorList{
			Errors:   []GatewayMessage{m},
			Warnings: []GatewayMessage{},
		}})
	}
}
