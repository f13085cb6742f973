package webkit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/webkit"
)

// harness serves a page with a form (GET /form), its Protect-ed POST, a
// login (POST /login signs in as the "name" field), a logout and /me.
type harness struct {
	t   *testing.T
	kit *webkit.Kit
	srv *httptest.Server
	clk *clock.Fake
	db  *store.DB
}

func newHarness(t *testing.T, db *store.DB) *harness {
	t.Helper()
	h := &harness{t: t, clk: clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)), db: db}
	mux := http.NewServeMux()
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	kit, err := webkit.New(db, h.clk, ids.New(nil), slog.New(slog.DiscardHandler), webkit.Config{PublicURL: h.srv.URL, Key: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	h.kit = kit
	page, err := kit.Page(os.DirFS("testdata"), "form.html")
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		kit.Render(w, r, http.StatusOK, page, webkit.View{Title: "Form"})
	})
	mux.HandleFunc("GET /list", func(w http.ResponseWriter, r *http.Request) {
		pager, from, to := webkit.Paginate(r, 23, 10)
		tbl := webkit.Table{Caption: "Things", Columns: []string{"Name", "Id"}, Pager: &pager}
		for i := from; i < to; i++ {
			tbl.Rows = append(tbl.Rows, []webkit.Cell{{Text: "thing <" + strconv.Itoa(i) + ">"}, {Text: "id_" + strconv.Itoa(i), Mono: true}})
		}
		kit.Render(w, r, http.StatusOK, page, webkit.View{Title: "List", Data: tbl})
	})
	mux.HandleFunc("POST /form", kit.Protect(func(w http.ResponseWriter, r *http.Request) {
		f := webkit.FormOf(r)
		if !f.OK() {
			kit.Render(w, r, 400, page, webkit.View{Title: "Form", Form: f})
			return
		}
		io.WriteString(w, "ok "+f.Get("name"))
	}))
	mux.HandleFunc("POST /upload", kit.ProtectUpload(1<<10, func(w http.ResponseWriter, r *http.Request) {
		f := webkit.FormOf(r)
		b, err := webkit.FileOf(r, "file")
		if !f.OK() || err != nil {
			http.Error(w, fmt.Sprint(f.Errors, err), http.StatusUnprocessableEntity)
			return
		}
		fmt.Fprintf(w, "ok %s %d %v", f.Get("name"), len(b), b == nil)
	}))
	mux.HandleFunc("POST /login", kit.Protect(func(w http.ResponseWriter, r *http.Request) {
		if err := kit.StartSession(r.Context(), w, r, "tester", webkit.FormOf(r).Get("name")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		kit.Redirect(w, r, "/form")
	}))
	mux.HandleFunc("POST /logout", kit.Protect(func(w http.ResponseWriter, r *http.Request) {
		if err := kit.EndSession(r.Context(), w, r); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		kit.Redirect(w, r, "/form")
	}))
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		s, ok, err := kit.CurrentSession(r.Context(), r, "tester")
		if err != nil || !ok {
			http.Error(w, "signed out", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, s.Subject)
	})
	return h
}

// browser is a cookie jar and a client that does not follow redirects.
type browser struct {
	h   *harness
	c   *http.Client
	jar *cookiejar.Jar
}

