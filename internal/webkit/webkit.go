// Package webkit is the page kit every server-rendered page set of cashgate
// shares (the developer portal now; the back offices later): a base layout
// with navigation, forms whose errors stand beside their fields, flash
// messages, tables with paging, CSRF protection, database-backed sessions
// and login throttling. Pages are html/template, the assets (Pico CSS and
// kit.css) are embedded, and nothing needs JavaScript.
//
// Security rules the kit holds for every page set:
//   - a state-changing request (POST) is refused unless it comes from a page
//     of this site: net/http's CrossOriginProtection (Sec-Fetch-Site /
//     Origin) and a per-browser token bound to the session cookie (csrf.go);
//   - session cookies are HttpOnly, SameSite=Lax and Secure when the
//     public URL is https (or Config.SecureCookies); the database keeps only
//     the SHA-256 of a session token; a login always gets a new token and a
//     logout deletes it (session.go);
//   - password checks are counted before they run, and a key that reaches
//     its limit is locked, however many attempts arrive at once (throttle.go);
//   - every form field is refused when it holds a control character;
//   - redirects and links are built on the configured public URL, never on
//     the request's Host header.
package webkit

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/store"
)

// Config configures a Kit.
type Config struct {
	// PublicURL is the address browsers reach cashgate at, without a
	// trailing slash; redirects are built on it.
	PublicURL string
	// SecureCookies marks cookies Secure even when PublicURL is http (an
	// https proxy in front). An https PublicURL always does.
	SecureCookies bool
	// Key (at least 32 bytes) authenticates CSRF tokens and flash messages.
	// Derive it from the KEK so every process of an installation agrees.
	Key []byte
	// SessionTTL is how long a session lasts after login (0: DefaultSessionTTL).
	SessionTTL time.Duration
	// ThrottleWindow is how long failed attempts are remembered (0:
	// DefaultThrottleWindow).
	ThrottleWindow time.Duration
}

// Defaults.
const (
	DefaultSessionTTL     = 12 * time.Hour
	DefaultThrottleWindow = 15 * time.Minute
	// MaxForm bounds a form's body.
	MaxForm = 16 << 10
)

// Kit is the page kit: templates, sessions, CSRF, flash and throttling.
type Kit struct {
	cfg   Config
	db    *store.DB
	clk   clock.Clock
	gen   *ids.Gen
	log   *slog.Logger
	cop   *http.CrossOriginProtection
	base  *baseTemplates
	throt *Throttle
	// sess is the session cookie of the page set this kit serves (Sessions).
	sess sessionCookie
}

// sessionCookie names a page set's session cookie and the path it is sent to.
type sessionCookie struct{ name, path string }

// New returns a Kit on db.
func New(db *store.DB, clk clock.Clock, gen *ids.Gen, log *slog.Logger, cfg Config) (*Kit, error) {
	if db == nil || clk == nil || gen == nil {
		return nil, errors.New("webkit: New needs a database, a clock and an id generator")
	}
	if len(cfg.Key) < 32 {
		return nil, errors.New("webkit: the key must be at least 32 bytes")
	}
	if cfg.PublicURL == "" {
		return nil, errors.New("webkit: a public URL is required")
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.ThrottleWindow <= 0 {
		cfg.ThrottleWindow = DefaultThrottleWindow
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base, err := parseBase()
	if err != nil {
		return nil, err
	}
	k := &Kit{cfg: cfg, db: db, clk: clk, gen: gen, log: log, cop: http.NewCrossOriginProtection(), base: base,
		sess: sessionCookie{name: SessionCookie, path: "/"}}
	// Behind a proxy the request's Host may not be the public one: a post
	// whose Origin is the public URL's is this site's own.
	if u, err := url.Parse(cfg.PublicURL); err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("webkit: public URL %q is not an absolute URL", cfg.PublicURL)
	} else if err := k.cop.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
		return nil, fmt.Errorf("webkit: public URL: %w", err)
	}
	k.throt = &Throttle{db: db, clk: clk, window: cfg.ThrottleWindow}
	return k, nil
}

// Sessions returns the kit for a page set of its own sessions: the same
// database, templates, throttle and keys, with the session cookie name
// (sent to path and below). Two page sets with their own cookies keep their
// sessions side by side in one browser, and a form's CSRF token, bound to
// the cookie's name and session, is refused by the other page set.
func (k *Kit) Sessions(name, path string) (*Kit, error) {
	if name == "" || name == CSRFCookie || name == FlashCookie || !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("webkit: session cookie %q at %q", name, path)
	}
	c := *k
	c.sess = sessionCookie{name: name, path: path}
	return &c, nil
}

// SessionCookieName is the name of the kit's session cookie.
func (k *Kit) SessionCookieName() string { return k.sess.name }

// Throttle returns the kit's login throttle.
func (k *Kit) Throttle() *Throttle { return k.throt }

// URL returns the absolute public address of path (which starts with "/").
func (k *Kit) URL(path string) string { return k.cfg.PublicURL + path }

// Redirect sends the browser to path on the public URL (303 See Other).
func (k *Kit) Redirect(w http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(w, r, k.URL(path), http.StatusSeeOther)
}

// secure reports whether cookies must be Secure.
func (k *Kit) secure(r *http.Request) bool {
	return k.cfg.SecureCookies || r.TLS != nil || strings.HasPrefix(k.cfg.PublicURL, "https://")
}

// mac returns HMAC-SHA256 under the kit's key of the parts, each prefixed
// by its purpose so no two uses share a MAC.
func (k *Kit) mac(purpose string, parts ...string) []byte {
	m := hmac.New(sha256.New, k.cfg.Key)
	m.Write([]byte(purpose))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// setCookie sets a kit cookie: Path /, HttpOnly, SameSite=Lax, Secure per
// configuration; maxAge < 0 deletes it.
func (k *Kit) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	k.setCookieAt(w, r, name, value, "/", maxAge)
}

// setCookieAt is setCookie for the cookie sent to path and below.
func (k *Kit) setCookieAt(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: k.secure(r), SameSite: http.SameSiteLaxMode})
}

// now is the kit's clock.
func (k *Kit) now() time.Time { return k.clk.Now() }
