package backoffice_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/backoffice/officetest"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// browser is a cookie jar on the app that does not follow redirects and
// sends same-origin fetch metadata, as a browser's own form posts do.
type browser struct {
	t *testing.T
	h *apptest.App
	c *http.Client
}

func newBrowser(t *testing.T, h *apptest.App) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, h: h, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status   int
	body     string
	location string
}

func (b *browser) get(path string) page {
	b.t.Helper()
	return b.send("GET", path, nil, "same-origin")
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// post loads from (to get the form's token) and posts the form to path.
func (b *browser) post(from, path string, form url.Values) page {
	b.t.Helper()
	m := csrfRE.FindStringSubmatch(b.get(from).body)
	if m == nil {
		b.t.Fatalf("no form on %s", from)
	}
	form.Set("csrf", m[1])
	return b.send("POST", path, form, "same-origin")
}

func (b *browser) send(method, path string, form url.Values, site string) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.h.Server.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Sec-Fetch-Site", site)
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, body: string(out), location: resp.Header.Get("Location")}
}

// signIn signs in with the business code and expects the home page.
func (b *browser) signIn(business, username, password, pin string) {
	b.t.Helper()
	p := b.post("/office/login", "/office/login", url.Values{"business": {business}, "username": {username}, "password": {password}, "pin": {pin}})
	if p.status != http.StatusSeeOther || p.location != b.h.Server.URL+"/office" {
		b.t.Fatalf("sign in as %s: %d %q %s", username, p.status, p.location, p.body)
	}
}

// owner signs in as the tenant's admin user (an owner).
func owner(t *testing.T, h *apptest.App) *browser {
	t.Helper()
	b := newBrowser(t, h)
	b.signIn(h.Tenant.BusinessCode, h.Tenant.AdminUsername, h.Tenant.AdminPassword, "")
	return b
}

// auditActions returns the actions of the tenant's audit log, oldest first.
func auditActions(t *testing.T, h *apptest.App) []string {
	t.Helper()
	rows, err := h.App.DB.Read().QueryContext(context.Background(),
		`SELECT action || ' ' || subject || ' ' || remote_addr FROM office_audit WHERE tenant_id = $1 ORDER BY created_at, id`, h.Tenant.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestSignIn: the business code or the tenant ID with the username and
// password sign in; a wrong password, an unknown business and a missing
// PIN are refused alike; the sign-in and the sign-out are audited; the
// pages need a session.
func TestSignIn(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			anon := newBrowser(t, h)
			if p := anon.get("/office/payments"); p.status != http.StatusSeeOther || p.location != h.Server.URL+"/office/login" {
				t.Fatalf("payments without a session: %d %q", p.status, p.location)
			}
			for _, c := range []struct{ name, business, user, password string }{
				{"wrong password", h.Tenant.BusinessCode, h.Tenant.AdminUsername, "not the password"},
				{"unknown business", "ZZZZZZZZ", h.Tenant.AdminUsername, h.Tenant.AdminPassword},
				{"unknown user", h.Tenant.BusinessCode, "nobody", h.Tenant.AdminPassword},
			} {
				p := anon.post("/office/login", "/office/login", url.Values{"business": {c.business}, "username": {c.user}, "password": {c.password}})
				if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "Wrong business code, username, password or PIN.") {
					t.Fatalf("%s: %d %s", c.name, p.status, p.body)
				}
			}
			b := newBrowser(t, h)
			b.signIn(strings.ToLower(h.Tenant.BusinessCode), h.Tenant.AdminUsername, h.Tenant.AdminPassword, "")
			if p := b.get("/office"); p.status != 200 || !strings.Contains(p.body, `id="today"`) || !strings.Contains(p.body, "(owner)") {
				t.Fatalf("home: %d %s", p.status, p.body)
			}
			if p := b.get("/office/login"); p.status != http.StatusSeeOther {
				t.Fatalf("sign-in page while signed in: %d", p.status)
			}
			h.Clock.Advance(time.Second)
			if p := b.post("/office", "/office/logout", url.Values{}); p.status != http.StatusSeeOther || p.location != h.Server.URL+"/office/login" {
				t.Fatalf("sign out: %d %q", p.status, p.location)
			}
			if p := b.get("/office"); p.status != http.StatusSeeOther {
				t.Fatalf("home after sign-out: %d", p.status)
			}
			h.Clock.Advance(time.Second)
			byID := newBrowser(t, h)
			byID.signIn(h.Tenant.TenantID, h.Tenant.AdminUsername, h.Tenant.AdminPassword, "")
			got := auditActions(t, h)
			want := []string{"office.sign_in admin 127.0.0.1", "office.sign_out admin 127.0.0.1", "office.sign_in admin 127.0.0.1"}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("audit: %q, want %q", got, want)
			}
		})
	}
}

