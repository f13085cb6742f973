package gateway

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The payment links pages (issue 10): agents and owners create a link
// (CreateLink, the API's), list them (filtered by status, paged), and open
// one for its URL, its QR code (SVG shown, PNG and SVG to download) and
// the "Pay now" HTML to copy; a pending link can be cancelled after a
// confirmation (CancelLink). Each action is audited in its transaction.

const officeLinks = "/office/gateway/links"

func (m *office) linkRoutes() []backoffice.Route {
	const link = officeLinks + "/{id}"
	return []backoffice.Route{
		{Method: http.MethodGet, Path: officeLinks, Summary: "payment links: create one; the list, by status, newest first",
			Query: []string{"status", "after"}, Handler: m.linksPage},
		{Method: http.MethodPost, Path: officeLinks, Summary: "create a payment link", Handler: m.createLink},
		{Method: http.MethodGet, Path: link, Summary: "a payment link: its URL, QR code and Pay now button", Handler: m.linkPage},
		{Method: http.MethodGet, Path: link + "/qr.svg", Summary: "a payment link's QR code (SVG)", Handler: m.linkQR(true)},
		{Method: http.MethodGet, Path: link + "/qr.png", Summary: "a payment link's QR code (PNG)", Handler: m.linkQR(false)},
		{Method: http.MethodPost, Path: link + "/cancel", Summary: "cancel a payment link (confirmed first)", Handler: m.cancelLink},
	}
}

// officeLinkList is the payment links page.
type officeLinkList struct {
	Currencies []string
	Statuses   []string     // the filter's choices ("All" first)
	Filter     *webkit.Form // the filter's value
	Table      webkit.Table
	Older      string
	First      bool
}

// linkFields maps CreateLink's field names to the form's.
var linkFields = map[string]string{"amountToCollect": "amount", "currency": "currency", "description": "description",
	"orderNumber": "orderNumber", "expirationDateTimeUtc": "expires"}

func linkForm() *webkit.Form { return webkit.NewForm(map[string]string{"currency": "GBP"}) }

func (m *office) linksPage(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	m.renderLinks(w, r, a, http.StatusOK, linkForm())
}

func (m *office) renderLinks(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, status int, f *webkit.Form) {
	q := r.URL.Query()
	lf := LinkFilter{Status: q.Get("status"), After: q.Get("after")}
	if lf.Status == "All" {
		lf.Status = ""
	}
	page, err := m.s.ListLinks(r.Context(), a.TenantID, lf)
	if apperr.Is(err, apperr.Invalid) { // a filter or cursor not from this page: the newest of all
		lf = LinkFilter{}
		page, err = m.s.ListLinks(r.Context(), a.TenantID, lf)
	}
	if err != nil {
		m.o.Fail(w, r, a, "payment links", err)
		return
	}
	d := officeLinkList{Currencies: AcceptedCurrencies(), Statuses: append([]string{"All"}, LinkStatuses()...),
		Filter: webkit.NewForm(map[string]string{"status": "All"}), First: lf.After == "", Table: linksTable(a, page, m.s.now())}
	if lf.Status != "" {
		d.Filter.Values.Set("status", lf.Status)
	}
	if page.Next != "" {
		d.Older = officeLinks + "?after=" + page.Next + "&status=" + lf.Status + "#links"
	}
	m.o.Render(w, r, a, status, m.pages.links, webkit.View{Title: "Payment links", Data: d, Form: f})
}

