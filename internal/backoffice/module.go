package backoffice

import (
	"context"
	"net/http"
	"time"
)

// Module is what a product registers with the back office (Office.Register).
type Module struct {
	// Name names the module in errors and logs (e.g. "gateway").
	Name string
	// Nav are the module's items in the navigation.
	Nav []NavItem
	// Routes are the module's pages and actions, all under /office/.
	Routes []Route
	// Payments, when set, adds the module's items to the unified payments
	// list and to the home page's figures.
	Payments PaymentSource
	// MorePayments are the module's further kinds of items, for a product
	// with more than one (the cashier's deposits and payouts).
	MorePayments []PaymentSource
	// Balances, when set, adds balances to the home page.
	Balances BalanceSource
}

// sources are the module's payment sources, Payments first.
func (m Module) sources() []PaymentSource {
	if m.Payments == nil {
		return m.MorePayments
	}
	return append([]PaymentSource{m.Payments}, m.MorePayments...)
}

// NavItem is a link of the navigation; items are shown by Order (the
// kit's: Home 0, Payments 10, Webhooks 80, Users 90, Audit log 95).
type NavItem struct {
	Label, Href string
	Order       int
}

// Handler is a back-office handler: it runs for a signed-in admin user.
type Handler func(w http.ResponseWriter, r *http.Request, a *Admin)

// Route is one page or action of a module.
type Route struct {
	Method  string // GET or POST; a POST is CSRF-protected and its form parsed (webkit.FormOf)
	Path    string // a ServeMux pattern path under /office/, e.g. "/office/gateway/jobs/{ref}"
	Summary string // for the route list and OpenAPI
	Query   []string
	// Owner makes the route owner-only: an agent gets 403 (OwnerOnly).
	Owner bool
	// Upload makes a POST take a multipart form (file uploads) of at most
	// this many bytes (webkit.Kit.ProtectUpload; webkit.FileOf reads a
	// file); 0: a plain form.
	Upload  int64
	Handler Handler
}

// PaymentSource is a product's payment-like items (card payment jobs,
// money requests, remote payments…) in the unified list and the figures.
// Every query is scoped by the tenant and walks an index.
type PaymentSource interface {
	// PaymentKind describes the items: their kind, label and statuses.
	PaymentKind() PaymentKind
	// ListPayments returns up to q.Limit of the tenant's items that match
	// q, newest first (created desc, reference desc).
	ListPayments(ctx context.Context, tenantID string, q PaymentQuery) ([]PaymentItem, error)
	// PaymentFigures returns the tenant's counts and volume of the items
	// created in [from, to), in buckets of at most 15 minutes (so any time
	// zone's days are unions of them).
	PaymentFigures(ctx context.Context, tenantID string, from, to time.Time) ([]Figure, error)
}

// PaymentKind describes a source's items.
type PaymentKind struct {
	Kind     string   // the kind filter's value, e.g. "card"
	Label    string   // e.g. "Card payment"
	Statuses []string // the statuses its items can have (the status filter's choices)
}

// PaymentQuery selects items of one source.
type PaymentQuery struct {
	// Search is a reference or order number, matched exactly ("" = all).
	Search string
	// Status is one of the source's statuses ("" = any).
	Status string
	// From and To bound the creation time: From <= created < To (zero: unbounded).
	From, To time.Time
	// Before pages: only items created before Before.At, or at Before.At
	// with a reference sorting before Before.Ref ("" = none at Before.At).
	Before *Cursor
	// Limit is the most items to return.
	Limit int
}

// Cursor is a position in a list ordered by (created desc, reference desc).
type Cursor struct {
	At  time.Time
	Ref string
}

// PaymentItem is one row of the unified payments list.
type PaymentItem struct {
	Kind        string // the source's kind
	Reference   string // the item's reference (payment job reference, request id, payment id)
	OrderNumber string // the merchant's order number or id, "" when none
	Amount      int64  // minor units of Currency
	Currency    string
	Status      string
	CreatedAt   time.Time
	DetailURL   string // the item's detail page ("/office/…")
	// Source is what made the item when a product tells them apart (the
	// gateway: "API", "Virtual Terminal", "Payment link"); "" when not.
	Source string
}

// Figure is a source's count of items created in one bucket of time
// [At, At+15 min), in one currency.
type Figure struct {
	At        time.Time
	Currency  string
	Succeeded int   // paid, approved (later refunds included)
	Declined  int   // failed, declined, rejected or denied
	Volume    int64 // minor units of what succeeded
}

// FigureBucket is the size of the figures' buckets, in Unix microseconds:
// 15 minutes, a divisor of every time zone's offset.
const FigureBucket = int64(15 * time.Minute / time.Microsecond)

// BalanceSource is a product's balances on the home page (the e-wallet's
// corporate wallet).
type BalanceSource interface {
	OfficeBalances(ctx context.Context, tenantID string) ([]Balance, error)
}

// Balance is one line of the home page's balances.
type Balance struct {
	Label     string // e.g. "Corporate wallet"
	Currency  string
	Available int64 // minor units
	Pending   int64 // minor units not yet available (captured card payments before settlement…)
}
