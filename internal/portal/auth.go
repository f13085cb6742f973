package portal

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/webkit"
)

// Throttling (webkit.Throttle): wrong passwords from one address lock that
// address out of the account for 15 minutes after 5; from all addresses
// together an account takes 20 wrong passwords, then a minute's pause (so a
// stranger cannot lock the owner out for long). Re-entering the password to
// reveal the APP key takes 5 per session holder, then 15 minutes. One
// address opens at most 10 accounts per 15 minutes.
const (
	loginPerAddress  = 5
	loginPerAccount  = 20
	loginLock        = 15 * time.Minute
	loginAccountLock = time.Minute
	reauthMax        = 5
	signupsPerWindow = 10
)

func loginLimits(email, addr string) []webkit.Limit {
	return []webkit.Limit{
		{Key: "portal-login:" + email + "|" + addr, Max: loginPerAddress, Lock: loginLock},
		{Key: "portal-login:" + email, Max: loginPerAccount, Lock: loginAccountLock},
	}
}

// lockedMessage explains a throttle refusal.
func lockedMessage(err error) (string, bool) {
	var le *webkit.LockedError
	if !errors.As(err, &le) {
		return "", false
	}
	return fmt.Sprintf("Too many attempts. Try again in %d minute%s.", le.Minutes(), plural(le.Minutes())), true
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// visitorView is the layout of pages for visitors.
func visitorView(title, current string) webkit.View {
	return webkit.View{Title: title, Nav: webkit.Nav(current,
		webkit.NavItem{Label: "API docs", Href: "/openapi.json"},
		webkit.NavItem{Label: "Sign in", Href: "/login"},
		webkit.NavItem{Label: "Sign up", Href: "/signup"},
	)}
}

func (s *Service) showSignup(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.current(r); ok {
		s.kit.Redirect(w, r, "/dashboard")
		return
	}
	v := visitorView("Sign up", "/signup")
	s.kit.Render(w, r, http.StatusOK, s.pages.signup, v)
}

func (s *Service) signup(w http.ResponseWriter, r *http.Request) {
	f := webkit.FormOf(r)
	spec, ok := signupForm(f)
	if ok {
		if _, err := s.kit.Throttle().Reserve(r.Context(), webkit.Limit{Key: "portal-signup:" + httpx.ClientAddr(r), Max: signupsPerWindow, Lock: loginLock}); err != nil {
			msg, locked := lockedMessage(err)
			if !locked {
				s.fail(w, r, "sign-up throttle", err)
				return
			}
			f.Message = msg
		}
	}
	if f.OK() {
		d, err := s.register(r.Context(), spec)
		if err == nil {
			s.startSession(w, r, d, "Welcome! Your sandbox is ready. Its APP key is under Settings.")
			return
		}
		if apperr.CodeOf(err) == apperr.Internal {
			s.log.ErrorContext(r.Context(), "portal: sign up", "err", err)
		}
		f.FailWith(err, map[string]string{"email": "email", "name": "name"})
	}
	f.Clear("password")
	v := visitorView("Sign up", "/signup")
	v.Form = f
	s.kit.Render(w, r, http.StatusUnprocessableEntity, s.pages.signup, v)
}

// signupForm validates the sign-up form.
func signupForm(f *webkit.Form) (signupSpec, bool) {
	spec := signupSpec{name: f.Get("name"), password: f.Raw("password")}
	f.Required("email", "password")
	if f.Errors["email"] == "" {
		email, err := normalEmail(f.Get("email"))
		if err != nil {
			f.FailWith(err, map[string]string{"email": "email"})
		}
		spec.email = email
	}
	if f.Errors["password"] == "" {
		if err := platform.ValidatePassword("password", spec.password); err != nil {
			f.Fail("password", "Choose a password of 8 to 256 characters.")
		}
	}
	if len([]rune(spec.name)) > 200 {
		f.Fail("name", "At most 200 characters.")
	}
	return spec, f.OK()
}

func (s *Service) showLogin(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.current(r); ok {
		s.kit.Redirect(w, r, "/dashboard")
		return
	}
	s.kit.Render(w, r, http.StatusOK, s.pages.login, visitorView("Sign in", "/login"))
}

// login checks the e-mail and password (throttled before the check) and
// opens a new session.
func (s *Service) login(w http.ResponseWriter, r *http.Request) {
	f := webkit.FormOf(r)
	f.Required("email", "password")
	email, err := normalEmail(f.Get("email"))
	if err != nil && f.Errors["email"] == "" {
		f.Fail("email", "Enter an e-mail address such as ada@example.com.")
	}
	status := http.StatusUnprocessableEntity
	if f.OK() {
		d, ok, err := s.checkPassword(r, email, f.Raw("password"))
		switch msg, locked := lockedMessage(err); {
		case locked:
			f.Message, status = msg, http.StatusTooManyRequests
		case err != nil:
			s.fail(w, r, "sign in", err)
			return
		case !ok:
			f.Message = "Wrong e-mail address or password."
		default:
			s.startSession(w, r, d, "")
			return
		}
	}
	f.Clear("password")
	v := visitorView("Sign in", "/login")
	v.Form = f
	s.kit.Render(w, r, status, s.pages.login, v)
}

// checkPassword reserves an attempt for (email, address) and for email,
// then verifies the password (a dummy hash for an unknown e-mail, so the
// answer takes as long).
func (s *Service) checkPassword(r *http.Request, email, password string) (developer, bool, error) {
	ctx := r.Context()
	att, err := s.kit.Throttle().Reserve(ctx, loginLimits(email, httpx.ClientAddr(r))...)
	if err != nil {
		return developer{}, false, err
	}
	d, found, err := s.developerBy(ctx, "email", email)
	if err != nil {
		_ = s.kit.Throttle().Release(ctx, att)
		return developer{}, false, err
	}
	hash := s.dummy
	if found {
		hash = d.PassHash
	}
	good, err := s.hasher.Verify(hash, password)
	if err != nil {
		_ = s.kit.Throttle().Release(ctx, att)
		return developer{}, false, err
	}
	if !good || !found {
		s.log.InfoContext(ctx, "portal: failed sign-in", "known", found)
		return developer{}, false, nil
	}
	return d, true, s.kit.Throttle().Succeeded(ctx, att)
}

// startSession signs the developer in (a new session) and goes to the dashboard.
func (s *Service) startSession(w http.ResponseWriter, r *http.Request, d developer, flash string) {
	if err := s.kit.StartSession(r.Context(), w, r, SessionKind, d.ID); err != nil {
		s.fail(w, r, "start session", err)
		return
	}
	if flash != "" {
		s.kit.Flash(w, r, flash)
	}
	s.kit.Redirect(w, r, "/dashboard")
}

func (s *Service) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.kit.EndSession(r.Context(), w, r); err != nil {
		s.fail(w, r, "sign out", err)
		return
	}
	s.kit.Flash(w, r, "You are signed out.")
	s.kit.Redirect(w, r, "/login")
}

