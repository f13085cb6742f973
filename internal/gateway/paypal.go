package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/cardpay"
	"github.com/cashgate/cashgate/internal/store"
)

// PayPal (seed 003 "PayPal"): a second payment method of the hosted page.
// A tenant enables it (paymentMethodsEnabled: PayPal) and a payment job
// asks for it ("paymentMethodsToUse": ["Card", "PayPal"]); its hosted page
// then offers "Pay with PayPal" beside the card form. The shopper goes to
// cashgate's PayPal sandbox simulator (as the 3-D Secure simulator stands
// for the issuer's page) and approves, cancels or fails there:
//
//   - approve: the payment is Paid (auto capture) or Authorised, as a card
//     payment of the job would be, with the same ledger movements against
//     paypal/clearing (cardpay.ViaPayPal), the same webhooks, captures,
//     refunds and cancellation through the job API;
//   - cancel: the attempt is Cancelled and the shopper is back on the
//     hosted page, where the job takes another attempt (by PayPal or card)
//     and its Cancel button leads to the cancelled return URL;
//   - fail: the attempt is Failed with the guide's "The payment method
//     rejected the request." and the shopper goes to the failed return URL;
//     the job stays payable from its hosted page.
//
// The payment shows paymentMethods ["PayPal"]; its PayPal order id is in
// its acquiring details, and its transaction ids are PayPal-style.
// PayPal does not take jobs that need a card: MOTO, tokenising, recurring
// parents and children, credits, the Virtual Terminal.

var paypalTmpl = template.Must(template.ParseFS(files, "templates/paypal.html"))

// PayPalCurrencies are the currencies PayPal takes, of AcceptedCurrencies.
func PayPalCurrencies() []string {
	return []string{"AUD", "CAD", "DKK", "HKD", "JPY", "NZD", "NOK", "SGD", "SEK", "CHF", "GBP", "USD", "EUR"}
}

// methodOffer is what the hosted page of a job offers now: the card form,
// the PayPal button.
type methodOffer struct{ card, paypal bool }

func (o methodOffer) any() bool { return o.card || o.paypal }

// offerOf is what the hosted page of j offers under the tenant's settings:
// a method the job asked for and the tenant (still) enables.
func offerOf(j *job, st settings) methodOffer {
	cardJob := j.Flags["moto"] || j.Flags["generateToken"] || j.Flags["recurringParent"] || j.Parent != "" || j.Type == JobTypeCredit
	return methodOffer{
		card: slices.Contains(j.Methods, MethodCard) && slices.ContainsFunc(st.Methods, isCardMethod),
		paypal: slices.Contains(j.Methods, MethodPayPal) && slices.Contains(st.Methods, MethodPayPal) && !cardJob &&
			slices.Contains(PayPalCurrencies(), j.Currency.Code()),
	}
}

// checkPayPalCurrency refuses a job that can only be paid by PayPal in a
// currency PayPal does not take.
func checkPayPalCurrency(methods []string, currency string) error {
	if slices.Equal(methods, []string{MethodPayPal}) && !slices.Contains(PayPalCurrencies(), currency) {
		return MsgMethodNotAllowed.Invalid("currency")
	}
	return nil
}

// via is the outside world p's money comes from (cardpay.SaleSpec.Via).
func (p *payment) via() string {
	if p.Method == MethodPayPal {
		return cardpay.ViaPayPal
	}
	return ""
}

// declineMsg is the guide's message for a decline of p.
func (p *payment) declineMsg(d cardpay.Decline) GuideMsg {
	if d != "" && p.Method == MethodPayPal {
		return MsgCardRejected // "The payment method rejected the request."
	}
	return declineMsg(d)
}

// txnID names a capture, void or refund of p: the acquirer's for a card,
// a PayPal transaction id for PayPal.
func (s *Service) txnID(p *payment, k cardpay.TxnKind) string {
	if p.Method == MethodPayPal {
		return s.paypalID()
	}
	return s.Cards.TransactionID(k)
}

// paypalID is a PayPal-style id (an order or transaction): 17 characters
// of digits and capitals.
func (s *Service) paypalID() string {
	const abc = "0123456789ABCDEFGHJKLMNPQRSTUVWX" // 32: every byte maps uniformly
	b := s.IDs.Bytes(17)
	for i := range b {
		b[i] = abc[b[i]%32]
	}
	return string(b)
}

// paypalDetails are a PayPal payment's acquiring details
// (cashFlowsAcquiringDetails).
type paypalDetails struct {
	PayPalOrderID string `json:"PayPalOrderId"`
	Status        string `json:"Status"` // Created, Approved, Cancelled, Failed
}

