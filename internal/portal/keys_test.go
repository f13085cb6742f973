package portal_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/portal"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

var (
	keyLinkRE = regexp.MustCompile(`href="/dashboard/keys/(key_[0-9a-f]+)"`)
	newKeyRE  = regexp.MustCompile(`id="new-key-value">(cgk_[0-9a-f_]+)<`)
	keyIDRE   = regexp.MustCompile(`id="key-id">(key_[0-9a-f]+)<`)
)

// keyIDs lists the key ids linked from a page, in order.
func keyIDs(body string) []string {
	var out []string
	for _, m := range keyLinkRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// developerReady signs a developer up and creates its company and admin user.
func developerReady(t *testing.T, h *apptest.App, email string) *browser {
	t.Helper()
	b := newBrowser(t, h)
	if p := b.signup(email, "correct horse battery"); p.status != 303 {
		t.Fatalf("sign up: %d %s", p.status, p.body)
	}
	if p := b.post("/dashboard/settings", "/dashboard/settings/company", url.Values{"company": {"Acme Widgets"}, "timezone": {"Europe/Berlin"}}); p.status != 303 {
		t.Fatalf("company: %d %s", p.status, p.body)
	}
	if p := b.post("/dashboard/settings", "/dashboard/settings/admin-user", adminForm()); p.status != 303 {
		t.Fatalf("admin user: %d %s", p.status, p.body)
	}
	return b
}

// apiStatus is the answer to GET /dummyapi/status with key.
func apiStatus(h *apptest.App, key string) int {
	return h.Do("GET", "/dummyapi/status", nil, map[string]string{"api-key": key}).Status
}

// TestSandboxKeys: a sandbox lists its one key, refuses a second, and
// rotates it: the new key is shown once, the old one is revoked at once,
// and Settings reveals the new one.
func TestSandboxKeys(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			b := newBrowser(t, h)
			b.signup("ada@example.com", "correct horse battery")
			old := keyRE.FindStringSubmatch(b.post("/dashboard/settings", "/dashboard/settings/app-key", url.Values{"password": {"correct horse battery"}}).body)[1]
			keys := b.get("/dashboard/keys")
			ids := keyIDs(keys.body)
			if keys.status != 200 || len(ids) != 1 || !strings.Contains(keys.body, `id="sandbox-one-key"`) || strings.Contains(keys.body, `id="create-key-button"`) ||
				!strings.Contains(keys.body, `id="env-badge">Sandbox<`) {
				t.Fatalf("keys page: %d %s", keys.status, keys.body)
			}
			second := b.post("/dashboard/keys", "/dashboard/keys", url.Values{"name": {"second"}})
			if second.status != 422 || !strings.Contains(second.body, "Sandbox accounts can hold only one active APP key") || newKeyRE.MatchString(second.body) {
				t.Fatalf("second sandbox key: %d %s", second.status, second.body)
			}
			page := b.get("/dashboard/keys/" + ids[0])
			if page.status != 200 || strings.Contains(page.body, `id="grace"`) || !strings.Contains(page.body, `id="rotate-key"`) {
				t.Fatalf("key page: %d %s", page.status, page.body)
			}
			rot := b.follow(b.post("/dashboard/keys/"+ids[0], "/dashboard/keys/"+ids[0]+"/rotate", url.Values{}))
			m := newKeyRE.FindStringSubmatch(rot.body)
			if rot.status != 200 || m == nil || apiStatus(h, m[1]) != 200 || apiStatus(h, old) != 401 {
				t.Fatalf("rotation: %d %s", rot.status, rot.body)
			}
			newID := keyIDRE.FindStringSubmatch(rot.body)[1]
			if again := b.get("/dashboard/keys/" + newID); again.status != 200 || newKeyRE.MatchString(again.body) {
				t.Fatal("the new key is shown a second time")
			}
			list := b.get("/dashboard/keys").body
			if !strings.Contains(list, `<td data-label="Status">revoked</td>`) || !strings.Contains(list, `<td data-label="Status">active</td>`) {
				t.Fatalf("keys after rotation: %s", list)
			}
			shown := keyRE.FindStringSubmatch(b.post("/dashboard/settings", "/dashboard/settings/app-key", url.Values{"password": {"correct horse battery"}}).body)
			if shown == nil || shown[1] != m[1] {
				t.Fatalf("Settings reveals %v, want the rotated key", shown)
			}
		})
	}
}

