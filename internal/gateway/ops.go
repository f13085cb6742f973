package gateway

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/cardpay"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// Notification is the body of a payment status notification: the guide's
// paymentJobReference and paymentReference, the new status, and — since
// notifications to a webhookUrl are not signed — hash, the hex SHA-512 of
// the signing key followed by paymentJobReference, paymentReference and
// paymentStatus, the same construction as the request Hash.
type Notification struct {
	PaymentJobReference string `json:"paymentJobReference"`
	PaymentReference    string `json:"paymentReference"`
	PaymentStatus       string `json:"paymentStatus"`
	Hash                string `json:"hash,omitempty"`
}

// notify emits the status change of p in tx and, when the job or the
// tenant has a webhook URL, schedules its delivery there (retried every
// minute, then daily, then weekly for a month until acknowledged).
func (s *Service) notify(ctx context.Context, tx *store.Tx, j *job, p *payment, st settings) error {
	n := Notification{PaymentJobReference: j.Ref, PaymentReference: p.Ref, PaymentStatus: p.Status}
	target := j.Params.WebhookURL
	if target == "" {
		target = st.WebhookURL
	}
	ev := outbox.Event{TenantID: j.TenantID, Type: EventPaymentStatus, Subject: p.Ref, Outcome: strings.ToLower(p.Status)}
	if target == "" || s.Callbacks == nil {
		ev.Data = n
		_, err := s.Outbox.Emit(ctx, tx, ev)
		return err
	}
	if _, key, err := s.signingKey(ctx, j.ConfigID); err == nil {
		sum := sha512.Sum512([]byte(key + n.PaymentJobReference + n.PaymentReference + n.PaymentStatus))
		n.Hash = hex.EncodeToString(sum[:])
	}
	ev.Data = n
	_, _, err := s.Callbacks.Callback(ctx, tx, ev, target)
	return err
}

// Get returns the tenant's job.
func (s *Service) Get(ctx context.Context, tenantID, ref string) (*job, error) {
	return s.readJob(ctx, tenantID, ref)
}

// readJob loads a job outside any write transaction, from one consistent
// snapshot: the job, its payments and their steps, captures and refunds are
// read by several statements, and a payment committed between two of them
// (a payment link's next attempt, a capture) must not show up half.
func (s *Service) readJob(ctx context.Context, tenantID, ref string) (*job, error) {
	var j *job
	err := s.DB.Snapshot(ctx, func(ctx context.Context, q store.Querier) error {
		var err error
		j, err = s.loadJob(ctx, q, tenantID, ref, false)
		return err
	})
	return j, err
}

// mutate loads the job ref locked in a transaction, runs fn and returns the
// job as fn left it.
func (s *Service) mutate(ctx context.Context, tenantID, ref string, fn func(tx *store.Tx, j *job, st settings, now time.Time) error) (*job, error) {
	var out *job
	err := s.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		j, err := s.loadJob(ctx, tx, tenantID, ref, true)
		if err != nil {
			return err
		}
		st, err := s.settings(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		if err := fn(tx, j, st, s.now()); err != nil {
			return err
		}
		out = j
		return httpx.Answer(ctx, tx, j) // the answer commits with the payment (httpx.Answering)
	})
	return out, err
}

