package gateway

import "github.com/cashgate/cashgate/internal/apperr"

// GuideMsg is one of the guide's error messages ("Cashflows Gateway error
// messages" and "warning messages") with the code the gateway answers it
// with in errorReport.errors[].code. Each message is defined once, with its
// code, next to the code that produces it (service.go, auth.go,
// recipient.go, tokens.go); errors built from it carry the code
// (apperr.Error.APICode), so the error writer never looks a code up by
// message text.
type GuideMsg struct {
	Code    string // the wire code, e.g. "PaymentRefused"
	Message string // the guide's text, verbatim, e.g. "Payment has been refused."
}

// Err returns an error of kind with the message and its code.
func (m GuideMsg) Err(kind apperr.Code) *apperr.Error {
	return &apperr.Error{Code: kind, Message: m.Message, APICode: m.Code}
}

// ErrAt is Err naming the input field at fault.
func (m GuideMsg) ErrAt(kind apperr.Code, field string) *apperr.Error {
	e := m.Err(kind)
	e.Field = field
	return e
}

// Invalid returns an apperr.Invalid error naming field.
func (m GuideMsg) Invalid(field string) *apperr.Error { return m.ErrAt(apperr.Invalid, field) }

// Wrap is Err wrapping cause (kept for the log, never shown).
func (m GuideMsg) Wrap(cause error, kind apperr.Code) *apperr.Error {
	e := m.Err(kind)
	e.Err = cause
	return e
}
