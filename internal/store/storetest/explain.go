package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/cashgate/cashgate/internal/store"
)

// explainSQLite reads EXPLAIN QUERY PLAN: one line per loop or step.
func explainSQLite(ctx context.Context, tx *store.Tx, c PlanCase, small map[string]string) (Plan, error) {
	rows, err := tx.QueryContext(ctx, "EXPLAIN QUERY PLAN "+c.SQL, c.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	tables := aliases(c.SQL)
	var plan Plan
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		if w := strings.Fields(detail); len(w) == 2 && (w[0] == "CO-ROUTINE" || w[0] == "MATERIALIZE") {
			tables[w[1]] = "(subquery)" // its SCAN reads the subquery's rows, checked on their own lines
		}
		plan = append(plan, sqliteNode(detail, c, small, tables))
	}
	return plan, rows.Err()
}

// sqliteNode judges one line of EXPLAIN QUERY PLAN ("SCAN t", "SEARCH t
// USING INDEX i (a=? AND b<?)", "USE TEMP B-TREE FOR ORDER BY"…).
// SQLite names a table by its alias when the query gives one; tables
// maps aliases back to table names.
func sqliteNode(detail string, c PlanCase, small, tables map[string]string) PlanNode {
	n := PlanNode{Text: detail}
	words := strings.Fields(detail)
	if len(words) >= 2 && tables[words[1]] != "" {
		words[1] = tables[words[1]]
	}
	switch {
	case strings.Contains(detail, "AUTOMATIC"):
		n.Problem = "builds an automatic index: reads the whole table first (" + detail + ")"
	case len(words) >= 2 && words[0] == "SCAN" && !strings.HasPrefix(words[1], "(") && words[1] != "CONSTANT" &&
		!strings.Contains(detail, " USING INDEX ") && !strings.Contains(detail, " USING COVERING INDEX "):
		if _, ok := small[words[1]]; !ok {
			n.Problem = "scans the whole table " + words[1] + " (" + detail + ")"
		}
	case detail == "USE TEMP B-TREE FOR ORDER BY" && c.Paged && c.SortOK == "":
		n.Problem = "sorts the rows of a paged query: no index gives its ORDER BY"
	case words[0] == "SEARCH":
		if i := strings.Index(detail, " ("); i >= 0 {
			n.Cond = detail[i+1:]
		}
	}
	return n
}

// fromItem matches "FROM table alias", "JOIN table AS alias"…
var fromItem = regexp.MustCompile(`(?i)\b(?:FROM|JOIN)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?`)

// aliases maps the aliases given in query to their tables.
func aliases(query string) map[string]string {
	out := map[string]string{}
	for _, m := range fromItem.FindAllStringSubmatch(query, -1) {
		switch strings.ToUpper(m[2]) {
		case "", "WHERE", "JOIN", "LEFT", "INNER", "CROSS", "ON", "ORDER", "GROUP", "LIMIT", "UNION":
		default:
			out[m[2]] = m[1]
		}
	}
	return out
}

// explainPostgres reads EXPLAIN (FORMAT JSON) with sequential scans (and
// for a page, sorts) disabled for the transaction.
func explainPostgres(ctx context.Context, tx *store.Tx, c PlanCase, small map[string]string) (Plan, error) {
	set := []string{"SET LOCAL enable_seqscan = off"}
	if c.Paged {
		set = append(set, "SET LOCAL enable_sort = off")
	}
	for _, s := range set {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return nil, err
		}
	}
	var out string
	if err := tx.QueryRowContext(ctx, "EXPLAIN (FORMAT JSON) "+c.SQL, c.Args...).Scan(&out); err != nil {
		return nil, err
	}
	var doc []struct{ Plan pgNode }
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc) != 1 {
		return nil, fmt.Errorf("unexpected EXPLAIN output %q: %v", out, err)
	}
	var plan Plan
	doc[0].Plan.walk(0, func(depth int, p pgNode) {
		plan = append(plan, p.judge(depth, c, small))
	})
	return plan, nil
}

// pgNode is the part of a PostgreSQL plan node the check reads.
type pgNode struct {
	Type      string   `json:"Node Type"`
	Relation  string   `json:"Relation Name"`
	Alias     string   `json:"Alias"`
	Index     string   `json:"Index Name"`
	Direction string   `json:"Scan Direction"`
	IndexCond string   `json:"Index Cond"`
	Filter    string   `json:"Filter"`
	JoinCond  string   `json:"Join Filter"`
	SortKey   []string `json:"Sort Key"`
	Plans     []pgNode `json:"Plans"`
}

func (p pgNode) walk(depth int, f func(int, pgNode)) {
	f(depth, p)
	for _, c := range p.Plans {
		c.walk(depth+1, f)
	}
}

func (p pgNode) judge(depth int, c PlanCase, small map[string]string) PlanNode {
	n := PlanNode{Text: strings.Repeat("  ", depth) + p.String()}
	switch p.Type {
	case "Seq Scan":
		if _, ok := small[p.Relation]; !ok {
			n.Problem = "scans the whole table " + p.Relation + " (Seq Scan with sequential scans disabled: no index serves it)"
		}
	case "Nested Loop":
		if p.JoinCond != "" && !p.innerLookedUp() {
			n.Problem = "a nested loop joins on " + p.JoinCond + " as a filter: its inner side is walked again for every outer row, not looked up by the join key"
		}
	case "Sort":
		if c.Paged && c.SortOK == "" {
			n.Problem = "sorts the rows of a paged query (Sort on " + strings.Join(p.SortKey, ", ") + " with sorts disabled): no index gives its ORDER BY"
		}
	}
	n.Cond = p.IndexCond
	return n
}

// innerLookedUp reports whether the inner side of a nested loop with a
// join filter is an index scan whose condition holds every column of it
// the filter names (the planner may bound the inner by a value the join
// key equals, e.g. f.id = 'x' for a filter f.id = t.from_user with
// t.from_user = 'x'): then the filter only repeats the lookup.
func (p pgNode) innerLookedUp() bool {
	if len(p.Plans) != 2 || p.Plans[1].Alias == "" || p.Plans[1].IndexCond == "" {
		return false
	}
	in := p.Plans[1]
	cols := regexp.MustCompile(`\b`+regexp.QuoteMeta(in.Alias)+`\.(\w+)`).FindAllStringSubmatch(p.JoinCond, -1)
	for _, m := range cols {
		if !regexp.MustCompile(`\b` + m[1] + `\b`).MatchString(in.IndexCond) {
			return false
		}
	}
	return len(cols) > 0
}

func (p pgNode) String() string {
	s := p.Type
	if p.Direction == "Backward" {
		s += " Backward"
	}
	if p.Index != "" {
		s += " using " + p.Index
	}
	if p.Relation != "" {
		s += " on " + p.Relation
	}
	for _, kv := range [][2]string{{"Index Cond", p.IndexCond}, {"Filter", p.Filter}, {"Join Filter", p.JoinCond}, {"Sort Key", strings.Join(p.SortKey, ", ")}} {
		if kv[1] != "" {
			s += " [" + kv[0] + ": " + kv[1] + "]"
		}
	}
	return s
}
