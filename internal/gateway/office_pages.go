package gateway

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/webkit"
)

// officeJob is a job's detail page.
type officeJob struct {
	backoffice.NotificationsView
	Ref, Order, Status, Type, Amount, Collected string
	Created, Expires, Paid, Parent              string
	Source, SourceHref                          string // jobSource; a payment link's page
	CanCancel                                   bool
	Payments                                    []officePayment
	Message                                     string // why the last action was refused
}

// officePayment is one payment of the job with its timeline and actions.
type officePayment struct {
	Ref, Status, Card, ThreeDS, CVC, Method string
	Amount, Authorised, Captured, Refunded  string
	Timeline                                []timelineEntry
	CanCapture, CanRefund, CanCancel        bool
	CaptureLeft, RefundLeft                 string // the default amounts (decimal)
}

type timelineEntry struct {
	at                         time.Time
	When, What, Amount, Status string
}

func (m *office) jobPage(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	j, ok := m.loadJob(w, r, a)
	if ok {
		m.renderJob(w, r, a, http.StatusOK, j, "")
	}
}

// loadJob reads the tenant's job of the path (another tenant's is not found).
func (m *office) loadJob(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) (*job, bool) {
	j, err := m.s.Get(r.Context(), a.TenantID, r.PathValue("ref"))
	if apperr.Is(err, apperr.NotFound) {
		m.o.NotFound(w, r, a)
		return nil, false
	}
	if err != nil {
		m.o.Fail(w, r, a, "card payment job", err)
		return nil, false
	}
	return j, true
}

func (m *office) renderJob(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, status int, j *job, msg string) {
	refs := []string{j.Ref}
	for _, p := range j.Payments {
		refs = append(refs, p.Ref)
	}
	notes, err := m.o.Notifications(r.Context(), a, refs...)
	if err != nil {
		m.o.Fail(w, r, a, "notifications", err)
		return
	}
	d := officeJob{NotificationsView: backoffice.NotificationsView{Notifications: notes, Owner: a.Owner(), Back: "/office/gateway/jobs/" + j.Ref},
		Ref: j.Ref, Order: j.OrderNumber, Status: j.Status, Type: j.Type, Parent: j.Parent, Message: msg,
		Amount: backoffice.FormatAmount(j.Amount, j.Currency.Code()), Collected: backoffice.FormatAmount(j.Collected, j.Currency.Code()),
		Created: a.Time(j.CreatedAt), Expires: a.Time(j.ExpiresAt), Paid: a.Time(j.PaidAt), CanCancel: j.Status == StPending && j.Type != JobTypeCredit,
		Source: jobSource(j.Flags)}
	if j.isLink() {
		d.SourceHref = officeLinks + "/" + j.Ref
	}
	for _, p := range j.Payments {
		op := officePaymentOf(a, p)
		if j.Type == JobTypeCredit { // money to a card: not captured, cancelled or refunded (credit.go)
			op.Method, op.CanCapture, op.CanRefund, op.CanCancel = "card (credit payment)", false, false, false
		}
		d.Payments = append(d.Payments, op)
	}
	m.o.Render(w, r, a, status, m.pages.job, webkit.View{Title: "Card payment job " + j.Ref, Data: d})
}

