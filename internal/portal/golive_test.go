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
	"github.com/cashgate/cashgate/internal/store/storetest"
)

const operatorPassword = "operator password"

// operatorIn makes an operator and signs a browser in as it.
func operatorIn(t *testing.T, h *apptest.App, username string) *browser {
	t.Helper()
	if _, err := h.App.Portal.Console.Create(context.Background(), username, operatorPassword); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, h)
	if p := b.post("/operator/login", "/operator/login", url.Values{"username": {username}, "password": {operatorPassword}}); p.status != 303 || p.location != h.Server.URL+"/operator" {
		t.Fatalf("operator sign-in: %d %q %s", p.status, p.location, p.body)
	}
	return b
}

var requestLinkRE = regexp.MustCompile(`href="/operator/go-live/(glr_[0-9a-z]+)"`)

// pendingRequest is the only request waiting in the console.
func pendingRequest(t *testing.T, op *browser) string {
	t.Helper()
	l := op.get("/operator/go-live")
	pending := l.body[:strings.Index(l.body, `id="decided"`)]
	m := requestLinkRE.FindAllStringSubmatch(pending, -1)
	if l.status != 200 || len(m) != 1 {
		t.Fatalf("console list: %d %s", l.status, l.body)
	}
	return m[0][1]
}

func askGoLive(b *browser) page {
	return b.post("/dashboard/go-live", "/dashboard/go-live", url.Values{"website": {"https://shop.example.com"}, "reason": {"Selling widgets online"}})
}

// TestGoLive: a sandbox asks to go live once it has a profile and an admin
// user; one open request; the operator rejects with a note the developer
// sees, then approves the next request: a production tenant next to the
// sandbox, with the profile, the admin user and a key the developer reveals.
func TestGoLive(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			b := newBrowser(t, h)
			b.signup("ada@example.com", "correct horse battery")
			if p := b.get("/dashboard/go-live"); !strings.Contains(p.body, `id="go-live-missing">Create your business profile first`) || !strings.Contains(p.body, `id="ask-go-live" disabled`) {
				t.Fatalf("go-live page before the profile: %s", p.body)
			}
			if p := askGoLive(b); p.status != 422 || !strings.Contains(p.body, "Create your business profile first") {
				t.Fatalf("asking before the profile: %d %s", p.status, p.body)
			}
			b = developerReady(t, h, "bob@example.com")
			if p := b.post("/dashboard/go-live", "/dashboard/go-live", url.Values{"website": {"javascript:alert(1)"}, "reason": {"x"}}); p.status != 422 || !strings.Contains(p.body, `id="website-error"`) {
				t.Fatalf("bad website: %d %s", p.status, p.body)
			}
			if p := askGoLive(b); p.status != 303 {
				t.Fatalf("ask: %d %s", p.status, p.body)
			}
			if p := askGoLive(b); p.status != 422 || !strings.Contains(p.body, "waiting for an operator already") {
				t.Fatalf("second request: %d %s", p.status, p.body)
			}
			if p := b.get("/dashboard/go-live"); !strings.Contains(p.body, `id="go-live-state">pending<`) || strings.Contains(p.body, `id="ask-go-live"`) {
				t.Fatalf("pending: %s", p.body)
			}
			op := operatorIn(t, h, "ops")
			id := pendingRequest(t, op)
			if p := op.post("/operator/go-live/"+id, "/operator/go-live/"+id+"/reject", url.Values{"note": {""}}); p.status != 422 || !strings.Contains(p.body, `id="reject-note-error"`) {
				t.Fatalf("reject without a note: %d %s", p.status, p.body)
			}
			if p := op.post("/operator/go-live/"+id, "/operator/go-live/"+id+"/reject", url.Values{"note": {"Tell us more about the shop"}}); p.status != 303 {
				t.Fatalf("reject: %d %s", p.status, p.body)
			}
			if p := b.get("/dashboard/go-live"); !strings.Contains(p.body, `id="go-live-state">rejected<`) || !strings.Contains(p.body, `id="go-live-note">Tell us more about the shop<`) {
				t.Fatalf("rejected: %s", p.body)
			}
			if p := askGoLive(b); p.status != 303 {
				t.Fatalf("ask again: %d %s", p.status, p.body)
			}
			approveStep(t, h, b, op)
		})
	}
}

