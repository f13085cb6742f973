package cashier

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The deposits: the list (searched by the deposit's id, the Platform's
// reference or the PSP's, filtered by status, PSP and customer, newest
// first) and a deposit's page with its timeline, notifications and the
// actions its state allows: capture (all or part) or void an authorised
// one, refund a captured one — CaptureDeposit, VoidDeposit and
// RefundDeposit via the back office, each confirmed first.

// officePSPs are the PSPs a deposit may have come through.
var officePSPs = []string{PSPCard, PSPWallet, PSPBank, PSPSim, PSPOffline}

// depositsData is the deposits' page.
type depositsData struct {
	officeView
	Statuses, PSPs []string
	Table          webkit.Table
	Next, First    string
}

func (m *office) depositsPage(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	f := webkit.NewForm(nil)
	for _, k := range []string{"q", "status", "psp", "customer"} {
		f.Values.Set(k, strings.TrimSpace(r.URL.Query().Get(k)))
	}
	flt := Filter{Q: f.Get("q"), Status: f.Get("status"), PSP: f.Get("psp"), CustomerID: f.Get("customer"),
		Page: Page{Limit: DefaultPage, Cursor: r.URL.Query().Get("cursor")}}
	checkDepositFilter(f, flt)
	d := depositsData{officeView: m.view(a, "/office/cashier/deposits", ""), Statuses: append([]string{""}, depositStatuses...),
		PSPs: append([]string{""}, officePSPs...), Table: webkit.Table{Caption: "Deposits",
			Columns: []string{"Created", "Deposit", "Customer", "PSP", "Channel", "Amount", "Status"}, Empty: "No deposits match."}}
	status := http.StatusOK
	if f.OK() {
		list, err := m.s.ListDeposits(r.Context(), a.TenantID, flt)
		if apperr.Is(err, apperr.Invalid) {
			f.Message = "That page of the list does not exist; start again from the newest."
		} else if err != nil {
			m.o.Fail(w, r, a, "cashier deposits", err)
			return
		}
		for _, x := range list.Data {
			d.Table.Rows = append(d.Table.Rows, []webkit.Cell{{Text: a.Time(x.CreatedAt)}, {Text: x.ID, Mono: true, Href: "/office/cashier/deposits/" + x.ID},
				{Text: x.CustomerID, Href: "/office/cashier/customers/" + x.CustomerID}, {Text: x.PSP}, {Text: x.Channel},
				{Text: x.Amount + " " + x.Currency}, {Text: x.Status}})
		}
		if list.Next != "" {
			d.Next = withQuery(r, "cursor", list.Next)
		}
		if flt.Cursor != "" {
			d.First = withQuery(r, "cursor", "")
		}
	}
	if !f.OK() {
		status = http.StatusUnprocessableEntity
	}
	m.o.Render(w, r, a, status, m.pages.deposits, webkit.View{Title: "Cashier deposits", Data: d, Form: f})
}

// checkDepositFilter refuses a filter beside its fields.
func checkDepositFilter(f *webkit.Form, flt Filter) {
	for _, k := range []string{"q", "status", "psp", "customer"} {
		if httpx.CheckText(k, f.Get(k)) != nil {
			f.Fail(k, "This field holds a control character (such as a tab or a NUL), which is not accepted.")
		}
	}
	if !f.OK() {
		return
	}
	if len(flt.Q) > 100 {
		f.Fail("q", "At most 100 characters.")
	}
	if flt.Status != "" && !slices.Contains(depositStatuses, flt.Status) {
		f.Fail("status", "Choose one of the statuses offered.")
	}
	if flt.PSP != "" && !slices.Contains(officePSPs, flt.PSP) {
		f.Fail("psp", "Choose one of the PSPs offered.")
	}
	if flt.CustomerID != "" && CheckCustomerID("customer", flt.CustomerID) != nil {
		f.Fail("customer", "A customer id is 1 to 64 letters, digits or . _ : -.")
	}
}

// withQuery is the request's address with key set to v ("" removes it).
func withQuery(r *http.Request, key, v string) string {
	q := url.Values{}
	for k, x := range r.URL.Query() {
		q[k] = x
	}
	q.Del(key)
	if v != "" {
		q.Set(key, v)
	}
	if len(q) == 0 {
		return r.URL.Path
	}
	return r.URL.Path + "?" + q.Encode()
}

// depositPage is a deposit's page.
type depositPage struct {
	officeView
	D                              Deposit
	Amount, Captured, Created      string
	Capturable                     string // the authorised amount, decimal, to capture
	Managed                        bool   // the back office captures, voids and refunds (settings.depositManagement)
	CanCapture, CanVoid, CanRefund bool
	Timeline                       []entry
}

func (m *office) loadDeposit(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) (*deposit, bool) {
	return load(m, w, r, a, "cashier deposit", func(q store.Querier) (*deposit, error) {
		return m.s.loadDeposit(r.Context(), q, a.TenantID, r.PathValue("id"), false)
	})
}

func (m *office) depositPage(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	if d, ok := m.loadDeposit(w, r, a); ok {
		m.renderDeposit(w, r, a, http.StatusOK, d, "")
	}
}

func (m *office) renderDeposit(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, status int, d *deposit, msg string) {
	ctx := r.Context()
	st, err := m.s.settings(ctx, m.s.db.Read(), a.TenantID)
	if err != nil {
		m.o.Fail(w, r, a, "cashier settings", err)
		return
	}
	c := m.s.psps[d.PSP]
	v := depositPage{officeView: m.view(a, "", "/office/cashier/deposits/"+d.ID), D: viewDeposit(d),
		Amount: backoffice.FormatAmount(d.Amount, d.Currency), Captured: backoffice.FormatAmount(d.CapturedAmount, d.Currency),
		Created: a.Time(d.CreatedAt), Capturable: format(d.Amount, d.Currency), Managed: st.DepositManagement == ByBackOffice}
	v.Message = msg
	v.CanCapture = v.Managed && d.Status == DepositAuthorised
	v.CanVoid = v.CanCapture
	v.CanRefund = v.Managed && d.Status == DepositCaptured && c != nil && refundable(c)
	if v.Timeline, err = m.timeline(ctx, a, d.ID, depositWords); err != nil {
		m.o.Fail(w, r, a, "deposit timeline", err)
		return
	}
	if v.Notifications, err = m.o.Notifications(ctx, a, d.ID); err != nil {
		m.o.Fail(w, r, a, "notifications", err)
		return
	}
	m.o.Render(w, r, a, status, m.pages.deposit, webkit.View{Title: "Deposit " + d.ID, Data: v})
}

// refundable reports whether the PSP gives deposits back.
func refundable(c Connector) bool { return c.Info().Name == PSPCard }

// depositWords says what a deposit's event was.
func depositWords(typ string, data []byte) string {
	var d Deposit
	_ = json.Unmarshal(data, &d)
	st := strings.TrimPrefix(typ, "cashier.deposit.")
	what := upperFirst(st)
	switch st {
	case DepositCreated:
		what = "Created: " + d.Amount + " " + d.Currency + " through " + d.PSP + " (" + d.Channel + ")"
	case DepositCaptured:
		what = "Captured " + d.CapturedAmount + " " + d.Currency
	case DepositRefunded:
		what = "Refunded " + d.CapturedAmount + " " + d.Currency
		if d.RefundReference != nil {
			what += " (refund " + *d.RefundReference + ")"
		}
	}
	if d.Payer != nil && (st == DepositAuthorised || st == DepositCaptured || st == DepositPending) {
		what += ", payer " + *d.Payer
	}
	if d.Reason != nil && st != DepositCreated && st != DepositCaptured {
		what += ": " + strings.ReplaceAll(*d.Reason, "_", " ")
	}
	return what
}

func (m *office) capture(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	d, ok := m.loadDeposit(w, r, a)
	if !ok {
		return
	}
	cur, err := money.ParseCurrency(d.Currency)
	if err != nil {
		m.o.Fail(w, r, a, "deposit currency", err)
		return
	}
	amt, err := money.ParseDecimal(webkit.FormOf(r).Get("amount"), cur)
	if err != nil || amt.Minor <= 0 || amt.Minor > d.Amount {
		m.renderDeposit(w, r, a, http.StatusUnprocessableEntity, d, "Enter the amount to capture in "+d.Currency+", at most the "+format(d.Amount, d.Currency)+" authorised.")
		return
	}
	text := money.Format(amt) + " " + d.Currency
	rest := ""
	if amt.Minor < d.Amount {
		rest = " The remaining " + backoffice.FormatAmount(d.Amount-amt.Minor, d.Currency) + " are released."
	}
	m.act(w, r, a, backoffice.Action{Name: "cashier.deposit_capture", Subject: d.ID, Detail: text},
		backoffice.Confirm{Question: "Capture " + text + " of deposit " + d.ID + " of customer " + d.CustomerID + "?" + rest, Button: "Confirm capture",
			Hidden: map[string]string{"amount": money.Format(amt)}},
		"/office/cashier/deposits/"+d.ID, func(ctx context.Context) error {
			_, err := m.s.CaptureDeposit(ctx, a.TenantID, d.ID, CaptureRequest{Amount: money.Format(amt)}, agentOfAdmin(a), ByBackOffice)
			return err
		}, "Captured "+text+".", m.refusedDeposit(w, r, a, d.ID))
}

func (m *office) void(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	d, ok := m.loadDeposit(w, r, a)
	if !ok {
		return
	}
	amount := backoffice.FormatAmount(d.Amount, d.Currency)
	m.act(w, r, a, backoffice.Action{Name: "cashier.deposit_void", Subject: d.ID, Detail: amount},
		backoffice.Confirm{Question: "Void deposit " + d.ID + " of " + amount + "? Its authorisation is released and it can no longer be captured.",
			Button: "Confirm void"},
		"/office/cashier/deposits/"+d.ID, func(ctx context.Context) error {
			_, err := m.s.VoidDeposit(ctx, a.TenantID, d.ID, agentOfAdmin(a), ByBackOffice)
			return err
		}, "Deposit "+d.ID+" voided.", m.refusedDeposit(w, r, a, d.ID))
}

func (m *office) refund(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	d, ok := m.loadDeposit(w, r, a)
	if !ok {
		return
	}
	amount := backoffice.FormatAmount(d.CapturedAmount, d.Currency)
	m.act(w, r, a, backoffice.Action{Name: "cashier.deposit_refund", Subject: d.ID, Detail: amount},
		backoffice.Confirm{Question: "Refund deposit " + d.ID + " of " + amount + " to the customer's " + d.PSP + "? It leaves the customer's balance.",
			Button: "Confirm refund"},
		"/office/cashier/deposits/"+d.ID, func(ctx context.Context) error {
			_, err := m.s.RefundDeposit(ctx, a.TenantID, d.ID, agentOfAdmin(a), ByBackOffice)
			return err
		}, "Refunded "+amount+".", m.refusedDeposit(w, r, a, d.ID))
}

// refusedDeposit shows the deposit's page again with msg.
func (m *office) refusedDeposit(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, id string) func(msg string) {
	return func(msg string) {
		d, err := m.s.loadDeposit(r.Context(), m.s.db.Read(), a.TenantID, id, false)
		if err != nil {
			m.o.Fail(w, r, a, "cashier deposit", err)
			return
		}
		m.renderDeposit(w, r, a, http.StatusUnprocessableEntity, d, msg)
	}
}
