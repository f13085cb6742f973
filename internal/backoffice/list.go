package backoffice

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// ListColumns name a source table's columns for ListQuery.
type ListColumns struct {
	Tenant  string // e.g. "tenant_id"
	Created string // Unix microseconds, e.g. "created_at"
	Ref     string // the reference, the order's tie-breaker, e.g. "reference"
	Status  string // e.g. "status"
}

// ListQuery returns the SELECT of one page of a source's items for q:
// sel is "SELECT … FROM table [alias]"; the tenant, status, creation range
// and cursor become conditions on c's columns; when match is not "" the
// column match must equal q.Search (a source searching several columns runs
// one query per column, each walking its own index, and merges them with
// MergeItems). Ordered by (created desc, ref desc), q.Limit+1 rows (to know
// whether another page follows). Placeholders are $1, $2…, as on both
// engines.
func ListQuery(sel string, c ListColumns, tenantID string, q PaymentQuery, match string) (string, []any) {
	args := []any{tenantID}
	where := []string{c.Tenant + " = $1"}
	add := func(cond string, v ...any) {
		for _, a := range v {
			args = append(args, a)
			cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1)
		}
		where = append(where, cond)
	}
	if match != "" {
		add(match+" = ?", q.Search)
	}
	if q.Status != "" {
		add(c.Status+" = ?", q.Status)
	}
	if !q.From.IsZero() {
		add(c.Created+" >= ?", q.From.UnixMicro())
	}
	if !q.To.IsZero() {
		add(c.Created+" < ?", q.To.UnixMicro())
	}
	if q.Before != nil {
		if q.Before.Ref == "" {
			add(c.Created+" < ?", q.Before.At.UnixMicro())
		} else { // a row value: the index walk starts at the cursor
			add("("+c.Created+", "+c.Ref+") < (?, ?)", q.Before.At.UnixMicro(), q.Before.Ref)
		}
	}
	return sel + " WHERE " + strings.Join(where, " AND ") + " ORDER BY " + c.Created + " DESC, " + c.Ref + " DESC LIMIT " +
		strconv.Itoa(max(q.Limit, 1)+1), args
}

// MergeItems merges lists of items, each newest first, into one list
// newest first (created desc, kind asc, reference desc), without
// duplicates (the same kind and reference), cut to limit items; more
// reports whether items were cut.
func MergeItems(limit int, lists ...[]PaymentItem) (items []PaymentItem, more bool) {
	seen := map[string]bool{}
	for _, l := range lists {
		for _, it := range l {
			if k := it.Kind + "\x00" + it.Reference; !seen[k] {
				seen[k] = true
				items = append(items, it)
			}
		}
	}
	slices.SortFunc(items, compareItems)
	if len(items) > limit {
		return items[:limit], true
	}
	return items, false
}

// compareItems is the unified list's order.
func compareItems(a, b PaymentItem) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	return cmp.Compare(b.Reference, a.Reference)
}
