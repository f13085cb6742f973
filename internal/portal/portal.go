// Package portal is cashgate's developer portal (seed 001) and its start
// page: a visitor signs up with an e-mail and a password, which creates a
// sandbox tenant with its APP key through the platform; signs in; and on
// Dashboard → Settings reveals the APP key after entering the password
// again, creates the business profile (CREATE COMPANY: tenant ID and
// business code) and then its admin user (CREATE ADMIN USER: username,
// password, optional PIN, time zone).
//
// Pages are built with the web kit (internal/webkit): server-rendered, no
// JavaScript, CSRF-protected posts, database sessions, throttled password
// checks. The portal owns the developers table; tenants, keys, business
// profiles and admin users are the platform's, reached through Platform.
package portal

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/passhash"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/webkit"
)

// Platform is what the portal uses of the platform service.
type Platform interface {
	CreateTenant(ctx context.Context, spec platform.TenantSpec) (platform.TenantCreated, error)
	Tenant(ctx context.Context, ref string) (platform.Tenant, error)
	CreateCompany(ctx context.Context, tenantID string, spec platform.CompanySpec) (platform.Tenant, error)
	CreateAdminUser(ctx context.Context, tenantID string, spec platform.AdminUserSpec) (platform.AdminUser, error)
	AdminUsers(ctx context.Context, tenantID string) ([]platform.AdminUser, error)
	ListKeys(ctx context.Context, tenant string) ([]platform.Key, error)
	Key(ctx context.Context, tenant, keyID string) (platform.Key, error)
	CreateKeyWith(ctx context.Context, tenant, name string, expiresAt *time.Time, apis []httpx.API,
		inTx func(context.Context, *store.Tx, platform.KeyCreated) error) (platform.KeyCreated, error)
	RevokeKey(ctx context.Context, tenant, keyID string) (platform.Key, error)
	RotateKeyWith(ctx context.Context, tenant, keyID string, grace time.Duration, inTx func(context.Context, *store.Tx, platform.KeyCreated) error) (platform.KeyCreated, error)
	SetKeyExpiry(ctx context.Context, tenant, keyID string, expiresAt *time.Time) (platform.Key, error)
	Usage(ctx context.Context, tenant, keyID string) (platform.KeyUsage, error)
}

// Deps are the portal's collaborators.
type Deps struct {
	DB       *store.DB
	Clock    clock.Clock
	IDs      *ids.Gen
	Log      *slog.Logger
	Kit      *webkit.Kit
	Platform Platform
}

// Config configures the portal.
type Config struct {
	// Pepper is the installation's password pepper (the platform's).
	Pepper []byte
	// Argon2 are the password hashing parameters (zero: passhash.Default()).
	Argon2 passhash.Params
	// SealKey (32 bytes, derived from the KEK) seals each developer's APP
	// key so Settings can show it again.
	SealKey []byte
	// SandboxRPM is the sandbox keys' usage limit, shown to developers.
	SandboxRPM int
}

// SessionKind is the web-kit session kind of a signed-in developer.
const SessionKind = "developer"

// Service is the developer portal.
type Service struct {
	db     *store.DB
	clk    clock.Clock
	gen    *ids.Gen
	log    *slog.Logger
	kit    *webkit.Kit
	plat   Platform
	cfg    Config
	hasher *passhash.Hasher
	seal   cipher.AEAD
	dummy  string // verified for unknown e-mails, so timing does not tell them apart
	pages  pages
}

//go:embed templates
var templates embed.FS

// pages are the parsed page templates.
type pages struct {
	home, signup, login, dashboard, settings *webkit.Page
	keys, key, revoke, goLive                *webkit.Page
	consoleList, consoleItem                 *webkit.Page // the operator console's go-live section
}

// New returns the portal.
func New(d Deps, cfg Config) (*Service, error) {
	if d.DB == nil || d.Clock == nil || d.IDs == nil || d.Kit == nil || d.Platform == nil {
		return nil, errors.New("portal: New needs a database, a clock, ids, the web kit and the platform")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Argon2 == (passhash.Params{}) {
		cfg.Argon2 = passhash.Default()
	}
	if err := cfg.Argon2.Validate(); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cfg.SealKey)
	if err != nil || len(cfg.SealKey) != 32 {
		return nil, fmt.Errorf("portal: the seal key must be 32 bytes")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("portal: seal key: %w", err)
	}
	s := &Service{db: d.DB, clk: d.Clock, gen: d.IDs, log: d.Log, kit: d.Kit, plat: d.Platform, cfg: cfg, seal: aead,
		hasher: passhash.New(cfg.Argon2, cfg.Pepper, runtime.GOMAXPROCS(0))}
	// The dummy only has to cost what a real check costs: a fixed salt
	// keeps the app's build from drawing randomness (seeded tests see the
	// same ids with or without the portal).
	if s.dummy, err = s.hasher.Hash("not a password", bytes.Repeat([]byte{0x5a}, int(cfg.Argon2.SaltLength))); err != nil {
		return nil, err
	}
	if s.pages, err = parsePages(d.Kit); err != nil {
		return nil, err
	}
	return s, nil
}

