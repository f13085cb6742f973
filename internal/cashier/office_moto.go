package cashier

import (
	"context"
	"net/http"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The MOTO and offline deposit forms: an agent enters a deposit on a
// customer's behalf (settings.moto), the customer's card taken by mail or
// telephone (MOTODeposit: the Agent API's, no 3-D Secure) or money
// received otherwise (OfflineDeposit), through Office.Do so that the audit
// row commits with the deposit. The deposit's page then shows the outcome
// (after a redirect, so that a reload takes nothing twice). The card
// number and its security code are never sent back to the browser, not
// even beside a refused field, nor logged: only the first 6 and last 4
// digits are, in the audit log and on the deposit.

// motoFields maps the deposit's field names to the MOTO form's.
var motoFields = map[string]string{"customerId": "customer", "amount": "amount", "reference": "reference", "card": "cardNumber",
	"cardNumber": "cardNumber", "cardExpiryMonth": "expiryMonth", "cardExpiryYear": "expiryYear", "cardCvc": "cvc", "cardHolderName": "cardHolder"}

// offlineFields maps them to the offline form's.
var offlineFields = map[string]string{"customerId": "customer", "amount": "amount", "reference": "reference", "note": "note"}

// motoData is the MOTO page: two forms, each with its own values and errors.
type motoData struct {
	officeView
	Enabled       bool
	Moto, Offline *webkit.Form
}

func (m *office) motoPage(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	m.renderMOTO(w, r, a, http.StatusOK, webkit.NewForm(nil), webkit.NewForm(nil))
}

func (m *office) renderMOTO(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, status int, moto, offline *webkit.Form) {
	st, err := m.s.settings(r.Context(), m.s.db.Read(), a.TenantID)
	if err != nil {
		m.o.Fail(w, r, a, "cashier settings", err)
		return
	}
	d := motoData{officeView: m.view(a, "/office/cashier/moto", ""), Enabled: st.MOTO, Moto: moto, Offline: offline}
	m.o.Render(w, r, a, status, m.pages.moto, webkit.View{Title: "MOTO and offline deposits", Data: d})
}

// takeMOTO takes the MOTO deposit and shows it, or the form again with the
// refusal beside its field (the card number and code emptied).
func (m *office) takeMOTO(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	f := webkit.FormOf(r)
	f.Required("customer", "amount", "cardNumber", "expiryMonth", "expiryYear", "cvc")
	in := DepositRequest{CustomerID: f.Get("customer"), Amount: f.Get("amount"), Reference: f.Get("reference"),
		Card: &CardDetails{Number: f.Get("cardNumber"), ExpiryMonth: f.Get("expiryMonth"), ExpiryYear: f.Get("expiryYear"), CVC: f.Get("cvc"),
			HolderName: f.Get("cardHolder")}}
	f.Clear("cardNumber", "cvc") // never sent back to the browser
	if !f.OK() {
		m.renderMOTO(w, r, a, http.StatusUnprocessableEntity, f, webkit.NewForm(nil))
		return
	}
	masked := card.Mask(card.Normalize(in.Card.Number))
	var d Deposit
	err := m.o.Do(r, a, backoffice.Action{Name: "cashier.moto_deposit", Subject: "customer " + in.CustomerID + ", card " + masked, Detail: in.Amount},
		func(ctx context.Context) error {
			var err error
			d, err = m.s.MOTODeposit(ctx, a.TenantID, in, agentOfAdmin(a))
			return err
		})
	if err != nil {
		if c := apperr.CodeOf(err); c == apperr.Internal || c == apperr.Unavailable {
			m.s.log.ErrorContext(r.Context(), "cashier: MOTO deposit", "card", masked, "err", err)
		}
		f.FailWith(err, motoFields)
		m.renderMOTO(w, r, a, http.StatusUnprocessableEntity, f, webkit.NewForm(nil))
		return
	}
	m.o.Redirect(w, r, "/office/cashier/deposits/"+d.ID, depositFlash(d))
}

// takeOffline records the offline deposit and shows it.
func (m *office) takeOffline(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	f := webkit.FormOf(r)
	f.Required("customer", "amount")
	in := DepositRequest{CustomerID: f.Get("customer"), Amount: f.Get("amount"), Reference: f.Get("reference"), Note: f.Get("note")}
	if !f.OK() {
		m.renderMOTO(w, r, a, http.StatusUnprocessableEntity, webkit.NewForm(nil), f)
		return
	}
	var d Deposit
	err := m.o.Do(r, a, backoffice.Action{Name: "cashier.offline_deposit", Subject: "customer " + in.CustomerID, Detail: in.Amount},
		func(ctx context.Context) error {
			var err error
			d, err = m.s.OfflineDeposit(ctx, a.TenantID, in, agentOfAdmin(a))
			return err
		})
	if err != nil {
		f.FailWith(err, offlineFields)
		m.renderMOTO(w, r, a, http.StatusUnprocessableEntity, webkit.NewForm(nil), f)
		return
	}
	m.o.Redirect(w, r, "/office/cashier/deposits/"+d.ID, depositFlash(d))
}

// depositFlash says what became of an agent's deposit.
func depositFlash(d Deposit) string {
	switch d.Status {
	case DepositCaptured, DepositAuthorised:
		return "Deposit of " + d.Amount + " " + d.Currency + " " + d.Status + "."
	}
	return "The deposit was not taken: " + reasonText(d) + "."
}
