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
// messages are the guide's, verbatim, wherever one applies, and code is a
// stable name for the message.
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

// gatewayCodes names the guide's messages ("Cashflows Gateway error
// messages" and "warning messages").
var gatewayCodes = map[string]string{
	"Cannot recur on a non recurring parent.":                       "CannotRecurOnNonRecurringParent",
	"The total capture amount exceeds original authorised amount.":  "CaptureAmountExceeded",
	"Payment has been refused.":                                     "PaymentRefused",
	"Refund has been refused.":                                      "RefundRefused",
	"Capture has an invalid status.":                                "CaptureInvalidStatus",
	"Unable to refund this payment.":                                "UnableToRefund",
	"Payment has an invalid status.":                                "PaymentInvalidStatus",
	"Refund has an invalid status.":                                 "RefundInvalidStatus",
	"Card payments without 3D Secure are not allowed.":              "ThreeDSecureRequired",
	"No payment method selected.":                                   "NoPaymentMethodSelected",
	"The supplied order reference is not unique.":                   "OrderReferenceNotUnique",
	"Payment has already been fully refunded.":                      "PaymentAlreadyFullyRefunded",
	"Payment job is already final.":                                 "PaymentJobAlreadyFinal",
	"Payment job can not be cancelled.":                             "PaymentJobCannotBeCancelled",
	"Error while communicating.":                                    "CommunicationError",
	"Payment method not allowed.":                                   "PaymentMethodNotAllowed",
	"The payment method rejected the request.":                      "PaymentMethodRejected",
	"Invalid amount for payment method.":                            "InvalidAmountForPaymentMethod",
	"The validation for recipient detail fields failed.":            "RecipientDetailsInvalid",
	"The total refund amount exceeds original paid amount.":         "RefundAmountExceeded",
	"3DSecure Authentication Failed - Payment cannot proceed.":      "ThreeDSecureFailed",
	"3DSecure Authentication Unavailable - Payment cannot proceed.": "ThreeDSecureUnavailable",
	"Invalid customer reference provided.":                          "InvalidCustomerReference",
	"Direct card payments are not allowed.":                         "DirectCardPaymentsNotAllowed",
	"Too many attempts.":                                            "TooManyAttempts",
	"Payment has an unexpected status.":                             "PaymentUnexpectedStatus",
	"Supplied payment page reference does not exists.":              "PaymentPageNotFound",
}

func gatewayCode(e *apperr.Error) string {
	if c, ok := gatewayCodes[e.Message]; ok {
		return c
	}
	switch e.Code {
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
