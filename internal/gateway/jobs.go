package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/cardpay"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// Register installs the gateway's job handlers on r and its notification
// format and acknowledgement rule on w.
func (s *Service) Register(r *outbox.Runner, w interface {
	Acknowledge(typePrefix string, ack outbox.Acknowledger)
	Render(typePrefix string, rd outbox.Renderer)
}) {
	r.Handle(KindSettle, s.runSettle)
	r.Handle(KindAuthExpiry, s.runAuthExpiry)
	r.Handle(KindJobExpiry, s.runJobExpiry)
	r.Handle(KindCredit, s.runCredit)
	r.Handle(KindPurgeSignatures, s.runPurgeSignatures)
	if w != nil {
		w.Render("gateway.", Render)
		w.Acknowledge("gateway.", Acknowledge)
	}
}

// Render is the body of a gateway notification: the Notification JSON.
func Render(ev outbox.Event) ([]byte, string, error) {
	var n Notification
	if err := ev.DecodeData(&n); err != nil {
		return nil, "", err
	}
	b, err := json.Marshal(n)
	return b, "application/json", err
}

// Acknowledge accepts a notification when the merchant answers 200 with a
// body echoing paymentJobReference and paymentReference (per the guide).
func Acknowledge(ev outbox.Event, status int, body []byte) bool {
	if status != 200 {
		return false
	}
	var n, got Notification
	if ev.DecodeData(&n) != nil || json.Unmarshal(body, &got) != nil {
		return false
	}
	return got.PaymentJobReference == n.PaymentJobReference && got.PaymentReference == n.PaymentReference && n.PaymentReference != ""
}

// settleBatch is how many payments one settlement transaction handles.
const settleBatch = 200

// runSettle is the midnight settlement batch of one tenant: every payment
// captured before the cutoff moves from merchant/pending to
// merchant/available, less the tenant's fee (to platform/fees).
func (s *Service) runSettle(ctx context.Context, jb outbox.Job) error {
	var pl settlePayload
	if err := json.Unmarshal(jb.Payload, &pl); err != nil {
		return outbox.Permanent(err)
	}
	for {
		n, err := s.settleSome(ctx, jb.TenantID, pl.Cutoff)
		if err != nil {
			return err
		}
		if n < settleBatch {
			return nil
		}
	}
}

// SettleNow runs the tenant's settlement for everything captured before
// cutoff (what the midnight job does); it returns how many payments settled.
func (s *Service) SettleNow(ctx context.Context, tenantID string, cutoff time.Time) (int, error) {
	total := 0
	for {
		n, err := s.settleSome(ctx, tenantID, cutoff.UnixMicro())
		total += n
		if err != nil || n < settleBatch {
			return total, err
		}
	}
}

func (s *Service) settleSome(ctx context.Context, tenantID string, cutoff int64) (int, error) {
	settled := 0
	err := s.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		settled = 0
		st, err := s.settings(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		// The rows are locked (PostgreSQL) so that a refund, cancel or
		// capture of the same payment waits for the batch, and the batch
		// for them: neither works from amounts the other changed (a
		// payment skipped here would have no later batch to settle it).
		rows, err := tx.QueryContext(ctx, `SELECT reference, currency, pending_amount, settled_amount FROM gateway_payments
			WHERE tenant_id = $1 AND pending_amount > 0 AND last_capture_at < $2 ORDER BY reference LIMIT `+fmt.Sprint(settleBatch)+s.DB.ForUpdate(), tenantID, cutoff)
		if err != nil {
			return err
		}
		type item struct {
			ref, cur         string
			pending, settled int64
		}
		var items []item
		for rows.Next() {
			var it item
			if err := rows.Scan(&it.ref, &it.cur, &it.pending, &it.settled); err != nil {
				rows.Close()
				return err
			}
			items = append(items, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		now := s.now().UnixMicro()
		for _, it := range items {
			fee, err := money.PercentOf(it.pending, st.FeeBasisPoints, money.RoundHalfUp)
			if err != nil {
				return err
			}
			if it.settled == 0 {
				fee += st.FeeFixedMinor
			}
			fee = min(fee, it.pending)
			res, err := tx.ExecContext(ctx, `UPDATE gateway_payments SET pending_amount = 0, settled_amount = settled_amount + $1, fee_charged = fee_charged + $2,
				updated_at = $3 WHERE reference = $4 AND pending_amount = $1`, it.pending, fee, now, it.ref)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue // changed meanwhile; the next run takes it
			}
			if err := s.Cards.Settle(ctx, tx, cardpay.SettleSpec{Scope: tenantID, Currency: it.cur, Reference: it.ref,
				Amount: it.pending, Fee: fee}); err != nil {
				return err
			}
			settled++
		}
		return nil
	})
	return settled, err
}

