package storetest

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/store"
)

// PlanCase is one query a list endpoint runs, with representative
// arguments, whose query plan CheckPlans reads.
type PlanCase struct {
	Name string
	SQL  string
	Args []any
	// Paged marks a query that answers a page in its ORDER BY: an index
	// must give that order, so a sort of the rows fails the check…
	Paged bool
	// …unless SortOK says why the rows sorted are few whatever the size of
	// the table (for example one page read in index order from each arm of
	// a UNION ALL). PostgreSQL still plans a page with sorts disabled, so a
	// sort remains there only where no index gives the order.
	SortOK string
	// Bound names the columns the index walk must be bounded by, in an
	// index condition (not a filter of the rows walked): the list's scope
	// (tenant_id, account_id…), so that it does not walk other tenants'
	// rows, and for a page after a cursor the cursor's key, so that it
	// starts at the cursor instead of walking the pages before it.
	Bound []string
}

// Plan is a query plan read from the engine, one node a line.
type Plan []PlanNode

// PlanNode is one node of a plan.
type PlanNode struct {
	Text string // as the engine prints it
	// Problem is why the node fails the check ("" when it does not).
	Problem string
	// Cond is the node's index condition ("" when it has none).
	Cond string
}

func (p Plan) String() string {
	lines := make([]string, len(p))
	for i, n := range p {
		lines[i] = "  " + n.Text
	}
	return strings.Join(lines, "\n")
}

// CheckPlans explains every case on db and fails the test for each one
// that would scan a whole table not named in small (table → why a scan of
// it is fine), build a temporary index over one, sort a paged query's
// rows, join without looking the inner rows up by the join key
// (PostgreSQL), or walk an index unbounded by a column of the case's
// Bound. On SQLite it reads EXPLAIN QUERY PLAN; on PostgreSQL, EXPLAIN
// (FORMAT JSON) with sequential scans disabled, and sorts too for a paged
// query (on small test tables the planner picks them regardless:
// disabled, they remain only where no index can serve).
func CheckPlans(t *testing.T, db *store.DB, small map[string]string, cases []PlanCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			plan, err := Explain(context.Background(), db, c, small)
			if err != nil {
				t.Fatalf("explain: %v\n%s", err, c.SQL)
			}
			t.Logf("plan (%s):\n%s", db.Dialect(), plan)
			for _, msg := range plan.Problems(c) {
				t.Errorf("%s\nquery: %s\nplan:\n%s", msg, c.SQL, plan)
			}
		})
	}
}

// Problems lists why the plan fails the checks of c (none when it passes).
func (p Plan) Problems(c PlanCase) []string {
	var out []string
	for _, n := range p {
		if n.Problem != "" {
			out = append(out, n.Problem)
		}
	}
	for _, col := range c.Bound {
		if !p.bounds(col) {
			out = append(out, fmt.Sprintf("no index condition on %s: the walk reads rows it then filters out (other scopes' rows, or the pages before the cursor)", col))
		}
	}
	return out
}

// bounds reports whether an index condition of the plan names col.
func (p Plan) bounds(col string) bool {
	word := regexp.MustCompile(`\b` + regexp.QuoteMeta(col) + `\b`)
	for _, n := range p {
		if word.MatchString(n.Cond) {
			return true
		}
	}
	return false
}

// Explain returns the plan of c on db, each node judged against c.
func Explain(ctx context.Context, db *store.DB, c PlanCase, small map[string]string) (Plan, error) {
	var plan Plan
	err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		if tx.Dialect() == store.Postgres {
			plan, err = explainPostgres(ctx, tx, c, small)
		} else {
			plan, err = explainSQLite(ctx, tx, c, small)
		}
		return err
	})
	return plan, err
}
