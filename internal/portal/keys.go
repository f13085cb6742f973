package portal

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/webkit"
)

// Key management (Dashboard → Keys): the tenant's APP keys with their
// state; a production account creates several (a name, an optional
// expiry), a sandbox holds one (the platform refuses a second); each key
// can be rotated (production: with a grace period), given or relieved of
// an expiry, and revoked after a confirmation. A new key's secret is shown
// once, on the page the post that made it redirects to (reveal.go); the key sealed for
// Settings follows a rotation made here. Every action looks the key up in
// the developer's own tenants, so another tenant's key id is not found.

// expiryLayout is the value of a datetime-local input.
const expiryLayout = "2006-01-02T15:04"

// graces are the rotation grace periods offered to production accounts.
var graces = []graceOption{{0, "none: the old key stops at once"}, {3600, "1 hour"}, {86400, "1 day"}, {7 * 86400, "7 days"}}

type graceOption struct {
	Seconds int
	Label   string
}

// keysData is the Keys page.
type keysData struct {
	account
	Keys      webkit.Table
	Form      *webkit.Form
	CanCreate bool                 // production, or a sandbox without a working key
	Created   *platform.KeyCreated // a key just made: its secret, shown this once
	Shown     bool                 // the page of a new key, reloaded: its secret was shown already
}

// keysTable lists keys with links to their pages.
func (s *Service) keysTable(r *http.Request, a account, keys []platform.Key) webkit.Table {
	pager, from, to := webkit.Paginate(r, len(keys), keysPerPage)
	tbl := webkit.Table{Caption: "APP keys", Columns: []string{"Name", "Key", "Status", "Created", "Expires", "Last used"}, Empty: "No APP keys.", Pager: &pager}
	now := s.clk.Now()
	for _, k := range keys[from:to] {
		tbl.Rows = append(tbl.Rows, []webkit.Cell{{Text: k.Name, Href: "/dashboard/keys/" + k.ID}, {Text: k.Prefix + "_…", Mono: true},
			{Text: string(k.Status(now))}, {Text: a.When(k.CreatedAt)}, {Text: a.WhenSet(k.ExpiresAt)}, {Text: a.WhenSet(k.LastUsedAt)}})
	}
	return tbl
}

// keysView builds the Keys page of the environment shown.
func (s *Service) keysView(r *http.Request, d developer) (webkit.View, *keysData, error) {
	a, err := s.account(r, d)
	if err != nil {
		return webkit.View{}, nil, err
	}
	keys, err := s.plat.ListKeys(r.Context(), a.Tenant.ID)
	if err != nil {
		return webkit.View{}, nil, err
	}
	data := &keysData{account: a, Keys: s.keysTable(r, a, keys), Form: webkit.NewForm(nil), CanCreate: !a.Sandbox}
	if a.Sandbox {
		data.CanCreate = true
		now := s.clk.Now()
		for _, k := range keys {
			if !k.Revoked(now) && !k.Expired(now) {
				data.CanCreate = false
			}
		}
	}
	v := s.devView(d, a.Tenant, "APP keys", "/dashboard/keys")
	v.Data = data
	return v, data, nil
}

func (s *Service) keysPage(w http.ResponseWriter, r *http.Request, d developer) {
	v, data, err := s.keysView(r, d)
	if err != nil {
		s.fail(w, r, "keys", err)
		return
	}
	keys, err := s.plat.ListKeys(r.Context(), data.Tenant.ID)
	if err == nil {
		data.Created, data.Shown, err = s.revealOf(r, d, keys, "")
	}
	if err != nil {
		s.fail(w, r, "keys", err)
		return
	}
	s.kit.Render(w, r, http.StatusOK, s.pages.keys, v)
}

// parseExpiry reads an optional datetime-local field in the account's zone.
func parseExpiry(f *webkit.Form, a account) *time.Time {
	v := f.Get("expires")
	if v == "" {
		return nil
	}
	t, err := time.ParseInLocation(expiryLayout, v, a.Location())
	if err != nil {
		f.Fail("expires", "Enter a date and time such as 2027-01-31T18:00.")
		return nil
	}
	return &t
}

// createKey makes a key in the environment shown and shows its secret once.
func (s *Service) createKey(w http.ResponseWriter, r *http.Request, d developer) {
	v, data, err := s.keysView(r, d)
	if err != nil {
		s.fail(w, r, "keys", err)
		return
	}
	f := webkit.FormOf(r)
	data.Form = f
	f.Required("name")
	expires := parseExpiry(f, data.account)
	if f.OK() {
		reveal := ""
		k, err := s.plat.CreateKeyWith(r.Context(), data.Tenant.ID, f.Get("name"), expires, nil,
			func(ctx context.Context, tx *store.Tx, k platform.KeyCreated) (err error) {
				reveal, err = s.stashReveal(ctx, tx, r, d, k)
				return err
			})
		if err == nil {
			s.log.InfoContext(r.Context(), "portal: APP key created", "developer", d.ID, "key", k.ID)
			s.kit.Redirect(w, r, "/dashboard/keys?"+revealParam+"="+reveal+"#new-key")
			return
		}
		s.logUnexpected(r, "create key", err)
		f.FailWith(err, map[string]string{"name": "name", "expiresAt": "expires"})
	}
	s.kit.Render(w, r, http.StatusUnprocessableEntity, s.pages.keys, v)
}

