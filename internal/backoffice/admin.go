package backoffice

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/platform"
)

// Admin is the signed-in admin user of a request, with its tenant.
type Admin struct {
	platform.AdminUser
	Tenant platform.Tenant
	loc    *time.Location
}

// Owner reports whether the user is an owner (settings, users).
func (a *Admin) Owner() bool { return a.Role == platform.RoleOwner }

// Location is the user's time zone ("The time zone is used to record
// timestamps in your time zone", seed 001).
func (a *Admin) Location() *time.Location {
	if a.loc == nil {
		a.loc = time.UTC
		if l, err := time.LoadLocation(a.Timezone); err == nil {
			a.loc = l
		}
	}
	return a.loc
}

// Time formats t in the user's time zone, e.g. "21 Nov 2026 09:30:05 GMT"
// ("—" for the zero time).
func (a *Admin) Time(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(a.Location()).Format("2 Jan 2006 15:04:05 MST")
}

// Day formats t's date in the user's time zone, e.g. "2026-11-21".
func (a *Admin) Day(t time.Time) string { return t.In(a.Location()).Format(time.DateOnly) }

// FormatAmount formats minor units of a currency, e.g. "12.50 EUR".
func FormatAmount(minor int64, code string) string {
	cur, err := money.ParseCurrency(code)
	if err != nil {
		return strconv.FormatInt(minor, 10) + " " + code
	}
	return money.Format(money.New(minor, cur)) + " " + code
}

// subject is a session's subject: the tenant and the user.
func subject(u platform.AdminUser) string { return u.TenantID + " " + u.ID }

// current returns the signed-in admin user, if any.
func (o *Office) current(r *http.Request) (*Admin, bool) {
	ctx := r.Context()
	sess, ok, err := o.kit.CurrentSession(ctx, r, SessionKind)
	if err != nil {
		o.log.ErrorContext(ctx, "backoffice: session", "err", err)
		return nil, false
	}
	if !ok {
		return nil, false
	}
	tenantID, userID, ok := strings.Cut(sess.Subject, " ")
	if !ok {
		return nil, false
	}
	u, err := o.plat.AdminUser(ctx, tenantID, userID)
	if err != nil {
		if !apperr.Is(err, apperr.NotFound) {
			o.log.ErrorContext(ctx, "backoffice: session user", "err", err)
		}
		return nil, false
	}
	t, err := o.plat.Tenant(ctx, tenantID)
	if err != nil {
		o.log.ErrorContext(ctx, "backoffice: session tenant", "err", err)
		return nil, false
	}
	return &Admin{AdminUser: u, Tenant: t}, true
}

// signedIn runs h for a signed-in admin user and sends anyone else to the
// sign-in page.
func (o *Office) signedIn(h Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, ok := o.current(r)
		if !ok {
			o.kit.Redirect(w, r, "/office/login")
			return
		}
		h(w, r, a)
	}
}

// OwnerOnly makes h owner-only: an agent gets the 403 page and h does not
// run (Route.Owner does this for a whole route; a page that agents may see
// read-only calls Admin.Owner itself and mounts its post with it).
func OwnerOnly(o *Office, h Handler) Handler {
	return func(w http.ResponseWriter, r *http.Request, a *Admin) {
		if !a.Owner() {
			o.Error(w, r, a, http.StatusForbidden, "Only an owner of this business may do this; ask an owner.")
			return
		}
		h(w, r, a)
	}
}
