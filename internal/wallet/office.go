package wallet

import (
	"context"
	"embed"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The e-wallet's back-office pages (issue 10): the corporate account's
// money requests in the unified list and the home page's figures
// (officeSource), its wallet balances on the home page, and a request's
// page with its timeline (its events: created, the customer's decision,
// refunds), notifications (the callbacks, with every attempt) and a refund
// of all or part of an approved request, confirmed first, through the API's
// Refund, audited in its transaction.

//go:embed office/*.html
var officeFiles embed.FS

// KindWallet is the kind of money requests in the unified list.
const KindWallet = "wallet"

type office struct {
	s    *Service
	o    *backoffice.Office
	page *webkit.Page
}

// OfficeModule returns the e-wallet's back-office module on o.
func (s *Service) OfficeModule(o *backoffice.Office) (backoffice.Module, error) {
	m := &office{s: s, o: o}
	var err error
	if m.page, err = o.Page(officeFiles, "office/request.html"); err != nil {
		return backoffice.Module{}, err
	}
	const req = "/office/wallet/requests/{id}"
	mod, err := m.withAccount(backoffice.Module{ // office_account.go: the corporate wallet's page
		Name: "wallet",
		Routes: []backoffice.Route{
			{Method: http.MethodGet, Path: req, Summary: "money request: timeline, callbacks and refund", Handler: m.requestPage},
			{Method: http.MethodPost, Path: req + "/refund", Summary: "refund a money request, all or part (confirmed first)", Handler: m.refund},
		},
		Payments: officeSource{s},
		Balances: officeSource{s},
	})
	if err != nil {
		return backoffice.Module{}, err
	}
	if mod, err = m.withBulk(mod); err != nil { // office_bulk.go: bulk money requests
		return backoffice.Module{}, err
	}
	return m.withWidget(mod) // office_widget.go: the widget's origins
}

// officeSource is the tenant's money requests and wallet balances.
type officeSource struct{ s *Service }

// PaymentKind: the requests' statuses.
func (officeSource) PaymentKind() backoffice.PaymentKind {
	return backoffice.PaymentKind{Kind: KindWallet, Label: "Wallet money request", Statuses: []string{string(StatusPending),
		string(StatusApproved), string(StatusDenied), string(StatusExpired), string(StatusPartiallyRefunded), string(StatusRefunded)}}
}

const sqlOfficeRequests = `SELECT id, order_id, amount, status, created_at FROM wallet_requests`

// officeQueries are one page's SELECTs: newest first (wallet_requests_tenant,
// _tenant_status), or for a search the request of that id and those of
// that order id (wallet_requests_tenant_order).
func officeQueries(tenantID string, q backoffice.PaymentQuery) []officeQuery {
	cols := backoffice.ListColumns{Tenant: "tenant_id", Created: "created_at", Ref: "id", Status: "status"}
	matches := []string{""}
	if q.Search != "" {
		matches = []string{"id", "order_id"}
	}
	var out []officeQuery
	for _, m := range matches {
		s, args := backoffice.ListQuery(sqlOfficeRequests, cols, tenantID, q, m)
		out = append(out, officeQuery{s, args})
	}
	return out
}

type officeQuery struct {
	sql  string
	args []any
}

func (src officeSource) ListPayments(ctx context.Context, tenantID string, q backoffice.PaymentQuery) ([]backoffice.PaymentItem, error) {
	var lists [][]backoffice.PaymentItem
	for _, qq := range officeQueries(tenantID, q) {
		items, err := officeItems(ctx, src.s.db.Read(), qq)
		if err != nil {
			return nil, err
		}
		lists = append(lists, items)
	}
	items, _ := backoffice.MergeItems(q.Limit+1, lists...)
	return items, nil
}

func officeItems(ctx context.Context, db store.Querier, q officeQuery) ([]backoffice.PaymentItem, error) {
	rows, err := db.QueryContext(ctx, q.sql, q.args...)
	if err != nil {
		return nil, fmt.Errorf("wallet: office list: %w", err)
	}
	defer rows.Close()
	var out []backoffice.PaymentItem
	for rows.Next() {
		it := backoffice.PaymentItem{Kind: KindWallet, Currency: Currency}
		var created int64
		if err := rows.Scan(&it.Reference, &it.OrderNumber, &it.Amount, &it.Status, &created); err != nil {
			return nil, fmt.Errorf("wallet: office list: %w", err)
		}
		it.CreatedAt, it.DetailURL = fromMicros(created), "/office/wallet/requests/"+it.Reference
		out = append(out, it)
	}
	return out, rows.Err()
}

// sqlOfficeFigures counts a tenant's money requests of [$2, $3) by bucket
// (900000000 µs = backoffice.FigureBucket) and status (wallet_requests_tenant).
const sqlOfficeFigures = `SELECT created_at / 900000000, status, COUNT(*), SUM(amount) FROM wallet_requests
WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY created_at / 900000000, status`

// PaymentFigures: approved requests (refunded later or not) succeeded,
// with their EUR amount as volume; denied ones were declined; pending and
// expired ones are neither.
func (src officeSource) PaymentFigures(ctx context.Context, tenantID string, from, to time.Time) ([]backoffice.Figure, error) {
	rows, err := src.s.db.Read().QueryContext(ctx, sqlOfficeFigures, tenantID, from.UnixMicro(), to.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("wallet: figures: %w", err)
	}
	defer rows.Close()
	var out []backoffice.Figure
	for rows.Next() {
		var bucket, n, sum int64
		var status RequestStatus
		if err := rows.Scan(&bucket, &status, &n, &sum); err != nil {
			return nil, fmt.Errorf("wallet: figures: %w", err)
		}
		f := backoffice.Figure{At: fromMicros(bucket * backoffice.FigureBucket), Currency: Currency}
		switch status {
		case StatusApproved, StatusPartiallyRefunded, StatusRefunded:
			f.Succeeded, f.Volume = int(n), sum
		case StatusDenied:
			f.Declined = int(n)
		default:
			continue
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// OfficeBalances are the tenant's corporate wallet's balances (none
// without a corporate wallet).
func (src officeSource) OfficeBalances(ctx context.Context, tenantID string) ([]backoffice.Balance, error) {
	c, err := src.s.corporateOf(ctx, src.s.db.Read(), "tenant_id", tenantID)
	if apperr.Is(err, apperr.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	bals, err := src.s.Balances(ctx, c.UserID)
	if err != nil {
		return nil, err
	}
	var out []backoffice.Balance
	for _, b := range bals {
		cur, err := money.ParseCurrency(b.Currency)
		if err != nil {
			return nil, err
		}
		avail, err1 := money.ParseDecimal(b.Available, cur)
		posted, err2 := money.ParseDecimal(b.Posted, cur)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("wallet: balance %s %s / %s", b.Currency, b.Available, b.Posted)
		}
		out = append(out, backoffice.Balance{Label: "Corporate wallet", Currency: b.Currency, Available: avail.Minor, Pending: posted.Minor - avail.Minor})
	}
	return out, nil
}

// officeRequest is a money request's page.
type officeRequest struct {
	backoffice.NotificationsView
	R                         MoneyRequest
	Created, Expires, Decided string
	Timeline                  []officeEntry
	CanRefund                 bool
	Left                      string // what is left to refund (EUR, decimal)
	Message                   string
}

type officeEntry struct{ When, What string }

func (m *office) load(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) (MoneyRequest, bool) {
	x, err := m.s.MerchantRequest(r.Context(), a.TenantID, r.PathValue("id"))
	if apperr.Is(err, apperr.NotFound) {
		m.o.NotFound(w, r, a)
		return MoneyRequest{}, false
	}
	if err != nil {
		m.o.Fail(w, r, a, "money request", err)
		return MoneyRequest{}, false
	}
	return x, true
}

func (m *office) requestPage(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	if x, ok := m.load(w, r, a); ok {
		m.render(w, r, a, http.StatusOK, x, "")
	}
}

func (m *office) render(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, status int, x MoneyRequest, msg string) {
	ctx := r.Context()
	notes, err := m.o.Notifications(ctx, a, x.ID)
	if err != nil {
		m.o.Fail(w, r, a, "notifications", err)
		return
	}
	evs, err := m.s.outbox.ListEvents(ctx, a.TenantID, outbox.EventFilter{Subject: x.ID, PageRequest: outbox.PageRequest{Limit: 100}})
	if err != nil {
		m.o.Fail(w, r, a, "money request events", err)
		return
	}
	d := officeRequest{NotificationsView: backoffice.NotificationsView{Notifications: notes, Owner: a.Owner(), Back: "/office/wallet/requests/" + x.ID},
		R: x, Created: a.Time(x.CreatedAt), Expires: a.Time(x.ExpiresAt), Message: msg,
		CanRefund: x.Status == StatusApproved || x.Status == StatusPartiallyRefunded}
	if x.DecidedAt != nil {
		d.Decided = a.Time(*x.DecidedAt)
	}
	if amt, err1 := ParseEUR("amount", x.Amount); err1 == nil {
		if ref, err2 := ParseEUR("refunded", x.Refunded); err2 == nil {
			d.Left = cents(amt - ref)
		}
	}
	for i := len(evs.Items) - 1; i >= 0; i-- { // oldest first
		ev := evs.Items[i]
		d.Timeline = append(d.Timeline, officeEntry{When: a.Time(ev.CreatedAt), What: eventWords(ev)})
	}
	m.o.Render(w, r, a, status, m.page, webkit.View{Title: "Money request " + x.ID, Data: d})
}

// eventWords says what a request's event was.
func eventWords(ev outbox.Event) string {
	switch {
	case ev.Type == EventRequestCreated:
		return "Requested"
	case strings.HasPrefix(ev.Type, CallbackPrefix):
		return "Customer's decision: " + strings.TrimPrefix(ev.Type, CallbackPrefix) + " (callback)"
	case ev.Type == EventRefunded:
		var t WalletTransaction
		if ev.DecodeData(&t) == nil {
			return "Refund " + t.ID + " of " + t.Amount + " " + t.Currency
		}
	}
	return ev.Type
}

// refund refunds all or part of an approved request (the API's Refund)
// after a confirmation step.
func (m *office) refund(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	x, ok := m.load(w, r, a)
	if !ok {
		return
	}
	f := webkit.FormOf(r)
	amt, err := ParseEUR("amount", f.Get("amount"))
	if err != nil || amt <= 0 {
		m.render(w, r, a, http.StatusUnprocessableEntity, x, "Enter the amount to refund in EUR, such as "+x.Amount+".")
		return
	}
	text, reason, back := cents(amt)+" EUR", f.Get("reason"), "/office/wallet/requests/"+x.ID
	if !backoffice.Confirmed(r) {
		c := backoffice.Confirm{Question: "Refund " + text + " of money request " + x.ID + " to " + x.Username + "'s wallet?", Button: "Confirm refund",
			Action: r.URL.Path, Back: back, Hidden: map[string]string{"amount": cents(amt), "reason": reason}}
		m.o.Ask(w, r, a, c)
		return
	}
	err = m.o.Do(r, a, backoffice.Action{Name: "wallet.refund", Subject: x.ID, Detail: text}, func(ctx context.Context) error {
		_, err := m.s.Refund(ctx, a.TenantID, x.ID, amt, reason)
		return err
	})
	switch apperr.CodeOf(err) {
	case "":
		m.o.Redirect(w, r, back, "Refunded "+text+".")
	case apperr.Invalid, apperr.Conflict, apperr.InsufficientFunds:
		if x2, err2 := m.s.MerchantRequest(r.Context(), a.TenantID, x.ID); err2 == nil {
			x = x2
		}
		m.render(w, r, a, http.StatusUnprocessableEntity, x, upperFirstWord(apperr.From(err).Message))
	default:
		m.o.Refused(w, r, a, "wallet.refund", err)
	}
}

func upperFirstWord(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
