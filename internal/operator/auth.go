package operator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/webkit"
)

// Operator is whoever runs cashgate, signed in to the console.
type Operator struct {
	ID, Username string
	CreatedAt    time.Time
	passHash     string
}

var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

// Create makes an operator (the command line's `operator create`): a
// username of 1 to 64 letters, digits or . _ @ - (unique) and a password of
// 8 to 256 characters, kept as an argon2id hash.
func (c *Console) Create(ctx context.Context, username, password string) (Operator, error) {
	if !usernamePattern.MatchString(username) {
		return Operator{}, apperr.InvalidField("username", "username must be 1 to 64 letters, digits or . _ @ -")
	}
	if err := httpx.CheckText("password", password); err != nil {
		return Operator{}, err
	}
	if err := platform.ValidatePassword("password", password); err != nil {
		return Operator{}, err
	}
	hash, err := c.hasher.Hash(password, c.gen.Bytes(c.saltLen))
	if err != nil {
		return Operator{}, err
	}
	now := c.clk.Now()
	op := Operator{ID: c.gen.ID("opr"), Username: username, CreatedAt: time.UnixMicro(now.UnixMicro()).UTC()}
	err = c.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO operators (id, username, password_hash, created_at) VALUES ($1, $2, $3, $4)`,
			op.ID, username, hash, now.UnixMicro())
		return err
	})
	if store.IsUniqueViolation(err) {
		return Operator{}, apperr.InvalidField("username", "an operator named %q exists already", username)
	}
	if err != nil {
		return Operator{}, fmt.Errorf("operator: create: %w", err)
	}
	c.log.InfoContext(ctx, "operator created", "operator", op.ID, "username", username)
	return op, nil
}

// operatorBy loads an operator by id or username.
func (c *Console) operatorBy(ctx context.Context, col, v string) (Operator, bool, error) {
	var op Operator
	var created int64
	err := c.db.Reader(ctx).QueryRowContext(ctx, `SELECT id, username, password_hash, created_at FROM operators WHERE `+col+` = $1`, v).
		Scan(&op.ID, &op.Username, &op.passHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Operator{}, false, nil
	}
	if err != nil {
		return Operator{}, false, fmt.Errorf("operator: load: %w", err)
	}
	op.CreatedAt = time.UnixMicro(created).UTC()
	return op, true, nil
}

// current returns the signed-in operator, if any.
func (c *Console) current(r *http.Request) (Operator, bool) {
	sess, ok, err := c.kit.CurrentSession(r.Context(), r, SessionKind)
	if err != nil {
		c.log.ErrorContext(r.Context(), "operator console: session", "err", err)
		return Operator{}, false
	}
	if !ok {
		return Operator{}, false
	}
	op, found, err := c.operatorBy(r.Context(), "id", sess.Subject)
	if err != nil {
		c.log.ErrorContext(r.Context(), "operator console: session operator", "err", err)
	}
	return op, found
}

// Throttling, as the developer portal's: 5 wrong passwords for one username
// from one address lock that address out for 15 minutes; 20 from anywhere
// pause the username for a minute.
const (
	loginPerAddress  = 5
	loginPerAccount  = 20
	loginLock        = 15 * time.Minute
	loginAccountLock = time.Minute
)

func loginLimits(username, addr string) []webkit.Limit {
	return []webkit.Limit{
		{Key: "operator-login:" + username + "|" + addr, Max: loginPerAddress, Lock: loginLock},
		{Key: "operator-login:" + username, Max: loginPerAccount, Lock: loginAccountLock},
	}
}

func visitorView() webkit.View {
	return webkit.View{Title: "Operator sign-in", Badge: "Operator", Nav: []webkit.NavItem{{Label: "Start page", Href: "/"}}}
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.current(r); ok {
		c.kit.Redirect(w, r, "/operator")
		return
	}
	c.kit.Render(w, r, http.StatusOK, c.pages.login, visitorView())
}

// login checks the username and password (counted before the check) and
// opens a new operator session.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	f := webkit.FormOf(r)
	f.Required("username", "password")
	status := http.StatusUnprocessableEntity
	if f.OK() {
		op, ok, err := c.checkPassword(r, f.Get("username"), f.Raw("password"))
		var le *webkit.LockedError
		switch {
		case errors.As(err, &le):
			f.Message, status = fmt.Sprintf("Too many attempts. Try again in %d minute%s.", le.Minutes(), plural(le.Minutes())), http.StatusTooManyRequests
		case err != nil:
			c.log.ErrorContext(r.Context(), "operator console: sign in", "err", err)
			c.kit.Error(w, r, http.StatusInternalServerError, "Something went wrong; try again.")
			return
		case !ok:
			f.Message = "Wrong username or password."
		default:
			if err := c.kit.StartSession(r.Context(), w, r, SessionKind, op.ID); err != nil {
				c.log.ErrorContext(r.Context(), "operator console: start session", "err", err)
				c.kit.Error(w, r, http.StatusInternalServerError, "Something went wrong; try again.")
				return
			}
			c.log.InfoContext(r.Context(), "operator signed in", "operator", op.ID)
			c.kit.Redirect(w, r, "/operator")
			return
		}
	}
	f.Clear("password")
	v := visitorView()
	v.Form = f
	c.kit.Render(w, r, status, c.pages.login, v)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// checkPassword reserves an attempt, then verifies the password (a dummy
// hash for an unknown username, so the answer takes as long).
func (c *Console) checkPassword(r *http.Request, username, password string) (Operator, bool, error) {
	ctx := r.Context()
	att, err := c.kit.Throttle().Reserve(ctx, loginLimits(username, httpx.ClientAddr(r))...)
	if err != nil {
		return Operator{}, false, err
	}
	op, found, err := c.operatorBy(ctx, "username", username)
	if err != nil {
		_ = c.kit.Throttle().Release(ctx, att)
		return Operator{}, false, err
	}
	hash := c.dummy
	if found {
		hash = op.passHash
	}
	good, err := c.hasher.Verify(hash, password)
	if err != nil {
		_ = c.kit.Throttle().Release(ctx, att)
		return Operator{}, false, err
	}
	if !good || !found {
		c.log.InfoContext(ctx, "operator console: failed sign-in", "known", found)
		return Operator{}, false, nil
	}
	return op, true, c.kit.Throttle().Succeeded(ctx, att)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	if err := c.kit.EndSession(r.Context(), w, r); err != nil {
		c.log.ErrorContext(r.Context(), "operator console: sign out", "err", err)
		c.kit.Error(w, r, http.StatusInternalServerError, "Something went wrong; try again.")
		return
	}
	c.kit.Flash(w, r, "You are signed out.")
	c.kit.Redirect(w, r, "/operator/login")
}
