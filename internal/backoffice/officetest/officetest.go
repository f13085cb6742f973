// Package officetest drives the back office over HTTP in tests: a browser
// with a cookie jar that does not follow redirects and sends same-origin
// fetch metadata (as a browser's own form posts do), signing in as an admin
// user and posting the pages' forms with their CSRF tokens.
package officetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/platform"
)

// Browser is one browser on the app.
type Browser struct {
	T testing.TB
	H *apptest.App
	c *http.Client
}

// New returns a browser without a session.
func New(t testing.TB, h *apptest.App) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{T: t, H: h, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Page is a response read whole.
type Page struct {
	Status   int
	Body     string
	Location string // the redirect's target, made relative to the server
	Header   http.Header
}

// Get loads path.
func (b *Browser) Get(path string) Page {
	b.T.Helper()
	return b.Send("GET", path, nil, "same-origin")
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// Token returns the CSRF token of the first form on page from.
func (b *Browser) Token(from string) string {
	b.T.Helper()
	m := csrfRE.FindStringSubmatch(b.Get(from).Body)
	if m == nil {
		b.T.Fatalf("no form on %s", from)
	}
	return m[1]
}

// Post loads from (for the form's token) and posts form to path.
func (b *Browser) Post(from, path string, form url.Values) Page {
	b.T.Helper()
	form.Set("csrf", b.Token(from))
	return b.Send("POST", path, form, "same-origin")
}

// File is a file a form uploads.
type File struct {
	Field, Name, ContentType string
	Content                  []byte
}

// PostFiles loads from (for the form's token) and posts form with files
// to path as multipart/form-data, as a browser sends a file upload.
func (b *Browser) PostFiles(from, path string, form url.Values, files ...File) Page {
	b.T.Helper()
	form.Set("csrf", b.Token(from))
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range form {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, f.Field, f.Name))
		h.Set("Content-Type", f.ContentType)
		w, err := mw.CreatePart(h)
		if err != nil {
			b.T.Fatal(err)
		}
		_, _ = w.Write(f.Content)
	}
	_ = mw.Close()
	return b.send("POST", path, &body, mw.FormDataContentType(), "same-origin")
}

// Send sends a request with Sec-Fetch-Site site and the form (nil: none).
func (b *Browser) Send(method, path string, form url.Values, site string) Page {
	b.T.Helper()
	var body io.Reader
	typ := ""
	if form != nil {
		body, typ = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
	}
	return b.send(method, path, body, typ, site)
}

func (b *Browser) send(method, path string, body io.Reader, contentType, site string) Page {
	b.T.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), method, b.H.Server.URL+path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Sec-Fetch-Site", site)
	resp, err := b.c.Do(req)
	if err != nil {
		b.T.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return Page{Status: resp.StatusCode, Body: string(out), Location: strings.TrimPrefix(resp.Header.Get("Location"), b.H.Server.URL), Header: resp.Header}
}

// SignIn signs in at /office/login and expects the home page.
func (b *Browser) SignIn(business, username, password, pin string) {
	b.T.Helper()
	p := b.Post("/office/login", "/office/login", url.Values{"business": {business}, "username": {username}, "password": {password}, "pin": {pin}})
	if p.Status != http.StatusSeeOther || p.Location != "/office" {
		b.T.Fatalf("sign in as %s: %d %q %s", username, p.Status, p.Location, p.Body)
	}
}

// Owner returns a browser signed in as the app's tenant's admin user (an
// owner: the user `tenant create` makes).
func Owner(t testing.TB, h *apptest.App) *Browser {
	t.Helper()
	b := New(t, h)
	b.SignIn(h.Tenant.BusinessCode, h.Tenant.AdminUsername, h.Tenant.AdminPassword, "")
	return b
}

// AddUser has b (an owner) add an admin user with role and password, and
// returns a browser signed in as it.
func (b *Browser) AddUser(role, username, password string) *Browser {
	b.T.Helper()
	p := b.Post("/office/users", "/office/users", url.Values{"role": {role}, "username": {username}, "password": {password}, "timezone": {"UTC"}})
	if p.Status != http.StatusSeeOther {
		b.T.Fatalf("add %s %s: %d %s", role, username, p.Status, p.Body)
	}
	u := New(b.T, b.H)
	u.SignIn(b.H.Tenant.BusinessCode, username, password, "")
	return u
}

// Confirm posts form to path from page from, expects the confirmation step
// (200 with its question), then confirms it and returns the answer.
func (b *Browser) Confirm(from, path string, form url.Values) (question string, answer Page) {
	b.T.Helper()
	p := b.Post(from, path, form)
	m := regexp.MustCompile(`id="question">([^<]*)<`).FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil {
		b.T.Fatalf("confirmation step of %s: %d %s", path, p.Status, p.Body)
	}
	fields := url.Values{}
	for _, h := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(p.Body, -1) {
		fields.Set(h[1], unescape(h[2]))
	}
	return unescape(m[1]), b.Send("POST", path, fields, "same-origin")
}

func unescape(s string) string {
	r := strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&#43;", "+")
	return r.Replace(s)
}

// AuditActions returns "action subject" of the tenant's audit log, oldest
// first.
func AuditActions(t testing.TB, h *apptest.App) []string {
	t.Helper()
	rows, err := h.App.DB.Read().QueryContext(context.Background(),
		`SELECT action, subject FROM office_audit WHERE tenant_id = $1 ORDER BY created_at, id`, h.Tenant.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a, s string
		if err := rows.Scan(&a, &s); err != nil {
			t.Fatal(err)
		}
		out = append(out, a+" "+s)
	}
	return out
}

// OtherTenant creates another tenant ("Other Ltd") and returns a browser
// signed in as its admin user (an owner), to check that one tenant's pages
// and actions never reach another's payments.
func OtherTenant(t testing.TB, h *apptest.App) *Browser {
	t.Helper()
	other, err := h.App.Platform.CreateTenant(context.Background(), platform.TenantSpec{Name: "Other Ltd", Mode: platform.Production,
		Timezone: "UTC", AdminUsername: "other", AdminPassword: "other password 1"})
	if err != nil {
		t.Fatal(err)
	}
	b := New(t, h)
	b.SignIn(other.BusinessCode, "other", "other password 1", "")
	return b
}
