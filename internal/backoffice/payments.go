package backoffice

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/webkit"
)

// PaymentsPageSize is the unified list's page length.
const PaymentsPageSize = 25

// paymentsData is the Payments page: the filter form, the kinds and
// statuses to choose from, one page of items and the next page's link.
type paymentsData struct {
	Kinds    []kindOption
	Statuses []string
	Table    webkit.Table
	Older    string // the next page's link ("" on the last page)
	First    string // the first page's link ("" on the first page)
}

type kindOption struct {
	Kind, Label string
	Selected    bool
}

// listFilter is the parsed filter of the Payments page.
type listFilter struct {
	search, kind, status string
	from, to             time.Time
	before               *listCursor
}

// listCursor is the unified list's position: the last item shown.
type listCursor struct {
	at        time.Time
	kind, ref string
}

func (o *Office) paymentsPage(w http.ResponseWriter, r *http.Request, a *Admin) {
	f := webkit.NewForm(nil)
	for _, k := range []string{"q", "kind", "status", "from", "to"} {
		f.Values.Set(k, strings.TrimSpace(r.URL.Query().Get(k)))
	}
	lf := o.parseFilter(f, r.URL.Query().Get("before"), a)
	d := paymentsData{Statuses: append([]string{""}, o.statuses()...), Table: webkit.Table{Caption: "Payments",
		Columns: []string{"Created", "Kind", "Source", "Reference", "Order", "Amount", "Status"}, Empty: "No payments match."}}
	for _, src := range o.sources() {
		k := src.PaymentKind()
		d.Kinds = append(d.Kinds, kindOption{Kind: k.Kind, Label: k.Label, Selected: k.Kind == lf.kind})
	}
	status := http.StatusOK
	if f.OK() {
		items, more, err := o.listPayments(r, a.TenantID, lf)
		if err != nil {
			o.Fail(w, r, a, "payments list", err)
			return
		}
		for _, it := range items {
			source := it.Source
			if source == "" {
				source = "—"
			}
			d.Table.Rows = append(d.Table.Rows, []webkit.Cell{{Text: a.Time(it.CreatedAt)}, {Text: o.kindLabel(it.Kind)}, {Text: source},
				{Text: it.Reference, Mono: true, Href: it.DetailURL}, {Text: it.OrderNumber}, {Text: FormatAmount(it.Amount, it.Currency)},
				{Text: it.Status}})
		}
		if more {
			last := items[len(items)-1]
			d.Older = pageLink(r, strconv.FormatInt(last.CreatedAt.UnixMicro(), 10)+"."+last.Kind+"."+last.Reference)
		}
		if lf.before != nil {
			d.First = pageLink(r, "")
		}
	} else {
		status = http.StatusUnprocessableEntity
	}
	o.Render(w, r, a, status, o.pages.payments, webkit.View{Title: "Payments", Data: d, Form: f})
}

// pageLink is this page's address with the cursor before ("" = the first page).
func pageLink(r *http.Request, before string) string {
	q := url.Values{}
	for k, v := range r.URL.Query() {
		q[k] = v
	}
	q.Del("before")
	if before != "" {
		q.Set("before", before)
	}
	if len(q) == 0 {
		return r.URL.Path
	}
	return r.URL.Path + "?" + q.Encode()
}

