// Package backoffice is the merchant back office's kit (issue 10): a
// tenant's admin users sign in at /office/login (business code or tenant
// ID, username, password, and the PIN when the user has one), and work in
// pages that the products register with it, so each product's back-office
// pages live with that product and this package knows none of them:
//
//   - a product hands the app a Module: navigation items, routes (pages and
//     actions under /office/), and optionally a PaymentSource (its items in
//     the unified payments list and the home page's figures) and a
//     BalanceSource;
//   - the kit gives every page the signed-in Admin, the layout with the
//     navigation built from the modules, the roles (an owner does
//     everything; an agent works with payments and sees settings
//     read-only: Route.Owner, OwnerOnly), CSRF on every post, and the audit
//     log: an action runs through Office.Do, which writes its row in the
//     transaction of the very service method the API calls (who, when,
//     what, from which address), shown read-only on /office/audit.
//
// The kit's own pages: sign-in and sign-out, Home (balances, today's
// volume and success rate, a 30-day chart over a table of the figures),
// Payments (the unified, searchable, filterable and paged list), Users (an
// owner adds agents and owners), Webhooks (endpoints with secret rotation,
// the delivery log with every attempt and Resend) and the Audit log.
//
// Pages are built with the web kit (internal/webkit): server-rendered,
// database sessions of kind "admin", throttled password checks.
package backoffice

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/webkit"
)

// SessionKind is the web-kit session kind of a signed-in admin user.
const SessionKind = "admin"

// Platform is what the kit uses of the platform service.
type Platform interface {
	Tenant(ctx context.Context, ref string) (platform.Tenant, error)
	AdminUser(ctx context.Context, tenantID, userID string) (platform.AdminUser, error)
	AdminUsers(ctx context.Context, tenantID string) ([]platform.AdminUser, error)
	CreateAdminUser(ctx context.Context, tenantID string, spec platform.AdminUserSpec) (platform.AdminUser, error)
	CheckAdminPassword(ctx context.Context, tenantID, username, password, pin string) (platform.AdminUser, bool, error)
}

// Ledger reads the tenant's accounts (the home page's balances).
type Ledger interface {
	Accounts(ctx context.Context, q store.Querier, tenantID string, f ledger.AccountFilter) ([]ledger.Account, error)
}

// Webhooks are the outbox's webhook endpoints and deliveries (the Webhooks
// page and the notifications of the products' detail pages).
type Webhooks interface {
	ListEndpoints(ctx context.Context, tenantID string) ([]outbox.Endpoint, error)
	CreateEndpoint(ctx context.Context, tenantID string, req outbox.CreateEndpointRequest) (outbox.EndpointWithSecret, error)
	UpdateEndpoint(ctx context.Context, tenantID, id string, req outbox.UpdateEndpointRequest) (outbox.Endpoint, error)
	RotateSecret(ctx context.Context, tenantID, id string) (outbox.EndpointWithSecret, error)
	ListDeliveries(ctx context.Context, tenantID string, f outbox.DeliveryFilter) (outbox.DeliveryPage, error)
	GetDelivery(ctx context.Context, tenantID, id string) (outbox.DeliveryDetail, error)
	Resend(ctx context.Context, tenantID, id string) (outbox.Delivery, error)
}

// Events lists the tenant's events (those of one subject, for the
// notifications of a payment).
type Events interface {
	ListEvents(ctx context.Context, tenantID string, f outbox.EventFilter) (outbox.EventPage, error)
}

// Deps are the kit's collaborators.
type Deps struct {
	DB       *store.DB
	Clock    clock.Clock
	IDs      *ids.Gen
	Log      *slog.Logger
	Kit      *webkit.Kit
	Platform Platform
	Ledger   Ledger
	Webhooks Webhooks
	Events   Events
}

// Office is the back office: the kit's pages and the modules' routes.
type Office struct {
	db      *store.DB
	clk     clock.Clock
	gen     *ids.Gen
	log     *slog.Logger
	kit     *webkit.Kit
	plat    Platform
	ledger  Ledger
	hooks   Webhooks
	events  Events
	pages   pages
	modules []Module
}

//go:embed templates
var templates embed.FS