func officePaymentOf(a *backoffice.Admin, p *payment) officePayment {
	cur := p.Currency.Code()
	amt := func(v int64) string { return backoffice.FormatAmount(v, cur) }
	v := officePayment{Ref: p.Ref, Status: p.Status, Card: p.MaskedPAN, ThreeDS: p.ThreeDS, CVC: p.CVCResult, Method: "card",
		Amount: amt(p.Amount), Authorised: amt(p.Authorised), Captured: amt(p.Captured), Refunded: amt(p.Refunded)}
	if p.MOTO {
		v.Method = "card (MOTO)"
	}
	if p.Method == MethodPayPal {
		v.Method, v.Card = "PayPal", paypalOrderOf(p) // its PayPal order, where a card shows its number
	}
	if (p.Status == StAuthorised || p.Status == StPaid) && p.HoldID != "" && !p.CaptureClosed && p.Captured < p.Authorised {
		v.CanCapture, v.CaptureLeft = true, money.Format(money.New(p.Authorised-p.Captured, p.Currency))
	}
	if (p.Status == StPaid || p.Status == StPartiallyRefunded) && p.Refunded < p.Captured {
		v.CanRefund, v.RefundLeft = true, money.Format(money.New(p.Captured-p.Refunded, p.Currency))
	}
	v.CanCancel = p.Status == StPending || ((p.Status == StAuthorised || p.Status == StPaid) && p.Settled == 0 && p.Refunded == 0)
	for _, s := range p.Steps {
		v.Timeline = append(v.Timeline, timelineEntry{at: s.CreatedAt, What: s.Action + stepNote(s), Amount: amt(s.Amount), Status: s.Status})
	}
	for _, c := range p.Captures {
		what := "Capture"
		if c.Final {
			what = "Final capture"
		}
		v.Timeline = append(v.Timeline, timelineEntry{at: c.CreatedAt, What: what + " " + c.Ref, Amount: amt(c.Amount), Status: c.Status})
	}
	for _, f := range p.Refunds {
		what := "Refund " + f.Ref
		if f.Number != "" {
			what += " (" + f.Number + ")"
		}
		v.Timeline = append(v.Timeline, timelineEntry{at: f.CreatedAt, What: what, Amount: amt(f.Amount), Status: f.Status})
	}
	slices.SortStableFunc(v.Timeline, func(x, y timelineEntry) int { return x.at.Compare(y.at) })
	for i := range v.Timeline {
		v.Timeline[i].When = a.Time(v.Timeline[i].at)
	}
	return v
}

func stepNote(s step) string {
	if s.Message == "" {
		return ""
	}
	return ": " + s.Message
}

// act runs an action on the job: without confirm=yes it shows the
// confirmation step (with the form's fields carried over); with it, it runs
// run through Office.Do (its audit row in run's transaction) and goes back
// to the job with done flashed, or shows the job with the refusal.
func (m *office) act(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, j *job, act backoffice.Action, c backoffice.Confirm,
	run func(ctx context.Context) error, done string) {
	back := "/office/gateway/jobs/" + j.Ref
	if !backoffice.Confirmed(r) {
		c.Action, c.Back = r.URL.Path, back
		m.o.Ask(w, r, a, c)
		return
	}
	err := m.o.Do(r, a, act, run)
	if err == nil {
		m.o.Redirect(w, r, back, done)
		return
	}
	switch apperr.CodeOf(err) {
	case apperr.Invalid, apperr.Conflict, apperr.InsufficientFunds, apperr.LimitExceeded:
		if j2, err2 := m.s.Get(r.Context(), a.TenantID, j.Ref); err2 == nil {
			j = j2
		}
		m.renderJob(w, r, a, http.StatusUnprocessableEntity, j, apperr.From(err).Message)
	default:
		m.o.Refused(w, r, a, act.Name, err)
	}
}

// payment returns the job's payment of the path, or answers 404.
func (m *office) payment(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) (*job, *payment, bool) {
	j, ok := m.loadJob(w, r, a)
	if !ok {
		return nil, nil, false
	}
	p, err := j.payment(r.PathValue("pay"))
	if err != nil {
		m.o.NotFound(w, r, a)
		return nil, nil, false
	}
	return j, p, true
}

// amountOf reads the form's amount in p's currency, or shows the job with
// the refusal.
func (m *office) amountOf(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, j *job, p *payment, field string) (string, bool) {
	raw := webkit.FormOf(r).Get("amount")
	amt, err := parseAmount(field, Flex(raw), p.Currency)
	if err == nil && amt == 0 {
		err = MsgInvalidAmount.Invalid(field)
	}
	if err != nil {
		m.renderJob(w, r, a, http.StatusUnprocessableEntity, j, apperr.From(err).Message)
		return "", false
	}
	return money.Format(money.New(amt, p.Currency)), true
}

