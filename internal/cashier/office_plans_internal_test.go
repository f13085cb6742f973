package cashier

import (
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestOfficeQueryPlans checks that the back office's lists of deposits and
// payouts in the unified list walk an index with every filter that changes
// their plan (a search by id or by the Platform's reference included), that
// the approval queue, an object's agent actions, a session's live deposit
// and the home page's figures do too, on both engines.
func TestOfficeQueryPlans(t *testing.T) {
	from, to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	cur := &backoffice.Cursor{At: from.Add(time.Hour), Ref: "cdp_x"}
	lists := []struct {
		name  string
		q     backoffice.PaymentQuery
		bound []string
	}{
		{"newest", backoffice.PaymentQuery{}, []string{"tenant_id"}},
		{"status", backoffice.PaymentQuery{Status: DepositCaptured}, []string{"tenant_id", "status"}},
		{"created range", backoffice.PaymentQuery{From: from, To: to}, []string{"tenant_id", "created_at"}},
		{"cursor", backoffice.PaymentQuery{Before: cur}, []string{"tenant_id", "created_at"}},
		{"status and cursor", backoffice.PaymentQuery{Status: DepositCaptured, Before: cur}, []string{"tenant_id", "status", "created_at"}},
		{"search", backoffice.PaymentQuery{Search: "ORD-1"}, nil},
		{"search and cursor", backoffice.PaymentQuery{Search: "ORD-1", Before: cur}, nil},
	}
	var cases []storetest.PlanCase
	for _, kind := range []string{OfficeKindDeposit, OfficeKindPayout} {
		for _, l := range lists {
			l.q.Limit = backoffice.PaymentsPageSize
			for i, q := range officeListQueries(kind, "ten_a", l.q) {
				c := storetest.PlanCase{Name: "office " + kind + "s " + l.name, SQL: q.sql, Args: q.args, Paged: true, Bound: l.bound}
				if l.q.Search != "" { // by id (the primary key), by the Platform's reference (unique per tenant)
					c.Bound = [][]string{{"id"}, {"tenant_id", "reference"}}[i]
					c.Paged = i == 0 // one row at most either way: the reference's is sorted
				}
				cases = append(cases, c)
			}
		}
	}
	cases = append(cases,
		storetest.PlanCase{Name: "approval queue", SQL: sqlQueueFirst, Args: []any{"ten_a", QueuePageSize + 1}, Paged: true,
			Bound: []string{"tenant_id", "status"}},
		storetest.PlanCase{Name: "approval queue after", SQL: sqlQueueAfter, Args: []any{"ten_a", from.UnixMicro(), "cpo_x", QueuePageSize + 1}, Paged: true,
			Bound: []string{"tenant_id", "status", "created_at"}},
		storetest.PlanCase{Name: "agent actions on an object", SQL: sqlAuditOfObject, Args: []any{"ten_a", "cdp_x"}, Paged: true,
			Bound: []string{"tenant_id", "object_id"}},
		storetest.PlanCase{Name: "live deposit of a session", SQL: sqlLiveDeposit, Args: []any{"css_x", "ten_a"}, Bound: []string{"session_id"}},
		storetest.PlanCase{Name: "office figures", SQL: sqlOfficeFigures, Args: []any{"ten_a", from.UnixMicro(), to.UnixMicro()},
			Bound: []string{"tenant_id", "created_at"}})
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		storetest.CheckPlans(t, db, nil, cases)
	})
}
