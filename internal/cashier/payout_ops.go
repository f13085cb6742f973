package cashier

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// JobSendPayout sends an approved payout through its PSP (one job per
// payout, however often it is approved), retried while the PSP is
// unavailable.
const JobSendPayout = "cashier.payout.send"

// SendAttempts bounds the calls of an unavailable PSP before the payout
// fails (the job's backoff: 10 s doubling).
const SendAttempts = 6

// DecisionRequest is the body of an agent's approval or rejection.
type DecisionRequest struct {
	Reason string `json:"reason,omitempty"` // required to reject
}

// ApprovePayout approves a requested payout (via: the Agent API or the
// back office, whichever the tenant's payoutManagement names) and
// schedules its sending. A payout approved or rejected already is a
// Conflict: of two approvals at once one wins and the payout is sent once.
func (s *Service) ApprovePayout(ctx context.Context, tenantID, id string, ag Agent, via string) (Payout, error) {
	return s.decide(ctx, tenantID, id, ag, via, PayoutApproved, "")
}

// RejectPayout rejects a requested payout; its money goes back.
func (s *Service) RejectPayout(ctx context.Context, tenantID, id string, ag Agent, via, reason string) (Payout, error) {
	reason = strings.TrimSpace(reason)
	if n := utf8.RuneCountInString(reason); n == 0 || n > 200 {
		return Payout{}, apperr.InvalidField("reason", "reason is required to reject a payout, at most 200 characters")
	}
	return s.decide(ctx, tenantID, id, ag, via, PayoutRejected, reason)
}

func (s *Service) decide(ctx context.Context, tenantID, id string, ag Agent, via, to, reason string) (Payout, error) {
	st, err := s.settings(ctx, s.db.Read(), tenantID)
	if err != nil {
		return Payout{}, err
	}
	if st.PayoutManagement != via {
		return Payout{}, apperr.New(apperr.Forbidden, "this tenant manages payouts through %s (settings.payoutManagement)", managementName(st.PayoutManagement))
	}
	var out Payout
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		p, err := s.loadPayout(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if p.Status != PayoutRequested {
			return apperr.New(apperr.Conflict, "payout %s is %s: only a requested payout can be approved or rejected", id, p.Status)
		}
		p.DecidedBy, p.DecidedAt = ag.Username, s.now()
		if err := s.applyPayout(ctx, tx, p, s.psps[p.PSP], Result{Status: to, Reason: reason}); err != nil {
			return err
		}
		if to == PayoutApproved {
			if _, _, err := s.events.Enqueue(ctx, tx, outbox.JobSpec{Kind: JobSendPayout, TenantID: tenantID, Payload: idPayload{ID: id},
				UniqueKey: JobSendPayout + ":" + id, MaxAttempts: SendAttempts}); err != nil {
				return err
			}
		}
		if err := s.audit(ctx, tx, tenantID, ag, "payout."+to, id, reason); err != nil {
			return err
		}
		out = viewPayout(p)
		return httpx.Reply(ctx, tx, http.StatusOK, out)
	})
	return out, err
}

func managementName(v string) string {
	if v == ByBackOffice {
		return "the back office"
	}
	return "the Agent API"
}

// SendPayout is the handler of JobSendPayout: approved → processing, then
// the PSP. A PSP that cannot be reached is asked again (the job's backoff;
// the PSP keeps one operation per payout) until SendAttempts calls failed,
// which fails the payout and gives its money back.
func (s *Service) SendPayout(ctx context.Context, jb outbox.Job) error {
	var pl idPayload
	if err := json.Unmarshal(jb.Payload, &pl); err != nil {
		return outbox.Permanent(err)
	}
	p, c, err := s.beginSend(ctx, jb.TenantID, pl.ID)
	if err != nil || p == nil {
		return err
	}
	var out Payout
	rec := s.payoutRecorder(jb.TenantID, p.ID, c, 0, &out)
	op := Op{TenantID: p.TenantID, ID: p.ID, CustomerID: p.CustomerID, Amount: p.Amount, Currency: p.Currency, PSPRef: p.PSPRef,
		Destination: p.Destination, Description: "Payout " + p.ID}
	err = c.Payout(ctx, op, rec)
	switch {
	case err == nil:
		return nil
	case apperr.Is(err, apperr.Unavailable) && jb.Attempt < jb.MaxAttempts:
		s.log.WarnContext(ctx, "cashier: PSP unavailable; the payout is sent again later", "payout", p.ID, "psp", p.PSP, "attempt", jb.Attempt)
		return err
	case apperr.Is(err, apperr.Conflict):
		return nil // the payout moved on meanwhile
	}
	s.log.ErrorContext(ctx, "cashier: payout failed at its PSP", "payout", p.ID, "psp", p.PSP, "err", err)
	return s.record(ctx, rec, Result{Status: PayoutFailed, Reason: "psp_unavailable"})
}

// beginSend moves an approved payout to processing and counts the call;
// nil when the payout no longer needs sending.
func (s *Service) beginSend(ctx context.Context, tenantID, id string) (*payout, Connector, error) {
	var p *payout
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		if p, err = s.loadPayout(ctx, tx, tenantID, id, true); err != nil {
			return outbox.Permanent(err)
		}
		switch {
		case p.Status == PayoutApproved:
			p.Attempts++
			return s.applyPayout(ctx, tx, p, s.psps[p.PSP], Result{Status: PayoutProcessing})
		case p.Status == PayoutProcessing && p.BatchID == "":
			p.Attempts++
			return savePayout(ctx, tx, p)
		}
		p = nil
		return nil
	})
	if p == nil || err != nil {
		return nil, nil, err
	}
	return p, s.psps[p.PSP], nil
}

// payoutRecorder records a PSP's answer for the payout (status 0: no answer).
func (s *Service) payoutRecorder(tenantID, id string, c Connector, status int, out *Payout) Recorder {
	return func(ctx context.Context, tx *store.Tx, res Result) error {
		p, err := s.loadPayout(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if err := s.applyPayout(ctx, tx, p, c, res); err != nil {
			return err
		}
		*out = viewPayout(p)
		if status == 0 {
			return nil
		}
		return httpx.Reply(ctx, tx, status, *out)
	}
}
