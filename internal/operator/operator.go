// Package operator is the operator console: the pages of whoever runs
// cashgate, at /operator. Operators are made on the command line (`cashgate
// operator create --username U`), sign in at /operator/login (the web kit's
// sessions of kind "operator", throttled like every password check) and see
// the tenants. Products add their own pages to the console as a Section
// (the developer portal its go-live requests, the e-wallet its operations),
// so the console imports no product.
package operator

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"runtime"
	"strings"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/passhash"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/webkit"
)

// SessionKind is the web-kit session kind of a signed-in operator.
const SessionKind = "operator"

// Tenants is what the console reads of the platform.
type Tenants interface {
	ListTenants(ctx context.Context) ([]platform.Tenant, error)
}

// Deps are the console's collaborators.
type Deps struct {
	DB      *store.DB
	Clock   clock.Clock
	IDs     *ids.Gen
	Log     *slog.Logger
	Kit     *webkit.Kit
	Tenants Tenants
}

// Config configures the console.
type Config struct {
	Pepper []byte          // the installation's password pepper
	Argon2 passhash.Params // zero: passhash.Default()
}

// Section is a part of the console a product adds: a navigation entry and
// the routes behind it (each under /operator/, each for signed-in
// operators only; posts are CSRF-protected by the kit).
type Section struct {
	Label string // the navigation entry, e.g. "Go-live requests"
	Path  string // where it links, e.g. "/operator/go-live"
	// Description is shown on the console's start page.
	Description string
	Routes      []Route
}

// Route is one page or form of a section.
type Route struct {
	Method, Path, Summary string
	Handler               Handler
}

// Handler serves a signed-in operator.
type Handler func(w http.ResponseWriter, r *http.Request, s Signed)

// Console is the operator console.
type Console struct {
	db       *store.DB
	clk      clock.Clock
	gen      *ids.Gen
	log      *slog.Logger
	kit      *webkit.Kit
	tenants  Tenants
	hasher   *passhash.Hasher
	saltLen  int
	dummy    string
	sections []Section
	pages    pages
}

type pages struct{ login, home *webkit.Page }

//go:embed templates
var templates embed.FS

