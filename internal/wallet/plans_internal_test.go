package wallet

import (
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestListQueryPlans checks that the wallet's lists walk an index on both
// engines: a wallet's transactions (GET /wallet/app/v1/transactions and,
// for a corporate wallet that may receive millions of payments, GET
// /wallet/api/v1/transactions) with each filter, and a customer's money
// requests (GET /wallet/app/v1/requests) with and without status.
func TestListQueryPlans(t *testing.T) {
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	cursor := "1767229200000000_wtx_x"
	txs := []struct {
		name  string
		f     TxFilter
		bound []string // besides the user
	}{
		{"newest", TxFilter{}, nil},
		{"cursor", TxFilter{Cursor: cursor}, []string{"created_at"}},
		{"created range", TxFilter{From: &from, To: &to}, []string{"created_at"}},
		{"created range and cursor", TxFilter{From: &from, To: &to, Cursor: cursor}, []string{"created_at"}},
		{"type and status", TxFilter{Type: "withdrawal", Status: "requested"}, nil},
		{"amounts", TxFilter{MinAmount: 100, MaxAmount: 5000}, nil},
		{"all filters and cursor", TxFilter{From: &from, To: &to, Type: "payment", Status: "completed", MinAmount: 100, MaxAmount: 5000, Cursor: cursor},
			[]string{"created_at"}},
	}
	var cases []storetest.PlanCase
	for _, x := range txs {
		limit, err := x.f.check()
		if err != nil {
			t.Fatalf("%s: %v", x.name, err)
		}
		q, args, err := x.f.query("wus_x", limit)
		if err != nil {
			t.Fatalf("%s: %v", x.name, err)
		}
		cases = append(cases, storetest.PlanCase{Name: "transactions " + x.name, SQL: q, Args: args, Paged: true,
			Bound:  append([]string{"from_user", "to_user"}, x.bound...),
			SortOK: "each arm of the UNION ALL reads one page in its index's order; SQLite sorts those pages to merge them (PostgreSQL merges them as they come)"})
	}
	for _, st := range []RequestStatus{"", StatusPending} {
		q, args := customerRequestsQuery("wus_x", st, 50)
		c := storetest.PlanCase{Name: "customer requests " + string(st), SQL: q, Args: args, Paged: true, Bound: []string{"customer_id"}}
		if st == "" {
			// Without a status the wallet app never asks (it lists the
			// pending ones); an index for it would cost every request.
			c.SortOK = "the requests made to one customer: that customer's history, not the table"
		} else {
			c.Bound = append(c.Bound, "status")
		}
		cases = append(cases, c)
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		storetest.CheckPlans(t, db, nil, cases)
	})
}
