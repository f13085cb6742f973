package webkit

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
)

// Form is a posted form with its errors, each shown beside its field.
type Form struct {
	Values url.Values
	Errors map[string]string // field name → message
	// Message is an error about the whole form (shown above it).
	Message string
}

// NewForm returns an empty form (for a page shown the first time) with
// initial values.
func NewForm(values map[string]string) *Form {
	f := &Form{Values: url.Values{}, Errors: map[string]string{}}
	for k, v := range values {
		f.Values.Set(k, v)
	}
	return f
}

type formKey struct{}

// withForm remembers the refusals of the request's form (Protect).
func withForm(r *http.Request, errs map[string]string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), formKey{}, errs))
}

// FormOf returns the posted form of a request that went through Protect,
// with any control-character refusals already set beside their fields.
func FormOf(r *http.Request) *Form {
	f := &Form{Values: r.PostForm, Errors: map[string]string{}}
	if f.Values == nil {
		f.Values = url.Values{}
	}
	if errs, ok := r.Context().Value(formKey{}).(map[string]string); ok {
		for k, v := range errs {
			f.Errors[k] = v
		}
	}
	return f
}

// refuseControls empties every field holding a control character and
// returns the refusals by field.
func refuseControls(v url.Values) map[string]string {
	errs := map[string]string{}
	for name, vals := range v {
		if httpx.CheckText(name, name) != nil {
			delete(v, name)
			continue
		}
		for _, s := range vals {
			if httpx.CheckText(name, s) != nil {
				errs[name] = "This field holds a control character (such as a tab or a NUL), which is not accepted."
				v[name] = []string{""}
				break
			}
		}
	}
	return errs
}

// FileOf returns the bytes of the file a form that went through
// ProtectUpload sent in field name; nil when no file was chosen. Its name
// and declared type are not given: the caller checks the bytes.
func FileOf(r *http.Request, name string) ([]byte, error) {
	if r.MultipartForm == nil || len(r.MultipartForm.File[name]) == 0 {
		return nil, nil
	}
	fh := r.MultipartForm.File[name][0]
	if fh.Filename == "" && fh.Size == 0 {
		return nil, nil // the file input left empty
	}
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err == nil && b == nil {
		b = []byte{}
	}
	return b, err
}

// Get returns a field's value, trimmed of spaces.
func (f *Form) Get(name string) string { return strings.TrimSpace(f.Values.Get(name)) }

// Raw returns a field's value as sent (passwords).
func (f *Form) Raw(name string) string { return f.Values.Get(name) }

// OK reports whether the form has no error.
func (f *Form) OK() bool { return len(f.Errors) == 0 && f.Message == "" }

// Fail sets the error of a field (the first one set stays).
func (f *Form) Fail(name, msg string) {
	if _, dup := f.Errors[name]; !dup {
		f.Errors[name] = msg
	}
}

// Required fails each named field that is empty.
func (f *Form) Required(names ...string) {
	for _, n := range names {
		if f.Values.Get(n) == "" {
			f.Fail(n, "This field is required.")
		}
	}
}

// FailWith puts a domain error beside its field: fields maps the error's
// field names (the API's, such as "adminUsername") to the form's; an error
// without a known field becomes the form's message. Internal errors are not
// shown (the caller logs them).
func (f *Form) FailWith(err error, fields map[string]string) {
	e := apperr.From(err)
	msg := upperFirst(e.Message)
	if e.Code == apperr.Internal || e.Code == apperr.Unavailable {
		msg = "Something went wrong; try again."
	}
	if name, ok := fields[e.Field]; ok && e.Field != "" {
		f.Fail(name, msg)
		return
	}
	f.Message = msg
}

// Clear empties fields that must not be sent back (passwords).
func (f *Form) Clear(names ...string) {
	for _, n := range names {
		f.Values.Del(n)
	}
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