func linksTable(a *backoffice.Admin, page LinkPage, now time.Time) webkit.Table {
	t := webkit.Table{Caption: "Payment links", Columns: []string{"Created", "Amount", "Description", "Order number", "Status", "Expires"},
		Empty: "No payment link yet."}
	for _, j := range page.Jobs {
		t.Rows = append(t.Rows, []webkit.Cell{{Text: a.Time(j.CreatedAt), Href: officeLinks + "/" + j.Ref},
			{Text: backoffice.FormatAmount(j.Amount, j.Currency.Code())}, {Text: dash(j.Params.Description)},
			{Text: dash(j.OrderNumber), Mono: j.OrderNumber != ""}, {Text: linkStatus(j, now)}, {Text: a.Time(j.ExpiresAt)}})
	}
	return t
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// createLink makes the link and opens its page.
func (m *office) createLink(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	f := webkit.FormOf(r)
	f.Required("amount", "currency")
	req := CreatePaymentLinkRequest{AmountToCollect: Flex(f.Get("amount")), Currency: f.Get("currency"),
		Description: f.Get("description"), OrderNumber: f.Get("orderNumber")}
	if v := f.Get("expires"); v != "" {
		day, err := time.ParseInLocation(time.DateOnly, v, a.Location())
		if err != nil {
			f.Fail("expires", "Enter a date such as 2026-12-31.")
		}
		req.ExpirationDateTimeUtc = day.AddDate(0, 0, 1).Add(-time.Second).UTC().Format(time.RFC3339) // the end of that day
	}
	if !f.OK() {
		m.renderLinks(w, r, a, http.StatusUnprocessableEntity, f)
		return
	}
	var j *job
	err := m.o.Do(r, a, backoffice.Action{Name: "gateway.create_link", Subject: strings.TrimSpace(req.OrderNumber),
		Detail: string(req.AmountToCollect) + " " + strings.ToUpper(req.Currency)}, func(ctx context.Context) error {
		var err error
		j, err = m.s.CreateLink(ctx, a.TenantID, req)
		return err
	})
	if err != nil {
		if c := apperr.CodeOf(err); c == apperr.Internal || c == apperr.Unavailable {
			m.s.Log.ErrorContext(r.Context(), "gateway: create payment link", "err", err)
		}
		f.FailWith(err, linkFields)
		m.renderLinks(w, r, a, http.StatusUnprocessableEntity, f)
		return
	}
	m.o.Redirect(w, r, officeLinks+"/"+j.Ref, "Payment link created.")
}

// officeLink is a payment link's page.
type officeLink struct {
	PaymentLink
	Created, Expires, Paid string
	CanCancel              bool
}

// link reads the tenant's link of the path (another tenant's is not found).
func (m *office) link(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) (*job, bool) {
	j, err := m.s.Link(r.Context(), a.TenantID, r.PathValue("id"))
	if apperr.Is(err, apperr.NotFound) {
		m.o.NotFound(w, r, a)
		return nil, false
	}
	if err != nil {
		m.o.Fail(w, r, a, "payment link", err)
		return nil, false
	}
	return j, true
}

func (m *office) linkPage(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	j, ok := m.link(w, r, a)
	if !ok {
		return
	}
	v, err := m.s.LinkView(r.Context(), j)
	if err != nil {
		m.o.Fail(w, r, a, "payment link", err)
		return
	}
	d := officeLink{PaymentLink: v, Created: a.Time(j.CreatedAt), Expires: a.Time(j.ExpiresAt), Paid: a.Time(j.PaidAt),
		CanCancel: v.Status == StPending}
	m.o.Render(w, r, a, http.StatusOK, m.pages.link, webkit.View{Title: "Payment link " + j.Ref, Data: d})
}

func (m *office) linkQR(svg bool) backoffice.Handler {
	return func(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
		if j, ok := m.link(w, r, a); ok {
			m.s.WriteQR(w, r, j, svg)
		}
	}
}

// cancelLink shows the confirmation step, then cancels the link.
func (m *office) cancelLink(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	j, ok := m.link(w, r, a)
	if !ok {
		return
	}
	back := officeLinks + "/" + j.Ref
	if !backoffice.Confirmed(r) {
		c := backoffice.Confirm{Question: "Cancel payment link " + j.Ref + "? Its page will say so and take no payment.",
			Button: "Confirm cancellation", Action: r.URL.Path, Back: back}
		m.o.Ask(w, r, a, c)
		return
	}
	err := m.o.Do(r, a, backoffice.Action{Name: "gateway.cancel_link", Subject: j.Ref}, func(ctx context.Context) error {
		_, err := m.s.CancelLink(ctx, a.TenantID, j.Ref)
		return err
	})
	if m.o.Refused(w, r, a, "cancel payment link", err) {
		return
	}
	m.o.Redirect(w, r, back, "Payment link cancelled.")
}
