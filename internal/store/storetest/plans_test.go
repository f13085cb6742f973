package storetest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestExplainJudges checks the plan checker itself on both engines: it
// flags a whole-table scan, a sorted page and a cursor walked to, and
// passes an index walk.
func TestExplainJudges(t *testing.T) {
	const list = `SELECT id FROM remote_payments WHERE tenant_id = $1`
	const newest = ` ORDER BY created_at DESC, id DESC LIMIT 21`
	cases := []struct {
		name  string
		c     storetest.PlanCase
		small map[string]string
		want  []string // substrings of the problems found, in order; none for a clean plan
	}{
		{"index walk", storetest.PlanCase{SQL: list + newest, Args: []any{"ten_a"}, Paged: true}, nil, nil},
		{"cursor seek", storetest.PlanCase{SQL: list + ` AND (created_at, id) < ($2, $3)` + newest,
			Args: []any{"ten_a", int64(5), "p"}, Paged: true, Seek: "created_at"}, nil, nil},
		{"cursor walked to", storetest.PlanCase{SQL: list + ` AND (created_at < $2 OR id < $3)` + newest,
			Args: []any{"ten_a", int64(5), "p"}, Paged: true, Seek: "created_at"}, nil, []string{"cursor"}},
		{"whole table", storetest.PlanCase{SQL: `SELECT id FROM tenants t WHERE t.name = $1`, Args: []any{"x"}}, nil,
			[]string{"scans the whole table tenants"}},
		{"small table", storetest.PlanCase{SQL: `SELECT id FROM tenants t WHERE t.name = $1`, Args: []any{"x"}},
			map[string]string{"tenants": "test"}, nil},
		{"sorted page", storetest.PlanCase{SQL: `SELECT id FROM remote_payments WHERE tenant_id = $1 ORDER BY amount LIMIT 5`,
			Args: []any{"ten_a"}, Paged: true}, nil, []string{"sorts the rows"}},
		{"sort allowed", storetest.PlanCase{SQL: `SELECT id FROM remote_payments WHERE tenant_id = $1 ORDER BY amount LIMIT 5`,
			Args: []any{"ten_a"}, Paged: true, SortOK: "test"}, nil, nil},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				plan, err := storetest.Explain(context.Background(), db, tc.c, tc.small)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("plan:\n%s", plan)
				got := plan.Problems(tc.c)
				if len(got) != len(tc.want) {
					t.Fatalf("problems %q, want %q\nplan:\n%s", got, tc.want, plan)
				}
				for i, w := range tc.want {
					if !strings.Contains(got[i], w) {
						t.Errorf("problem %q, want one with %q\nplan:\n%s", got[i], w, plan)
					}
				}
			})
		}
	})
}
