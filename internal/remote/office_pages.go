package remote

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/webkit"
)

// officePayment is a remote payment's page.
type officePayment struct {
	backoffice.NotificationsView
	P                            Payment
	Amount, Refunded, Left       string // formatted; Left is the refundable rest (decimal)
	Created, Expires, Paid, Gone string
	Timeline                     []officeEntry
	CanCancel, CanRefund         bool
	Message                      string
}

type officeEntry struct {
	at         time.Time
	When, What string
}

func (m *office) load(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) (*payment, bool) {
	p, err := m.s.load(r.Context(), m.s.db.Read(), a.TenantID, r.PathValue("id"), false)
	if apperr.Is(err, apperr.NotFound) {
		m.o.NotFound(w, r, a)
		return nil, false
	}
	if err != nil {
		m.o.Fail(w, r, a, "remote payment", err)
		return nil, false
	}
	return p, true
}

func (m *office) paymentPage(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	if p, ok := m.load(w, r, a); ok {
		m.render(w, r, a, http.StatusOK, p, "")
	}
}

func (m *office) render(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, status int, p *payment, msg string) {
	ctx := r.Context()
	notes, err := m.o.Notifications(ctx, a, p.ID)
	if err != nil {
		m.o.Fail(w, r, a, "notifications", err)
		return
	}
	tl, err := m.timeline(ctx, a, p)
	if err != nil {
		m.o.Fail(w, r, a, "remote payment timeline", err)
		return
	}
	d := officePayment{NotificationsView: backoffice.NotificationsView{Notifications: notes, Owner: a.Owner(), Back: "/office/remote/payments/" + p.ID},
		P: m.s.view(p), Amount: backoffice.FormatAmount(p.Amount, p.Currency), Refunded: backoffice.FormatAmount(p.RefundedAmount, p.Currency),
		Created: a.Time(p.CreatedAt), Expires: a.Time(p.ExpiresAt), Paid: a.Time(p.PaidAt), Gone: a.Time(p.CanceledAt), Timeline: tl, Message: msg,
		CanCancel: p.Status == StatusPending || p.Status == StatusRejected,
		CanRefund: p.Status == StatusPaid && p.RefundedAmount < p.Amount}
	if cur, err := money.ParseCurrency(p.Currency); err == nil {
		d.Left = money.Format(money.New(p.Amount-p.RefundedAmount, cur))
	}
	m.o.Render(w, r, a, status, m.page, webkit.View{Title: "Remote payment " + p.ID, Data: d})
}

// timeline is the payment's life: created, each attempt to pay, each
// refund, canceled.
func (m *office) timeline(ctx context.Context, a *backoffice.Admin, p *payment) ([]officeEntry, error) {
	tl := []officeEntry{{at: p.CreatedAt, What: "Created for " + backoffice.FormatAmount(p.Amount, p.Currency)}}
	atts, err := m.s.attempts(ctx, m.s.db.Read(), p.ID)
	if err != nil {
		return nil, err
	}
	for _, at := range atts {
		what := "Paid by " + at.Method + " (" + at.Payer + ")"
		if at.Outcome != "paid" {
			what = "Attempt by " + at.Method + " rejected: " + rejectWords(at.Reason)
		}
		tl = append(tl, officeEntry{at: at.At, What: what})
	}
	refunds, err := m.s.Refunds(ctx, p.TenantID, p.ID)
	if err != nil {
		return nil, err
	}
	for _, f := range refunds.Data {
		what := "Refund " + f.ID + " of " + backoffice.FormatAmount(f.Amount, f.Currency)
		if f.Reason != "" {
			what += ": " + f.Reason
		}
		tl = append(tl, officeEntry{at: f.CreatedAt, What: what})
	}
	if !p.CanceledAt.IsZero() {
		tl = append(tl, officeEntry{at: p.CanceledAt, What: "Canceled (" + p.CancelReason + ")"})
	}
	slices.SortStableFunc(tl, func(x, y officeEntry) int { return x.at.Compare(y.at) })
	for i := range tl {
		tl[i].When = a.Time(tl[i].at)
	}
	return tl, nil
}

func rejectWords(reason string) string {
	if reason == "" {
		return "declined"
	}
	return strings.ReplaceAll(reason, "_", " ")
}

// act shows the confirmation step, or with confirm=yes runs the action
// through Office.Do and goes back to the payment.
func (m *office) act(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, p *payment, act backoffice.Action, c backoffice.Confirm,
	run func(ctx context.Context) error, done string) {
	back := "/office/remote/payments/" + p.ID
	if !backoffice.Confirmed(r) {
		c.Action, c.Back = r.URL.Path, back
		m.o.Ask(w, r, a, c)
		return
	}
	err := m.o.Do(r, a, act, run)
	switch apperr.CodeOf(err) {
	case "":
		m.o.Redirect(w, r, back, done)
	case apperr.Invalid, apperr.Conflict, apperr.InsufficientFunds:
		if p2, err2 := m.s.load(r.Context(), m.s.db.Read(), a.TenantID, p.ID, false); err2 == nil {
			p = p2
		}
		m.render(w, r, a, http.StatusUnprocessableEntity, p, upperFirst(apperr.From(err).Message))
	default:
		m.o.Refused(w, r, a, act.Name, err)
	}
}

func (m *office) cancel(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	p, ok := m.load(w, r, a)
	if !ok {
		return
	}
	m.act(w, r, a, p, backoffice.Action{Name: "remote.cancel", Subject: p.ID},
		backoffice.Confirm{Question: "Cancel remote payment " + p.ID + "? It can no longer be paid.", Button: "Confirm cancellation"},
		func(ctx context.Context) error {
			_, err := m.s.Cancel(ctx, a.TenantID, p.ID)
			return err
		}, "Remote payment "+p.ID+" canceled.")
}

func (m *office) refund(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	p, ok := m.load(w, r, a)
	if !ok {
		return
	}
	f := webkit.FormOf(r)
	cur, err := money.ParseCurrency(p.Currency)
	if err != nil {
		m.o.Fail(w, r, a, "remote refund currency", err)
		return
	}
	amt, err := money.ParseDecimal(f.Get("amount"), cur)
	if err != nil || amt.Minor <= 0 {
		m.render(w, r, a, http.StatusUnprocessableEntity, p, "Enter the amount to refund in "+p.Currency+", such as "+money.Format(money.New(p.Amount, cur))+".")
		return
	}
	text, reason := money.Format(amt)+" "+p.Currency, f.Get("reason")
	minor := amt.Minor
	m.act(w, r, a, p, backoffice.Action{Name: "remote.refund", Subject: p.ID, Detail: text},
		backoffice.Confirm{Question: "Refund " + text + " of remote payment " + p.ID + " to the payer?", Button: "Confirm refund",
			Hidden: map[string]string{"amount": money.Format(amt), "reason": reason}},
		func(ctx context.Context) error {
			_, err := m.s.Refund(ctx, a.TenantID, p.ID, RefundRequest{Amount: &minor, Reason: reason})
			return err
		}, "Refunded "+text+".")
}
