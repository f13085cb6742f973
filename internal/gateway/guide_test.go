package gateway_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/httpx"
)

// TestGuideErrorCodes: an error built from a guide message reaches the wire
// with the message's code (and message, field and status), and an error
// that merely has a guide message's text gets the generic code of its kind:
// the error writer never looks codes up by message.
func TestGuideErrorCodes(t *testing.T) {
	cases := []struct {
		name    string
		err     error
		status  int
		code    string
		message string
		field   string
	}{
		{"guide error", gateway.MsgRefused.Err(apperr.Conflict), 400, "PaymentRefused", "Payment has been refused.", ""},
		{"guide text only", apperr.New(apperr.Conflict, "%s", gateway.MsgRefused.Message), 400, "RequestContainsErrors", "Payment has been refused.", ""},
		{"guide error on a field", gateway.MsgCaptureExceeds.Invalid("amountToCapture"), 400, "CaptureAmountExceeded",
			"The total capture amount exceeds original authorised amount.", "amountToCapture"},
		{"guide text only on a field", apperr.InvalidField("amountToCapture", "%s", gateway.MsgCaptureExceeds.Message), 400, "RequestContainsErrors",
			"The total capture amount exceeds original authorised amount.", "amountToCapture"},
		{"guide error of another kind", gateway.MsgTooManyAttempts.Err(apperr.Forbidden), 403, "TooManyAttempts", "Too many attempts.", ""},
		{"guide text only of another kind", apperr.New(apperr.Forbidden, "%s", gateway.MsgTooManyAttempts.Message), 403, "InsufficientPermissions", "Too many attempts.", ""},
		{"guide error at a field", gateway.MsgInvalidToken.ErrAt(apperr.Unauthenticated, "Hash"), 401, "InvalidToken", "Invalid token.", "Hash"},
		{"guide error wrapping a cause", gateway.MsgCommunication.Wrap(errors.New("acquirer down"), apperr.Unavailable), 503,
			"CommunicationError", "Error while communicating.", ""},
		{"guide text only wrapping a cause", apperr.Wrap(errors.New("acquirer down"), apperr.Unavailable, "%s", gateway.MsgCommunication.Message), 503,
			"InternalError", "Error while communicating.", ""},
		{"guide warning as an error", gateway.MsgUnexpectedStatus.Err(apperr.Conflict), 400, "PaymentUnexpectedStatus", "Payment has an unexpected status.", ""},
		{"API code on any message", &apperr.Error{Code: apperr.NotFound, Message: "Payment job not found.", APICode: "SomeCode"}, 404, "SomeCode", "Payment job not found.", ""},
		{"plain error", apperr.New(apperr.NotFound, "Payment job not found."), 404, "NotFound", "Payment job not found.", ""},
	}
	write := httpx.GatewayErrors(slog.New(slog.DiscardHandler))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			write(w, httptest.NewRequest("GET", "/api/gateway/payment-jobs/1", nil), c.err)
			var rep httpx.GatewayErrorReport
			if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil || len(rep.ErrorReport.Errors) != 1 {
				t.Fatalf("%d %s: not one error (%v)", w.Code, w.Body, err)
			}
			want := httpx.GatewayMessage{Code: c.code, Message: c.message, Field: c.field}
			if got := rep.ErrorReport.Errors[0]; w.Code != c.status || got != want {
				t.Fatalf("%d %+v, want %d %+v", w.Code, got, c.status, want)
			}
		})
	}
}
