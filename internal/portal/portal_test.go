package portal_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// browser is a cookie jar on the app that does not follow redirects and
// sends same-origin fetch metadata, as a browser's own form posts do.
type browser struct {
	t   *testing.T
	h   *apptest.App
	c   *http.Client
	jar *cookiejar.Jar
}

func newBrowser(t *testing.T, h *apptest.App) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, h: h, jar: jar, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
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

// follow loads the page a redirect sends the browser to (on the public URL).
func (b *browser) follow(p page) page {
	b.t.Helper()
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, b.h.Server.URL+"/") {
		b.t.Fatalf("not a redirect to this site: %d %q %s", p.status, p.location, p.body)
	}
	return b.get(strings.TrimPrefix(p.location, b.h.Server.URL))
}

func (b *browser) signup(email, password string) page {
	b.t.Helper()
	return b.post("/signup", "/signup", url.Values{"email": {email}, "password": {password}, "name": {"Ada Lovelace"}})
}

var keyRE = regexp.MustCompile(`id="app-key-value">(cgk_[0-9a-f_]+)<`)

// TestDeveloperPortal walks seed 001's guide over HTTP: sign up, reveal the
// APP key (wrong password refused), the key works, CREATE ADMIN USER refused
// before CREATE COMPANY, then both, sign out and in again.
func TestDeveloperPortal(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			b := newBrowser(t, h)
			signUpStep(t, h, b)
			key := revealKeyStep(t, h, b)
			tenantID := createCompanyStep(t, b)
			createAdminUserStep(t, h, b, tenantID, key)
			signOutAndInStep(t, h, b)
		})
	}
}

func signUpStep(t *testing.T, h *apptest.App, b *browser) {
	t.Helper()
	if p := b.get("/"); p.status != 200 || !strings.Contains(p.body, `href="/signup"`) || !strings.Contains(p.body, `href="/login"`) || !strings.Contains(p.body, `href="/openapi.json"`) {
		t.Fatalf("start page: %d %s", p.status, p.body)
	}
	p := b.signup("Ada@Example.com", "correct horse battery")
	if p.status != 303 || p.location != h.Server.URL+"/dashboard" {
		t.Fatalf("sign up: %d %q %s", p.status, p.location, p.body)
	}
	dash := b.get("/dashboard")
	if dash.status != 200 || !strings.Contains(dash.body, "Your sandbox is ready") || !strings.Contains(dash.body, `badge-Sandbox`) || !strings.Contains(dash.body, "default") {
		t.Fatalf("dashboard: %d %s", dash.status, dash.body)
	}
	if p := b.get("/signup"); p.status != 303 || p.location != h.Server.URL+"/dashboard" {
		t.Fatalf("sign-up page while signed in: %d %q", p.status, p.location)
	}
}

// revealKeyStep: the key stays hidden until the password is entered again,
// a wrong one is refused beside the field, and the key shown works.
func revealKeyStep(t *testing.T, h *apptest.App, b *browser) string {
	t.Helper()
	set := b.get("/dashboard/settings")
	if keyRE.MatchString(set.body) || !strings.Contains(set.body, `id="app-key-hidden"`) {
		t.Fatalf("the key is shown without the password")
	}
	if !strings.Contains(set.body, `id="create-admin" disabled`) || !strings.Contains(set.body, "<fieldset disabled>") {
		t.Fatalf("CREATE ADMIN USER is not disabled before the business profile")
	}
	wrong := b.post("/dashboard/settings", "/dashboard/settings/app-key", url.Values{"password": {"wrong horse battery"}})
	if wrong.status != 422 || keyRE.MatchString(wrong.body) || !strings.Contains(wrong.body, `id="key-password-error">Wrong password`) {
		t.Fatalf("wrong password: %d %s", wrong.status, wrong.body)
	}
	right := b.post("/dashboard/settings", "/dashboard/settings/app-key", url.Values{"password": {"correct horse battery"}})
	m := keyRE.FindStringSubmatch(right.body)
	if right.status != 200 || m == nil || !strings.Contains(right.body, "Status: active") {
		t.Fatalf("right password: %d %s", right.status, right.body)
	}
	if r := h.Do("GET", "/dummyapi/status", nil, map[string]string{"api-key": m[1]}); r.Status != 200 {
		t.Fatalf("the revealed key: %d %s", r.Status, r.Body)
	}
	return m[1]
}