// current returns the signed-in developer, if any.
func (s *Service) current(r *http.Request) (developer, bool) {
	sess, ok, err := s.kit.CurrentSession(r.Context(), r, SessionKind)
	if err != nil {
		s.log.ErrorContext(r.Context(), "portal: session", "err", err)
		return developer{}, false
	}
	if !ok {
		return developer{}, false
	}
	d, found, err := s.developerBy(r.Context(), "id", sess.Subject)
	if err != nil {
		s.log.ErrorContext(r.Context(), "portal: session developer", "err", err)
	}
	return d, found
}

// signedIn runs h for a signed-in developer and sends anyone else to the
// sign-in page.
func (s *Service) signedIn(h func(w http.ResponseWriter, r *http.Request, d developer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, ok := s.current(r)
		if !ok {
			s.kit.Redirect(w, r, "/login")
			return
		}
		h(w, r, d)
	}
}

func (s *Service) home(w http.ResponseWriter, r *http.Request) {
	if d, ok := s.current(r); ok {
		t, err := s.plat.Tenant(r.Context(), d.tenant())
		if err != nil {
			s.fail(w, r, "load tenant", err)
			return
		}
		v := s.devView(d, t, "Welcome", "/")
		v.Data = s.kit.URL("")
		s.kit.Render(w, r, http.StatusOK, s.pages.home, v)
		return
	}
	v := visitorView("Welcome", "/")
	v.Data = s.kit.URL("")
	s.kit.Render(w, r, http.StatusOK, s.pages.home, v)
}
