package httpx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/apperr"
)

// Text rules at the edge. Every text a client sends — JSON strings (values
// and keys), form fields, path segments and query parameters — is refused
// with an Invalid error when it holds a C0 control character (U+0000 to
// U+001F, tab and newline included), DEL (U+007F), a C1 control character
// (U+0080 to U+009F) or a bidirectional embedding, override or isolate
// (U+202A to U+202E, U+2066 to U+2069), which make a name shown to an
// operator read otherwise than it is stored. No cashgate field is
// multi-line, PostgreSQL cannot store NUL in text at all, and refusing here
// makes both engines answer alike (a 400 in the API's format, never a 500).

// refused reports whether r is a character no text field accepts.
func refused(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// controlAt returns the byte index and the character of the first refused
// character in s, or -1.
func controlAt(s string) (int, rune) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x80 {
			if refused(rune(c)) {
				return i, rune(c)
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if refused(r) {
			return i, r
		}
		i += n - 1
	}
	return -1, 0
}

// describe names a refused character for an error message.
func describe(r rune) string {
	if r < 0x80 {
		return "byte 0x" + hex2(byte(r))
	}
	return fmt.Sprintf("U+%04X", r)
}

// CheckText refuses s when it holds a control character; field names it in
// the error.
func CheckText(field, s string) error {
	if i, r := controlAt(s); i >= 0 {
		return &apperr.Error{Code: apperr.Invalid, Field: field,
			Message: "field " + quote(field) + " contains a control character (" + describe(r) + "); control characters are not accepted"}
	}
	return nil
}

// CheckForm refuses a form (or query) whose names or values hold a control
// character.
func CheckForm(v url.Values) error {
	for name, vals := range v {
		if err := CheckText(name, name); err != nil {
			return err
		}
		for _, s := range vals {
			if err := CheckText(name, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// CheckURL refuses a request whose decoded path or query parameters hold a
// control character (a %00 in a path segment reaches handlers as NUL).
func CheckURL(r *http.Request) error {
	if i, c := controlAt(r.URL.Path); i >= 0 {
		return &apperr.Error{Code: apperr.Invalid, Message: "the request path contains a control character (" + describe(c) + ")"}
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return apperr.Wrap(err, apperr.Invalid, "malformed query string")
	}
	return CheckForm(q)
}

// RefuseControlInURL wraps h: a request whose path or query holds a control
// character is answered through errw (or a plain 400 when errw is nil)
// before h sees it.
func RefuseControlInURL(errw ErrorWriter, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := CheckURL(r); err != nil {
			if errw == nil {
				http.Error(w, apperr.From(err).Message, http.StatusBadRequest)
				return
			}
			errw(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// checkJSON scans body token by token before it is decoded: each object's
// keys must be distinct even under case folding (encoding/json matches
// field names case-insensitively and lets the last one win, so
// {"amount":"0.01","Amount":"9.99"} would book 9.99), and every string —
// key or value — must be free of control characters. Syntax errors are left
// to the decoder, which reports them with their offset.
func checkJSON(body []byte) error {
	type frame struct {
		obj     bool
		wantKey bool
		key     string // the current key (objects)
		seen    map[string]string
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []*frame
	first := true
	field := func() string {
		for i := len(stack) - 1; i >= 0; i-- {
			if stack[i].obj && stack[i].key != "" {
				return stack[i].key
			}
		}
		return ""
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return nil // the decoder reports it
		}
		if first && tok == nil {
			return apperr.New(apperr.Invalid, "request body must be a JSON object, not null")
		}
		first = false
		var top *frame
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.obj && top.wantKey {
			k, _ := tok.(string)
			if err := CheckText(k, k); err != nil {
				return err
			}
			f := foldKey(k)
			if prev, dup := top.seen[f]; dup {
				if prev == k {
					return &apperr.Error{Code: apperr.Invalid, Field: k, Message: "duplicate key " + quote(k) + " in a JSON object"}
				}
				return &apperr.Error{Code: apperr.Invalid, Field: k,
					Message: "keys " + quote(prev) + " and " + quote(k) + " differ only in case; field names are matched case-insensitively, so each may appear once"}
			}
			top.seen[f] = k
			top.key = k
			top.wantKey = false
			continue
		}
		// A value.
		if top != nil && top.obj {
			top.wantKey = true
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' {
				stack = append(stack, &frame{obj: true, wantKey: true, seen: map[string]string{}})
			} else {
				stack = append(stack, &frame{})
			}
		case string:
			if err := CheckText(field(), v); err != nil {
				return err
			}
		}
	}
}

// foldKey maps k to a canonical form under Unicode simple case folding (the
// folding encoding/json uses to match names): each rune becomes the smallest
// rune of its folding orbit.
func foldKey(k string) string {
	var b strings.Builder
	for _, r := range k {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < m {
				m = f
			}
		}
		b.WriteRune(m)
	}
	return b.String()
}

func quote(s string) string {
	if s == "" {
		return `""`
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r < 0x80 && refused(r):
			b.WriteString(`\x`)
			b.WriteString(hex2(byte(r)))
		case refused(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		case r == utf8.RuneError:
			b.WriteRune(unicode.ReplacementChar)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}