// adminForm is a valid CREATE ADMIN USER form.
func adminForm() url.Values {
	return url.Values{"username": {"ada"}, "password": {"admin password"}, "pin": {"2468"}, "timezone": {"Europe/Paris"}, "name": {"Ada"}, "email": {"ada@example.com"}}
}

// createCompanyStep: CREATE ADMIN USER is refused before the company; bad
// company forms are refused beside their fields; the profile shows the
// tenant ID and business code.
func createCompanyStep(t *testing.T, b *browser) string {
	t.Helper()
	if p := b.post("/dashboard/settings", "/dashboard/settings/admin-user", adminForm()); p.status != 422 || !strings.Contains(p.body, "Create the business profile first") {
		t.Fatalf("admin user before company: %d %s", p.status, p.body)
	}
	if p := b.post("/dashboard/settings", "/dashboard/settings/company", url.Values{"company": {"Acme"}, "timezone": {"Mars/Base"}}); p.status != 422 || !strings.Contains(p.body, `id="company-timezone-error"`) {
		t.Fatalf("bad zone: %d %s", p.status, p.body)
	}
	if p := b.post("/dashboard/settings", "/dashboard/settings/company", url.Values{"company": {"Acme\x00Widgets"}, "timezone": {"Europe/Berlin"}}); p.status != 422 ||
		!strings.Contains(p.body, `id="company-error">This field holds a control character`) {
		t.Fatalf("NUL in the company name: %d %s", p.status, p.body)
	}
	if p := b.post("/dashboard/settings", "/dashboard/settings/company", url.Values{"company": {"Acme Widgets"}, "timezone": {"Europe/Berlin"}}); p.status != 303 {
		t.Fatalf("company: %d %s", p.status, p.body)
	}
	// A second CREATE COMPANY (another tab) changes nothing and says why.
	if p := b.post("/dashboard/settings", "/dashboard/settings/company", url.Values{"company": {"Other"}, "timezone": {"UTC"}}); p.status != 303 {
		t.Fatalf("second company: %d %s", p.status, p.body)
	}
	set := b.get("/dashboard/settings")
	if !strings.Contains(set.body, `id="flash">The business profile exists already`) || !strings.Contains(set.body, `id="company-name">Acme Widgets<`) {
		t.Fatalf("after a second company: %s", set.body)
	}
	tenantID := regexp.MustCompile(`id="tenant-id">(ten_[0-9a-z]+)<`).FindStringSubmatch(set.body)
	if tenantID == nil || !regexp.MustCompile(`id="business-code">[A-Z2-9]{8}<`).MatchString(set.body) || strings.Contains(set.body, `id="create-admin" disabled`) {
		t.Fatalf("business profile: %s", set.body)
	}
	return tenantID[1]
}