// handlePayPalStart sends the shopper from the hosted page to the PayPal
// simulator: the page's pending payment (or, after a failed or cancelled
// attempt, a new one) becomes a PayPal payment awaiting its approval.
func (s *Service) handlePayPalStart(w http.ResponseWriter, r *http.Request, token string, j *job, p *payment) {
	attempt := r.PostFormValue("attempt")
	if attempt != "" && attempt != p.Ref {
		s.afterPage(w, r, j, token, MsgJobFinal.Err(apperr.Conflict))
		return
	}
	_, err := s.mutate(r.Context(), j.TenantID, j.Ref, func(tx *store.Tx, j *job, st settings, now time.Time) error {
		p := j.latest(token)
		switch {
		case p == nil:
			return MsgPageNotFound.Err(apperr.NotFound)
		case attempt != "" && attempt != p.Ref:
			return MsgJobFinal.Err(apperr.Conflict)
		case !now.Before(j.ExpiresAt):
			return apperr.New(apperr.Invalid, msgPageExpired)
		case !offerOf(j, st).paypal:
			return MsgMethodNotAllowed.Err(apperr.Invalid)
		case p.Status == StPending && p.ThreeDS == "" && j.Status == StPending:
		case j.retryable(p, now):
			np, err := s.retryPayment(r.Context(), tx, j, p, now)
			if err != nil {
				return err
			}
			p = np
		default:
			return MsgJobFinal.Err(apperr.Conflict)
		}
		p.Method, p.MaskedPAN, p.CardID, p.CVCResult, p.UpdatedAt = MethodPayPal, "", "", "", now
		p.Acquiring = mustJSON(paypalDetails{PayPalOrderID: s.paypalID(), Status: "Created"})
		return savePayment(r.Context(), tx, p)
	})
	if err != nil {
		s.afterPage(w, r, j, token, err)
		return
	}
	http.Redirect(w, r, "/payment/paypal?ref="+token, http.StatusSeeOther)
}

// awaitsPayPal reports whether p waits for the shopper's answer in PayPal.
func awaitsPayPal(j *job, p *payment) bool {
	return p.Status == StPending && p.Method == MethodPayPal && j.Status == StPending
}

// paypalPage is what the PayPal simulator shows.
type paypalPage struct {
	L                                                  *pageLang
	Amount, Currency, OrderNumber, Ref, Attempt, Order string
}

// Lang is the html lang attribute of the page.
func (d paypalPage) Lang() string { return d.L.tag.String() }

// handlePayPalPage shows the PayPal sandbox simulator of a payment that
// awaits its approval; any other payment's page is the hosted page.
func (s *Service) handlePayPalPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("ref")
	j, p, err := s.pageJob(r.Context(), token)
	if err != nil {
		s.pageError(w, r, j, http.StatusNotFound, MsgPageNotFound.Message)
		return
	}
	if !awaitsPayPal(j, p) {
		http.Redirect(w, r, "/payment/form-post?ref="+token, http.StatusSeeOther)
		return
	}
	l := langOf(j.Locale)
	d := paypalPage{L: l, Amount: l.amount(amount(p.Amount, p.Currency)), Currency: p.Currency.Code(), OrderNumber: j.OrderNumber,
		Ref: token, Attempt: p.Ref, Order: paypalOrderOf(p)}
	s.pageHeaders(w, j)
	if err := paypalTmpl.Execute(w, d); err != nil {
		s.Log.Error("gateway: render the PayPal simulator", "err", err)
	}
}

// handlePayPalResult records the shopper's answer in the PayPal simulator.
func (s *Service) handlePayPalResult(w http.ResponseWriter, r *http.Request, token string, j *job, p *payment) {
	result := r.PostFormValue("result")
	if result != "approve" && result != "cancel" && result != "fail" {
		s.pageError(w, r, j, http.StatusBadRequest, "Unknown PayPal result.")
		return
	}
	if a := r.PostFormValue("attempt"); a != p.Ref {
		s.afterPage(w, r, j, token, MsgJobFinal.Err(apperr.Conflict))
		return
	}
	err := s.transition(r.Context(), j.TenantID, j.Ref, p.Ref, func(tx *store.Tx, j *job, p *payment, st settings, now time.Time) error {
		if !awaitsPayPal(j, p) {
			return MsgJobFinal.Err(apperr.Conflict)
		}
		if result == "approve" && !now.Before(j.ExpiresAt) {
			return apperr.New(apperr.Invalid, msgPageExpired) // before the expiry job has run
		}
		return s.applyPayPal(r.Context(), tx, j, p, st, result, now)
	})
	if err == nil && result == "cancel" {
		// Back to the hosted page, which takes another attempt.
		http.Redirect(w, r, "/payment/form-post?ref="+token, http.StatusSeeOther)
		return
	}
	s.afterPage(w, r, j, token, err)
}

// applyPayPal records the PayPal answer result on p in tx.
func (s *Service) applyPayPal(ctx context.Context, tx *store.Tx, j *job, p *payment, st settings, result string, now time.Time) error {
	var pd paypalDetails
	if err := json.Unmarshal([]byte(p.Acquiring), &pd); err != nil {
		return fmt.Errorf("gateway: PayPal details of %s: %w", p.Ref, err)
	}
	var out cardpay.Outcome
	switch result {
	case "cancel":
		pd.Status = "Cancelled"
		p.Acquiring = mustJSON(pd)
		return s.cancelPayment(ctx, tx, j, p, st, now)
	case "fail":
		pd.Status, out.Declined = "Failed", cardpay.DeclineRefused
	default:
		pd.Status, out.Auth = "Approved", card.AuthResult{Approved: true, TransactionID: s.paypalID()}
	}
	p.Acquiring = mustJSON(pd)
	return s.applyOutcome(ctx, tx, j, p, out, st, "Process", now, false)
}

// paypalOrderOf is the PayPal order id of the PayPal payment p ("" when
// it has none).
func paypalOrderOf(p *payment) string {
	var pd paypalDetails
	_ = json.Unmarshal([]byte(p.Acquiring), &pd) // shown only: nothing to decide on
	return pd.PayPalOrderID
}
