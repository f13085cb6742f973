package gateway

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The gateway's back-office pages (issue 10): its payment jobs in the
// unified payments list and the home page's figures (officeSource), a job's
// detail page with the timeline of each payment (steps, 3-D Secure,
// captures, refunds, notifications with every attempt) and the actions its
// state allows (capture, cancel, refund — partial amounts, each confirmed
// first), and the card settings (owners change them, agents read them).
// Every action calls the method the API calls, through Office.Do, so its
// audit row commits with it.

//go:embed office/*.html
var officeFiles embed.FS

// KindCard is the kind of the gateway's items in the unified list.
const KindCard = "card"

// officePages are the gateway's parsed back-office pages.
type officePages struct {
	job, settings         *webkit.Page
	terminal, links, link *webkit.Page // office_terminal.go, office_links.go
	templates, template   *webkit.Page // office_templates.go
}

// office is the gateway's back-office module.
type office struct {
	s     *Service
	o     *backoffice.Office
	pages officePages
}

// OfficeModule returns the gateway's back-office module on o.
func (s *Service) OfficeModule(o *backoffice.Office) (backoffice.Module, error) {
	m := &office{s: s, o: o}
	for _, pg := range []struct {
		dst  **webkit.Page
		file string
	}{{&m.pages.job, "job"}, {&m.pages.settings, "settings"},
		{&m.pages.terminal, "terminal"}, {&m.pages.links, "links"}, {&m.pages.link, "link"},
		{&m.pages.templates, "templates"}, {&m.pages.template, "template"}} {
		p, err := o.Page(officeFiles, "office/"+pg.file+".html")
		if err != nil {
			return backoffice.Module{}, err
		}
		*pg.dst = p
	}
	for _, p := range []**webkit.Page{&m.pages.templates, &m.pages.template} {
		var err error
		if *p, err = (*p).With(officeFiles, "office/templatefields.html"); err != nil {
			return backoffice.Module{}, err
		}
	}
	const job = "/office/gateway/jobs/{ref}"
	const pay = job + "/payments/{pay}"
	return backoffice.Module{
		Name: "gateway",
		Nav: []backoffice.NavItem{{Label: "Virtual Terminal", Href: "/office/gateway/terminal", Order: 20},
			{Label: "Payment links", Href: "/office/gateway/links", Order: 30}, {Label: "Card settings", Href: "/office/gateway/settings", Order: 70},
			{Label: "Payment pages", Href: officeTemplates, Order: 72}},
		Routes: append([]backoffice.Route{
			{Method: http.MethodGet, Path: job, Summary: "card payment job: payments, timeline, notifications and actions", Handler: m.jobPage},
			{Method: http.MethodPost, Path: pay + "/capture", Summary: "capture a card payment (confirmed first)", Handler: m.capture},
			{Method: http.MethodPost, Path: pay + "/refund", Summary: "refund a card payment, all or part (confirmed first)", Handler: m.refund},
			{Method: http.MethodPost, Path: pay + "/cancel", Summary: "cancel a card payment (same day, confirmed first)", Handler: m.cancelPayment},
			{Method: http.MethodPost, Path: job + "/cancel", Summary: "cancel a card payment job (confirmed first)", Handler: m.cancelJob},
			{Method: http.MethodGet, Path: "/office/gateway/settings", Summary: "card settings (read-only for agents)", Handler: m.settingsPage},
			{Method: http.MethodPost, Path: "/office/gateway/settings", Summary: "change the card settings (owners only)", Owner: true, Handler: m.saveSettings},
		}, append(append(m.terminalRoutes(), m.linkRoutes()...), m.templateRoutes()...)...),
		Payments: officeSource{s},
	}, nil
}

// Where a payment job came from, as the back office shows it.
const (
	SourceAPI             = "API"
	SourceVirtualTerminal = "Virtual Terminal"
	SourcePaymentLink     = "Payment link"
)

// jobSource is what made a job of flags: an agent's Virtual Terminal
// payment, a payment link (the back office's or the links API's), or the
// gateway API.
func jobSource(flags map[string]bool) string {
	switch {
	case flags["virtualTerminal"]:
		return SourceVirtualTerminal
	case flags["paymentLink"]:
		return SourcePaymentLink
	}
	return SourceAPI
}

// officeSource is the gateway's payment jobs in the unified list.
type officeSource struct{ s *Service }

// PaymentKind: a job's statuses are the list's.
func (officeSource) PaymentKind() backoffice.PaymentKind {
	return backoffice.PaymentKind{Kind: KindCard, Label: "Card payment job",
		Statuses: []string{StPending, StAuthorised, StPaid, StCancelled, StExpired}}
}