func parsePages(k *webkit.Kit) (pages, error) {
	var p pages
	var err error
	for _, pg := range []struct {
		dst  **webkit.Page
		file string
	}{{&p.home, "home"}, {&p.signup, "signup"}, {&p.login, "login"}, {&p.dashboard, "dashboard"}, {&p.settings, "settings"},
		{&p.keys, "keys"}, {&p.key, "key"}, {&p.revoke, "revoke"}, {&p.goLive, "golive"},
		{&p.consoleList, "console_golives"}, {&p.consoleItem, "console_golive"}} {
		if *pg.dst, err = k.Page(templates, "templates/"+pg.file+".html", "templates/partials.html"); err != nil {
			return pages{}, err
		}
	}
	return p, nil
}

// Routes are the start page and the developer portal (API public: the
// pages authenticate with the session cookie themselves).
func (s *Service) Routes() []httpx.Route {
	P := httpx.APIPublic
	post := s.kit.Protect
	return []httpx.Route{
		{Method: "GET", Path: "/{$}", API: P, Summary: "Start page: sign in, sign up, API documentation", Handler: s.home},
		{Method: "GET", Path: "/signup", API: P, Summary: "Developer portal: sign-up form", Handler: s.showSignup},
		{Method: "POST", Path: "/signup", API: P, Summary: "Developer portal: create a developer account and its sandbox with an APP key", Handler: post(s.signup)},
		{Method: "GET", Path: "/login", API: P, Summary: "Developer portal: sign-in form", Handler: s.showLogin},
		{Method: "POST", Path: "/login", API: P, Summary: "Developer portal: sign in", Handler: post(s.login)},
		{Method: "POST", Path: "/logout", API: P, Summary: "Developer portal: sign out", Handler: post(s.logout)},
		{Method: "GET", Path: "/dashboard", API: P, Summary: "Developer portal: dashboard", Handler: s.signedIn(s.dashboard)},
		{Method: "GET", Path: "/dashboard/settings", API: P, Summary: "Developer portal: settings (APP key, business profile, admin user)", Handler: s.signedIn(s.settings)},
		{Method: "POST", Path: "/dashboard/settings/app-key", API: P, Summary: "Developer portal: show the APP key after the password is entered again", Handler: post(s.signedIn(s.revealKey))},
		{Method: "POST", Path: "/dashboard/settings/company", API: P, Summary: "Developer portal: CREATE COMPANY (the business profile)", Handler: post(s.signedIn(s.createCompany))},
		{Method: "POST", Path: "/dashboard/settings/admin-user", API: P, Summary: "Developer portal: CREATE ADMIN USER", Handler: post(s.signedIn(s.createAdminUser))},
		{Method: "POST", Path: "/dashboard/environment", API: P, Summary: "Developer portal: show the sandbox or the production account", Handler: post(s.signedIn(s.switchEnv))},
		{Method: "GET", Path: "/dashboard/keys", API: P, Summary: "Developer portal: the APP keys", Handler: s.signedIn(s.keysPage)},
		{Method: "POST", Path: "/dashboard/keys", API: P, Summary: "Developer portal: create an APP key (production; its secret shown once)", Handler: post(s.signedIn(s.createKey))},
		{Method: "GET", Path: "/dashboard/keys/{id}", API: P, Summary: "Developer portal: an APP key, its usage per day and its actions", Handler: s.signedIn(s.keyPage)},
		{Method: "POST", Path: "/dashboard/keys/{id}/rotate", API: P, Summary: "Developer portal: rotate an APP key (the new one shown once)", Handler: post(s.signedIn(s.rotateKey))},
		{Method: "POST", Path: "/dashboard/keys/{id}/expiry", API: P, Summary: "Developer portal: set or clear an APP key's expiry", Handler: post(s.signedIn(s.setExpiry))},
		{Method: "GET", Path: "/dashboard/keys/{id}/revoke", API: P, Summary: "Developer portal: confirm revoking an APP key", Handler: s.signedIn(s.confirmRevoke)},
		{Method: "POST", Path: "/dashboard/keys/{id}/revoke", API: P, Summary: "Developer portal: revoke an APP key", Handler: post(s.signedIn(s.revokeKey))},
		{Method: "GET", Path: "/dashboard/go-live", API: P, Summary: "Developer portal: go live (request a production account)", Handler: s.signedIn(s.goLivePage)},
		{Method: "POST", Path: "/dashboard/go-live", API: P, Summary: "Developer portal: send a go-live request", Handler: post(s.signedIn(s.askGoLive))},
	}
}

// fail logs an unexpected error and shows the kit's error page.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.ErrorContext(r.Context(), "portal: "+what, "err", err)
	s.kit.Error(w, r, http.StatusInternalServerError, "Something went wrong; try again.")
}