// createAdminUserStep: bad forms are refused beside their fields (the
// password never sent back); the admin user is created once and can use
// the password grant with its PIN.
func createAdminUserStep(t *testing.T, h *apptest.App, b *browser, tenantID, key string) {
	t.Helper()
	if p := b.post("/dashboard/settings", "/dashboard/settings/admin-user", url.Values{"username": {"a b"}, "password": {"short"}, "timezone": {"UTC"}}); p.status != 422 ||
		!strings.Contains(p.body, `id="admin-username-input-error"`) || strings.Contains(p.body, `value="short"`) {
		t.Fatalf("bad admin user: %d %s", p.status, p.body)
	}
	bad := adminForm()
	bad.Set("name", "Ada\tLovelace")
	if p := b.post("/dashboard/settings", "/dashboard/settings/admin-user", bad); p.status != 422 || !strings.Contains(p.body, `id="admin-name-error"`) {
		t.Fatalf("tab in the admin user's name: %d %s", p.status, p.body)
	}
	if p := b.post("/dashboard/settings", "/dashboard/settings/admin-user", adminForm()); p.status != 303 {
		t.Fatalf("admin user: %d %s", p.status, p.body)
	}
	second := adminForm()
	second.Set("username", "bob")
	if p := b.post("/dashboard/settings", "/dashboard/settings/admin-user", second); p.status != 303 {
		t.Fatalf("second admin user: %d %s", p.status, p.body)
	}
	set := b.get("/dashboard/settings")
	if !strings.Contains(set.body, `id="flash">The admin user exists already`) {
		t.Fatalf("after a second admin user: %s", set.body)
	}
	if !strings.Contains(set.body, `id="admin-username">ada<`) || !strings.Contains(set.body, `id="admin-timezone">Europe/Paris<`) || strings.Contains(set.body, `id="create-admin"`) {
		t.Fatalf("admin user shown: %s", set.body)
	}
	users, err := h.App.Platform.AdminUsers(context.Background(), tenantID)
	if err != nil || len(users) != 1 || !users[0].HasPIN {
		t.Fatalf("admin users %+v %v", users, err)
	}
	tok := h.Do("POST", "/auth/oauth/token", []byte(`{"grant_type":"password","username":"ada","password":"admin password","pin":"2468"}`), map[string]string{"api-key": key})
	if tok.Status != 200 {
		t.Fatalf("password grant: %d %s", tok.Status, tok.Body)
	}
}

// signOutAndInStep: after sign-out the session is gone; signing in works.
func signOutAndInStep(t *testing.T, h *apptest.App, b *browser) {
	t.Helper()
	if p := b.post("/dashboard", "/logout", url.Values{}); p.status != 303 {
		t.Fatalf("sign out: %d", p.status)
	}
	if p := b.get("/dashboard/settings"); p.status != 303 || p.location != h.Server.URL+"/login" {
		t.Fatalf("after sign-out: %d %s", p.status, p.location)
	}
	if p := b.post("/login", "/login", url.Values{"email": {"ada@example.com"}, "password": {"correct horse battery"}}); p.status != 303 {
		t.Fatalf("sign in: %d %s", p.status, p.body)
	}
}

func TestSignupRefusals(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) { signupRefusals(t, apptest.New(t, e, apptest.Options{})) })
	}
}