// New returns the console.
func New(d Deps, cfg Config) (*Console, error) {
	if d.DB == nil || d.Clock == nil || d.IDs == nil || d.Kit == nil || d.Tenants == nil {
		return nil, errors.New("operator: New needs a database, a clock, ids, the web kit and the tenants")
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
	c := &Console{db: d.DB, clk: d.Clock, gen: d.IDs, log: d.Log, kit: d.Kit, tenants: d.Tenants,
		hasher: passhash.New(cfg.Argon2, cfg.Pepper, runtime.GOMAXPROCS(0)), saltLen: int(cfg.Argon2.SaltLength)}
	var err error
	// A fixed salt: building the app draws no randomness for it.
	if c.dummy, err = c.hasher.Hash("not a password", bytes.Repeat([]byte{0x6b}, c.saltLen)); err != nil {
		return nil, err
	}
	if c.pages.login, err = d.Kit.Page(templates, "templates/login.html"); err != nil {
		return nil, err
	}
	if c.pages.home, err = d.Kit.Page(templates, "templates/home.html"); err != nil {
		return nil, err
	}
	return c, nil
}

// Kit returns the web kit sections render their pages with.
func (c *Console) Kit() *webkit.Kit { return c.kit }

// Register adds a product's section. Its paths must lie under /operator/.
func (c *Console) Register(s Section) error {
	for _, rt := range s.Routes {
		if !strings.HasPrefix(rt.Path, "/operator/") || rt.Handler == nil {
			return errors.New("operator: section " + s.Label + ": route " + rt.Path + " is not a console page")
		}
	}
	c.sections = append(c.sections, s)
	return nil
}

// Routes are the console's pages and every registered section's (API
// public: the pages authenticate with the session cookie themselves).
func (c *Console) Routes() []httpx.Route {
	P := httpx.APIPublic
	rs := []httpx.Route{
		{Method: "GET", Path: "/operator/login", API: P, Summary: "Operator console: sign-in form", Handler: c.showLogin},
		{Method: "POST", Path: "/operator/login", API: P, Summary: "Operator console: sign in", Handler: c.kit.Protect(c.login)},
		{Method: "POST", Path: "/operator/logout", API: P, Summary: "Operator console: sign out", Handler: c.kit.Protect(c.logout)},
		{Method: "GET", Path: "/operator", API: P, Summary: "Operator console: tenants and the sections of the products", Handler: c.signedIn(c.home)},
	}
	for _, s := range c.sections {
		for _, rt := range s.Routes {
			h := c.signedIn(rt.Handler)
			if rt.Method == http.MethodPost {
				h = c.kit.Protect(h)
			}
			rs = append(rs, httpx.Route{Method: rt.Method, Path: rt.Path, API: P, Summary: "Operator console: " + rt.Summary, Handler: h})
		}
	}
	return rs
}

// Signed is the operator a page is served to, with the console's layout.
type Signed struct {
	Operator Operator
	console  *Console
	path     string
}

// View is the console's layout for a page titled title: the navigation
// (the current section marked), the operator and the sign-out button.
func (s Signed) View(title string) webkit.View {
	items := []webkit.NavItem{{Label: "Tenants", Href: "/operator"}}
	current := "/operator"
	for _, sec := range s.console.sections {
		items = append(items, webkit.NavItem{Label: sec.Label, Href: sec.Path})
		if s.path == sec.Path || strings.HasPrefix(s.path, sec.Path+"/") {
			current = sec.Path
		}
	}
	return webkit.View{Title: title, User: "operator " + s.Operator.Username, SignOut: "/operator/logout", Badge: "Operator",
		Nav: webkit.Nav(current, items...)}
}

// Render writes a section's page with the console's kit: its forms carry
// the console's CSRF tokens (the console's session cookie is its own).
func (s Signed) Render(w http.ResponseWriter, r *http.Request, status int, p *webkit.Page, v webkit.View) {
	s.console.kit.Render(w, r, status, p, v)
}

// Error shows the console's error page with msg.
func (s Signed) Error(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.console.kit.Error(w, r, status, msg)
}

// Fail logs an unexpected error and shows the kit's error page.
func (s Signed) Fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.console.log.ErrorContext(r.Context(), "operator console: "+what, "err", err)
	s.console.kit.Error(w, r, http.StatusInternalServerError, "Something went wrong; try again.")
}

// signedIn runs h for a signed-in operator and sends anyone else to the
// sign-in page.
func (c *Console) signedIn(h Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		op, ok := c.current(r)
		if !ok {
			c.kit.Redirect(w, r, "/operator/login")
			return
		}
		h(w, r, Signed{Operator: op, console: c, path: r.URL.Path})
	}
}

// tenantsPerPage pages the tenants table.
const tenantsPerPage = 20

type homeData struct {
	Tenants  webkit.Table
	Sections []Section
}

func (c *Console) home(w http.ResponseWriter, r *http.Request, s Signed) {
	ts, err := c.tenants.ListTenants(r.Context())
	if err != nil {
		s.Fail(w, r, "list tenants", err)
		return
	}
	// Newest first: the ones an operator is asked about.
	for i, j := 0, len(ts)-1; i < j; i, j = i+1, j-1 {
		ts[i], ts[j] = ts[j], ts[i]
	}
	pager, from, to := webkit.Paginate(r, len(ts), tenantsPerPage)
	tbl := webkit.Table{Caption: "Tenants", Columns: []string{"Name", "Tenant ID", "Business code", "Mode", "Created (UTC)", "Business profile"},
		Empty: "No tenants yet.", Pager: &pager}
	for _, t := range ts[from:to] {
		profile := "not yet"
		if t.HasProfile() {
			profile = "created " + t.ProfileCreatedAt.UTC().Format("2 Jan 2006")
		}
		tbl.Rows = append(tbl.Rows, []webkit.Cell{{Text: t.Name}, {Text: t.ID, Mono: true}, {Text: t.BusinessCode, Mono: true},
			{Text: string(t.Mode)}, {Text: t.CreatedAt.UTC().Format("2 Jan 2006 15:04")}, {Text: profile}})
	}
	v := s.View("Operator console")
	v.Data = homeData{Tenants: tbl, Sections: c.sections}
	c.kit.Render(w, r, http.StatusOK, c.pages.home, v)
}
