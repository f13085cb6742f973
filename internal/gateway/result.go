package gateway

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
)

// The default return page (/payment/result): where the shopper lands when
// neither the job nor the tenant set return URLs. It says what became of
// the payment, read from the database by the references the return URL
// carries (paymentjobref, paymentref: the job's reference is 18 random
// digits, and the page shows no more than its status, amount and order
// number), never from a query parameter a shopper can edit: paid,
// authorised, failed (with the reason), cancelled, expired or still
// pending, in the job's language and with its payment page template.

// resultText is the title and message of the return page for a payment
// status (English; the page translates them).
type resultText struct{ title, message string }

// resultTexts are the return page's words per payment status.
var resultTexts = map[string]resultText{
	StPaid:              {"Payment completed", "Thank you: your payment has been received."},
	StRefunded:          {"Payment completed", "Thank you: your payment has been received."},
	StPartiallyRefunded: {"Payment completed", "Thank you: your payment has been received."},
	StAuthorised:        {"Payment authorised", "Your payment has been authorised: the merchant collects it when your order is processed."},
	StFailed:            {"Payment failed", "Your payment did not go through and no money was taken."},
	StCancelled:         {"Payment cancelled", "The payment was cancelled and no money was taken."},
	StExpired:           {"Payment expired", "The payment was not completed in time and no money was taken."},
	StPending:           {"Payment not completed", "This payment has not been completed yet."},
}

// msgResultUnknown is the return page without a payment it can find.
const msgResultUnknown = "This payment could not be found."

// resultJob finds the job and payment a return URL names; nil, nil
// without one (unknown references).
func (s *Service) resultJob(ctx context.Context, jobRef, payRef string) (*job, *payment, error) {
	if !isReference(jobRef) || !isReference(payRef) {
		return nil, nil, nil
	}
	var tenantID string
	err := s.DB.Read().QueryRowContext(ctx, `SELECT tenant_id FROM gateway_jobs WHERE reference = $1`, jobRef).Scan(&tenantID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("gateway: return page: %w", err)
	}
	j, err := s.readJob(ctx, tenantID, jobRef)
	if err != nil {
		return nil, nil, err
	}
	p, err := j.payment(payRef)
	if err != nil {
		return nil, nil, nil
	}
	return j, p, nil
}

// handleResult is the default return page.
func (s *Service) handleResult(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	j, p, err := s.resultJob(r.Context(), q.Get("paymentjobref"), q.Get("paymentref"))
	if err != nil {
		s.Log.Error("gateway: return page", "err", err)
		s.pageError(w, r, nil, http.StatusInternalServerError, "internal error")
		return
	}
	if j == nil {
		s.pageError(w, r, nil, http.StatusNotFound, msgResultUnknown)
		return
	}
	b, err := s.brandFor(r.Context(), j.TenantID, j.Params.PageRef)
	if err != nil {
		s.Log.Error("gateway: return page", "err", err)
		s.pageError(w, r, nil, http.StatusInternalServerError, "internal error")
		return
	}
	j.brand = &b
	txt, ok := resultTexts[p.Status]
	if !ok {
		txt = resultTexts[StPending]
	}
	d := pageData{L: langOf(j.Locale), Title: txt.title, Notice: txt.message, Mode: "result", Status: p.Status,
		OrderNumber: j.OrderNumber, Amount: amount(p.Amount, p.Currency), Currency: p.Currency.Code(), Brand: b}
	if p.Status == StFailed {
		d.Error = failureReason(p)
	}
	d.Amount = d.L.amount(d.Amount)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	csp, _ := pageCSP(nil)
	w.Header().Set("Content-Security-Policy", csp)
	w.Header().Set("X-Frame-Options", "DENY")
	if err := pageTmpl.Execute(w, d); err != nil {
		s.Log.Error("gateway: render return page", "err", err)
	}
}

// failureReason is the message of a failed payment's last step (the
// guide's, e.g. "Payment has been refused.").
func failureReason(p *payment) string {
	for i := len(p.Steps) - 1; i >= 0; i-- {
		if p.Steps[i].Message != "" {
			return p.Steps[i].Message
		}
	}
	return MsgRefused.Message
}
