package webkit

import (
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// CSRF protection. Every POST must pass two checks before its handler runs:
//
//  1. net/http's CrossOriginProtection: a browser's request whose
//     Sec-Fetch-Site is not same-origin (or, without it, whose Origin is
//     another host) is refused; SameSite=Lax keeps the session cookie off
//     cross-site posts as well;
//  2. the form's "csrf" field must be the token of this browser: an HMAC
//     under the kit's key of the browser's random cg_csrf cookie, of the
//     name of the page set's session cookie (Kit.Sessions) and of the
//     session it holds. A token taken from another browser, another session
//     or another page set does not verify, and a new session (login) makes
//     new tokens.

// CSRFCookie names the per-browser cookie the tokens are bound to.
const CSRFCookie = "cg_csrf"

// CSRFField is the hidden form field carrying the token.
const CSRFField = "csrf"

// csrfToken returns the browser's token for the session cookie it holds,
// setting the cg_csrf cookie first when the browser has none.
func (k *Kit) csrfToken(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(CSRFCookie)
	id := ""
	if err == nil && len(c.Value) == 32 {
		id = c.Value
	} else {
		id = k.gen.Secret(16)
		k.setCookie(w, r, CSRFCookie, id, 0)
		// Later reads of this request see the new cookie.
		r.AddCookie(&http.Cookie{Name: CSRFCookie, Value: id})
	}
	return k.tokenFor(id, k.SessionHash(r))
}

// tokenFor binds a token to the browser, to the name of the kit's session
// cookie (a page set's tokens are refused by another's) and to its session.
func (k *Kit) tokenFor(browser, session string) string {
	return base64.RawURLEncoding.EncodeToString(k.mac("csrf", browser, k.sess.name, session))
}

// SessionHash is what the database keeps of the browser's session token
// (its SHA-256; "" without a session cookie): what CSRF tokens, and what a
// page set keeps for one session only, are bound to.
func (k *Kit) SessionHash(r *http.Request) string {
	if c, err := r.Cookie(k.sess.name); err == nil && c.Value != "" {
		return hashToken(c.Value)
	}
	return ""
}

// checkCSRF reports whether the form's token is this browser's.
func (k *Kit) checkCSRF(r *http.Request) bool {
	c, err := r.Cookie(CSRFCookie)
	if err != nil || len(c.Value) != 32 {
		return false
	}
	want := k.tokenFor(c.Value, k.SessionHash(r))
	return hmac.Equal([]byte(r.PostForm.Get(CSRFField)), []byte(want))
}

// Protect wraps a POST handler: it refuses cross-site requests and forms
// without this browser's token (403, a page saying so), bounds the body and
// parses the form. A field holding a control character is emptied and its
// refusal recorded for FormOf, so the page shows it beside the field: the
// handler starts with FormOf(r) and acts only when the form is OK.
func (k *Kit) Protect(next http.HandlerFunc) http.HandlerFunc { return k.protect(MaxForm, false, next) }

// ProtectUpload is Protect for a form that may upload files
// (multipart/form-data) with a body of at most limit bytes: a larger one
// is refused (413) before the handler runs; the handler reads a file with
// FileOf. The fields are checked as Protect checks them.
func (k *Kit) ProtectUpload(limit int64, next http.HandlerFunc) http.HandlerFunc {
	return k.protect(limit, true, next)
}

func (k *Kit) protect(limit int64, upload bool, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := k.cop.Check(r); err != nil {
			k.Error(w, r, http.StatusForbidden, "This form was sent from another site, so it was refused. Open the page here and send it again.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := parseForm(r, limit, upload); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				k.Error(w, r, http.StatusRequestEntityTooLarge, "This form is larger than "+sizeLimit(limit)+", so it was refused. Go back and send a smaller file.")
				return
			}
			k.Error(w, r, http.StatusBadRequest, "The form could not be read; go back and try again.")
			return
		}
		if !k.checkCSRF(r) {
			k.Error(w, r, http.StatusForbidden, "This form has expired or did not come from this site. Go back, reload the page and send it again.")
			return
		}
		next(w, withForm(r, refuseControls(r.PostForm)))
	}
}

// parseForm parses a urlencoded form, or with upload a multipart one too
// (held in memory: the body is bounded by limit).
func parseForm(r *http.Request, limit int64, upload bool) error {
	if upload && strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return r.ParseMultipartForm(limit)
	}
	return r.ParseForm()
}

// sizeLimit says a byte count in MiB (KiB under one).
func sizeLimit(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