// ownKey finds keyID among the developer's tenants (the environment shown
// first) and returns it with the account of its tenant.
func (s *Service) ownKey(r *http.Request, d developer, keyID string) (platform.Key, account, error) {
	for _, t := range []string{d.tenant(), d.TenantID, d.ProdTenantID} {
		if t == "" {
			continue
		}
		k, err := s.plat.Key(r.Context(), t, keyID)
		if apperr.Is(err, apperr.NotFound) {
			continue
		}
		if err != nil {
			return platform.Key{}, account{}, err
		}
		a, err := s.accountOf(r, d, t)
		return k, a, err
	}
	return platform.Key{}, account{}, apperr.New(apperr.NotFound, "no such APP key in your account")
}

// keyData is one key's page: its facts, its usage and its forms.
type keyData struct {
	account
	Key                        platform.Key
	Status                     string
	Usage                      platform.KeyUsage
	UsageTable                 webkit.Table
	RotateForm, ExpiryForm     *webkit.Form
	Graces                     []graceOption
	Created                    *platform.KeyCreated // after a rotation: the new key, shown once
	Shown                      bool                 // that page, reloaded: the secret was shown already
	Sealed                     bool                 // the key Settings reveals
	Live, CanRotate, CanRevoke bool
}

// keyView builds the page of the developer's key (404 for another's).
func (s *Service) keyView(w http.ResponseWriter, r *http.Request, d developer, keyID string) (webkit.View, *keyData, bool) {
	k, a, err := s.ownKey(r, d, keyID)
	if apperr.Is(err, apperr.NotFound) {
		s.kit.Error(w, r, http.StatusNotFound, "There is no such APP key in your account.")
		return webkit.View{}, nil, false
	}
	if err != nil {
		s.fail(w, r, "key", err)
		return webkit.View{}, nil, false
	}
	u, err := s.plat.Usage(r.Context(), a.Tenant.ID, k.ID)
	if err != nil {
		s.fail(w, r, "key usage", err)
		return webkit.View{}, nil, false
	}
	now := s.clk.Now()
	status := k.Status(now)
	expiry := map[string]string{}
	if k.ExpiresAt != nil {
		expiry["expires"] = k.ExpiresAt.In(a.Location()).Format(expiryLayout)
	}
	data := &keyData{account: a, Key: k, Status: string(status), Usage: u, Graces: graces,
		RotateForm: webkit.NewForm(map[string]string{"grace": "0"}), ExpiryForm: webkit.NewForm(expiry),
		Live: status == platform.KeyActive, CanRotate: k.RevokedAt == nil, CanRevoke: status != platform.KeyRevoked, Sealed: s.isSealed(d, k)}
	data.UsageTable = webkit.Table{Caption: fmt.Sprintf("Requests per day (UTC), %s to %s: %d in all", u.From, u.To, u.Total),
		Columns: []string{"Day (UTC)", "Requests"}, Empty: "No requests in the last 30 days."}
	for _, day := range u.Days {
		data.UsageTable.Rows = append(data.UsageTable.Rows, []webkit.Cell{{Text: day.Day}, {Text: strconv.FormatInt(day.Requests, 10)}})
	}
	v := s.devView(d, a.Tenant, "APP key "+k.Name, "/dashboard/keys")
	v.Data = data
	return v, data, true
}

// isSealed reports whether k is the key Settings reveals.
func (s *Service) isSealed(d developer, k platform.Key) bool {
	return (k.TenantID == d.TenantID && k.ID == d.KeyID) || (k.TenantID == d.ProdTenantID && k.ID == d.ProdKeyID)
}

func (s *Service) keyPage(w http.ResponseWriter, r *http.Request, d developer) {
	v, data, ok := s.keyView(w, r, d, r.PathValue("id"))
	if !ok {
		return
	}
	var err error
	if data.Created, data.Shown, err = s.revealOf(r, d, []platform.Key{data.Key}, data.Key.ID); err != nil {
		s.fail(w, r, "key", err)
		return
	}
	s.kit.Render(w, r, http.StatusOK, s.pages.key, v)
}