// New returns the back office; modules are added with Register before
// Routes is called.
func New(d Deps) (*Office, error) {
	if d.DB == nil || d.Clock == nil || d.IDs == nil || d.Kit == nil || d.Platform == nil || d.Ledger == nil || d.Webhooks == nil || d.Events == nil {
		return nil, errors.New("backoffice: New needs a database, a clock, ids, the web kit, the platform, the ledger, the webhooks and the events")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	o := &Office{db: d.DB, clk: d.Clock, gen: d.IDs, log: d.Log, kit: d.Kit, plat: d.Platform, ledger: d.Ledger,
		hooks: d.Webhooks, events: d.Events}
	var err error
	if o.pages, err = parsePages(o); err != nil {
		return nil, err
	}
	return o, nil
}

// Register adds a product's module: its navigation, routes and sources.
// Every route's path must start with "/office/".
func (o *Office) Register(m Module) error {
	if m.Name == "" {
		return errors.New("backoffice: a module needs a name")
	}
	for _, r := range m.Routes {
		if !strings.HasPrefix(r.Path, "/office/") || r.Handler == nil {
			return fmt.Errorf("backoffice: module %s: route %s %q must be under /office/ and have a handler", m.Name, r.Method, r.Path)
		}
	}
	for _, x := range o.modules {
		if x.Name == m.Name {
			return fmt.Errorf("backoffice: module %s registered twice", m.Name)
		}
	}
	o.modules = append(o.modules, m)
	return nil
}

// Page parses one page's template file from fsys with the web kit's
// templates and the back office's partials ("notifications", "facts",
// "confirm"…, see templates/partials.html).
func (o *Office) Page(fsys fs.FS, file string) (*webkit.Page, error) {
	p, err := o.kit.Page(fsys, file)
	if err != nil {
		return nil, err
	}
	return p.With(templates, "templates/partials.html")
}

// Routes are the kit's pages and every module's routes, each behind the
// sign-in (and for owner routes, the owner check); posts are
// CSRF-protected (webkit.Kit.Protect).
func (o *Office) Routes() []httpx.Route {
	var out []httpx.Route
	for _, r := range o.kitRoutes() {
		out = append(out, o.route(r))
	}
	for _, m := range o.modules {
		for _, r := range m.Routes {
			out = append(out, o.route(r))
		}
	}
	return append(o.publicRoutes(), out...)
}

// route mounts a signed-in route.
func (o *Office) route(r Route) httpx.Route {
	h := o.signedIn(r.Handler)
	if r.Owner {
		h = o.signedIn(OwnerOnly(o, r.Handler))
	}
	switch {
	case r.Method == http.MethodPost && r.Upload > 0:
		h = o.kit.ProtectUpload(r.Upload, h)
	case r.Method == http.MethodPost:
		h = o.kit.Protect(h)
	}
	return httpx.Route{Method: r.Method, Path: r.Path, API: httpx.APIPublic, Summary: "Back office: " + r.Summary, Query: r.Query, Handler: h}
}

// nav is the navigation: the kit's Home and Payments, the modules' items
// by Order, then Webhooks, Users and Audit log.
func (o *Office) nav(current string) []webkit.NavItem {
	items := []NavItem{{Label: "Home", Href: "/office", Order: 0}, {Label: "Payments", Href: "/office/payments", Order: 10}}
	for _, m := range o.modules {
		items = append(items, m.Nav...)
	}
	items = append(items, NavItem{Label: "Webhooks", Href: "/office/webhooks", Order: 80},
		NavItem{Label: "Users", Href: "/office/users", Order: 90}, NavItem{Label: "Audit log", Href: "/office/audit", Order: 95})
	slices.SortStableFunc(items, func(a, b NavItem) int { return a.Order - b.Order })
	out := make([]webkit.NavItem, 0, len(items))
	best := ""
	for _, it := range items { // the longest Href the path is under is current (Home only on itself)
		under := current == it.Href || (it.Href != "/office" && strings.HasPrefix(current, it.Href+"/"))
		if under && len(it.Href) > len(best) {
			best = it.Href
		}
	}
	for _, it := range items {
		out = append(out, webkit.NavItem{Label: it.Label, Href: it.Href, Current: it.Href == best})
	}
	return out
}

// Render writes a back-office page for the signed-in admin: v's Title,
// Data, Form (and Scripts, Styles) are the page's; the navigation, the
// sign-out button, the user and the environment badge are filled in.
func (o *Office) Render(w http.ResponseWriter, r *http.Request, a *Admin, status int, p *webkit.Page, v webkit.View) {
	v.Nav = o.nav(r.URL.Path)
	v.SignOut = "/office/logout"
	v.User = a.Username + " (" + string(a.Role) + ")"
	v.Badge = modeLabel(a.Tenant.Mode)
	o.kit.Render(w, r, status, p, v)
}

// Redirect sends the browser to path (on the public URL) with an optional
// flash message.
func (o *Office) Redirect(w http.ResponseWriter, r *http.Request, path, flash string) {
	if flash != "" {
		o.kit.Flash(w, r, flash)
	}
	o.kit.Redirect(w, r, path)
}

// Error renders the back office's error page with status and msg.
func (o *Office) Error(w http.ResponseWriter, r *http.Request, a *Admin, status int, msg string) {
	o.Render(w, r, a, status, o.pages.errorPage, webkit.View{Title: http.StatusText(status), Data: msg})
}

// NotFound renders the error page for something the tenant does not have
// (another tenant's payment looks exactly like one that does not exist).
func (o *Office) NotFound(w http.ResponseWriter, r *http.Request, a *Admin) {
	o.Error(w, r, a, http.StatusNotFound, "There is no such page or payment in this business.")
}

// Fail logs an unexpected error and renders the error page (500).
func (o *Office) Fail(w http.ResponseWriter, r *http.Request, a *Admin, what string, err error) {
	o.log.ErrorContext(r.Context(), "backoffice: "+what, "err", err)
	o.Error(w, r, a, http.StatusInternalServerError, "Something went wrong; try again.")
}

// Now is the kit's clock.
func (o *Office) Now() time.Time { return o.clk.Now() }

func modeLabel(m platform.Mode) string {
	if m == platform.Production {
		return "Production"
	}
	return "Sandbox"
}
