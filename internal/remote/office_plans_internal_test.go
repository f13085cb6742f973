package remote

import (
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestOfficeQueryPlans checks that the back office's list of remote
// payments walks an index with every filter that changes its plan, a search
// by id or by metadata orderId included, that a payment's attempts are read
// through an index, and that the home page's figures read a tenant's
// payments of the period through one, on both engines.
func TestOfficeQueryPlans(t *testing.T) {
	from, to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	cur := &backoffice.Cursor{At: from.Add(time.Hour), Ref: "4000000000000001"}
	lists := []struct {
		name  string
		q     backoffice.PaymentQuery
		bound []string
	}{
		{"newest", backoffice.PaymentQuery{}, []string{"tenant_id"}},
		{"status", backoffice.PaymentQuery{Status: StatusPaid}, []string{"tenant_id", "status"}},
		{"created range", backoffice.PaymentQuery{From: from, To: to}, []string{"tenant_id", "created_at"}},
		{"cursor", backoffice.PaymentQuery{Before: cur}, []string{"tenant_id", "created_at"}},
		{"status and cursor", backoffice.PaymentQuery{Status: StatusPaid, Before: cur}, []string{"tenant_id", "status", "created_at"}},
		{"search", backoffice.PaymentQuery{Search: "ORD-1"}, nil},
		{"search and cursor", backoffice.PaymentQuery{Search: "ORD-1", Before: cur}, nil},
	}
	var cases []storetest.PlanCase
	for _, l := range lists {
		l.q.Limit = backoffice.PaymentsPageSize
		for i, q := range officeQueries("ten_a", l.q) {
			bound := l.bound
			if l.q.Search != "" { // by id (the primary key), by metadata orderId
				bound = [][]string{{"id"}, {"tenant_id", "key", "value"}}[i]
			}
			cases = append(cases, storetest.PlanCase{Name: "office payments " + l.name, SQL: q.sql, Args: q.args, Paged: true, Bound: bound})
		}
	}
	cases = append(cases,
		storetest.PlanCase{Name: "office attempts", SQL: sqlAttemptsOfPayment, Args: []any{"4000000000000001"}, Bound: []string{"payment_id"},
			SortOK: "one payment's few attempts"},
		storetest.PlanCase{Name: "office figures", SQL: sqlOfficeFigures, Args: []any{"ten_a", from.UnixMicro(), to.UnixMicro()},
			Bound: []string{"tenant_id", "created_at"}})
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		storetest.CheckPlans(t, db, nil, cases)
	})
}