func signupRefusals(t *testing.T, h *apptest.App) {
	b := newBrowser(t, h)
	if p := b.signup("ada@example.com", "correct horse battery"); p.status != 303 {
		t.Fatalf("sign up: %d %s", p.status, p.body)
	}
	cases := []struct{ email, password, field string }{
		{"not an address", "correct horse battery", "email"},
		{"", "correct horse battery", "email"},
		{"bob@example.com", "short", "password"},
		{"ADA@example.com", "another password", "email"}, // taken
		{"bob\x00@example.com", "correct horse battery", "email"},
		{"bob@example.com", "pass\tword long", "password"},
	}
	for _, c := range cases {
		other := newBrowser(t, h)
		p := other.signup(c.email, c.password)
		if p.status != 422 || !strings.Contains(p.body, `id="`+c.field+`-error"`) || strings.Contains(p.body, c.password) {
			t.Errorf("%q/%q: %d %s", c.email, c.password, p.status, p.body)
		}
	}
	// A cross-site post is refused before anything happens.
	if p := newBrowser(t, h).send("POST", "/signup", url.Values{"email": {"eve@example.com"}, "password": {"correct horse battery"}}, "cross-site"); p.status != 403 {
		t.Fatalf("cross-site sign-up: %d", p.status)
	}
	var n int
	if err := h.App.DB.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM developers`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d developers (%v), want the first one only", n, err)
	}
	// Passwords are stored as argon2id hashes only.
	var hash string
	if err := h.App.DB.Read().QueryRowContext(context.Background(), `SELECT password_hash FROM developers`).Scan(&hash); err != nil ||
		!strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, "correct horse") {
		t.Fatalf("stored password %q %v", hash, err)
	}
	// Redirects are built on the public URL, never on the Host header.
	req, _ := http.NewRequest("GET", h.Server.URL+"/dashboard", nil)
	req.Host = "evil.example"
	resp, err := newBrowser(t, h).c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != h.Server.URL+"/login" {
		t.Fatalf("redirect to %q", loc)
	}
}

// TestLoginLockout: a burst of wrong passwords at once gets exactly five
// checked; the rest, and then the right password, are refused until the
// lock ends; another address is not locked out.
func TestLoginLockout(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			if p := newBrowser(t, h).signup("ada@example.com", "correct horse battery"); p.status != 303 {
				t.Fatal(p.status)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			counts := map[int]int{}
			for range 12 {
				b := newBrowser(t, h)
				tok := csrfRE.FindStringSubmatch(b.get("/login").body)[1]
				wg.Add(1)
				go func() {
					defer wg.Done()
					p := b.send("POST", "/login", url.Values{"csrf": {tok}, "email": {"ada@example.com"}, "password": {"wrong password"}}, "same-origin")
					mu.Lock()
					counts[p.status]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if counts[422] != 5 || counts[429] != 7 {
				t.Fatalf("answers %v, want 5 wrong-password pages and 7 locked", counts)
			}
			p := newBrowser(t, h).post("/login", "/login", url.Values{"email": {"ada@example.com"}, "password": {"correct horse battery"}})
			if p.status != 429 || !strings.Contains(p.body, "Too many attempts. Try again in 15 minutes.") {
				t.Fatalf("right password while locked: %d %s", p.status, p.body)
			}
			h.Clock.Advance(loginLock)
			if p := newBrowser(t, h).post("/login", "/login", url.Values{"email": {"ada@example.com"}, "password": {"correct horse battery"}}); p.status != 303 {
				t.Fatalf("after the lock: %d %s", p.status, p.body)
			}
		})
	}
}

const loginLock = 15 * time.Minute // the portal's lock after five wrong passwords from one address

// TestRevealKeyLockout: re-entering the password to show the APP key is
// throttled like a sign-in: after five wrong ones even the right one is
// refused, and the key stays hidden.
func TestRevealKeyLockout(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) { revealKeyLockout(t, apptest.New(t, e, apptest.Options{})) })
	}
}

func revealKeyLockout(t *testing.T, h *apptest.App) {
	b := newBrowser(t, h)
	if p := b.signup("ada@example.com", "correct horse battery"); p.status != 303 {
		t.Fatal(p.status)
	}
	for i := range 5 {
		if p := b.post("/dashboard/settings", "/dashboard/settings/app-key", url.Values{"password": {"guess"}}); p.status != 422 {
			t.Fatalf("guess %d: %d", i, p.status)
		}
	}
	p := b.post("/dashboard/settings", "/dashboard/settings/app-key", url.Values{"password": {"correct horse battery"}})
	if p.status != 429 || keyRE.MatchString(p.body) || !strings.Contains(p.body, `id="key-password-error">Too many attempts. Try again in 15 minutes.`) {
		t.Fatalf("right password after five wrong: %d %s", p.status, p.body)
	}
	h.Clock.Advance(loginLock)
	if p := b.post("/dashboard/settings", "/dashboard/settings/app-key", url.Values{"password": {"correct horse battery"}}); p.status != 200 || !keyRE.MatchString(p.body) {
		t.Fatalf("after the lock: %d", p.status)
	}
}
