package cashier

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// A PSP that cannot be reached when a deposit is submitted (apperr
// Unavailable: the PSP said nothing, so nothing is decided) is asked again
// later when the deposit can be submitted from what cashgate keeps: no
// card (its security code is never stored) and no wallet login. The
// deposit stays created, its attempts counted, and JobSubmitDeposit asks
// the PSP again with the jobs' backoff (10 s, then doubling) until the PSP
// takes it or DepositAttempts calls failed, which fails it (reason
// psp_unavailable). The PSP keeps one operation per deposit (its merchant
// reference is the deposit's id), so a call that reached it but whose
// answer was lost books nothing twice. A card or wallet deposit whose PSP
// cannot be reached fails at once: the customer is there to try again.
// Well within StaleAfter, which fails whatever is still created.

// JobSubmitDeposit submits a created deposit to its PSP again.
const JobSubmitDeposit = "cashier.deposit.submit"

// DepositAttempts bounds the calls to an unreachable PSP for one deposit:
// the first, then DepositAttempts-1 by JobSubmitDeposit at 10, 20, 40
// and 80 s after.
const DepositAttempts = 5

// DepositRetryDelay is when JobSubmitDeposit first runs after the call
// that failed.
const DepositRetryDelay = 10 * time.Second

// resubmittable reports whether a deposit can be asked of its PSP again
// without the customer: nothing secret needs keeping for it.
func resubmittable(op Op) bool { return op.Card == nil && op.Wallet == nil }

// deferDeposit keeps the deposit created after its PSP could not be
// reached, schedules JobSubmitDeposit and answers the deposit (201).
func (s *Service) deferDeposit(ctx context.Context, d *deposit) (Deposit, error) {
	var out Deposit
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		cur, err := s.loadDeposit(ctx, tx, d.TenantID, d.ID, true)
		if err != nil {
			return err
		}
		if cur.Status != DepositCreated {
			return apperr.New(apperr.Conflict, "deposit %s is %s", d.ID, cur.Status)
		}
		cur.Attempts, cur.UpdatedAt = 1, s.now()
		if err := saveDeposit(ctx, tx, cur); err != nil {
			return err
		}
		if _, _, err := s.events.Enqueue(ctx, tx, outbox.JobSpec{Kind: JobSubmitDeposit, TenantID: d.TenantID, Payload: idPayload{ID: d.ID},
			RunAt: cur.UpdatedAt.Add(DepositRetryDelay), UniqueKey: JobSubmitDeposit + ":" + d.ID, MaxAttempts: DepositAttempts - 1}); err != nil {
			return err
		}
		out = viewDeposit(cur)
		return httpx.Reply(ctx, tx, http.StatusCreated, out)
	})
	return out, err
}

// ResubmitDeposit is the handler of JobSubmitDeposit: a deposit still
// created is asked of its PSP again; while the PSP cannot be reached the
// job fails and is retried with backoff, and its last attempt fails the
// deposit.
func (s *Service) ResubmitDeposit(ctx context.Context, jb outbox.Job) error {
	var pl idPayload
	if err := json.Unmarshal(jb.Payload, &pl); err != nil {
		return outbox.Permanent(err)
	}
	d, err := s.countAttempt(ctx, jb.TenantID, pl.ID)
	if err != nil || d == nil {
		return err
	}
	st, err := s.settings(ctx, s.db.Read(), jb.TenantID)
	if err != nil {
		return err
	}
	c := s.psps[d.PSP]
	op := s.depositOp(d, d.Amount)
	op.Bank = st.BankAccount
	var out Deposit
	rec := s.depositRecorder(jb.TenantID, d.ID, c, 0, &out, nil)
	if st.authCapture(c) && d.Channel != ChannelOffline {
		err = c.Authorise(ctx, op, rec)
	} else {
		err = c.Deposit(ctx, op, rec)
	}
	switch {
	case err == nil, apperr.Is(err, apperr.Conflict):
		return nil // taken, or the deposit moved on meanwhile
	case apperr.Is(err, apperr.Unavailable) && jb.Attempt < jb.MaxAttempts:
		s.log.WarnContext(ctx, "cashier: PSP unavailable; the deposit is submitted again later", "deposit", d.ID, "psp", d.PSP, "attempt", d.Attempts)
		return err
	}
	reason := "psp_unavailable"
	if !apperr.Is(err, apperr.Unavailable) {
		reason = "refused: " + apperr.From(err).Message
	}
	s.log.WarnContext(ctx, "cashier: deposit failed at its PSP", "deposit", d.ID, "psp", d.PSP, "attempts", d.Attempts, "err", err)
	return s.record(ctx, rec, Result{Status: DepositFailed, Reason: reason})
}

// countAttempt counts a call to the PSP of a deposit still created; nil
// when it no longer needs submitting.
func (s *Service) countAttempt(ctx context.Context, tenantID, id string) (*deposit, error) {
	var d *deposit
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		if d, err = s.loadDeposit(ctx, tx, tenantID, id, true); err != nil {
			return outbox.Permanent(err)
		}
		if d.Status != DepositCreated {
			d = nil
			return nil
		}
		d.Attempts++
		d.UpdatedAt = s.now()
		return saveDeposit(ctx, tx, d)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}