// TestForgedKeyID: every key page and action of another tenant's key is
// not found, and changes nothing.
func TestForgedKeyID(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			victim := newBrowser(t, h)
			victim.signup("victim@example.com", "correct horse battery")
			victimKey := keyIDs(victim.get("/dashboard/keys").body)[0]
			eve := newBrowser(t, h)
			eve.signup("eve@example.com", "correct horse battery")
			for _, id := range []string{victimKey, h.Tenant.KeyID, "key_0000000000000000"} {
				for _, path := range []string{"/dashboard/keys/" + id, "/dashboard/keys/" + id + "/revoke"} {
					if p := eve.get(path); p.status != 404 {
						t.Errorf("GET %s: %d", path, p.status)
					}
				}
				for _, action := range []string{"rotate", "expiry", "revoke"} {
					if p := eve.post("/dashboard/keys", "/dashboard/keys/"+id+"/"+action, url.Values{"expires": {"2027-01-01T10:00"}}); p.status != 404 {
						t.Errorf("POST %s of %s: %d %s", action, id, p.status, p.body)
					}
				}
			}
			for _, k := range []string{victimKey, h.Tenant.KeyID} {
				if st := keyStatusOf(t, h, k); st != platform.KeyActive {
					t.Errorf("key %s is %s after another tenant's attempts", k, st)
				}
			}
		})
	}
}

// keyStatusOf reads a key's status from the platform.
func keyStatusOf(t *testing.T, h *apptest.App, keyID string) platform.KeyStatus {
	t.Helper()
	var tenant string
	if err := h.App.DB.Read().QueryRowContext(context.Background(), `SELECT tenant_id FROM app_keys WHERE id = $1`, keyID).Scan(&tenant); err != nil {
		t.Fatal(err)
	}
	k, err := h.App.Platform.Key(context.Background(), tenant, keyID)
	if err != nil {
		t.Fatal(err)
	}
	return k.Status(h.Clock.Now())
}

// TestPortalPostsNeedCSRF: every post of the portal and of the operator
// console is refused (403, nothing done) without this browser's token and
// from another site.
func TestPortalPostsNeedCSRF(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			b := newBrowser(t, h)
			b.signup("ada@example.com", "correct horse battery")
			id := keyIDs(b.get("/dashboard/keys").body)[0]
			n := 0
			for _, rt := range h.App.Server.Routes() {
				if rt.Method != "POST" || !(strings.HasPrefix(rt.Path, "/dashboard") || strings.HasPrefix(rt.Path, "/operator") || rt.Path == "/logout" || rt.Path == "/login" || rt.Path == "/signup") {
					continue
				}
				n++
				path := strings.ReplaceAll(rt.Path, "{id}", id)
				form := url.Values{"name": {"x"}, "environment": {"sandbox"}, "csrf": {"forged"}}
				if p := b.send("POST", path, form, "same-origin"); p.status != 403 {
					t.Errorf("POST %s with a forged token: %d", path, p.status)
				}
				b.get("/dashboard") // a page sets the token cookie again
				form.Set("csrf", csrfRE.FindStringSubmatch(b.get("/dashboard").body)[1])
				if p := b.send("POST", path, form, "cross-site"); p.status != 403 {
					t.Errorf("POST %s from another site: %d", path, p.status)
				}
			}
			if n < 15 {
				t.Fatalf("only %d posts checked", n)
			}
			if st := keyStatusOf(t, h, id); st != platform.KeyActive {
				t.Fatalf("the key is %s", st)
			}
		})
	}
}

// TestKeyUsageInPortal: requests with the key show on its page, per day.
func TestKeyUsageInPortal(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			b := newBrowser(t, h)
			b.signup("ada@example.com", "correct horse battery")
			key := keyRE.FindStringSubmatch(b.post("/dashboard/settings", "/dashboard/settings/app-key", url.Values{"password": {"correct horse battery"}}).body)[1]
			var wg sync.WaitGroup
			for range 7 {
				wg.Add(1)
				go func() { defer wg.Done(); apiStatus(h, key) }()
			}
			wg.Wait()
			if err := h.App.Platform.FlushUsage(context.Background()); err != nil {
				t.Fatal(err)
			}
			h.Clock.Advance(24 * time.Hour)
			apiStatus(h, key)                                                                                           // not flushed: shown too
			b.post("/login", "/login", url.Values{"email": {"ada@example.com"}, "password": {"correct horse battery"}}) // the session lasts 12 hours
			page := b.get("/dashboard/keys/" + keyIDs(b.get("/dashboard/keys").body)[0]).body
			if !strings.Contains(page, "8 in all") || !strings.Contains(page, `<td data-label="Day (UTC)">2026-11-21</td><td data-label="Requests">7</td>`) ||
				!strings.Contains(page, `<td data-label="Day (UTC)">2026-11-22</td><td data-label="Requests">1</td>`) {
				t.Fatalf("usage on the key page: %s", page)
			}
		})
	}
}

