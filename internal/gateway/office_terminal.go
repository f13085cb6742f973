package gateway

import (
	"context"
	"net/http"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The Virtual Terminal page (issue 10): an agent or an owner keys in a card
// payment taken by mail or telephone. It is TakeTerminalPayment (the API's
// MOTO payment job), run through Office.Do so that its audit row commits
// with the payment; the page then shows the outcome from the stored job
// (after a redirect, so a reload takes nothing twice): the card only as
// its first 6 and last 4 digits, with a link to the job's page. The card
// number and the security code are never sent back to the browser: after
// a refusal both fields are empty.

func (m *office) terminalRoutes() []backoffice.Route {
	const path = "/office/gateway/terminal"
	return []backoffice.Route{
		{Method: http.MethodGet, Path: path, Summary: "Virtual Terminal: key in a card payment taken by mail or telephone (MOTO), and its outcome",
			Query: []string{"done"}, Handler: m.terminalPage},
		{Method: http.MethodPost, Path: path, Summary: "Virtual Terminal: take the payment", Handler: m.takeTerminal},
	}
}

// officeTerminal is the Virtual Terminal page.
type officeTerminal struct {
	Currencies []string
	Result     *TerminalResult // the payment just taken
	// Unavailable: the External MPI Provider flag is on (external3ds.go),
	// so the page says so instead of offering the form.
	Unavailable string
}

// terminalFields maps the payment job's field names to the form's.
var terminalFields = map[string]string{"amountToCollect": "amount", "currency": "currency", "cardNumber": "cardNumber",
	"cardExpiryMonth": "expiryMonth", "cardExpiryYear": "expiryYear", "cardCvc": "cvc", "cardHolderName": "cardHolder",
	"orderNumber": "orderNumber", "paymentMethodsToUse": "cardNumber"}

func terminalForm() *webkit.Form { return webkit.NewForm(map[string]string{"currency": "GBP"}) }

// terminalPage shows the form and, after a payment (?done=its job), its outcome.
func (m *office) terminalPage(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	var res *TerminalResult
	if ref := r.URL.Query().Get("done"); ref != "" {
		j, err := m.s.Get(r.Context(), a.TenantID, ref)
		if apperr.Is(err, apperr.NotFound) || err == nil && (!j.Flags["virtualTerminal"] || len(j.Payments) == 0) {
			m.o.NotFound(w, r, a)
			return
		}
		if err != nil {
			m.o.Fail(w, r, a, "virtual terminal payment", err)
			return
		}
		out := terminalResult(j)
		res = &out
	}
	m.renderTerminal(w, r, a, http.StatusOK, terminalForm(), res)
}

func (m *office) renderTerminal(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, status int, f *webkit.Form, res *TerminalResult) {
	d := officeTerminal{Currencies: AcceptedCurrencies(), Result: res}
	if off, err := m.s.VirtualTerminalUnavailable(r.Context(), a.TenantID); err != nil {
		m.o.Fail(w, r, a, "virtual terminal", err)
		return
	} else if off {
		d.Unavailable = MsgMPIUnavailable.Message
	}
	m.o.Render(w, r, a, status, m.pages.terminal, webkit.View{Title: "Virtual Terminal", Data: d, Form: f})
}

// takeTerminal takes the payment and shows its outcome, or the form with
// the refusal beside its field.
func (m *office) takeTerminal(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	f := webkit.FormOf(r)
	f.Required("amount", "currency", "cardNumber", "expiryMonth", "expiryYear", "cvc")
	in := TerminalPayment{Amount: f.Get("amount"), Currency: f.Get("currency"), CardNumber: f.Get("cardNumber"),
		ExpiryMonth: f.Get("expiryMonth"), ExpiryYear: f.Get("expiryYear"), CVC: f.Get("cvc"), CardHolder: f.Get("cardHolder"),
		OrderNumber: f.Get("orderNumber")}
	f.Clear("cardNumber", "cvc") // never sent back to the browser
	if !f.OK() {
		m.renderTerminal(w, r, a, http.StatusUnprocessableEntity, f, nil)
		return
	}
	masked := card.Mask(card.Normalize(in.CardNumber))
	subject := "card " + masked
	if in.OrderNumber != "" {
		subject = "order " + in.OrderNumber + ", " + subject
	}
	var res TerminalResult
	err := m.o.Do(r, a, backoffice.Action{Name: "gateway.terminal_payment", Subject: subject, Detail: in.Amount + " " + strings.ToUpper(in.Currency)},
		func(ctx context.Context) error {
			var err error
			res, err = m.s.TakeTerminalPayment(ctx, a.TenantID, in)
			return err
		})
	if err != nil {
		if c := apperr.CodeOf(err); c == apperr.Internal || c == apperr.Unavailable {
			m.s.Log.ErrorContext(r.Context(), "gateway: virtual terminal", "card", masked, "err", err)
		}
		f.FailWith(err, terminalFields)
		m.renderTerminal(w, r, a, http.StatusUnprocessableEntity, f, nil)
		return
	}
	flash := "Payment taken."
	if !res.Approved() {
		flash = "The payment was declined."
	}
	m.o.Redirect(w, r, "/office/gateway/terminal?done="+res.PaymentJobReference, flash)
}