// runAuthExpiry releases an authorisation not captured in full within 7
// days: what remains of the hold is voided; a payment with nothing captured
// becomes Expired.
func (s *Service) runAuthExpiry(ctx context.Context, jb outbox.Job) error {
	var pl refPayload
	if err := json.Unmarshal(jb.Payload, &pl); err != nil {
		return outbox.Permanent(err)
	}
	var jobRef string
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT job_reference FROM gateway_payments WHERE reference = $1 AND tenant_id = $2`, pl.Ref, jb.TenantID).Scan(&jobRef); err != nil {
		return outbox.Permanent(fmt.Errorf("gateway: payment %s: %w", pl.Ref, err))
	}
	err := s.transition(ctx, jb.TenantID, jobRef, pl.Ref, func(tx *store.Tx, j *job, p *payment, st settings, now time.Time) error {
		// Whatever the payment's status — captured in part and then
		// (partly) refunded included — what remains of an open
		// authorisation is released.
		if p.HoldID == "" || p.CaptureClosed {
			return nil
		}
		if err := s.Cards.Void(ctx, tx, j.TenantID, p.HoldID); err != nil && !apperr.Is(err, apperr.Conflict) {
			return err
		}
		p.CaptureClosed, p.UpdatedAt = true, now
		if p.Captured > 0 || p.Status != StAuthorised {
			return savePayment(ctx, tx, p)
		}
		p.Status = StExpired
		stp := step{Ref: s.IDs.Digits(18), Seq: len(p.Steps), Action: "Expire", Status: StExpired, Amount: p.Amount, CreatedAt: now}
		if err := insertStep(ctx, tx, p.Ref, &stp); err != nil {
			return err
		}
		if err := savePayment(ctx, tx, p); err != nil {
			return err
		}
		if j.Status == StAuthorised {
			j.Status, j.UpdatedAt = StExpired, now
			if err := saveJob(ctx, tx, j); err != nil {
				return err
			}
		}
		return s.notify(ctx, tx, j, p, st)
	})
	return err
}

// runJobExpiry expires a job still open at its expiration time; its
// pending payments expire with it.
func (s *Service) runJobExpiry(ctx context.Context, jb outbox.Job) error {
	var pl refPayload
	if err := json.Unmarshal(jb.Payload, &pl); err != nil {
		return outbox.Permanent(err)
	}
	_, err := s.mutate(ctx, jb.TenantID, pl.Ref, func(tx *store.Tx, j *job, st settings, now time.Time) error {
		if j.Status != StPending {
			return nil
		}
		if now.Before(j.ExpiresAt) {
			return outbox.RetryAt(j.ExpiresAt)
		}
		for _, p := range j.Payments {
			if p.Status != StPending {
				continue
			}
			p.Status, p.UpdatedAt = StExpired, now
			stp := step{Ref: s.IDs.Digits(18), Seq: len(p.Steps), Action: "Expire", Status: StExpired, Amount: p.Amount, CreatedAt: now}
			if err := insertStep(ctx, tx, p.Ref, &stp); err != nil {
				return err
			}
			if err := savePayment(ctx, tx, p); err != nil {
				return err
			}
			if err := s.notify(ctx, tx, j, p, st); err != nil {
				return err
			}
		}
		j.Status, j.UpdatedAt = StExpired, now
		return saveJob(ctx, tx, j)
	})
	if apperr.Is(err, apperr.NotFound) {
		return outbox.Permanent(err)
	}
	return err
}
