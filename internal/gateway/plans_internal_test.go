package gateway

import (
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestListQueryPlans checks that GET /api/gateway/payment-jobs/{ref} reads
// the job's payments and their steps, captures and refunds through indexes
// on both engines (the gateway API has no list of jobs or payments), and
// that GET /platform/gateway/payment-links walks the tenant's links from
// the cursor with every filter, and a customer's stored cards.
func TestListQueryPlans(t *testing.T) {
	const ref = "745018700000000001"
	var cases []storetest.PlanCase
	for _, c := range []struct{ name, sql string }{
		{"job payments", sqlJobPayments}, {"job steps", sqlJobSteps}, {"job captures", sqlJobCaptures}, {"job refunds", sqlJobRefunds},
	} {
		cases = append(cases, storetest.PlanCase{Name: c.name, SQL: c.sql, Args: []any{ref}, Bound: []string{"job_reference"}})
	}
	cursor := linkCursor(&job{Ref: ref, CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	for _, l := range []struct {
		name  string
		f     LinkFilter
		bound []string
	}{
		{"newest", LinkFilter{}, nil},
		{"status", LinkFilter{Status: "paid"}, []string{"status"}},
		{"cursor", LinkFilter{After: cursor}, []string{"created_at"}},
		{"status and cursor", LinkFilter{Status: StPending, After: cursor}, []string{"status", "created_at"}},
		{"expired", LinkFilter{Status: StExpired}, []string{"status"}},
	} {
		if err := l.f.check(); err != nil {
			t.Fatalf("links %s: %v", l.name, err)
		}
		now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		q, args := l.f.query("ten_a", now)
		cases = append(cases, storetest.PlanCase{Name: "links " + l.name, SQL: q, Args: args, Paged: true,
			Bound: append([]string{"tenant_id"}, l.bound...)})
		if l.f.Status == StExpired {
			// The Pending links past their expiry (?status=Expired) walk
			// gateway_links_expiry up to now.
			q, args := l.f.lateExpiredQuery("ten_a", now)
			cases = append(cases, storetest.PlanCase{Name: "links " + l.name + ": late expired", SQL: q, Args: args,
				Bound: []string{"tenant_id", "status", "expires_at"}})
		}
	}
	// A customer's stored cards (supported-payment-methods?customerReference=)
	// walk the customer's index in order and find each card by its id.
	cases = append(cases, storetest.PlanCase{Name: "customer cards", SQL: sqlCustomerCards, Args: []any{"ten_a", "cust-1"}, Paged: true,
		Bound: []string{"tenant_id", "customer_reference"}})
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		storetest.CheckPlans(t, db, nil, cases)
	})
}
