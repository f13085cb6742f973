// Package httpx holds what every cashgate API shares at the HTTP edge:
// strict JSON request decoding and writing, and (errformat.go) the one place
// where domain errors become each API's documented error format.
package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
)

// MaxBodyBytes is the default request body limit (bigger bodies get 413).
const MaxBodyBytes = 1 << 20

// ReadBody reads the whole request body up to limit bytes (MaxBodyBytes when
// limit <= 0). A bigger body is a TooLarge error. Handlers that must hash the
// raw body (idempotency, the gateway's request hash) read it once with this.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = MaxBodyBytes
	}
	if r.ContentLength > limit {
		return nil, apperr.New(apperr.TooLarge, "request body is larger than %d bytes", limit)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, apperr.Wrap(err, apperr.Invalid, "could not read the request body")
	}
	if int64(len(b)) > limit {
		return nil, apperr.New(apperr.TooLarge, "request body is larger than %d bytes", limit)
	}
	return b, nil
}

// RequireJSON refuses a request whose Content-Type is not application/json.
func RequireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return apperr.New(apperr.UnsupportedMedia, "Content-Type must be application/json")
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return apperr.New(apperr.UnsupportedMedia, "Content-Type must be application/json, not %q", ct)
	}
	return nil
}

// DecodeOptions tune Decode.
type DecodeOptions struct {
	// AllowUnknownFields accepts fields dst does not have (lenient APIs).
	AllowUnknownFields bool
	// AllowEmpty accepts an empty body (any content type) as the zero value.
	AllowEmpty bool
}

// Unmarshal decodes body into dst: exactly one JSON value, nothing but
// whitespace after it, no key twice in an object (case-insensitively), no
// control character in any string, and (unless allowed) no unknown fields. Errors are
// apperr.Invalid with a message a caller can act on.
func Unmarshal(body []byte, dst any, opt DecodeOptions) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return apperr.New(apperr.Invalid, "request body is empty; a JSON object is required")
	}
	if err := checkJSON(body); err != nil { // text.go: duplicate or case-variant keys, control characters
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if !opt.AllowUnknownFields {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	// Anything after the value — a second object, garbage, a length-extension
	// suffix — makes the whole request invalid.
	if _, err := dec.Token(); err != io.EOF {
		return apperr.New(apperr.Invalid, "request body has data after the JSON value")
	}
	return nil
}

// Decode checks the content type, reads the body (with the size limit) and
// unmarshals it strictly. It returns the raw body too.
func Decode(r *http.Request, dst any, opt DecodeOptions) ([]byte, error) {
	if !opt.AllowEmpty {
		if err := RequireJSON(r); err != nil {
			return nil, err
		}
	}
	body, err := ReadBody(r, 0)
	if err != nil {
		return nil, err
	}
	if opt.AllowEmpty {
		if len(bytes.TrimSpace(body)) == 0 {
			return body, nil
		}
		if err := RequireJSON(r); err != nil {
			return nil, err
		}
	}
	return body, Unmarshal(body, dst, opt)
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return apperr.Wrap(err, apperr.Invalid, "malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		f := typ.Field
		if f == "" {
			return apperr.Wrap(err, apperr.Invalid, "request body must be a JSON %s", jsonKind(typ.Type.Kind().String()))
		}
		return &apperr.Error{Code: apperr.Invalid, Field: f, Err: err,
			Message: fmt.Sprintf("field %q must be %s, not %s", f, jsonKind(typ.Type.Kind().String()), typ.Value)}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return apperr.Wrap(err, apperr.Invalid, "malformed JSON: unexpected end of body")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &apperr.Error{Code: apperr.Invalid, Field: name, Err: err, Message: fmt.Sprintf("unknown field %q", name)}
	default:
		return apperr.Wrap(err, apperr.Invalid, "malformed JSON: %v", err)
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	}
	return "a " + goKind
}

// WriteJSON writes v as the JSON response body with the status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// NoBody is the request type of a Handle route that takes no JSON body.
type NoBody struct{}

// Handle adapts a typed handler to http.HandlerFunc: it decodes the JSON body
// strictly into Req (skipped when Req is NoBody), calls fn, and writes its
// result with status — or its error through errw. Routes keep their own
// logic in fn and nothing else.
func Handle[Req, Resp any](errw ErrorWriter, status int, fn func(r *http.Request, req Req) (Resp, error)) http.HandlerFunc {
	return handle(errw, status, DecodeOptions{}, fn)
}

// HandleOptionalBody is Handle for routes whose JSON body may be left out
// (an empty body is the zero Req).
func HandleOptionalBody[Req, Resp any](errw ErrorWriter, status int, fn func(r *http.Request, req Req) (Resp, error)) http.HandlerFunc {
	return handle(errw, status, DecodeOptions{AllowEmpty: true}, fn)
}

func handle[Req, Resp any](errw ErrorWriter, status int, opt DecodeOptions, fn func(r *http.Request, req Req) (Resp, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req Req
		if _, noBody := any(req).(NoBody); !noBody {
			if _, err := Decode(r, &req, opt); err != nil {
				errw(w, r, err)
				return
			}
		}
		resp, err := fn(r, req)
		Respond(w, r, errw, status, resp, err)
	}
}
