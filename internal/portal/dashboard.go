package portal

import (
	"net/http"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/webkit"
)

// devView is the layout of a signed-in developer's pages: the navigation,
// the sign-out button and the environment badge (Sandbox or Production).
func (s *Service) devView(d developer, t platform.Tenant, title, current string) webkit.View {
	return webkit.View{Title: title, User: d.Email, SignOut: "/logout", Badge: modeLabel(t.Mode), Nav: webkit.Nav(current,
		webkit.NavItem{Label: "Dashboard", Href: "/dashboard"},
		webkit.NavItem{Label: "Keys", Href: "/dashboard/keys"},
		webkit.NavItem{Label: "Settings", Href: "/dashboard/settings"},
		webkit.NavItem{Label: "Go live", Href: "/dashboard/go-live"},
		webkit.NavItem{Label: "API docs", Href: "/openapi.json"},
	)}
}

func modeLabel(m platform.Mode) string {
	if m == platform.Production {
		return "Production"
	}
	return "Sandbox"
}

// account is what the dashboard and the settings show of a developer's
// tenant.
type account struct {
	Dev        developer
	Tenant     platform.Tenant
	Admin      *platform.AdminUser // nil until CREATE ADMIN USER
	Zone       string              // the time zone timestamps are shown in
	Sandbox    bool
	SandboxRPM int
	APIBase    string
	// HasProduction: the developer went live and can switch between its
	// sandbox and its production account.
	HasProduction bool
}

