package gateway

import (
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestOfficeQueryPlans checks that the back office's list of card payment
// jobs walks an index with every filter that changes its plan (status,
// creation range, cursor, a search by job reference, order number or a
// payment's reference), and that the home page's figures read a tenant's
// payments of the period through an index, on both engines.
func TestOfficeQueryPlans(t *testing.T) {
	from, to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	cur := &backoffice.Cursor{At: from.Add(time.Hour), Ref: "745018700000000001"}
	lists := []struct {
		name         string
		q            backoffice.PaymentQuery
		jobOfPayment string
		bound        []string
	}{
		{"newest", backoffice.PaymentQuery{}, "", []string{"tenant_id"}},
		{"status", backoffice.PaymentQuery{Status: StPaid}, "", []string{"tenant_id", "status"}},
		{"created range", backoffice.PaymentQuery{From: from, To: to}, "", []string{"tenant_id", "created_at"}},
		{"cursor", backoffice.PaymentQuery{Before: cur}, "", []string{"tenant_id", "created_at"}},
		{"cursor at a time", backoffice.PaymentQuery{Before: &backoffice.Cursor{At: from}}, "", []string{"tenant_id", "created_at"}},
		{"status and cursor", backoffice.PaymentQuery{Status: StPaid, Before: cur}, "", []string{"tenant_id", "status", "created_at"}},
		{"status and range", backoffice.PaymentQuery{Status: StPaid, From: from, To: to}, "", []string{"tenant_id"}},
		{"search", backoffice.PaymentQuery{Search: "ORD-1"}, "745018700000000002", nil},
		{"search and status", backoffice.PaymentQuery{Search: "ORD-1", Status: StPaid}, "", nil},
	}
	var cases []storetest.PlanCase
	for _, l := range lists {
		l.q.Limit = backoffice.PaymentsPageSize
		for i, q := range officeListQueries("ten_a", l.q, l.jobOfPayment) {
			bound := l.bound
			if l.q.Search != "" { // by job reference (its primary key), by order number, by the payment's job
				bound = [][]string{{"reference"}, {"tenant_id", "order_number"}, {"reference"}}[i]
			}
			cases = append(cases, storetest.PlanCase{Name: "office jobs " + l.name, SQL: q.sql, Args: q.args, Paged: true, Bound: bound})
		}
	}
	cases = append(cases,
		storetest.PlanCase{Name: "office job of a payment", SQL: sqlJobOfPayment, Args: []any{"745018700000000002"}, Bound: []string{"reference"}},
		storetest.PlanCase{Name: "office figures", SQL: sqlOfficeFigures, Args: []any{"ten_a", from.UnixMicro(), to.UnixMicro()},
			Bound: []string{"tenant_id", "created_at"}})
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		storetest.CheckPlans(t, db, nil, cases)
	})
}

// TestOfficeFigureBucket: the figures' SQL groups by backoffice.FigureBucket.
func TestOfficeFigureBucket(t *testing.T) {
	if backoffice.FigureBucket != 900000000 {
		t.Fatalf("backoffice.FigureBucket is %d: change the 900000000 of sqlOfficeFigures (gateway, remote, wallet)", backoffice.FigureBucket)
	}
}