func (h *harness) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{h: h, jar: jar, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var tokenRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token loads the form and returns its CSRF token.
func (b *browser) token() string {
	b.h.t.Helper()
	code, body := b.do("GET", "/form", nil, nil)
	m := tokenRE.FindStringSubmatch(body)
	if code != 200 || m == nil {
		b.h.t.Fatalf("GET /form: %d %s", code, body)
	}
	return m[1]
}

func (b *browser) do(method, path string, form url.Values, header map[string]string) (int, string) {
	b.h.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.h.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		if k == "Host" { // a proxy's Host; the browser still holds the public site's cookies
			req.Host = v
			for _, c := range b.jar.Cookies(req.URL) {
				req.AddCookie(c)
			}
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.h.srv.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

var sameOrigin = map[string]string{"Sec-Fetch-Site": "same-origin"}

func TestCSRF(t *testing.T) {
	h := newHarness(t, storetest.SQLite(t))
	alice, mallory := h.browser(), h.browser()
	aliceToken, malloryToken := alice.token(), mallory.token()
	cases := []struct {
		name   string
		token  string
		header map[string]string
		want   int
	}{
		{"same origin, own token", aliceToken, sameOrigin, 200},
		{"no fetch metadata (not a browser), own token", aliceToken, nil, 200},
		{"Origin of this site, own token", aliceToken, map[string]string{"Origin": h.srv.URL}, 200},
		{"cross-site, own token", aliceToken, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site sibling, own token", aliceToken, map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"Origin of another site, own token", aliceToken, map[string]string{"Origin": "https://evil.example"}, 403},
		{"same origin, no token", "", sameOrigin, 403},
		{"same origin, another browser's token", malloryToken, sameOrigin, 403},
		{"same origin, forged token", strings.Repeat("A", len(aliceToken)), sameOrigin, 403},
		// Behind a proxy that rewrites Host, the public URL's origin is this site's.
		{"proxied: Origin is the public URL", aliceToken, map[string]string{"Origin": h.srv.URL, "Host": "cashgate.internal:8080"}, 200},
		{"proxied: Origin of another site", aliceToken, map[string]string{"Origin": "https://evil.example", "Host": "cashgate.internal:8080"}, 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := alice.do("POST", "/form", url.Values{"csrf": {c.token}, "name": {"Ada"}}, c.header)
			if code != c.want {
				t.Fatalf("status %d, want %d: %s", code, c.want, body)
			}
			if c.want == 200 && body != "ok Ada" {
				t.Fatalf("body %q", body)
			}
		})
	}
}

func TestFormRefusesControlCharactersBesideTheField(t *testing.T) {
	h := newHarness(t, storetest.SQLite(t))
	b := h.browser()
	tok := b.token()
	for _, v := range []string{"A\x00da", "A\tda", "Ada\n", "A\x7fda"} {
		code, body := b.do("POST", "/form", url.Values{"csrf": {tok}, "name": {v}}, sameOrigin)
		if code != 400 || !strings.Contains(body, `id="name-error"`) || !strings.Contains(body, "control character") || !strings.Contains(body, `aria-invalid="true"`) {
			t.Fatalf("%q: %d %s", v, code, body)
		}
		if strings.Contains(body, "A\x00da") {
			t.Fatalf("%q sent back", v)
		}
	}
}

func TestSessionFixationLogoutAndExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		// Mallory signs in and plants her own session cookie in Alice's browser.
		mallory := h.browser()
		tok := mallory.token()
		if code, _ := mallory.do("POST", "/login", url.Values{"csrf": {tok}, "name": {"mallory"}}, sameOrigin); code != 303 {
			t.Fatalf("login: %d", code)
		}
		planted := mallory.cookie(webkit.SessionCookie)
		alice := h.browser()
		u, _ := url.Parse(h.srv.URL)
		alice.jar.SetCookies(u, []*http.Cookie{{Name: webkit.SessionCookie, Value: planted, Path: "/"}})
		tok = alice.token()
		if code, _ := alice.do("POST", "/login", url.Values{"csrf": {tok}, "name": {"alice"}}, sameOrigin); code != 303 {
			t.Fatalf("login: %d", code)
		}
		sess := alice.cookie(webkit.SessionCookie)
		if sess == planted || sess == "" {
			t.Fatalf("the login kept the planted session token")
		}
		if code, who := alice.do("GET", "/me", nil, nil); code != 200 || who != "alice" {
			t.Fatalf("alice: %d %s", code, who)
		}
		// The planted token is dead: it never became Alice's, and Mallory's own session ended.
		if code, _ := mallory.do("GET", "/me", nil, nil); code != 401 {
			t.Fatalf("planted token still signed in: %d", code)
		}
		// Only the hash of the token is stored.
		var n int
		if err := db.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM web_sessions WHERE token_hash = $1 OR subject_id = $1`, sess).Scan(&n); err != nil || n != 0 {
			t.Fatalf("plaintext token stored: %d %v", n, err)
		}
		// A form token from before the login does not verify after it.
		if code, _ := alice.do("POST", "/form", url.Values{"csrf": {tok}, "name": {"x"}}, sameOrigin); code != 403 {
			t.Fatalf("pre-login token accepted after login: %d", code)
		}
		// Logout ends the session everywhere: a copy of the cookie is worthless.
		copyOf := h.browser()
		copyOf.jar.SetCookies(u, []*http.Cookie{{Name: webkit.SessionCookie, Value: sess, Path: "/"}})
		if code, _ := alice.do("POST", "/logout", url.Values{"csrf": {alice.token()}}, sameOrigin); code != 303 {
			t.Fatalf("logout: %d", code)
		}
		if alice.cookie(webkit.SessionCookie) != "" {
			t.Fatalf("logout left the cookie")
		}
		if code, _ := copyOf.do("GET", "/me", nil, nil); code != 401 {
			t.Fatalf("session alive after logout: %d", code)
		}
		// A session ends by itself after its lifetime.
		tok = alice.token()
		alice.do("POST", "/login", url.Values{"csrf": {tok}, "name": {"alice"}}, sameOrigin)
		h.clk.Advance(webkit.DefaultSessionTTL)
		if code, _ := alice.do("GET", "/me", nil, nil); code != 401 {
			t.Fatalf("expired session accepted: %d", code)
		}
		if n, err := h.kit.Purge(context.Background()); err != nil || n != 1 {
			t.Fatalf("purge: %d %v", n, err)
		}
	})
}

func TestCookieAttributes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, c := range []struct {
			public, secureFlag bool
			url                string
		}{{url: "http://127.0.0.1:8080"}, {url: "https://pay.example.com", public: true}, {url: "http://127.0.0.1:8080", secureFlag: true, public: true}} {
			kit, err := webkit.New(db, clock.NewFake(time.Now()), ids.New(nil), nil, webkit.Config{PublicURL: c.url, SecureCookies: c.secureFlag, Key: bytes.Repeat([]byte{1}, 32)})
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			r := httptest.NewRequest("POST", "/login", nil)
			if err := kit.StartSession(context.Background(), w, r, "tester", "x"); err != nil {
				t.Fatal(err)
			}
			ck := w.Result().Cookies()[0]
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != c.public || ck.Path != "/" {
				t.Errorf("%s (secure flag %v): cookie %+v", c.url, c.secureFlag, ck)
			}
		}
	})
}

func newThrottle(t *testing.T, db *store.DB) (*webkit.Throttle, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	kit, err := webkit.New(db, clk, ids.New(nil), nil, webkit.Config{PublicURL: "http://127.0.0.1:8080", Key: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return kit.Throttle(), clk
}

// limits are one account's from two addresses, and the account's own.
func limits() (pair, other, acct webkit.Limit) {
	return webkit.Limit{Key: "login:ada@203.0.113.9", Max: 5, Lock: 15 * time.Minute},
		webkit.Limit{Key: "login:ada@198.51.100.7", Max: 5, Lock: 15 * time.Minute},
		webkit.Limit{Key: "login:ada", Max: 8, Lock: time.Minute}
}

// TestThrottleConcurrentAttempts: of 20 wrong guesses at once exactly 5 are
// let through to be checked; then even the right password is refused until
// the lock ends, while another address is not locked out.
func TestThrottleConcurrentAttempts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		th, clk := newThrottle(t, db)
		pairLimit, otherLimit, acctLimit := limits()
		ctx := context.Background()
		var wg sync.WaitGroup
		var mu sync.Mutex
		checked, locked := 0, 0
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := th.Reserve(ctx, pairLimit, acctLimit)
				var le *webkit.LockedError
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					checked++
				case errors.As(err, &le):
					locked++
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if checked != 5 || locked != 15 {
			t.Fatalf("checked %d, locked %d: want 5 and 15", checked, locked)
		}
		_, err := th.Reserve(ctx, pairLimit, acctLimit)
		var le *webkit.LockedError
		if !errors.As(err, &le) || le.Minutes() != 15 {
			t.Fatalf("after the limit: %v", err)
		}
		a, err := th.Reserve(ctx, otherLimit, acctLimit)
		if err != nil {
			t.Fatalf("another address: %v", err)
		}
		if err := th.Succeeded(ctx, a); err != nil {
			t.Fatal(err)
		}
		clk.Advance(15 * time.Minute)
		if _, err := th.Reserve(ctx, pairLimit, acctLimit); err != nil {
			t.Fatalf("after the lock: %v", err)
		}
	})
}

// TestThrottleAccountLimitAndForgiveness: wrong passwords from many
// addresses pause the account (its own, shorter lock); released and
// succeeded attempts do not count.
func TestThrottleAccountLimitAndForgiveness(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		th, clk := newThrottle(t, db)
		pairLimit, _, acctLimit := limits()
		ctx := context.Background()
		for i := range acctLimit.Max {
			addr := webkit.Limit{Key: "login:ada@10.0.0." + strconv.Itoa(i), Max: 5, Lock: 15 * time.Minute}
			if _, err := th.Reserve(ctx, addr, acctLimit); err != nil {
				t.Fatalf("address %d: %v", i, err)
			}
		}
		var le *webkit.LockedError
		if _, err := th.Reserve(ctx, pairLimit, acctLimit); !errors.As(err, &le) || le.Minutes() != 1 {
			t.Fatalf("past the account's limit: %v", err)
		}
		clk.Advance(time.Minute)
		a, err := th.Reserve(ctx, pairLimit, acctLimit)
		if err != nil {
			t.Fatalf("after the account's pause: %v", err)
		}
		if err := th.Release(ctx, a); err != nil {
			t.Fatal(err)
		}
		// 4 wrong, 1 right, 4 wrong: never locked.
		for i := range 9 {
			a, err := th.Reserve(ctx, pairLimit, acctLimit)
			if err != nil {
				t.Fatalf("attempt %d: %v", i, err)
			}
			if i == 4 {
				if err := th.Succeeded(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

func TestFlashAndPaging(t *testing.T) {
	h := newHarness(t, storetest.SQLite(t))
	w := httptest.NewRecorder()
	h.kit.Flash(w, httptest.NewRequest("GET", "/", nil), "Saved <b>")
	ck := w.Result().Cookies()[0]
	b := h.browser()
	u, _ := url.Parse(h.srv.URL)
	b.jar.SetCookies(u, []*http.Cookie{ck})
	if _, body := b.do("GET", "/form", nil, nil); !strings.Contains(body, `id="flash">Saved &lt;b&gt;</p>`) {
		t.Fatalf("flash not shown once, escaped: %s", body)
	}
	if _, body := b.do("GET", "/form", nil, nil); strings.Contains(body, "flash") {
		t.Fatalf("flash shown twice")
	}
	forged := &http.Cookie{Name: webkit.FlashCookie, Value: "SGk.AAAA", Path: "/"}
	b.jar.SetCookies(u, []*http.Cookie{forged})
	if _, body := b.do("GET", "/form", nil, nil); strings.Contains(body, `id="flash"`) {
		t.Fatalf("forged flash shown")
	}
	for _, c := range []struct {
		query          string
		total          int
		page, from, to int
		prev, next     bool
	}{
		{"", 0, 1, 0, 0, false, false},
		{"", 25, 1, 0, 10, false, true},
		{"page=2", 25, 2, 10, 20, true, true},
		{"page=3", 25, 3, 20, 25, true, false},
		{"page=9", 25, 1, 0, 10, false, true},
		{"page=x", 25, 1, 0, 10, false, true},
	} {
		p, from, to := webkit.Paginate(httptest.NewRequest("GET", "/list?"+c.query, nil), c.total, 10)
		if p.Page != c.page || from != c.from || to != c.to || (p.Prev != "") != c.prev || (p.Next != "") != c.next {
			t.Errorf("%q of %d: %+v %d-%d", c.query, c.total, p, from, to)
		}
	}
}

func TestTableWithPager(t *testing.T) {
	h := newHarness(t, storetest.SQLite(t))
	b := h.browser()
	_, body := b.do("GET", "/list?page=2&q=x", nil, nil)
	for _, want := range []string{
		`<td data-label="Name">thing &lt;10&gt;</td><td data-label="Id"><code>id_10</code></td>`,
		`<td data-label="Name">thing &lt;19&gt;</td>`,
		`href="/list?page=1&amp;q=x" rel="prev"`,
		`href="/list?page=3&amp;q=x" rel="next"`,
		`Page 2 of 3 (23 in all)`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page 2 lacks %s", want)
		}
	}
	if strings.Contains(body, "thing &lt;9&gt;") || strings.Contains(body, "thing &lt;20&gt;") {
		t.Errorf("page 2 shows rows of other pages")
	}
	if _, body := b.do("GET", "/list?page=3", nil, nil); strings.Contains(body, `rel="next"`) || !strings.Contains(body, "thing &lt;22&gt;") {
		t.Errorf("last page: %s", body)
	}
}

// TestSessionsCookie: a page set's kit (Kit.Sessions) signs in with its own
// cookie, sent to its path only; it reads no other kit's session, and the
// kit's own cookie names are refused as session cookies.
func TestSessionsCookie(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		for _, bad := range []struct{ name, path string }{{"", "/x"}, {webkit.CSRFCookie, "/x"}, {webkit.FlashCookie, "/x"}, {"cg_x", "x"}} {
			if _, err := h.kit.Sessions(bad.name, bad.path); err == nil {
				t.Errorf("Sessions(%q, %q) accepted", bad.name, bad.path)
			}
		}
		ops, err := h.kit.Sessions("cg_ops", "/ops")
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, h.srv.URL+"/ops/login", nil)
		if err := ops.StartSession(context.Background(), w, r, "operator", "op_1"); err != nil {
			t.Fatal(err)
		}
		cookies := w.Result().Cookies()
		if len(cookies) != 1 || cookies[0].Name != "cg_ops" || cookies[0].Path != "/ops" || !cookies[0].HttpOnly || ops.SessionCookieName() != "cg_ops" {
			t.Fatalf("session cookie = %+v", cookies)
		}
		signed := httptest.NewRequest(http.MethodGet, h.srv.URL+"/ops", nil)
		signed.AddCookie(cookies[0])
		if _, ok, err := ops.CurrentSession(context.Background(), signed, "operator"); err != nil || !ok {
			t.Fatalf("the page set's own session: %v %v", ok, err)
		}
		if _, ok, _ := h.kit.CurrentSession(context.Background(), signed, "operator"); ok {
			t.Fatal("the root kit reads another page set's session")
		}
		if h.kit.SessionHash(signed) != "" || ops.SessionHash(signed) == "" {
			t.Fatal("SessionHash reads another page set's cookie")
		}
	})
}

// multipartBody is a multipart form with fields and, when content is not
// nil, a file field "file".
func multipartBody(t *testing.T, fields url.Values, content []byte) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	if content != nil {
		w, err := mw.CreateFormFile("file", "logo.png")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(content)
	}
	_ = mw.Close()
	return &b, mw.FormDataContentType()
}

// TestProtectUpload: a multipart form is CSRF-checked as any form (token,
// fetch metadata), its text fields refuse control characters, a body over
// the limit is refused with 413 before the handler, and FileOf gives the
// file's bytes (nil when none was sent).
func TestProtectUpload(t *testing.T) {
	h := newHarness(t, storetest.SQLite(t))
	alice, mallory := h.browser(), h.browser()
	token, other := alice.token(), mallory.token()
	for _, c := range []struct {
		name    string
		fields  url.Values
		file    []byte
		site    string
		want    int
		wantOut string
	}{
		{"own token, a file", url.Values{"csrf": {token}, "name": {"Ada"}}, []byte("12345"), "same-origin", 200, "ok Ada 5 false"},
		{"own token, no file", url.Values{"csrf": {token}, "name": {"Ada"}}, nil, "same-origin", 200, "ok Ada 0 true"},
		{"no token", url.Values{"name": {"Ada"}}, []byte("1"), "same-origin", 403, ""},
		{"another browser's token", url.Values{"csrf": {other}, "name": {"Ada"}}, []byte("1"), "same-origin", 403, ""},
		{"cross-site", url.Values{"csrf": {token}, "name": {"Ada"}}, []byte("1"), "cross-site", 403, ""},
		{"NUL in a field", url.Values{"csrf": {token}, "name": {"Ada\x00"}}, nil, "same-origin", 422, "control character"},
		{"over the limit", url.Values{"csrf": {token}, "name": {"Ada"}}, make([]byte, 2<<10), "same-origin", 413, "larger than 1 KiB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			body, typ := multipartBody(t, c.fields, c.file)
			req, _ := http.NewRequest("POST", h.srv.URL+"/upload", body)
			req.Header.Set("Content-Type", typ)
			req.Header.Set("Sec-Fetch-Site", c.site)
			resp, err := alice.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.want || !strings.Contains(string(out), c.wantOut) {
				t.Errorf("%d %q, want %d %q", resp.StatusCode, out, c.want, c.wantOut)
			}
		})
	}
}