// officeListCols are gateway_jobs' columns for backoffice.ListQuery.
func officeListCols() backoffice.ListColumns {
	return backoffice.ListColumns{Tenant: "tenant_id", Created: "created_at", Ref: "reference", Status: "status"}
}

const sqlOfficeJobs = `SELECT reference, order_number, amount, currency, status, created_at, flags FROM gateway_jobs`

// officeListQueries are the SELECTs of one page: newest first, or with a
// search, one query for the job reference and one for the order number
// (each walks its index); a payment's reference is searched as its job's.
func officeListQueries(tenantID string, q backoffice.PaymentQuery, jobOfPayment string) []officeQuery {
	if q.Search == "" {
		sql, args := backoffice.ListQuery(sqlOfficeJobs, officeListCols(), tenantID, q, "")
		return []officeQuery{{sql, args}}
	}
	var out []officeQuery
	for _, c := range []struct{ col, v string }{{"reference", q.Search}, {"order_number", q.Search}, {"reference", jobOfPayment}} {
		if c.v == "" {
			continue
		}
		qq := q
		qq.Search = c.v
		sql, args := backoffice.ListQuery(sqlOfficeJobs, officeListCols(), tenantID, qq, c.col)
		out = append(out, officeQuery{sql, args})
	}
	return out
}

type officeQuery struct {
	sql  string
	args []any
}

// sqlJobOfPayment finds the job of a payment reference (a search) by the
// payment's primary key; its tenant is compared after.
const sqlJobOfPayment = `SELECT job_reference, tenant_id FROM gateway_payments WHERE reference = $1`

func (src officeSource) ListPayments(ctx context.Context, tenantID string, q backoffice.PaymentQuery) ([]backoffice.PaymentItem, error) {
	db := src.s.DB.Read()
	jobOfPayment := ""
	if q.Search != "" {
		var owner string
		err := db.QueryRowContext(ctx, sqlJobOfPayment, q.Search).Scan(&jobOfPayment, &owner)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("gateway: search payment: %w", err)
		}
		if owner != tenantID {
			jobOfPayment = "" // another tenant's payment is not found
		}
	}
	var lists [][]backoffice.PaymentItem
	for _, qq := range officeListQueries(tenantID, q, jobOfPayment) {
		items, err := officeItems(ctx, db, qq)
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
		return nil, fmt.Errorf("gateway: office list: %w", err)
	}
	defer rows.Close()
	var out []backoffice.PaymentItem
	for rows.Next() {
		it := backoffice.PaymentItem{Kind: KindCard}
		var order sql.NullString
		var created int64
		var flags string
		if err := rows.Scan(&it.Reference, &order, &it.Amount, &it.Currency, &it.Status, &created, &flags); err != nil {
			return nil, fmt.Errorf("gateway: office list: %w", err)
		}
		f := map[string]bool{}
		if err := json.Unmarshal([]byte(flags), &f); err != nil {
			return nil, fmt.Errorf("gateway: office list: flags of %s: %w", it.Reference, err)
		}
		it.OrderNumber, it.CreatedAt, it.Source = order.String, fromMicros(created), jobSource(f)
		it.DetailURL = "/office/gateway/jobs/" + it.Reference
		out = append(out, it)
	}
	return out, rows.Err()
}

// sqlOfficeFigures counts a tenant's card payments of [$2, $3) by bucket
// (900000000 µs = backoffice.FigureBucket, checked by a test), currency and
// status (gateway_payments_tenant_created).
const sqlOfficeFigures = `SELECT created_at / 900000000, currency, status, COUNT(*), SUM(amount) FROM gateway_payments
WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY created_at / 900000000, currency, status`

// PaymentFigures: a payment that was authorised or paid (refunded later or
// not) succeeded, with its amount as volume; one that failed (declined,
// 3-D Secure failed) was declined; pending, cancelled and expired ones are
// neither.
func (src officeSource) PaymentFigures(ctx context.Context, tenantID string, from, to time.Time) ([]backoffice.Figure, error) {
	rows, err := src.s.DB.Read().QueryContext(ctx, sqlOfficeFigures, tenantID, from.UnixMicro(), to.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("gateway: figures: %w", err)
	}
	defer rows.Close()
	var out []backoffice.Figure
	for rows.Next() {
		var bucket, n, sum int64
		var cur, status string
		if err := rows.Scan(&bucket, &cur, &status, &n, &sum); err != nil {
			return nil, fmt.Errorf("gateway: figures: %w", err)
		}
		f := backoffice.Figure{At: fromMicros(bucket * backoffice.FigureBucket), Currency: cur}
		switch status {
		case StAuthorised, StPaid, StPartiallyRefunded, StRefunded:
			f.Succeeded, f.Volume = int(n), sum
		case StFailed:
			f.Declined = int(n)
		default:
			continue
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
