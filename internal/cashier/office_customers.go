package cashier

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The customers (kept in sync by the Platform's CRM): the list in id order
// with a search by id, and a customer's view: status, KYC level, limits,
// the balance (available, pending deposits and payouts, deposited and paid
// out) and the latest deposits and payouts.

// customersData is the customers' page.
type customersData struct {
	officeView
	Table       webkit.Table
	Next, First string
}

func (m *office) customersPage(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	f := webkit.NewForm(map[string]string{"q": strings.TrimSpace(r.URL.Query().Get("q"))})
	d := customersData{officeView: m.view(a, "/office/cashier/customers", ""), Table: webkit.Table{Caption: "Customers",
		Columns: []string{"Customer", "Name", "Country", "Currency", "Status", "KYC level"}, Empty: "No customers match."}}
	var list CustomerList
	var err error
	switch q := f.Get("q"); {
	case q != "" && CheckCustomerID("q", q) != nil:
		f.Fail("q", "A customer id is 1 to 64 letters, digits or . _ : -.")
	case q != "":
		var c Customer
		if c, err = m.s.GetCustomer(r.Context(), a.TenantID, q); err == nil {
			list.Data = []Customer{c}
		} else if apperr.Is(err, apperr.NotFound) {
			err = nil
		}
	default:
		cursor := r.URL.Query().Get("cursor")
		list, err = m.s.ListCustomers(r.Context(), a.TenantID, Page{Limit: DefaultPage, Cursor: cursor})
		if apperr.Is(err, apperr.Invalid) {
			f.Message, err = "That page of the list does not exist; start again from the first.", nil
		}
		if cursor != "" {
			d.First = withQuery(r, "cursor", "")
		}
	}
	if err != nil {
		m.o.Fail(w, r, a, "cashier customers", err)
		return
	}
	for _, c := range list.Data {
		d.Table.Rows = append(d.Table.Rows, []webkit.Cell{{Text: c.ID, Mono: true, Href: "/office/cashier/customers/" + c.ID}, {Text: c.Name},
			{Text: c.Country}, {Text: c.Currency}, {Text: c.Status}, {Text: strconv.Itoa(c.KYCLevel)}})
	}
	if list.Next != "" {
		d.Next = withQuery(r, "cursor", list.Next)
	}
	status := http.StatusOK
	if !f.OK() {
		status = http.StatusUnprocessableEntity
	}
	m.o.Render(w, r, a, status, m.pages.customers, webkit.View{Title: "Cashier customers", Data: d, Form: f})
}

// customerData is a customer's view.
type customerData struct {
	officeView
	C                 Customer
	Limits            []fact
	Deposits, Payouts webkit.Table
	AllDeposits, More string
	Created, Updated  string
}

type fact struct{ Label, Value string }

func (m *office) customerPage(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	ctx := r.Context()
	c, err := m.s.GetCustomer(ctx, a.TenantID, r.PathValue("id"))
	if apperr.Is(err, apperr.NotFound) || apperr.Is(err, apperr.Invalid) {
		m.o.NotFound(w, r, a)
		return
	}
	if err != nil {
		m.o.Fail(w, r, a, "cashier customer", err)
		return
	}
	deps, err := m.s.ListDeposits(ctx, a.TenantID, Filter{CustomerID: c.ID, Page: Page{Limit: 10}})
	if err != nil {
		m.o.Fail(w, r, a, "customer deposits", err)
		return
	}
	pays, err := m.s.ListPayouts(ctx, a.TenantID, Filter{CustomerID: c.ID, Page: Page{Limit: 10, Cursor: r.URL.Query().Get("payouts")}})
	if apperr.Is(err, apperr.Invalid) {
		m.o.Error(w, r, a, http.StatusBadRequest, "That page of the customer's payouts does not exist.")
		return
	}
	if err != nil {
		m.o.Fail(w, r, a, "customer payouts", err)
		return
	}
	d := customerData{officeView: m.view(a, "", ""), C: c, Created: a.Time(c.CreatedAt), Updated: a.Time(c.UpdatedAt),
		AllDeposits: "/office/cashier/deposits?customer=" + c.ID}
	none := func(v string) string {
		if v == "" {
			return "none"
		}
		return v + " " + c.Currency
	}
	d.Limits = []fact{{"Largest deposit", none(c.Limits.MaxDeposit)}, {"Deposits a day", none(c.Limits.DailyDeposits)},
		{"Largest payout", none(c.Limits.MaxPayout)}, {"Payouts a day", none(c.Limits.DailyPayouts)}}
	d.Deposits = webkit.Table{Caption: "Latest deposits", Columns: []string{"Created", "Deposit", "PSP", "Amount", "Status"}, Empty: "No deposits yet."}
	for _, x := range deps.Data {
		d.Deposits.Rows = append(d.Deposits.Rows, []webkit.Cell{{Text: a.Time(x.CreatedAt)}, {Text: x.ID, Mono: true, Href: "/office/cashier/deposits/" + x.ID},
			{Text: x.PSP}, {Text: x.Amount + " " + x.Currency}, {Text: x.Status}})
	}
	d.Payouts = webkit.Table{Caption: "Payouts", Columns: []string{"Requested", "Payout", "PSP", "Amount", "Status"}, Empty: "No payouts yet."}
	for _, x := range pays.Data {
		d.Payouts.Rows = append(d.Payouts.Rows, []webkit.Cell{{Text: a.Time(x.CreatedAt)}, {Text: x.ID, Mono: true, Href: "/office/cashier/payouts/" + x.ID},
			{Text: x.PSP}, {Text: x.Amount + " " + x.Currency}, {Text: x.Status}})
	}
	if pays.Next != "" {
		d.More = withQuery(r, "payouts", pays.Next)
	}
	m.o.Render(w, r, a, http.StatusOK, m.pages.customer, webkit.View{Title: "Customer " + c.ID, Data: d})
}
