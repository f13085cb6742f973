package storetest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestExplainJudges checks the plan checker itself on both engines: it
// flags a whole-table scan, a sorted page, an index walk unbounded by the
// scope or a cursor walked to, a join by a filter, and passes index walks.
func TestExplainJudges(t *testing.T) {
	const list = `SELECT id FROM remote_payments WHERE tenant_id = $1`
	const newest = ` ORDER BY created_at DESC, id DESC LIMIT 21`
	cases := []struct {
		name  string
		c     storetest.PlanCase
		small map[string]string
		want  []string // substrings of the problems found, in order; none for a clean plan
		// wantPG, when set, replaces want on PostgreSQL.
		wantPG []string
	}{
		{"index walk", storetest.PlanCase{SQL: list + newest, Args: []any{"ten_a"}, Paged: true, Bound: []string{"tenant_id"}}, nil, nil, nil},
		{"unbounded walk", storetest.PlanCase{SQL: `SELECT id FROM remote_payments WHERE amount = $1 ORDER BY tenant_id DESC, created_at DESC, id DESC LIMIT 21`,
			Args: []any{int64(5)}, Paged: true, Bound: []string{"amount"}}, nil, []string{"no index condition on amount"}, nil},
		{"cursor seek", storetest.PlanCase{SQL: list + ` AND (created_at, id) < ($2, $3)` + newest,
			Args: []any{"ten_a", int64(5), "p"}, Paged: true, Bound: []string{"tenant_id", "created_at"}}, nil, nil, nil},
		{"cursor walked to", storetest.PlanCase{SQL: list + ` AND (created_at < $2 OR id < $3)` + newest,
			Args: []any{"ten_a", int64(5), "p"}, Paged: true, Bound: []string{"tenant_id", "created_at"}}, nil, []string{"no index condition on created_at"}, nil},
		{"whole table", storetest.PlanCase{SQL: `SELECT id FROM tenants t WHERE t.name = $1`, Args: []any{"x"}}, nil,
			[]string{"scans the whole table tenants"}, nil},
		{"small table", storetest.PlanCase{SQL: `SELECT id FROM tenants t WHERE t.name = $1`, Args: []any{"x"}},
			map[string]string{"tenants": "test"}, nil, nil},
		{"sorted page", storetest.PlanCase{SQL: `SELECT id FROM remote_payments WHERE tenant_id = $1 ORDER BY amount LIMIT 5`,
			Args: []any{"ten_a"}, Paged: true}, nil, []string{"sorts the rows"}, nil},
		{"sort allowed", storetest.PlanCase{SQL: `SELECT id FROM remote_payments WHERE tenant_id = $1 ORDER BY amount LIMIT 5`,
			Args: []any{"ten_a"}, Paged: true, SortOK: "test"}, nil, nil, nil},
		{"join by key", storetest.PlanCase{SQL: `SELECT p.id FROM remote_refunds f JOIN remote_payments p ON p.id = f.payment_id WHERE f.payment_id = $1`,
			Args: []any{"4000000000000001"}}, nil, nil, nil},
		{"join by a filter", storetest.PlanCase{SQL: `SELECT p.id FROM remote_refunds f JOIN remote_payments p ON p.amount = f.amount
WHERE f.payment_id = $1 AND p.tenant_id = $2`, Args: []any{"4000000000000001", "ten_a"}}, nil,
			nil, []string{"nested loop joins on"}}, // SQLite drives from the refunds' index
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				plan, err := storetest.Explain(context.Background(), db, tc.c, tc.small)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("plan:\n%s", plan)
				got, want := plan.Problems(tc.c), tc.want
				if db.Dialect() == store.Postgres && tc.wantPG != nil {
					want = tc.wantPG
				}
				if len(got) != len(want) {
					t.Fatalf("problems %q, want %q\nplan:\n%s", got, want, plan)
				}
				for i, w := range want {
					if !strings.Contains(got[i], w) {
						t.Errorf("problem %q, want one with %q\nplan:\n%s", got[i], w, plan)
					}
				}
			})
		}
	})
}