// parseFilter reads the filter form (errors beside its fields): the dates
// are days in the admin user's time zone, "to" included.
func (o *Office) parseFilter(f *webkit.Form, before string, a *Admin) listFilter {
	lf := listFilter{search: f.Get("q"), kind: f.Get("kind"), status: f.Get("status")}
	for _, k := range []string{"q", "kind", "status", "from", "to"} {
		if httpx.CheckText(k, f.Get(k)) != nil {
			f.Fail(k, "This field holds a control character (such as a tab or a NUL), which is not accepted.")
		}
	}
	if len(lf.search) > 100 {
		f.Fail("q", "At most 100 characters.")
	}
	if lf.kind != "" && o.source(lf.kind) == nil {
		f.Fail("kind", "Choose one of the kinds offered.")
	}
	if lf.status != "" && !slices.Contains(o.statuses(), lf.status) {
		f.Fail("status", "Choose one of the statuses offered.")
	}
	day := func(name string) time.Time {
		s := f.Get(name)
		if s == "" {
			return time.Time{}
		}
		t, err := time.ParseInLocation(time.DateOnly, s, a.Location())
		if err != nil {
			f.Fail(name, "Enter a date such as 2026-11-21.")
		}
		return t
	}
	lf.from, lf.to = day("from"), day("to")
	if !lf.to.IsZero() {
		lf.to = lf.to.AddDate(0, 0, 1) // the whole day
	}
	if !lf.from.IsZero() && !lf.to.IsZero() && !lf.from.Before(lf.to) {
		f.Fail("to", "The last day must not be before the first.")
	}
	c, ok := parseListCursor(before)
	if !ok {
		f.Message = "That page of the list does not exist; start again from the newest."
	}
	lf.before = c
	return lf
}

func parseListCursor(s string) (*listCursor, bool) {
	if s == "" {
		return nil, true
	}
	at, rest, ok1 := strings.Cut(s, ".")
	kind, ref, ok2 := strings.Cut(rest, ".")
	us, err := strconv.ParseInt(at, 10, 64)
	if !ok1 || !ok2 || err != nil || us <= 0 || kind == "" || ref == "" || len(s) > 200 || httpx.CheckText("before", s) != nil {
		return nil, false
	}
	return &listCursor{at: time.UnixMicro(us).UTC(), kind: kind, ref: ref}, true
}

// listPayments asks each source that the filter selects for a page after
// the cursor and merges them: the list is ordered by (created desc, kind,
// reference desc), so a source of a kind before the cursor's continues
// strictly before its time, the cursor's own kind after its reference, and
// a kind after it at its time included.
func (o *Office) listPayments(r *http.Request, tenantID string, lf listFilter) ([]PaymentItem, bool, error) {
	var lists [][]PaymentItem
	for _, src := range o.sources() {
		k := src.PaymentKind()
		if (lf.kind != "" && k.Kind != lf.kind) || (lf.status != "" && !slices.Contains(k.Statuses, lf.status)) {
			continue
		}
		q := PaymentQuery{Search: lf.search, Status: lf.status, From: lf.from, To: lf.to, Limit: PaymentsPageSize}
		if c := lf.before; c != nil {
			switch {
			case k.Kind == c.kind:
				q.Before = &Cursor{At: c.at, Ref: c.ref}
			case k.Kind < c.kind:
				q.Before = &Cursor{At: c.at}
			default:
				q.Before = &Cursor{At: c.at.Add(time.Microsecond)}
			}
		}
		items, err := src.ListPayments(r.Context(), tenantID, q)
		if err != nil {
			return nil, false, err
		}
		lists = append(lists, items)
	}
	items, more := MergeItems(PaymentsPageSize, lists...)
	return items, more, nil
}

// source returns the payments source of kind, or nil.
func (o *Office) source(kind string) PaymentSource {
	for _, src := range o.sources() {
		if src.PaymentKind().Kind == kind {
			return src
		}
	}
	return nil
}

func (o *Office) kindLabel(kind string) string {
	if s := o.source(kind); s != nil {
		return s.PaymentKind().Label
	}
	return kind
}

// sources are every module's payment sources.
func (o *Office) sources() []PaymentSource {
	var out []PaymentSource
	for _, m := range o.modules {
		out = append(out, m.sources()...)
	}
	return out
}

// statuses are every source's statuses, sorted, once each.
func (o *Office) statuses() []string {
	var out []string
	for _, src := range o.sources() {
		out = append(out, src.PaymentKind().Statuses...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
