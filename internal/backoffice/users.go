package backoffice

import (
	"context"
	"net/http"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/webkit"
)

// usersData is the Users page: the tenant's admin users and, for an owner,
// the form that adds one.
type usersData struct {
	Table webkit.Table
	Owner bool
	Zones []string
	Roles []string
}

func (o *Office) usersPage(w http.ResponseWriter, r *http.Request, a *Admin) {
	o.renderUsers(w, r, a, http.StatusOK, webkit.NewForm(map[string]string{"timezone": a.Timezone, "role": string(platform.RoleAgent)}))
}

func (o *Office) renderUsers(w http.ResponseWriter, r *http.Request, a *Admin, status int, f *webkit.Form) {
	users, err := o.plat.AdminUsers(r.Context(), a.TenantID)
	if err != nil {
		o.Fail(w, r, a, "admin users", err)
		return
	}
	d := usersData{Owner: a.Owner(), Zones: platform.TimeZones(), Roles: []string{string(platform.RoleAgent), string(platform.RoleOwner)},
		Table: webkit.Table{Caption: "Admin users", Columns: []string{"Username", "Role", "Name", "E-mail", "Time zone", "PIN", "Created"}}}
	for _, u := range users {
		pin := "no"
		if u.HasPIN {
			pin = "yes"
		}
		d.Table.Rows = append(d.Table.Rows, []webkit.Cell{{Text: u.Username, Mono: true}, {Text: string(u.Role)}, {Text: u.Name},
			{Text: u.Email}, {Text: u.Timezone}, {Text: pin}, {Text: a.Time(u.CreatedAt)}})
	}
	o.Render(w, r, a, status, o.pages.users, webkit.View{Title: "Users", Data: d, Form: f})
}

// addUser (owners only) creates an admin user with CreateAdminUser, the
// method CREATE ADMIN USER calls, its audit row in the same transaction.
func (o *Office) addUser(w http.ResponseWriter, r *http.Request, a *Admin) {
	f := webkit.FormOf(r)
	f.Required("username", "password", "timezone", "role")
	if f.OK() {
		spec := platform.AdminUserSpec{Username: f.Get("username"), Password: f.Raw("password"), PIN: f.Get("pin"),
			Timezone: f.Get("timezone"), Name: f.Get("name"), Email: f.Get("email"), Role: platform.Role(f.Get("role"))}
		act := Action{Name: "office.add_user", Subject: spec.Username, Detail: "role " + string(spec.Role)}
		err := o.Do(r, a, act, func(ctx context.Context) error {
			_, err := o.plat.CreateAdminUser(ctx, a.TenantID, spec)
			return err
		})
		if err == nil {
			o.Redirect(w, r, "/office/users", "User "+spec.Username+" added as "+string(spec.Role)+".")
			return
		}
		if c := apperr.CodeOf(err); c == apperr.Internal || c == apperr.Unavailable {
			o.log.ErrorContext(r.Context(), "backoffice: add user", "err", err)
		}
		f.FailWith(err, map[string]string{"adminUsername": "username", "adminPassword": "password", "adminPin": "pin",
			"adminTimezone": "timezone", "timezone": "timezone", "name": "name", "email": "email", "role": "role"})
	}
	f.Clear("password", "pin")
	o.renderUsers(w, r, a, http.StatusUnprocessableEntity, f)
}