// TestSignInWithPIN: a user with a PIN must give it.
func TestSignInWithPIN(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{Tenant: &platform.TenantSpec{Name: "Pin Ltd", Mode: platform.Production,
				Timezone: "Europe/Berlin", AdminUsername: "boss", AdminPassword: "boss password 1", AdminPIN: "2468"}})
			b := newBrowser(t, h)
			for _, pin := range []string{"", "1357"} {
				p := b.post("/office/login", "/office/login", url.Values{"business": {h.Tenant.BusinessCode}, "username": {"boss"}, "password": {"boss password 1"}, "pin": {pin}})
				if p.status != http.StatusUnprocessableEntity {
					t.Fatalf("PIN %q: %d", pin, p.status)
				}
			}
			b.signIn(h.Tenant.BusinessCode, "boss", "boss password 1", "2468")
		})
	}
}

// TestSignInLockout: of 12 wrong passwords sent at once from one address,
// at most 5 are checked and the rest refused as too many; then the right
// password is refused too until the lock ends.
func TestSignInLockout(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			var wg sync.WaitGroup
			var mu sync.Mutex
			counts := map[int]int{}
			for range 12 {
				b := newBrowser(t, h)
				m := csrfRE.FindStringSubmatch(b.get("/office/login").body)
				wg.Go(func() {
					form := url.Values{"business": {h.Tenant.BusinessCode}, "username": {h.Tenant.AdminUsername}, "password": {"guess guess"}, "csrf": {m[1]}}
					p := b.send("POST", "/office/login", form, "same-origin")
					mu.Lock()
					counts[p.status]++
					mu.Unlock()
				})
			}
			wg.Wait()
			if counts[http.StatusUnprocessableEntity] > 5 || counts[http.StatusUnprocessableEntity]+counts[http.StatusTooManyRequests] != 12 {
				t.Fatalf("answers to 12 concurrent wrong passwords: %v (at most 5 checked)", counts)
			}
			b := newBrowser(t, h)
			p := b.post("/office/login", "/office/login", url.Values{"business": {h.Tenant.BusinessCode}, "username": {h.Tenant.AdminUsername}, "password": {h.Tenant.AdminPassword}})
			if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Too many attempts") {
				t.Fatalf("right password while locked: %d %s", p.status, p.body)
			}
		})
	}
}

// TestCSRF: a post without the form's token, or from another site, is
// refused and changes nothing.
func TestCSRF(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			b := owner(t, h)
			form := url.Values{"role": {"agent"}, "username": {"eve"}, "password": {"eve password 1"}, "timezone": {"UTC"}}
			if p := b.send("POST", "/office/users", form, "same-origin"); p.status != http.StatusForbidden {
				t.Fatalf("post without a token: %d", p.status)
			}
			m := csrfRE.FindStringSubmatch(b.get("/office/users").body)
			form.Set("csrf", m[1])
			if p := b.send("POST", "/office/users", form, "cross-site"); p.status != http.StatusForbidden {
				t.Fatalf("cross-site post: %d", p.status)
			}
			users, err := h.App.Platform.AdminUsers(context.Background(), h.Tenant.TenantID)
			if err != nil || len(users) != 1 {
				t.Fatalf("users after refused posts: %v %v", users, err)
			}
		})
	}
}

