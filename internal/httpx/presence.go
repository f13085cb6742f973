package httpx

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
)

// RequireAll refuses body unless it is a JSON object that names every field
// of the struct dst points to whose json tag has no omitempty, each with a
// value other than null. A replace (PUT) uses it so that a missing field is
// an error rather than a silent reset to the zero value. Field names are
// compared case-insensitively, as the decoder matches them (Unmarshal has
// already refused case variants).
func RequireAll(body []byte, dst any) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return apperr.New(apperr.Invalid, "request body must be a JSON object with every field")
	}
	present := make(map[string]bool, len(obj))
	for k, v := range obj {
		if !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			present[foldKey(k)] = true
		}
	}
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || strings.Contains(","+opts+",", ",omitempty,") {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if !present[foldKey(name)] {
			return &apperr.Error{Code: apperr.Invalid, Field: name,
				Message: "field " + quote(name) + " is required: this request replaces the whole object, so every field must be given (not null)"}
		}
	}
	return nil
}