func (m *office) capture(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	j, p, ok := m.payment(w, r, a)
	if !ok {
		return
	}
	amt, ok := m.amountOf(w, r, a, j, p, "amountToCapture")
	if !ok {
		return
	}
	final := webkit.FormOf(r).Get("final") == "true"
	what, finalText := "Capture "+amt+" "+p.Currency.Code()+" of payment "+p.Ref+"?", "false"
	if final {
		what, finalText = "Capture "+amt+" "+p.Currency.Code()+" of payment "+p.Ref+" and release the rest of the authorisation?", "true"
	}
	m.act(w, r, a, j, backoffice.Action{Name: "gateway.capture", Subject: p.Ref, Detail: amt + " " + p.Currency.Code() + finalNote(final)},
		backoffice.Confirm{Question: what, Button: "Confirm capture", Hidden: map[string]string{"amount": amt, "final": finalText}},
		func(ctx context.Context) error {
			_, _, err := m.s.Capture(ctx, a.TenantID, j.Ref, p.Ref, CapturePaymentRequest{AmountToCapture: Flex(amt), IsFinalCapture: Flex(finalText)})
			return err
		}, "Captured "+amt+" "+p.Currency.Code()+".")
}

func finalNote(final bool) string {
	if final {
		return ", final"
	}
	return ""
}

func (m *office) refund(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	j, p, ok := m.payment(w, r, a)
	if !ok {
		return
	}
	amt, ok := m.amountOf(w, r, a, j, p, "amountToRefund")
	if !ok {
		return
	}
	number := webkit.FormOf(r).Get("number")
	m.act(w, r, a, j, backoffice.Action{Name: "gateway.refund", Subject: p.Ref, Detail: amt + " " + p.Currency.Code()},
		backoffice.Confirm{Question: "Refund " + amt + " " + p.Currency.Code() + " of payment " + p.Ref + " to the " + payer(p) + "?", Button: "Confirm refund",
			Hidden: map[string]string{"amount": amt, "number": number}},
		func(ctx context.Context) error {
			_, _, err := m.s.Refund(ctx, a.TenantID, j.Ref, p.Ref, RefundPaymentRequest{AmountToRefund: Flex(amt), RefundNumber: number})
			return err
		}, "Refunded "+amt+" "+p.Currency.Code()+".")
}

func (m *office) cancelPayment(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	j, p, ok := m.payment(w, r, a)
	if !ok {
		return
	}
	m.act(w, r, a, j, backoffice.Action{Name: "gateway.cancel_payment", Subject: p.Ref},
		backoffice.Confirm{Question: "Cancel payment " + p.Ref + "? Nothing is taken from the " + payer(p) + "; only possible on the day it was paid, before settlement at midnight.",
			Button: "Confirm cancellation"},
		func(ctx context.Context) error {
			_, _, err := m.s.CancelPayment(ctx, a.TenantID, j.Ref, p.Ref)
			return err
		}, "Payment "+p.Ref+" cancelled.")
}

func (m *office) cancelJob(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	j, ok := m.loadJob(w, r, a)
	if !ok {
		return
	}
	m.act(w, r, a, j, backoffice.Action{Name: "gateway.cancel_job", Subject: j.Ref},
		backoffice.Confirm{Question: "Cancel payment job " + j.Ref + "? It takes no more payments; completed payments stay (cancel or refund them).",
			Button: "Confirm cancellation"},
		func(ctx context.Context) error {
			_, err := m.s.CancelJob(ctx, a.TenantID, j.Ref)
			return err
		}, "Payment job "+j.Ref+" cancelled.")
}

// payer is what pays p, as the confirmations say it: the card or the
// PayPal account.
func payer(p *payment) string {
	if p.Method == MethodPayPal {
		return "PayPal account"
	}
	return "card"
}