// approveStep: the operator approves; a second approval is refused; the
// developer sees production and its key works in production.
func approveStep(t *testing.T, h *apptest.App, b, op *browser) {
	t.Helper()
	id := pendingRequest(t, op)
	if p := op.post("/operator/go-live/"+id, "/operator/go-live/"+id+"/approve", url.Values{"note": {"Welcome"}}); p.status != 303 {
		t.Fatalf("approve: %d %s", p.status, p.body)
	}
	if p := op.post("/operator/go-live", "/operator/go-live/"+id+"/approve", url.Values{}); p.status != 422 && p.status != 303 {
		t.Fatalf("second approval: %d", p.status)
	}
	if _, err := h.App.Portal.Service.ApproveGoLive(context.Background(), id, "", ""); err == nil {
		t.Fatal("a decided request was approved again")
	}
	dash := b.get("/dashboard")
	if !strings.Contains(dash.body, `id="env-badge">Production<`) || !strings.Contains(dash.body, `id="switch-env"`) {
		t.Fatalf("dashboard after approval: %s", dash.body)
	}
	set := b.post("/dashboard/settings", "/dashboard/settings/app-key", url.Values{"password": {"correct horse battery"}})
	key := keyRE.FindStringSubmatch(set.body)
	tenant := regexp.MustCompile(`id="tenant-id">(ten_[0-9a-z]+)<`).FindStringSubmatch(set.body)
	if key == nil || tenant == nil || !strings.Contains(set.body, `id="admin-username">ada<`) || !strings.Contains(set.body, `id="company-name">Acme Widgets<`) {
		t.Fatalf("production settings: %s", set.body)
	}
	ten, err := h.App.Platform.Tenant(context.Background(), tenant[1])
	if err != nil || ten.Mode != platform.Production || !ten.HasProfile() || ten.Timezone != "Europe/Berlin" {
		t.Fatalf("production tenant %+v %v", ten, err)
	}
	tok := h.Do("POST", "/auth/oauth/token", []byte(`{"grant_type":"password","username":"ada","password":"admin password","pin":"2468"}`), map[string]string{"api-key": key[1]})
	if tok.Status != 200 {
		t.Fatalf("the copied admin user on production: %d %s", tok.Status, tok.Body)
	}
	if p := b.get("/operator"); p.status != 303 {
		t.Fatalf("a developer's session opens the console: %d", p.status)
	}
	if p := b.post("/dashboard", "/dashboard/environment", url.Values{"environment": {"sandbox"}}); p.status != 303 || !strings.Contains(b.get("/dashboard").body, `id="env-badge">Sandbox<`) {
		t.Fatalf("back to the sandbox: %d", p.status)
	}
	b.post("/dashboard", "/dashboard/environment", url.Values{"environment": {"production"}})
}

// TestProductionKeys: after going live, several named keys with an expiry
// (each shown once), rotation with a grace period, expiry changes and a
// revocation after its confirmation page.
func TestProductionKeys(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			b := developerReady(t, h, "ada@example.com")
			askGoLive(b)
			approveStep(t, h, b, operatorIn(t, h, "ops"))
			if p := b.post("/dashboard/keys", "/dashboard/keys", url.Values{"name": {"till"}, "expires": {"yesterday"}}); p.status != 422 || !strings.Contains(p.body, `id="expires-error"`) {
				t.Fatalf("bad expiry: %d %s", p.status, p.body)
			}
			if p := b.post("/dashboard/keys", "/dashboard/keys", url.Values{"name": {"till"}, "expires": {"2026-01-01T10:00"}}); p.status != 422 || !strings.Contains(p.body, "must be in the future") {
				t.Fatalf("past expiry: %d %s", p.status, p.body)
			}
			created := b.follow(b.post("/dashboard/keys", "/dashboard/keys", url.Values{"name": {"web shop"}, "expires": {"2027-01-31T18:00"}}))
			m := newKeyRE.FindStringSubmatch(created.body)
			if created.status != 200 || m == nil || apiStatus(h, m[1]) != 200 || !strings.Contains(created.body, "31 Jan 2027 18:00 CET") {
				t.Fatalf("create: %d %s", created.status, created.body)
			}
			list := b.get("/dashboard/keys")
			if newKeyRE.MatchString(list.body) || len(keyIDs(list.body)) != 2 {
				t.Fatalf("keys list: %s", list.body)
			}
			id := regexp.MustCompile(`href="/dashboard/keys/(key_[0-9a-f]+)">web shop<`).FindStringSubmatch(list.body)[1]
			rot := b.follow(b.post("/dashboard/keys/"+id, "/dashboard/keys/"+id+"/rotate", url.Values{"grace": {"3600"}}))
			rotated := newKeyRE.FindStringSubmatch(rot.body)
			if rot.status != 200 || rotated == nil || apiStatus(h, m[1]) != 200 || apiStatus(h, rotated[1]) != 200 || !strings.Contains(rot.body, `id="key-expires">31 Jan 2027 18:00 CET<`) {
				t.Fatalf("rotation with grace: %d %s", rot.status, rot.body)
			}
			if p := b.get("/dashboard/keys/" + id); !strings.Contains(p.body, `id="key-status">rotating<`) {
				t.Fatalf("old key: %s", p.body)
			}
			h.Clock.Advance(time.Hour)
			if apiStatus(h, m[1]) != 401 {
				t.Fatal("the old key works after its grace period")
			}
			newID := keyIDRE.FindStringSubmatch(rot.body)[1]
			if p := b.post("/dashboard/keys/"+newID, "/dashboard/keys/"+newID+"/expiry", url.Values{"expires": {""}}); p.status != 303 ||
				!strings.Contains(b.get("/dashboard/keys/"+newID).body, `id="key-expires">never<`) {
				t.Fatalf("clear expiry: %d %s", p.status, p.body)
			}
			if p := b.post("/dashboard/keys/"+newID, "/dashboard/keys/"+newID+"/expiry", url.Values{"expires": {"2026-12-24T12:00"}}); p.status != 303 ||
				!strings.Contains(b.get("/dashboard/keys/"+newID).body, `id="key-expires">24 Dec 2026 12:00 CET<`) {
				t.Fatalf("set expiry: %d %s", p.status, p.body)
			}
			confirm := b.get("/dashboard/keys/" + newID + "/revoke")
			if confirm.status != 200 || !strings.Contains(confirm.body, `id="confirm-revoke"`) || apiStatus(h, rotated[1]) != 200 {
				t.Fatalf("confirmation page: %d %s", confirm.status, confirm.body)
			}
			if p := b.post("/dashboard/keys/"+newID+"/revoke", "/dashboard/keys/"+newID+"/revoke", url.Values{}); p.status != 303 || apiStatus(h, rotated[1]) != 401 {
				t.Fatalf("revoke: %d", p.status)
			}
			if !strings.Contains(b.get("/dashboard/keys").body, "is revoked: requests with it are refused") {
				t.Fatal("no word of the revocation")
			}
		})
	}
}

