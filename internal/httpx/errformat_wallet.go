package httpx

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/cashgate/cashgate/internal/apperr"
)

// WalletError is the error body of the e-wallet's APIs (seed 000: the
// merchant API /wallet/api/v1/… and the wallet app's API /wallet/app/v1/…):
//
//	{"error": {"code": "limit_exceeded", "message": "limit transactions_per_day (private): at most 5 transactions per day",
//	           "limit": "transactions_per_day"}}
//
// code is the apperr code; field names the input at fault (for invalid
// input, and "pin" for a wrong PIN); limit names the refused limit of the
// fee and limit table (for limit_exceeded).
type WalletError struct {
	Error WalletErrorDetail `json:"error"`
}

// WalletErrorDetail is the inside of a WalletError.
type WalletErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Limit   string `json:"limit,omitempty"`
}

// limitNamer is implemented by the cause of a limit refusal (wallet.LimitError).
type limitNamer interface{ LimitName() string }

// WalletErrors writes errors in the e-wallet's format (see WalletError),
// with the shared status mapping (Status) and Retry-After when the error
// says when to come back (rate limits, a locked wallet).
func WalletErrors(log *slog.Logger) ErrorWriter {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			w.WriteHeader(StatusClientClosed)
			return
		}
		e := apperr.From(err)
		status := Status(e.Code)
		if status >= 500 {
			log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		if e.RetryAfterSeconds > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfterSeconds))
		}
		d := WalletErrorDetail{Code: string(e.Code), Message: e.Message, Field: e.Field}
		var ln limitNamer
		if errors.As(err, &ln) {
			d.Limit = ln.LimitName()
		}
		WriteJSON(w, status, WalletError{Error: d})
	}
}
