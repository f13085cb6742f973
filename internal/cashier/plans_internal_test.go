package cashier

import (
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestListQueryPlans checks that the Payment API's and the Agent API's
// lists of deposits and payouts walk an index on both engines with every
// filter that changes their plan, and that the customers' list and the
// audit log do too.
func TestListQueryPlans(t *testing.T) {
	cursor := keyset{at: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro(), id: "cdp_x"}
	filters := []struct {
		name  string
		f     Filter
		k     keyset
		bound []string // besides tenant_id
	}{
		{"newest", Filter{}, keyset{}, nil},
		{"status", Filter{Status: "requested"}, keyset{}, []string{"status"}},
		{"customer", Filter{CustomerID: "c-1"}, keyset{}, []string{"customer_id"}},
		{"cursor", Filter{}, cursor, []string{"created_at"}},
		{"status and cursor", Filter{Status: "requested"}, cursor, []string{"status", "created_at"}},
		{"customer and cursor", Filter{CustomerID: "c-1"}, cursor, []string{"customer_id", "created_at"}},
		{"search", Filter{Q: "ref-1"}, keyset{}, nil},
		{"psp", Filter{PSP: "bank"}, keyset{}, nil},
	}
	var cases []storetest.PlanCase
	for _, table := range []struct{ name, cols string }{{"cashier_deposits", depositCols}, {"cashier_payouts", payoutCols}} {
		for _, l := range filters {
			l.f.Limit = DefaultPage
			q, args := listQuery(table.name, table.cols, "ten_a", l.f, l.k)
			cases = append(cases, storetest.PlanCase{Name: table.name + " " + l.name, SQL: q, Args: args, Paged: true,
				Bound: append([]string{"tenant_id"}, l.bound...)})
		}
	}
	cases = append(cases,
		storetest.PlanCase{Name: "customers", SQL: `SELECT ` + customerCols + ` FROM cashier_customers WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
			Args: []any{"ten_a", "", 21}, Paged: true, Bound: []string{"tenant_id", "id"}},
		storetest.PlanCase{Name: "audit", SQL: `SELECT id, agent, action, object_id, detail, created_at FROM cashier_audit WHERE tenant_id = $1
			AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT 21`, Args: []any{"ten_a", cursor.at, "cau_x"}, Paged: true,
			Bound: []string{"tenant_id", "created_at"}},
	)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		storetest.CheckPlans(t, db, nil, cases)
	})
}