// TestUsersAndRoles: an owner adds an agent (audited); the agent signs in,
// sees the users read-only and gets 403 adding one.
func TestUsersAndRoles(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			b := owner(t, h)
			p := b.post("/office/users", "/office/users", url.Values{"role": {"agent"}, "username": {"ann.agent"}, "password": {"short"}, "timezone": {"Europe/Paris"}})
			if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="new-password-error"`) {
				t.Fatalf("short password: %d %s", p.status, p.body)
			}
			p = b.post("/office/users", "/office/users", url.Values{"role": {"agent"}, "username": {"ann.agent"}, "password": {"agent password 1"}, "timezone": {"Europe/Paris"}})
			if p.status != http.StatusSeeOther {
				t.Fatalf("add agent: %d %s", p.status, p.body)
			}
			if got := auditActions(t, h); len(got) != 2 || !slices.Contains(got, "office.add_user ann.agent 127.0.0.1") {
				t.Fatalf("audit: %q", got)
			}
			agent := newBrowser(t, h)
			agent.signIn(h.Tenant.BusinessCode, "ann.agent", "agent password 1", "")
			if p := agent.get("/office/users"); p.status != 200 || !strings.Contains(p.body, `id="users-read-only"`) || !strings.Contains(p.body, "(agent)") {
				t.Fatalf("users page for an agent: %d %s", p.status, p.body)
			}
			p = agent.post("/office/users", "/office/users", url.Values{"role": {"owner"}, "username": {"mallory"}, "password": {"mallory password"}, "timezone": {"UTC"}})
			if p.status != http.StatusForbidden {
				t.Fatalf("agent adds a user: %d", p.status)
			}
			users, _ := h.App.Platform.AdminUsers(context.Background(), h.Tenant.TenantID)
			roles := map[string]platform.Role{}
			for _, u := range users {
				roles[u.Username] = u.Role
			}
			if len(users) != 2 || roles["ann.agent"] != platform.RoleAgent || roles["admin"] != platform.RoleOwner {
				t.Fatalf("users: %+v", users)
			}
			if p := agent.get("/office/audit"); p.status != 200 || !strings.Contains(p.body, "office.add_user") {
				t.Fatalf("audit page: %d %s", p.status, p.body)
			}
		})
	}
}

var secretRE = regexp.MustCompile(`id="secret-value">(whsec_[^<]+)<`)
var endpointRE = regexp.MustCompile(`/office/webhooks/endpoints/([a-z]+_[0-9a-z]+)/rotate`)

// TestWebhooksPage: an owner adds an endpoint (its secret shown once),
// rotates its secret (a new one shown once) and disables it, each audited;
// an agent sees the endpoints read-only and its posts are refused (403).
func TestWebhooksPage(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			b := officetest.Owner(t, h)
			p := b.Post("/office/webhooks", "/office/webhooks/endpoints", url.Values{"url": {"not a url"}, "types": {"*"}})
			if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="url-error"`) {
				t.Fatalf("bad URL: %d %s", p.Status, p.Body)
			}
			p = b.Post("/office/webhooks", "/office/webhooks/endpoints", url.Values{"url": {"http://127.0.0.1:9/hooks"}, "types": {"payment.* remote.*"}})
			s1, ep := secretRE.FindStringSubmatch(p.Body), endpointRE.FindStringSubmatch(p.Body)
			if p.Status != http.StatusCreated || s1 == nil || ep == nil {
				t.Fatalf("add endpoint: %d %s", p.Status, p.Body)
			}
			if p := b.Get("/office/webhooks"); strings.Contains(p.Body, s1[1]) || !strings.Contains(p.Body, "payment.*, remote.*") {
				t.Fatalf("the secret is shown again, or the endpoint is missing: %s", p.Body)
			}
			p = b.Post("/office/webhooks", "/office/webhooks/endpoints/"+ep[1]+"/rotate", url.Values{})
			s2 := secretRE.FindStringSubmatch(p.Body)
			if p.Status != 200 || s2 == nil || s2[1] == s1[1] {
				t.Fatalf("rotate: %d %s", p.Status, p.Body)
			}
			if p := b.Post("/office/webhooks", "/office/webhooks/endpoints/"+ep[1]+"/enabled", url.Values{"enabled": {"false"}}); p.Status != http.StatusSeeOther {
				t.Fatalf("disable: %d %s", p.Status, p.Body)
			}
			eps, _ := h.App.Webhooks.ListEndpoints(context.Background(), h.Tenant.TenantID)
			if len(eps) != 1 || eps[0].Enabled {
				t.Fatalf("endpoints: %+v", eps)
			}
			agent := b.AddUser("agent", "ann.agent", "agent password 1")
			if p := agent.Get("/office/webhooks"); !strings.Contains(p.Body, `id="webhooks-read-only"`) || strings.Contains(p.Body, "/rotate") {
				t.Fatalf("webhooks for an agent: %s", p.Body)
			}
			for _, path := range []string{"/office/webhooks/endpoints/" + ep[1] + "/rotate", "/office/webhooks/endpoints"} {
				if p := agent.Post("/office/webhooks", path, url.Values{"url": {"http://127.0.0.1:9/x"}, "types": {"*"}}); p.Status != http.StatusForbidden {
					t.Fatalf("agent posts %s: %d", path, p.Status)
				}
			}
			acts := officetest.AuditActions(t, h)
			for _, want := range []string{"webhooks.add_endpoint http://127.0.0.1:9/hooks", "webhooks.rotate_secret " + ep[1], "webhooks.disable_endpoint " + ep[1]} {
				if !slices.Contains(acts, want) {
					t.Fatalf("audit %q lacks %q", acts, want)
				}
			}
		})
	}
}
