package remote

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The back-office pages of remote payments (issue 10): the tenant's
// payments in the unified list and the home page's figures (officeSource),
// and a payment's page with its timeline (attempts to pay, refunds),
// notifications and the actions its state allows (cancel a payment not
// paid yet; refund all or part of a paid one, confirmed first), through
// the API's Cancel and Refund, audited in their transactions.

//go:embed office/*.html
var officeFiles embed.FS

// KindRemote is the kind of remote payments in the unified list.
const KindRemote = "remote"

type office struct {
	s    *Service
	o    *backoffice.Office
	page *webkit.Page
}

// OfficeModule returns the back-office module of remote payments on o.
func (s *Service) OfficeModule(o *backoffice.Office) (backoffice.Module, error) {
	m := &office{s: s, o: o}
	var err error
	if m.page, err = o.Page(officeFiles, "office/payment.html"); err != nil {
		return backoffice.Module{}, err
	}
	const pay = "/office/remote/payments/{id}"
	return backoffice.Module{
		Name: "remote",
		Routes: []backoffice.Route{
			{Method: http.MethodGet, Path: pay, Summary: "remote payment: timeline, notifications and actions", Handler: m.paymentPage},
			{Method: http.MethodPost, Path: pay + "/cancel", Summary: "cancel a remote payment not paid yet (confirmed first)", Handler: m.cancel},
			{Method: http.MethodPost, Path: pay + "/refund", Summary: "refund a remote payment, all or part (confirmed first)", Handler: m.refund},
		},
		Payments: officeSource{s},
	}, nil
}

// officeSource is the tenant's remote payments in the unified list.
type officeSource struct{ s *Service }

// PaymentKind: the payments' statuses.
func (officeSource) PaymentKind() backoffice.PaymentKind {
	return backoffice.PaymentKind{Kind: KindRemote, Label: "Remote payment",
		Statuses: []string{StatusPending, StatusPaid, StatusRejected, StatusCanceled, StatusRefunded}}
}

// The list's SELECTs: newest first (remote_payments_list, _status), the
// payment of an id, and those whose metadata orderId is the search (the
// metadata index, as the API's metadata filter).
const (
	sqlOfficeList    = `SELECT id, metadata, amount, currency, status, created_at FROM remote_payments`
	sqlOfficeByOrder = `SELECT p.id, p.metadata, p.amount, p.currency, p.status, m.created_at FROM remote_payment_metadata m
JOIN remote_payments p ON p.id = m.payment_id AND p.created_at = m.created_at AND m.key = 'orderId'`
)

func officeQueries(tenantID string, q backoffice.PaymentQuery) []officeQuery {
	cols := backoffice.ListColumns{Tenant: "tenant_id", Created: "created_at", Ref: "id", Status: "status"}
	if q.Search == "" {
		s, args := backoffice.ListQuery(sqlOfficeList, cols, tenantID, q, "")
		return []officeQuery{{s, args}}
	}
	byID, idArgs := backoffice.ListQuery(sqlOfficeList, cols, tenantID, q, "id")
	byOrder, orderArgs := backoffice.ListQuery(sqlOfficeByOrder, backoffice.ListColumns{Tenant: "m.tenant_id", Created: "m.created_at",
		Ref: "m.payment_id", Status: "p.status"}, tenantID, q, "m.value")
	return []officeQuery{{byID, idArgs}, {byOrder, orderArgs}}
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
		return nil, fmt.Errorf("remote: office list: %w", err)
	}
	defer rows.Close()
	var out []backoffice.PaymentItem
	for rows.Next() {
		it := backoffice.PaymentItem{Kind: KindRemote}
		var meta string
		var created int64
		if err := rows.Scan(&it.Reference, &meta, &it.Amount, &it.Currency, &it.Status, &created); err != nil {
			return nil, fmt.Errorf("remote: office list: %w", err)
		}
		it.OrderNumber, it.CreatedAt = orderIDOf(meta), fromMicros(created)
		it.DetailURL = "/office/remote/payments/" + it.Reference
		out = append(out, it)
	}
	return out, rows.Err()
}

// orderIDOf is the metadata's top-level orderId, as text ("" when none).
func orderIDOf(meta string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(meta), &m) != nil || m["orderId"] == nil {
		return ""
	}
	v, _ := scalar(m["orderId"])
	return v
}

// sqlOfficeFigures counts a tenant's remote payments of [$2, $3) by bucket
// (900000000 µs = backoffice.FigureBucket), currency and status
// (remote_payments_list).
const sqlOfficeFigures = `SELECT created_at / 900000000, currency, status, COUNT(*), SUM(amount) FROM remote_payments
WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY created_at / 900000000, currency, status`

// PaymentFigures: paid (and later refunded) payments succeeded, with their
// amount as volume; rejected ones (the last attempt declined) were
// declined; pending and canceled ones are neither.
func (src officeSource) PaymentFigures(ctx context.Context, tenantID string, from, to time.Time) ([]backoffice.Figure, error) {
	rows, err := src.s.db.Read().QueryContext(ctx, sqlOfficeFigures, tenantID, from.UnixMicro(), to.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("remote: figures: %w", err)
	}
	defer rows.Close()
	var out []backoffice.Figure
	for rows.Next() {
		var bucket, n, sum int64
		var cur, status string
		if err := rows.Scan(&bucket, &cur, &status, &n, &sum); err != nil {
			return nil, fmt.Errorf("remote: figures: %w", err)
		}
		f := backoffice.Figure{At: fromMicros(bucket * backoffice.FigureBucket), Currency: cur}
		switch status {
		case StatusPaid, StatusRefunded:
			f.Succeeded, f.Volume = int(n), sum
		case StatusRejected:
			f.Declined = int(n)
		default:
			continue
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// attempt is one attempt to pay, for the timeline.
type attempt struct {
	Method, Payer, Outcome, Reason string
	At                             time.Time
}

const sqlAttemptsOfPayment = `SELECT method, payer, outcome, reason, created_at FROM remote_attempts WHERE payment_id = $1 ORDER BY created_at, id`

func (s *Service) attempts(ctx context.Context, q store.Querier, id string) ([]attempt, error) {
	rows, err := q.QueryContext(ctx, sqlAttemptsOfPayment, id)
	if err != nil {
		return nil, fmt.Errorf("remote: attempts: %w", err)
	}
	defer rows.Close()
	var out []attempt
	for rows.Next() {
		var a attempt
		var at int64
		if err := rows.Scan(&a.Method, &a.Payer, &a.Outcome, &a.Reason, &at); err != nil {
			return nil, fmt.Errorf("remote: attempts: %w", err)
		}
		a.At = fromMicros(at)
		out = append(out, a)
	}
	return out, rows.Err()
}