// rotateKey replaces the key and shows the new one once (the old one shows
// as rotating while its grace period lasts).
func (s *Service) rotateKey(w http.ResponseWriter, r *http.Request, d developer) {
	v, data, ok := s.keyView(w, r, d, r.PathValue("id"))
	if !ok {
		return
	}
	f := webkit.FormOf(r)
	data.RotateForm = f
	grace, err := strconv.Atoi(f.Get("grace"))
	if err != nil || grace < 0 || time.Duration(grace)*time.Second > platform.MaxRotationGrace {
		grace = 0
		if !data.Sandbox {
			f.Fail("grace", "Choose one of the grace periods offered.")
		}
	}
	if f.OK() {
		reveal := ""
		k, err := s.plat.RotateKeyWith(r.Context(), data.Tenant.ID, data.Key.ID, time.Duration(grace)*time.Second,
			func(ctx context.Context, tx *store.Tx, k platform.KeyCreated) (err error) {
				if err := s.reseal(ctx, tx, d, data.Key, k); err != nil {
					return err
				}
				reveal, err = s.stashReveal(ctx, tx, r, d, k)
				return err
			})
		if err == nil {
			s.log.InfoContext(r.Context(), "portal: APP key rotated", "developer", d.ID, "key", data.Key.ID, "new", k.ID)
			s.kit.Redirect(w, r, "/dashboard/keys/"+k.ID+"?"+revealParam+"="+reveal+"#new-key")
			return
		}
		s.logUnexpected(r, "rotate key", err)
		f.FailWith(err, map[string]string{"graceSeconds": "grace"})
	}
	s.kit.Render(w, r, http.StatusUnprocessableEntity, s.pages.key, v)
}

// reseal keeps the key Settings reveals the working one: when the rotated
// key was sealed, the new one is sealed in its place, in the rotation's
// transaction.
func (s *Service) reseal(ctx context.Context, tx *store.Tx, d developer, old platform.Key, k platform.KeyCreated) error {
	if !s.isSealed(d, old) {
		return nil
	}
	q := `UPDATE developers SET app_key_id = $1, app_key_sealed = $2 WHERE id = $3 AND app_key_id = $4`
	if old.TenantID == d.ProdTenantID {
		q = `UPDATE developers SET production_key_id = $1, production_key_sealed = $2 WHERE id = $3 AND production_key_id = $4`
	}
	_, err := tx.ExecContext(ctx, q, k.ID, s.sealKey(d.ID, k.ID, k.APIKey), d.ID, old.ID)
	return err
}

// setExpiry sets or clears the key's expiry.
func (s *Service) setExpiry(w http.ResponseWriter, r *http.Request, d developer) {
	v, data, ok := s.keyView(w, r, d, r.PathValue("id"))
	if !ok {
		return
	}
	f := webkit.FormOf(r)
	data.ExpiryForm = f
	expires := parseExpiry(f, data.account)
	if f.OK() {
		_, err := s.plat.SetKeyExpiry(r.Context(), data.Tenant.ID, data.Key.ID, expires)
		if err == nil {
			msg := "The key no longer expires."
			if expires != nil {
				msg = "The key expires on " + data.When(*expires) + "."
			}
			s.kit.Flash(w, r, msg)
			s.kit.Redirect(w, r, "/dashboard/keys/"+data.Key.ID)
			return
		}
		s.logUnexpected(r, "set key expiry", err)
		f.FailWith(err, map[string]string{"expiresAt": "expires"})
	}
	s.kit.Render(w, r, http.StatusUnprocessableEntity, s.pages.key, v)
}

// confirmRevoke asks before revoking.
func (s *Service) confirmRevoke(w http.ResponseWriter, r *http.Request, d developer) {
	if v, _, ok := s.keyView(w, r, d, r.PathValue("id")); ok {
		s.kit.Render(w, r, http.StatusOK, s.pages.revoke, v)
	}
}

// revokeKey revokes the key (the confirmation page's post).
func (s *Service) revokeKey(w http.ResponseWriter, r *http.Request, d developer) {
	_, data, ok := s.keyView(w, r, d, r.PathValue("id"))
	if !ok {
		return
	}
	if _, err := s.plat.RevokeKey(r.Context(), data.Tenant.ID, data.Key.ID); err != nil {
		s.fail(w, r, "revoke key", err)
		return
	}
	s.log.InfoContext(r.Context(), "portal: APP key revoked", "developer", d.ID, "key", data.Key.ID)
	s.kit.Flash(w, r, "APP key "+data.Key.Name+" ("+data.Key.Prefix+"_…) is revoked: requests with it are refused from now on.")
	s.kit.Redirect(w, r, "/dashboard/keys")
}

// switchEnv shows the developer's other environment.
func (s *Service) switchEnv(w http.ResponseWriter, r *http.Request, d developer) {
	f := webkit.FormOf(r)
	env := f.Get("environment")
	if (env != envSandbox && env != envProduction) || (env == envProduction && d.ProdTenantID == "") {
		s.kit.Error(w, r, http.StatusUnprocessableEntity, "There is no such environment in your account.")
		return
	}
	err := s.db.Transact(r.Context(), func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE developers SET environment = $1 WHERE id = $2`, env, d.ID)
		return err
	})
	if err != nil {
		s.fail(w, r, "switch environment", err)
		return
	}
	s.kit.Flash(w, r, "You are looking at your "+env+" account.")
	s.kit.Redirect(w, r, "/dashboard")
}
