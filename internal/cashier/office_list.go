package cashier

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/store"
)

// The cashier's deposits and payouts in the back office's unified
// Payments list, two kinds: found by their id or the Platform's reference
// (each query walks its index), filtered by status and days, paged. In the
// home page's figures a deposit captured (or refunded since) succeeded,
// with what it captured as volume, and one declined or failed was
// declined; payouts are money going out, not takings, and are not counted.

type officeDeposits struct{ s *Service }

type officePayouts struct{ s *Service }

func (officeDeposits) PaymentKind() backoffice.PaymentKind {
	return backoffice.PaymentKind{Kind: OfficeKindDeposit, Label: "Cashier deposit", Statuses: depositStatuses}
}

func (officePayouts) PaymentKind() backoffice.PaymentKind {
	return backoffice.PaymentKind{Kind: OfficeKindPayout, Label: "Cashier payout", Statuses: payoutStatuses}
}

// officeItemsSQL are the list's SELECTs of each table.
var officeItemsSQL = map[string]string{
	OfficeKindDeposit: `SELECT id, reference, customer_id, amount, currency, status, created_at FROM cashier_deposits`,
	OfficeKindPayout:  `SELECT id, reference, customer_id, amount, currency, status, created_at FROM cashier_payouts`,
}

// officeListQueries are one page's SELECTs of kind: newest first, or with
// a search one by id (the primary key) and one by the Platform's
// reference (unique per tenant).
func officeListQueries(kind, tenantID string, q backoffice.PaymentQuery) []officeQuery {
	cols := backoffice.ListColumns{Tenant: "tenant_id", Created: "created_at", Ref: "id", Status: "status"}
	if q.Search == "" {
		s, args := backoffice.ListQuery(officeItemsSQL[kind], cols, tenantID, q, "")
		return []officeQuery{{s, args}}
	}
	byID, idArgs := backoffice.ListQuery(officeItemsSQL[kind], cols, tenantID, q, "id")
	// The reference's index is partial (reference <> ''): the query says so
	// too, for both engines to use it; a reference is unique per tenant, so
	// its one row needs no order (which would have the engines walk the
	// list's index instead).
	byRef, refArgs := backoffice.ListQuery(officeItemsSQL[kind], cols, tenantID, q, "reference <> '' AND reference")
	byRef, _, _ = strings.Cut(byRef, " ORDER BY ")
	return []officeQuery{{byID, idArgs}, {byRef + " LIMIT 2", refArgs}}
}

type officeQuery struct {
	sql  string
	args []any
}

func (src officeDeposits) ListPayments(ctx context.Context, tenantID string, q backoffice.PaymentQuery) ([]backoffice.PaymentItem, error) {
	return officeList(ctx, src.s.db.Read(), OfficeKindDeposit, tenantID, q)
}

func (src officePayouts) ListPayments(ctx context.Context, tenantID string, q backoffice.PaymentQuery) ([]backoffice.PaymentItem, error) {
	return officeList(ctx, src.s.db.Read(), OfficeKindPayout, tenantID, q)
}

func officeList(ctx context.Context, db store.Querier, kind, tenantID string, q backoffice.PaymentQuery) ([]backoffice.PaymentItem, error) {
	var lists [][]backoffice.PaymentItem
	for _, qq := range officeListQueries(kind, tenantID, q) {
		items, err := officeItems(ctx, db, kind, qq)
		if err != nil {
			return nil, err
		}
		lists = append(lists, items)
	}
	items, _ := backoffice.MergeItems(q.Limit+1, lists...)
	return items, nil
}

func officeItems(ctx context.Context, db store.Querier, kind string, q officeQuery) ([]backoffice.PaymentItem, error) {
	rows, err := db.QueryContext(ctx, q.sql, q.args...)
	if err != nil {
		return nil, fmt.Errorf("cashier: office list: %w", err)
	}
	defer rows.Close()
	var out []backoffice.PaymentItem
	for rows.Next() {
		it := backoffice.PaymentItem{Kind: kind}
		var ref, customer string
		var created int64
		if err := rows.Scan(&it.Reference, &ref, &customer, &it.Amount, &it.Currency, &it.Status, &created); err != nil {
			return nil, fmt.Errorf("cashier: office list: %w", err)
		}
		it.OrderNumber, it.CreatedAt = ref, fromMicros(created)
		it.DetailURL = "/office/cashier/" + kind + "s/" + it.Reference
		out = append(out, it)
	}
	return out, rows.Err()
}

// sqlOfficeFigures counts a tenant's deposits of [$2, $3) by bucket
// (900000000 µs = backoffice.FigureBucket), currency and status
// (cashier_deposits_list).
const sqlOfficeFigures = `SELECT created_at / 900000000, currency, status, COUNT(*), SUM(captured_amount) FROM cashier_deposits
WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY created_at / 900000000, currency, status`

func (src officeDeposits) PaymentFigures(ctx context.Context, tenantID string, from, to time.Time) ([]backoffice.Figure, error) {
	rows, err := src.s.db.Read().QueryContext(ctx, sqlOfficeFigures, tenantID, from.UnixMicro(), to.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("cashier: figures: %w", err)
	}
	defer rows.Close()
	var out []backoffice.Figure
	for rows.Next() {
		var bucket, n, sum int64
		var cur, status string
		if err := rows.Scan(&bucket, &cur, &status, &n, &sum); err != nil {
			return nil, fmt.Errorf("cashier: figures: %w", err)
		}
		f := backoffice.Figure{At: fromMicros(bucket * backoffice.FigureBucket), Currency: cur}
		switch status {
		case DepositCaptured, DepositRefunded:
			f.Succeeded, f.Volume = int(n), sum
		case DepositDeclined, DepositFailed:
			f.Declined = int(n)
		default:
			continue
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// PaymentFigures: payouts are not takings (see above).
func (officePayouts) PaymentFigures(context.Context, string, time.Time, time.Time) ([]backoffice.Figure, error) {
	return nil, nil
}
