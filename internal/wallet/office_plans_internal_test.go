package wallet

import (
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestOfficeQueryPlans checks that the back office's list of money
// requests walks an index with every filter that changes its plan (a
// search by id or order id included), and that the home page's figures read
// a tenant's requests of the period through one, on both engines.
func TestOfficeQueryPlans(t *testing.T) {
	from, to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	cur := &backoffice.Cursor{At: from.Add(time.Hour), Ref: "mrq_1"}
	lists := []struct {
		name  string
		q     backoffice.PaymentQuery
		bound []string
	}{
		{"newest", backoffice.PaymentQuery{}, []string{"tenant_id"}},
		{"status", backoffice.PaymentQuery{Status: string(StatusApproved)}, []string{"tenant_id", "status"}},
		{"created range", backoffice.PaymentQuery{From: from, To: to}, []string{"tenant_id", "created_at"}},
		{"cursor", backoffice.PaymentQuery{Before: cur}, []string{"tenant_id", "created_at"}},
		{"status and cursor", backoffice.PaymentQuery{Status: string(StatusApproved), Before: cur}, []string{"tenant_id", "status", "created_at"}},
		{"search", backoffice.PaymentQuery{Search: "ORD-1"}, nil},
	}
	var cases []storetest.PlanCase
	for _, l := range lists {
		l.q.Limit = backoffice.PaymentsPageSize
		for i, q := range officeQueries("ten_a", l.q) {
			bound := l.bound
			if l.q.Search != "" { // by id (the primary key), by order id
				bound = [][]string{{"id"}, {"tenant_id", "order_id"}}[i]
			}
			cases = append(cases, storetest.PlanCase{Name: "office requests " + l.name, SQL: q.sql, Args: q.args, Paged: true, Bound: bound})
		}
	}
	cases = append(cases, storetest.PlanCase{Name: "office figures", SQL: sqlOfficeFigures, Args: []any{"ten_a", from.UnixMicro(), to.UnixMicro()},
		Bound: []string{"tenant_id", "created_at"}})
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		storetest.CheckPlans(t, db, nil, cases)
	})
}
