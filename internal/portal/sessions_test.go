package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/app"
	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/webkit"
)

// TestSessionsSideBySide: the developer portal, the operator console and
// the back office each keep their own session cookie, so one browser (one
// cookie jar) is signed in to all three at once, signing out of one leaves
// the others, and a form's CSRF token of one page set is refused by
// another.
func TestSessionsSideBySide(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			if _, err := h.App.Portal.Console.Create(context.Background(), "ops", operatorPassword); err != nil {
				t.Fatal(err)
			}
			b := newBrowser(t, h)
			if p := b.signup("ada@example.com", "correct horse battery"); p.status != 303 {
				t.Fatalf("sign up: %d", p.status)
			}
			if p := b.post("/operator/login", "/operator/login", url.Values{"username": {"ops"}, "password": {operatorPassword}}); p.status != 303 {
				t.Fatalf("operator sign-in: %d %s", p.status, p.body)
			}
			if p := b.post("/office/login", "/office/login", url.Values{"business": {h.Tenant.BusinessCode}, "username": {h.Tenant.AdminUsername},
				"password": {h.Tenant.AdminPassword}}); p.status != 303 {
				t.Fatalf("office sign-in: %d %s", p.status, p.body)
			}
			signedIn := func(what string, want bool) {
				t.Helper()
				for path, sign := range map[string]string{"/dashboard": `action="/logout"`, "/operator": `action="/operator/logout"`, "/office": `action="/office/logout"`} {
					if what != "" && path != what {
						continue
					}
					p := b.get(path)
					if got := p.status == 200 && strings.Contains(p.body, sign); got != want {
						t.Errorf("%s signed in = %v, want %v (%d %s)", path, got, want, p.status, p.location)
					}
				}
			}
			signedIn("", true)

			// The cookies: one per page set, the console's and the office's
			// sent to their paths only.
			u, _ := url.Parse(h.Server.URL)
			names := map[string]bool{}
			for _, path := range []string{"/", "/operator/", "/office/"} {
				for _, c := range b.jar.Cookies(&url.URL{Scheme: u.Scheme, Host: u.Host, Path: path}) {
					names[path+" "+c.Name] = true
				}
			}
			for _, want := range []string{"/ " + webkit.SessionCookie, "/operator/ " + app.OperatorSessionCookie, "/office/ " + app.OfficeSessionCookie} {
				if !names[want] {
					t.Errorf("no cookie %s in %v", want, names)
				}
			}
			if names["/ "+app.OperatorSessionCookie] || names["/ "+app.OfficeSessionCookie] {
				t.Errorf("the console's or the office's session cookie is sent to the portal's pages: %v", names)
			}

			// A token of one page set, posted to another's form, is refused
			// and signs nobody out.
			tokens := map[string]string{}
			for path, from := range map[string]string{"/logout": "/dashboard", "/operator/logout": "/operator", "/office/logout": "/office"} {
				m := csrfRE.FindStringSubmatch(b.get(from).body)
				if m == nil {
					t.Fatalf("no form on %s", from)
				}
				tokens[path] = m[1]
			}
			for to := range tokens {
				for from, tok := range tokens {
					if from == to {
						continue
					}
					if p := b.send("POST", to, url.Values{"csrf": {tok}}, "same-origin"); p.status != http.StatusForbidden {
						t.Errorf("POST %s with the token of %s's page set: %d", to, from, p.status)
					}
				}
			}
			signedIn("", true)

			// Signing out of the console leaves the developer and the office.
			if p := b.send("POST", "/operator/logout", url.Values{"csrf": {tokens["/operator/logout"]}}, "same-origin"); p.status != 303 {
				t.Fatalf("operator sign-out: %d %s", p.status, p.body)
			}
			signedIn("/operator", false)
			signedIn("/dashboard", true)
			signedIn("/office", true)
			// And signing in to the console again does not sign the developer out.
			if p := b.post("/operator/login", "/operator/login", url.Values{"username": {"ops"}, "password": {operatorPassword}}); p.status != 303 {
				t.Fatalf("operator sign-in again: %d", p.status)
			}
			signedIn("", true)
		})
	}
}