// TestOperatorLockout: a burst of wrong passwords gets five checked, the
// rest and then the right password are refused until the lock ends; the
// console's pages need a signed-in operator.
func TestOperatorLockout(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			if _, err := h.App.Portal.Console.Create(context.Background(), "ops", operatorPassword); err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{"/operator", "/operator/go-live", "/operator/go-live/glr_x"} {
				if p := newBrowser(t, h).get(path); p.status != 303 || p.location != h.Server.URL+"/operator/login" {
					t.Errorf("%s without signing in: %d %q", path, p.status, p.location)
				}
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			counts := map[int]int{}
			for range 12 {
				b := newBrowser(t, h)
				tok := csrfRE.FindStringSubmatch(b.get("/operator/login").body)[1]
				wg.Add(1)
				go func() {
					defer wg.Done()
					p := b.send("POST", "/operator/login", url.Values{"csrf": {tok}, "username": {"ops"}, "password": {"wrong password"}}, "same-origin")
					mu.Lock()
					counts[p.status]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if counts[422] != 5 || counts[429] != 7 {
				t.Fatalf("answers %v, want 5 wrong-password pages and 7 locked", counts)
			}
			p := newBrowser(t, h).post("/operator/login", "/operator/login", url.Values{"username": {"ops"}, "password": {operatorPassword}})
			if p.status != 429 || !strings.Contains(p.body, "Too many attempts. Try again in 15 minutes.") {
				t.Fatalf("right password while locked: %d %s", p.status, p.body)
			}
			h.Clock.Advance(loginLock)
			op := operatorIn(t, h, "ops2")
			if p := op.get("/operator"); p.status != 200 || !strings.Contains(p.body, "Acme Ltd") || !strings.Contains(p.body, h.Tenant.TenantID) {
				t.Fatalf("console: %d %s", p.status, p.body)
			}
			if p := newBrowser(t, h).post("/operator/login", "/operator/login", url.Values{"username": {"ops"}, "password": {operatorPassword}}); p.status != 303 {
				t.Fatalf("after the lock: %d %s", p.status, p.body)
			}
		})
	}
}

// TestConcurrentApprovals: operators approving one request at once make
// one production tenant; the others are told it was decided.
func TestConcurrentApprovals(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			b := developerReady(t, h, "ada@example.com")
			askGoLive(b)
			id := pendingRequest(t, operatorIn(t, h, "ops"))
			var wg sync.WaitGroup
			var mu sync.Mutex
			var ok int
			for range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := h.App.Portal.Service.ApproveGoLive(context.Background(), id, "", "ok"); err == nil {
						mu.Lock()
						ok++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			var n int
			if err := h.App.DB.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM tenants WHERE mode = 'production' AND name = 'Acme Widgets'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if ok != 1 || n != 1 {
				t.Fatalf("%d approvals succeeded, %d production tenants; want 1 and 1", ok, n)
			}
		})
	}
}