// Capture captures amount of an authorised payment (POST …/captures).
func (s *Service) Capture(ctx context.Context, tenantID, jobRef, payRef string, req CapturePaymentRequest) (*job, capture, error) {
	final, err := req.IsFinalCapture.Bool("isFinalCapture")
	if err != nil {
		return nil, capture{}, err
	}
	var c capture
	j, err := s.mutate(ctx, tenantID, jobRef, func(tx *store.Tx, j *job, st settings, now time.Time) error {
		if err := creditOp(j, MsgInvalidStatus); err != nil {
			return err // a credit payment is not captured, refunded or cancelled (credit.go)
		}
		p, err := j.payment(payRef)
		if err != nil {
			return err
		}
		amt, err := parseAmount("amountToCapture", req.AmountToCapture, p.Currency)
		if err != nil {
			return err
		}
		if amt == 0 {
			return MsgInvalidAmount.Invalid("amountToCapture")
		}
		if p.Status != StAuthorised && p.Status != StPaid {
			return MsgInvalidStatus.Err(apperr.Conflict)
		}
		if p.HoldID == "" || p.CaptureClosed {
			// The payment went through but its capture is over: captured in
			// full, a final capture made, or captured at once (auto capture).
			return MsgCaptureInvalidStatus.Err(apperr.Conflict)
		}
		// The guarded update holds the invariant even against writers that
		// did not take the job lock.
		res, err := tx.ExecContext(ctx, `UPDATE gateway_payments SET captured = captured + $1, pending_amount = pending_amount + $1,
			capture_closed = ($2 OR captured + $1 = authorised), status = 'Paid', last_capture_at = $3,
			first_capture_at = COALESCE(first_capture_at, $3), paid_at = COALESCE(paid_at, $3), updated_at = $3
			WHERE reference = $4 AND NOT capture_closed AND captured + $1 <= authorised AND status IN ('Authorised', 'Paid')`,
			amt, final, now.UnixMicro(), p.Ref)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return MsgCaptureExceeds.Invalid("amountToCapture")
		}
		if err := s.Cards.Capture(ctx, tx, tenantID, p.HoldID, amt, final); err != nil {
			if apperr.Is(err, apperr.Conflict) || apperr.Is(err, apperr.Invalid) {
				return MsgCaptureExceeds.Invalid("amountToCapture")
			}
			return err
		}
		wasPaid := p.Status == StPaid
		p.Captured += amt
		p.PendingAmount += amt
		p.CaptureClosed = final || p.Captured == p.Authorised
		p.Status = StPaid
		if p.FirstCaptureAt.IsZero() {
			p.FirstCaptureAt, p.PaidAt = now, now
		}
		p.LastCaptureAt, p.UpdatedAt = now, now
		c = capture{Ref: s.IDs.Digits(18), Status: "Completed", TxnID: s.txnID(p, cardpay.TxnCapture), Amount: amt, Final: final, CreatedAt: now}
		if _, err := tx.ExecContext(ctx, `INSERT INTO gateway_captures (reference, payment_reference, amount, is_final, status, txn_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.Ref, p.Ref, c.Amount, c.Final, c.Status, c.TxnID, now.UnixMicro()); err != nil {
			return err
		}
		p.Captures = append(p.Captures, c)
		j.Status, j.Collected, j.UpdatedAt = StPaid, j.Collected+amt, now
		if j.PaidAt.IsZero() {
			j.PaidAt = now
		}
		if err := saveJob(ctx, tx, j); err != nil {
			return err
		}
		if err := s.scheduleSettlement(ctx, tx, tenantID, now); err != nil {
			return err
		}
		if !wasPaid {
			return s.notify(ctx, tx, j, p, st)
		}
		return nil
	})
	return j, c, err
}

// Refund refunds amount of a paid payment (POST …/refunds): partial and
// repeated refunds never exceed what was paid. A refund takes what is not
// yet settled first (merchant/pending: no fee was taken from it), then
// settled money, whose fee it returns pro rata (cardpay.SplitRefund): the
// merchant pays the settled part less the fee's share from
// merchant/available and platform/fees pays the share, so a merchant can
// always refund what the shopper paid while its balance holds it. A refund
// its available balance cannot fund (paid out) is refused with the guide's
// message and a detail naming the balance and what the refund takes
// (refundRefused).
func (s *Service) Refund(ctx context.Context, tenantID, jobRef, payRef string, req RefundPaymentRequest) (*job, refund, error) {
	if len(req.RefundNumber) > 100 {
		return nil, refund{}, apperr.InvalidField("refundNumber", "refundNumber must be at most 100 characters.")
	}
	var f refund
	j, err := s.mutate(ctx, tenantID, jobRef, func(tx *store.Tx, j *job, st settings, now time.Time) error {
		if err := creditOp(j, MsgUnableToRefund); err != nil {
			return err // a credit payment is not captured, refunded or cancelled (credit.go)
		}
		p, err := j.payment(payRef)
		if err != nil {
			return err
		}
		amt, err := parseAmount("amountToRefund", req.AmountToRefund, p.Currency)
		if err != nil {
			return err
		}
		if amt == 0 {
			return MsgInvalidAmount.Invalid("amountToRefund")
		}
		switch {
		case p.Status == StRefunded || (p.Captured > 0 && p.Refunded == p.Captured):
			return MsgFullyRefunded.Err(apperr.Conflict)
		case p.Status != StPaid && p.Status != StPartiallyRefunded:
			return MsgUnableToRefund.Err(apperr.Conflict)
		case amt > p.Captured-p.Refunded:
			return MsgRefundExceeds.Invalid("amountToRefund")
		}
		sp, err := cardpay.SplitRefund(paidOf(p), amt)
		if err != nil {
			return fmt.Errorf("gateway: refund fee share of %s: %w", p.Ref, err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE gateway_payments SET refunded = refunded + $1, pending_amount = pending_amount - $2,
			fee_returned = fee_returned + $3, status = CASE WHEN refunded + $1 = captured THEN 'Refunded' ELSE 'PartiallyRefunded' END, updated_at = $4
			WHERE reference = $5 AND refunded + $1 <= captured AND pending_amount >= $2 AND fee_returned + $3 <= fee_charged
			AND status IN ('Paid', 'PartiallyRefunded')`,
			amt, sp.FromPending, sp.FeeBack, now.UnixMicro(), p.Ref)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return MsgRefundExceeds.Invalid("amountToRefund")
		}
		err = s.Cards.Refund(ctx, tx, cardpay.RefundSpec{Scope: tenantID, Currency: p.Currency.Code(), Reference: p.Ref, Amount: amt, Split: sp,
			Via: p.via()})
		if sf := (*cardpay.ShortfallError)(nil); errors.As(err, &sf) {
			return refundRefused(sf, p, sp)
		}
		if err != nil {
			return err
		}
		p.Refunded += amt
		p.PendingAmount -= sp.FromPending
		p.FeeReturned += sp.FeeBack
		if p.Refunded == p.Captured {
			p.Status = StRefunded
		} else {
			p.Status = StPartiallyRefunded
		}
		p.UpdatedAt, j.UpdatedAt = now, now
		f = refund{Ref: s.IDs.Digits(18), Number: req.RefundNumber, Status: "Completed", TxnID: s.txnID(p, cardpay.TxnRefund), Amount: amt, CreatedAt: now}
		if _, err := tx.ExecContext(ctx, `INSERT INTO gateway_refunds (reference, payment_reference, refund_number, amount, status, txn_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, f.Ref, p.Ref, f.Number, f.Amount, f.Status, f.TxnID, now.UnixMicro()); err != nil {
			return err
		}
		p.Refunds = append(p.Refunds, f)
		if err := saveJob(ctx, tx, j); err != nil {
			return err
		}
		return s.notify(ctx, tx, j, p, st)
	})
	return j, f, err
}

// paidOf is what p's money has done so far, for the refund's split.
func paidOf(p *payment) cardpay.Paid {
	return cardpay.Paid{Captured: p.Captured, Refunded: p.Refunded, Pending: p.PendingAmount, Settled: p.Settled,
		FeeCharged: p.FeeCharged, FeeReturned: p.FeeReturned}
}

// refundRefused is the refusal of a refund the merchant's available
// balance cannot fund (sf, from the card engine): the guide's message,
// InsufficientFunds, and a detail naming the balance and what the refund
// takes from it.
func refundRefused(sf *cardpay.ShortfallError, p *payment, sp cardpay.Split) error {
	cur := p.Currency.Code()
	why := fmt.Sprintf("The merchant's available balance is %s %s; this refund takes %s %s from it (%s %s of settled money less %s %s of the fee returned).",
		amount(sf.Available, p.Currency), cur, amount(sf.Need, p.Currency), cur, amount(sp.FromAvailable, p.Currency), cur, amount(sp.FeeBack, p.Currency), cur)
	e := MsgRefundRefused.ErrAt(apperr.InsufficientFunds, "amountToRefund")
	e.Err = detailError(why)
	return e
}

// cancelPayment cancels p in tx: a pending payment simply stops; an
// authorised or paid one is reversed in full, which is allowed only before
// the settlement batch (midnight in the tenant's time zone).
func (s *Service) cancelPayment(ctx context.Context, tx *store.Tx, j *job, p *payment, st settings, now time.Time) error {
	switch p.Status {
	case StPending:
	case StAuthorised, StPaid:
		if p.Settled > 0 || p.Refunded > 0 {
			return MsgInvalidStatus.Err(apperr.Conflict)
		}
		if !p.FirstCaptureAt.IsZero() {
			loc, _, err := s.zone(ctx, j.TenantID)
			if err != nil {
				return err
			}
			if p.FirstCaptureAt.Before(midnightOf(now, loc)) {
				return apperr.New(apperr.Conflict, "Payment has been settled; it can only be refunded.")
			}
		}
		if p.PendingAmount > 0 {
			res, err := tx.ExecContext(ctx, `UPDATE gateway_payments SET pending_amount = 0 WHERE reference = $1 AND pending_amount = $2 AND settled_amount = 0`,
				p.Ref, p.PendingAmount)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return MsgInvalidStatus.Err(apperr.Conflict)
			}
			if err := s.Cards.CancelSale(ctx, tx, cardpay.SaleSpec{Scope: j.TenantID, Currency: p.Currency.Code(),
				Amount: p.PendingAmount, Reference: p.Ref, Via: p.via()}); err != nil {
				return err
			}
			p.PendingAmount = 0
		}
		if p.HoldID != "" && !p.CaptureClosed {
			if err := s.Cards.Void(ctx, tx, j.TenantID, p.HoldID); err != nil {
				return err
			}
		}
		p.CaptureClosed = true
		p.VoidTxnID = s.txnID(p, cardpay.TxnVoid)
	default:
		return MsgInvalidStatus.Err(apperr.Conflict)
	}
	p.Status, p.UpdatedAt = StCancelled, now
	stp := step{Ref: s.IDs.Digits(18), Seq: len(p.Steps), Action: "Cancel", Status: StCancelled, Amount: p.Amount, CreatedAt: now}
	if err := insertStep(ctx, tx, p.Ref, &stp); err != nil {
		return err
	}
	p.Steps = append(p.Steps, stp)
	if err := savePayment(ctx, tx, p); err != nil {
		return err
	}
	return s.notify(ctx, tx, j, p, st)
}

// CancelPayment cancels one payment (PATCH …/payments/{ref}/cancel). A
// payment cancelled already is answered as it is, with the guide's warning
// "Payment has an unexpected status.".
func (s *Service) CancelPayment(ctx context.Context, tenantID, jobRef, payRef string) (*job, *payment, error) {
	var out *payment
	j, err := s.mutate(ctx, tenantID, jobRef, func(tx *store.Tx, j *job, st settings, now time.Time) error {
		if err := creditOp(j, MsgInvalidStatus); err != nil {
			return err // a credit payment is not captured, refunded or cancelled (credit.go)
		}
		p, err := j.payment(payRef)
		if err != nil {
			return err
		}
		if p.Status == StCancelled {
			// Cancelled already (a retry, the job's cancel, the shopper):
			// what was asked holds; nothing changes, and the answer says
			// so with the guide's warning.
			out = p
			j.Warnings = append(j.Warnings, MsgUnexpectedStatus.warning(""))
			return nil
		}
		if err := s.cancelPayment(ctx, tx, j, p, st, now); err != nil {
			return err
		}
		out = p
		switch j.Status {
		case StPaid, StAuthorised:
			if err := s.reopen(ctx, tx, j, p, now); err != nil {
				return err
			}
		case StPending:
			// A payment waiting for 3-D Secure, cancelled by the merchant:
			// the job stays usable, on its hosted page.
			if err := s.openForMore(ctx, tx, j, p, now); err != nil {
				return err
			}
		}
		j.UpdatedAt = now
		return saveJob(ctx, tx, j)
	})
	return j, out, err
}

// reopen gives a job whose payment cancelled was cancelled the status its
// other payments make it: Paid or Authorised while one of them still holds
// money, else Pending again — the guide: "If you cancel a payment but not
// the payment job, you can still use the payment job for submitting more
// payments" (openForMore). A job reopened to Pending gets its expiry
// scheduled again (a job paid at creation had none); one past its expiry
// becomes Expired.
func (s *Service) reopen(ctx context.Context, tx *store.Tx, j *job, cancelled *payment, now time.Time) error {
	j.Collected = max(0, j.Collected-cancelled.Captured)
	j.Status = StPending
	for _, p := range j.Payments {
		switch {
		case p == cancelled:
		case p.Status == StPaid || p.Status == StPartiallyRefunded:
			j.Status = StPaid
		case p.Status == StAuthorised && j.Status != StPaid:
			j.Status = StAuthorised
		}
	}
	if j.Status != StPending {
		return nil
	}
	j.PaidAt = time.Time{}
	if !now.Before(j.ExpiresAt) {
		j.Status = StExpired
		return nil
	}
	if err := s.openForMore(ctx, tx, j, cancelled, now); err != nil {
		return err
	}
	if j.Status != StPending {
		return nil
	}
	return s.scheduleJobExpiry(ctx, tx, j)
}

// openForMore keeps the Pending job j usable for more payments after the
// merchant cancelled its payment cancelled, in tx (the guide's
// "Cancellation requests"). A payment link takes the next attempt on its
// page as it is (retryable). A job that came with its card gets a hosted
// card page for its next payment: a new Pending payment (the step
// DisplayHostedPage) that links.action points to, taken like a link's, once
// (declined, the job is Cancelled: closeDirect). A recurring child charges
// its parent's card and has no page: it is Cancelled (a new child is the
// next payment).
func (s *Service) openForMore(ctx context.Context, tx *store.Tx, j *job, cancelled *payment, now time.Time) error {
	switch {
	case j.Status != StPending || !j.Flags["direct"]:
		return nil
	case j.Parent != "":
		j.closeDirect()
		return nil
	}
	created := now
	if !created.After(cancelled.CreatedAt) {
		created = cancelled.CreatedAt.Add(time.Microsecond)
	}
	token := cancelled.PageToken
	if token == "" {
		token = s.IDs.Secret(32)
	}
	p := &payment{Ref: s.IDs.Digits(18), JobRef: j.Ref, TenantID: j.TenantID, Status: StPending, Currency: j.Currency, Amount: j.Amount,
		PageToken: token, CreatedAt: created, UpdatedAt: now}
	p.Steps = []step{{Ref: s.IDs.Digits(18), Action: "DisplayHostedPage", Status: StPending, Amount: j.Amount, CreatedAt: now}}
	if err := insertPayment(ctx, tx, p); err != nil {
		return err
	}
	j.Payments = append(j.Payments, p)
	return nil
}

// CancelJob cancels a job (PATCH …/cancel): no more payments; its pending
// payments are cancelled. Completed payments stay (cancel or refund them).
func (s *Service) CancelJob(ctx context.Context, tenantID, jobRef string) (*job, error) {
	return s.mutate(ctx, tenantID, jobRef, func(tx *store.Tx, j *job, st settings, now time.Time) error {
		if err := creditOp(j, MsgJobNotCancellable); err != nil {
			return err // a credit payment is not captured, refunded or cancelled (credit.go)
		}
		return s.cancelJob(ctx, tx, j, st, now)
	})
}

// cancelJob cancels the locked job j in tx (CancelJob, CancelLink).
func (s *Service) cancelJob(ctx context.Context, tx *store.Tx, j *job, st settings, now time.Time) error {
	switch j.Status {
	case StPending:
	case StAuthorised:
		return MsgJobNotCancellable.Err(apperr.Conflict)
	default:
		return MsgJobFinal.Err(apperr.Conflict)
	}
	for _, p := range j.Payments {
		if p.Status == StPending {
			if err := s.cancelPayment(ctx, tx, j, p, st, now); err != nil {
				return err
			}
		}
	}
	j.Status, j.UpdatedAt = StCancelled, now
	return saveJob(ctx, tx, j)
}

// findPage returns the tenant and job of the hosted page ref token (every
// attempt of a payment link shares its ref).
func (s *Service) findPage(ctx context.Context, token string) (tenantID, jobRef string, err error) {
	if len(token) != 64 || strings.Trim(token, "0123456789abcdef") != "" {
		return "", "", MsgPageNotFound.Err(apperr.NotFound)
	}
	err = s.DB.Read().QueryRowContext(ctx, `SELECT tenant_id, job_reference FROM gateway_payments WHERE page_token = $1 LIMIT 1`, token).
		Scan(&tenantID, &jobRef)
	if err != nil {
		return "", "", MsgPageNotFound.Err(apperr.NotFound)
	}
	return tenantID, jobRef, nil
}
