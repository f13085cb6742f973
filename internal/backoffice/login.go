package backoffice

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/webkit"
)

// Sign-in throttling (webkit.Throttle), as the developer portal's: wrong
// passwords for one user from one address lock that address out of the user
// for 15 minutes after 5; from all addresses together a user takes 20, then
// a minute's pause (so a stranger cannot lock the owner out for long). Each
// attempt is counted before its password is checked.
const (
	loginPerAddress  = 5
	loginPerAccount  = 20
	loginLock        = 15 * time.Minute
	loginAccountLock = time.Minute
)

func loginLimits(tenant, username, addr string) []webkit.Limit {
	who := "office-login:" + tenant + "|" + username
	return []webkit.Limit{
		{Key: who + "|" + addr, Max: loginPerAddress, Lock: loginLock},
		{Key: who, Max: loginPerAccount, Lock: loginAccountLock},
	}
}

// publicRoutes are the routes for visitors: the sign-in form and the sign-out.
func (o *Office) publicRoutes() []httpx.Route {
	P := httpx.APIPublic
	return []httpx.Route{
		{Method: "GET", Path: "/office/login", API: P, Summary: "Back office: sign-in form (business code or tenant ID, username, password, PIN)", Handler: o.showLogin},
		{Method: "POST", Path: "/office/login", API: P, Summary: "Back office: sign in", Handler: o.kit.Protect(o.login)},
		{Method: "POST", Path: "/office/logout", API: P, Summary: "Back office: sign out", Handler: o.kit.Protect(o.logout)},
	}
}

func visitorView() webkit.View {
	return webkit.View{Title: "Back office sign-in", Nav: webkit.Nav("/office/login",
		webkit.NavItem{Label: "Back office", Href: "/office/login"},
		webkit.NavItem{Label: "Developer portal", Href: "/login"},
	)}
}

func (o *Office) showLogin(w http.ResponseWriter, r *http.Request) {
	if _, ok := o.current(r); ok {
		o.kit.Redirect(w, r, "/office")
		return
	}
	o.kit.Render(w, r, http.StatusOK, o.pages.login, visitorView())
}

// login checks the business, username, password and PIN (throttled before
// the check) and opens a new session whose transaction writes the sign-in's
// audit row.
func (o *Office) login(w http.ResponseWriter, r *http.Request) {
	f := webkit.FormOf(r)
	f.Required("business", "username", "password")
	status := http.StatusUnprocessableEntity
	if f.OK() {
		u, t, err := o.checkLogin(r, f.Get("business"), f.Get("username"), f.Raw("password"), f.Raw("pin"))
		var le *webkit.LockedError
		switch {
		case errors.As(err, &le):
			f.Message, status = fmt.Sprintf("Too many attempts. Try again in %d minute%s.", le.Minutes(), plural(le.Minutes())), http.StatusTooManyRequests
		case err != nil:
			o.log.ErrorContext(r.Context(), "backoffice: sign in", "err", err)
			o.kit.Error(w, r, http.StatusInternalServerError, "Something went wrong; try again.")
			return
		case u == nil:
			f.Message = "Wrong business code, username, password or PIN."
		default:
			o.startSession(w, r, &Admin{AdminUser: *u, Tenant: t})
			return
		}
	}
	f.Clear("password", "pin")
	v := visitorView()
	v.Form = f
	o.kit.Render(w, r, status, o.pages.login, v)
}

// checkLogin reserves an attempt for the user (per address and overall),
// then verifies the secrets; nil user for a wrong business, username,
// password or PIN (an unknown business still costs a password check).
func (o *Office) checkLogin(r *http.Request, business, username, password, pin string) (*platform.AdminUser, platform.Tenant, error) {
	ctx := r.Context()
	att, err := o.kit.Throttle().Reserve(ctx, loginLimits(strings.ToUpper(business), username, httpx.ClientAddr(r))...)
	if err != nil {
		return nil, platform.Tenant{}, err
	}
	t, err := o.plat.Tenant(ctx, business)
	if err != nil && !apperr.Is(err, apperr.NotFound) && !apperr.Is(err, apperr.Invalid) {
		_ = o.kit.Throttle().Release(ctx, att)
		return nil, platform.Tenant{}, err
	}
	u, ok, err := o.plat.CheckAdminPassword(ctx, t.ID, username, password, pin) // t.ID "" finds nobody
	if err != nil {
		_ = o.kit.Throttle().Release(ctx, att)
		return nil, platform.Tenant{}, err
	}
	if !ok {
		o.log.InfoContext(ctx, "backoffice: failed sign-in", "tenant", t.ID)
		return nil, t, nil
	}
	return &u, t, o.kit.Throttle().Succeeded(ctx, att)
}

// startSession signs the admin user in (a new session, its audit row in
// the same transaction) and goes to the home page.
func (o *Office) startSession(w http.ResponseWriter, r *http.Request, a *Admin) {
	err := o.kit.StartSessionTx(r.Context(), w, r, SessionKind, subject(a.AdminUser), func(ctx context.Context, tx *store.Tx) error {
		return o.Record(ctx, tx, r, a, Action{Name: "office.sign_in", Subject: a.Username})
	})
	if err != nil {
		o.log.ErrorContext(r.Context(), "backoffice: start session", "err", err)
		o.kit.Error(w, r, http.StatusInternalServerError, "Something went wrong; try again.")
		return
	}
	o.kit.Redirect(w, r, "/office")
}

// logout ends the session (its audit row in the same transaction when the
// browser was signed in).
func (o *Office) logout(w http.ResponseWriter, r *http.Request) {
	var inTx func(ctx context.Context, tx *store.Tx) error
	if a, ok := o.current(r); ok {
		inTx = func(ctx context.Context, tx *store.Tx) error {
			return o.Record(ctx, tx, r, a, Action{Name: "office.sign_out", Subject: a.Username})
		}
	}
	if err := o.kit.EndSessionTx(r.Context(), w, r, inTx); err != nil {
		o.log.ErrorContext(r.Context(), "backoffice: sign out", "err", err)
		o.kit.Error(w, r, http.StatusInternalServerError, "Something went wrong; try again.")
		return
	}
	o.kit.Flash(w, r, "You are signed out.")
	o.kit.Redirect(w, r, "/office/login")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
