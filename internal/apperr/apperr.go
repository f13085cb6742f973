// Package apperr is cashgate's one domain error type. Product code returns
// *Error values with a Code; each API maps codes to its own documented wire
// format in one place (internal/httpx/errformat.go). An error that belongs
// to one API's documented list carries that API's code in APICode, set
// where the error is made: error writers never look codes up by message.
package apperr

import (
	"errors"
	"fmt"
)

// Code classifies a domain error independently of any wire format.
type Code string

// The codes. Each API decides which HTTP status and body a code becomes.
const (
	Invalid             Code = "invalid"               // bad input: malformed, out of range, unknown field
	NotFound            Code = "not_found"             // the named thing does not exist for this tenant
	Conflict            Code = "conflict"              // state does not allow the operation (illegal transition, duplicate reference)
	InsufficientFunds   Code = "insufficient_funds"    // an account that may not be overdrawn would go below zero
	Unauthenticated     Code = "unauthenticated"       // credentials missing, wrong, expired or revoked
	Forbidden           Code = "forbidden"             // authenticated but not allowed
	RateLimited         Code = "rate_limited"          // usage limit reached; RetryAfter says when to come back
	TooLarge            Code = "too_large"             // request body larger than allowed
	UnsupportedMedia    Code = "unsupported_media"     // wrong Content-Type
	IdempotencyMismatch Code = "idempotency_mismatch"  // same Idempotency-Key, different request
	IdempotencyInFlight Code = "idempotency_in_flight" // same Idempotency-Key still being processed
	LimitExceeded       Code = "limit_exceeded"        // a business limit (per day, per transaction...) refuses it
	Unavailable         Code = "unavailable"           // a dependency is down; retry later
	Internal            Code = "internal"              // a bug or an unexpected failure; details are logged, not shown
)

// Error is the domain error.
type Error struct {
	Code    Code
	Message string // safe to show to the API caller
	Field   string // optional: the input field at fault
	// APICode is optional: the wire code of the API the error belongs to
	// (e.g. the card gateway's "PaymentRefused"), set where the error is
	// made. That API's error writer uses it when set, else it maps Code.
	APICode string
	// RetryAfterSeconds is set with RateLimited (and may be with others).
	RetryAfterSeconds int
	Err               error // optional wrapped cause; never shown to callers
}

func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Message
	if e.Field != "" {
		s += " (field " + e.Field + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error with the code and message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with the code and message that wraps cause.
func Wrap(cause error, code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// InvalidField is shorthand for an Invalid error naming a field.
func InvalidField(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// From returns err as *Error. Errors that are not domain errors become
// Internal with a generic message (the cause stays wrapped for the log).
func From(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: Internal, Message: "internal error", Err: err}
}

// CodeOf returns the code of err, Internal for foreign errors and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	return From(err).Code
}

// Is reports whether err is a domain error with the code.
func Is(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