// TestNewKeyShownOnce: the post that makes a key redirects to the page that
// shows its secret (POST-redirect-GET); that page shows it once: a reload
// shows no secret and makes no key. Until then the secret is kept sealed
// (never in plaintext), for this browser's session only, for RevealTTL.
func TestNewKeyShownOnce(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			b := newBrowser(t, h)
			b.signup("ada@example.com", "correct horse battery")
			first := keyIDs(b.get("/dashboard/keys").body)[0]
			if p := b.post("/dashboard/keys/"+first+"/revoke", "/dashboard/keys/"+first+"/revoke", url.Values{}); p.status != 303 {
				t.Fatalf("revoke: %d %s", p.status, p.body)
			}
			count := func(q string) int {
				t.Helper()
				var n int
				if err := h.App.DB.Read().QueryRowContext(context.Background(), q).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			keys := count(`SELECT COUNT(*) FROM app_keys`)
			made := b.post("/dashboard/keys", "/dashboard/keys", url.Values{"name": {"second"}})
			if made.status != 303 || !strings.Contains(made.location, "/dashboard/keys?reveal=") || newKeyRE.MatchString(made.body) {
				t.Fatalf("create: %d %q %s", made.status, made.location, made.body)
			}
			var sealed string
			if err := h.App.DB.Read().QueryRowContext(context.Background(), `SELECT sealed FROM portal_key_reveals`).Scan(&sealed); err != nil {
				t.Fatal(err)
			}
			// Another session of the same developer does not get it.
			other := newBrowser(t, h)
			if p := other.post("/login", "/login", url.Values{"email": {"ada@example.com"}, "password": {"correct horse battery"}}); p.status != 303 {
				t.Fatalf("second sign-in: %d", p.status)
			}
			if p := other.follow(made); newKeyRE.MatchString(p.body) || !strings.Contains(p.body, `id="key-shown"`) {
				t.Fatalf("another session sees the new key: %s", p.body)
			}
			shown := b.follow(made)
			m := newKeyRE.FindStringSubmatch(shown.body)
			if shown.status != 200 || m == nil || apiStatus(h, m[1]) != 200 || strings.Contains(shown.body, `id="key-shown"`) {
				t.Fatalf("the page after the post: %d %s", shown.status, shown.body)
			}
			if strings.Contains(sealed, m[1]) || strings.Contains(sealed, m[1][strings.LastIndexByte(m[1], '_')+1:]) {
				t.Fatal("the kept secret is in plaintext")
			}
			reload := b.follow(made)
			if reload.status != 200 || newKeyRE.MatchString(reload.body) || !strings.Contains(reload.body, `id="key-shown"`) {
				t.Fatalf("reload: %d %s", reload.status, reload.body)
			}
			if n := count(`SELECT COUNT(*) FROM app_keys`); n != keys+1 {
				t.Fatalf("keys after the post and two loads: %d, want %d", n, keys+1)
			}
			if n := count(`SELECT COUNT(*) FROM portal_key_reveals`); n != 0 {
				t.Fatalf("%d reveals kept after the page", n)
			}

			// A rotation's page, opened after RevealTTL, shows nothing.
			id := keyIDs(reload.body)[0]
			if id == first {
				id = keyIDs(reload.body)[1]
			}
			rot := b.post("/dashboard/keys/"+id, "/dashboard/keys/"+id+"/rotate", url.Values{})
			if rot.status != 303 || !strings.Contains(rot.location, "?reveal=") {
				t.Fatalf("rotate: %d %q", rot.status, rot.location)
			}
			h.Clock.Advance(portal.RevealTTL)
			if p := b.follow(rot); newKeyRE.MatchString(p.body) || !strings.Contains(p.body, `id="key-shown"`) {
				t.Fatalf("reveal after its TTL: %s", p.body)
			}
			// The next key made purges the stale reveal.
			id = keyIDRE.FindStringSubmatch(b.follow(rot).body)[1]
			rot = b.post("/dashboard/keys/"+id, "/dashboard/keys/"+id+"/rotate", url.Values{})
			if n := count(`SELECT COUNT(*) FROM portal_key_reveals`); n != 1 {
				t.Fatalf("reveals after a stale one and a new one: %d, want 1", n)
			}
			if p := b.follow(rot); !newKeyRE.MatchString(p.body) {
				t.Fatalf("the rotation's page: %s", p.body)
			}
		})
	}
}