// Location is the account's time zone (UTC when unknown).
func (a account) Location() *time.Location {
	loc, err := time.LoadLocation(a.Zone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// account is the account of the environment the developer's pages show.
func (s *Service) account(r *http.Request, d developer) (account, error) {
	return s.accountOf(r, d, d.tenant())
}

// accountOf is the account of one of the developer's tenants.
func (s *Service) accountOf(r *http.Request, d developer, tenantID string) (account, error) {
	t, err := s.plat.Tenant(r.Context(), tenantID)
	if err != nil {
		return account{}, err
	}
	a := account{Dev: d, Tenant: t, Zone: t.Timezone, Sandbox: t.Mode != platform.Production, SandboxRPM: s.cfg.SandboxRPM, APIBase: s.kit.URL(""),
		HasProduction: d.ProdTenantID != ""}
	users, err := s.plat.AdminUsers(r.Context(), t.ID)
	if err != nil {
		return account{}, err
	}
	if len(users) > 0 {
		a.Admin = &users[0]
		a.Zone = users[0].Timezone
	}
	return a, nil
}

// When formats t in the account's time zone.
func (a account) When(t time.Time) string {
	return t.In(a.Location()).Format("2 Jan 2006 15:04 MST")
}

// WhenSet is When for an optional time ("—" when unset).
func (a account) WhenSet(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return a.When(*t)
}

// dashboardData is the dashboard: the account, the next steps and the APP keys.
type dashboardData struct {
	account
	Keys webkit.Table
}

// keysPerPage pages the keys table.
const keysPerPage = 10

func (s *Service) dashboard(w http.ResponseWriter, r *http.Request, d developer) {
	a, err := s.account(r, d)
	if err != nil {
		s.fail(w, r, "dashboard", err)
		return
	}
	keys, err := s.plat.ListKeys(r.Context(), d.tenant())
	if err != nil {
		s.fail(w, r, "list keys", err)
		return
	}
	tbl := s.keysTable(r, a, keys)
	v := s.devView(d, a.Tenant, "Dashboard", "/dashboard")
	v.Data = dashboardData{account: a, Keys: tbl}
	s.kit.Render(w, r, http.StatusOK, s.pages.dashboard, v)
}

// settingsData is the settings page: the APP key (shown only after the
// password), the business profile and the admin user, each with its form.
type settingsData struct {
	account
	Key                            string // the APP key, after the password was entered again
	KeyStatus                      string
	KeyForm, CompanyForm, UserForm *webkit.Form
	Zones                          []string
}

func (s *Service) settingsView(r *http.Request, d developer) (webkit.View, *settingsData, error) {
	a, err := s.account(r, d)
	if err != nil {
		return webkit.View{}, nil, err
	}
	data := &settingsData{account: a, KeyForm: webkit.NewForm(nil), Zones: platform.TimeZones(),
		CompanyForm: webkit.NewForm(map[string]string{"timezone": a.Tenant.Timezone}),
		UserForm:    webkit.NewForm(map[string]string{"name": d.Name, "email": d.Email, "timezone": a.Tenant.Timezone})}
	v := s.devView(d, a.Tenant, "Settings", "/dashboard/settings")
	v.Data = data
	return v, data, nil
}

func (s *Service) settings(w http.ResponseWriter, r *http.Request, d developer) {
	v, _, err := s.settingsView(r, d)
	if err != nil {
		s.fail(w, r, "settings", err)
		return
	}
	s.kit.Render(w, r, http.StatusOK, s.pages.settings, v)
}

// revealKey shows the APP key once the developer's password is entered
// again (throttled like a sign-in); a wrong password is refused beside the
// field.
func (s *Service) revealKey(w http.ResponseWriter, r *http.Request, d developer) {
	v, data, err := s.settingsView(r, d)
	if err != nil {
		s.fail(w, r, "settings", err)
		return
	}
	f := webkit.FormOf(r)
	data.KeyForm = f
	f.Required("password")
	status := http.StatusUnprocessableEntity
	if f.OK() {
		ok, err := s.reauthenticate(r, d, f.Raw("password"))
		switch msg, locked := lockedMessage(err); {
		case locked:
			f.Fail("password", msg)
			status = http.StatusTooManyRequests
		case err != nil:
			s.fail(w, r, "re-authenticate", err)
			return
		case !ok:
			f.Fail("password", "Wrong password: the APP key stays hidden.")
		default:
			if data.Key, err = s.openKey(d); err != nil {
				s.fail(w, r, "open APP key", err)
				return
			}
			data.KeyStatus = s.keyStatus(r, d)
			status = http.StatusOK
		}
	}
	f.Clear("password")
	s.kit.Render(w, r, status, s.pages.settings, v)
}

// reauthenticate checks the signed-in developer's password again.
func (s *Service) reauthenticate(r *http.Request, d developer, password string) (bool, error) {
	ctx := r.Context()
	att, err := s.kit.Throttle().Reserve(ctx, webkit.Limit{Key: "portal-reauth:" + d.ID, Max: reauthMax, Lock: loginLock})
	if err != nil {
		return false, err
	}
	good, err := s.hasher.Verify(d.PassHash, password)
	if err != nil {
		_ = s.kit.Throttle().Release(ctx, att)
		return false, err
	}
	if !good {
		return false, nil
	}
	return true, s.kit.Throttle().Succeeded(ctx, att)
}

// keyStatus is the platform's status of the sealed key (it may have been
// revoked or rotated through the API since sign-up).
func (s *Service) keyStatus(r *http.Request, d developer) string {
	keys, err := s.plat.ListKeys(r.Context(), d.tenant())
	if err != nil {
		return ""
	}
	keyID, _ := d.sealed()
	for _, k := range keys {
		if k.ID == keyID {
			return string(k.Status(s.clk.Now()))
		}
	}
	return ""
}

func (s *Service) createCompany(w http.ResponseWriter, r *http.Request, d developer) {
	f := webkit.FormOf(r)
	f.Required("company", "timezone")
	if f.OK() {
		_, err := s.plat.CreateCompany(r.Context(), d.tenant(), platform.CompanySpec{Name: f.Get("company"), Timezone: f.Get("timezone")})
		if err == nil {
			s.kit.Flash(w, r, "Business profile created: your tenant ID and business code are below.")
			s.kit.Redirect(w, r, "/dashboard/settings#business-profile")
			return
		}
		s.logUnexpected(r, "create company", err)
		f.FailWith(err, map[string]string{"name": "company", "timezone": "timezone"})
	}
	s.settingsAgain(w, r, d, f, "business-profile", func(data *settingsData) bool {
		data.CompanyForm = f
		return data.Tenant.HasProfile()
	})
}

// settingsAgain shows Settings again with a refused form (put in place by
// set). When set reports the section done meanwhile (a second click, another
// tab), the form is gone from the page: its message is flashed instead and
// the browser sent to the section.
func (s *Service) settingsAgain(w http.ResponseWriter, r *http.Request, d developer, f *webkit.Form, section string, set func(*settingsData) bool) {
	v, data, err := s.settingsView(r, d)
	if err != nil {
		s.fail(w, r, "settings", err)
		return
	}
	if set(data) {
		if f.Message != "" {
			s.kit.Flash(w, r, f.Message)
		}
		s.kit.Redirect(w, r, "/dashboard/settings#"+section)
		return
	}
	s.kit.Render(w, r, http.StatusUnprocessableEntity, s.pages.settings, v)
}

func (s *Service) createAdminUser(w http.ResponseWriter, r *http.Request, d developer) {
	f := webkit.FormOf(r)
	f.Required("username", "password", "timezone")
	if f.OK() {
		_, err := s.plat.CreateAdminUser(r.Context(), d.tenant(), platform.AdminUserSpec{
			Username: f.Get("username"), Password: f.Raw("password"), PIN: f.Get("pin"), Timezone: f.Get("timezone"),
			Name: f.Get("name"), Email: f.Get("email"), OnlyFirst: true})
		if err == nil {
			s.kit.Flash(w, r, "Admin user created.")
			s.kit.Redirect(w, r, "/dashboard/settings#admin-user")
			return
		}
		s.logUnexpected(r, "create admin user", err)
		f.FailWith(err, map[string]string{"adminUsername": "username", "adminPassword": "password", "adminPin": "pin",
			"adminTimezone": "timezone", "name": "name", "email": "email"})
	}
	f.Clear("password", "pin")
	s.settingsAgain(w, r, d, f, "admin-user", func(data *settingsData) bool {
		data.UserForm = f
		return data.Admin != nil
	})
}

func (s *Service) logUnexpected(r *http.Request, what string, err error) {
	if c := apperr.CodeOf(err); c == apperr.Internal || c == apperr.Unavailable {
		s.log.ErrorContext(r.Context(), "portal: "+what, "err", err)
	}
}
