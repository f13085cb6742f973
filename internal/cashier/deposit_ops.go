package cashier

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// CaptureRequest is the body of an agent's capture: without an amount the
// whole authorisation is captured.
type CaptureRequest struct {
	Amount string `json:"amount,omitempty"`
}

// CaptureDeposit captures an authorised deposit (all, or less: the rest is
// released) through its PSP, via the Agent API or the back office,
// whichever the tenant's depositManagement names.
func (s *Service) CaptureDeposit(ctx context.Context, tenantID, id string, in CaptureRequest, ag Agent, via string) (Deposit, error) {
	d, c, err := s.managedDeposit(ctx, tenantID, id, via, DepositAuthorised)
	if err != nil {
		return Deposit{}, err
	}
	amount := d.Amount
	if in.Amount != "" {
		if amount, err = parseAmount("amount", in.Amount, d.Currency); err != nil || amount > d.Amount {
			return Deposit{}, apperr.InvalidField("amount", "amount must be positive and at most the authorised %s %s", format(d.Amount, d.Currency), d.Currency)
		}
	}
	var out Deposit
	rec := s.depositRecorder(tenantID, id, c, http.StatusOK, &out, s.audited(ag, "deposit.capture", format(amount, d.Currency)))
	return out, c.Capture(ctx, s.depositOp(d, amount), rec)
}

// VoidDeposit releases an authorised deposit.
func (s *Service) VoidDeposit(ctx context.Context, tenantID, id string, ag Agent, via string) (Deposit, error) {
	d, c, err := s.managedDeposit(ctx, tenantID, id, via, DepositAuthorised)
	if err != nil {
		return Deposit{}, err
	}
	var out Deposit
	rec := s.depositRecorder(tenantID, id, c, http.StatusOK, &out, s.audited(ag, "deposit.void", ""))
	return out, c.Void(ctx, s.depositOp(d, d.Amount), rec)
}

// RefundDeposit gives a captured deposit back through its PSP, from the
// customer's balance (refused when the customer withdrew it).
func (s *Service) RefundDeposit(ctx context.Context, tenantID, id string, ag Agent, via string) (Deposit, error) {
	d, c, err := s.managedDeposit(ctx, tenantID, id, via, DepositCaptured)
	if err != nil {
		return Deposit{}, err
	}
	var out Deposit
	rec := s.depositRecorder(tenantID, id, c, http.StatusOK, &out, s.audited(ag, "deposit.refund", ""))
	return out, c.Refund(ctx, s.depositOp(d, d.CapturedAmount), rec)
}

// managedDeposit is a deposit an agent may act on via, in status want.
func (s *Service) managedDeposit(ctx context.Context, tenantID, id, via, want string) (*deposit, Connector, error) {
	st, err := s.settings(ctx, s.db.Read(), tenantID)
	if err != nil {
		return nil, nil, err
	}
	if st.DepositManagement != via {
		return nil, nil, apperr.New(apperr.Forbidden, "this tenant manages deposits through %s (settings.depositManagement)", managementName(st.DepositManagement))
	}
	d, err := s.loadDeposit(ctx, s.db.Read(), tenantID, id, false)
	if err != nil {
		return nil, nil, err
	}
	if d.Status != want {
		return nil, nil, apperr.New(apperr.Conflict, "deposit %s is %s, not %s", id, d.Status, want)
	}
	return d, s.psps[d.PSP], nil
}

func (s *Service) depositOp(d *deposit, amount int64) Op {
	return Op{TenantID: d.TenantID, ID: d.ID, CustomerID: d.CustomerID, Amount: amount, Currency: d.Currency, PSPRef: d.PSPRef}
}

// audited records an agent's action on the deposit in its transaction.
func (s *Service) audited(ag Agent, action, detail string) func(ctx context.Context, tx *store.Tx, d *deposit) error {
	return func(ctx context.Context, tx *store.Tx, d *deposit) error {
		return s.audit(ctx, tx, d.TenantID, ag, action, d.ID, detail)
	}
}

// MOTODeposit is a card deposit an agent enters on the customer's behalf
// (mail or telephone order): no 3-D Secure.
func (s *Service) MOTODeposit(ctx context.Context, tenantID string, in DepositRequest, ag Agent) (Deposit, error) {
	in.PSP = PSPCard
	return s.deposit(ctx, tenantID, in, ChannelMOTO, ag, "")
}

// OfflineDeposit records money an agent received otherwise: captured at once.
func (s *Service) OfflineDeposit(ctx context.Context, tenantID string, in DepositRequest, ag Agent) (Deposit, error) {
	if in.Card != nil || in.Wallet != nil {
		return Deposit{}, apperr.InvalidField("psp", "an offline deposit takes no card or wallet")
	}
	in.PSP = PSPOffline
	return s.deposit(ctx, tenantID, in, ChannelOffline, ag, "")
}

// Complete3DS finishes the 3-D Secure challenge of a card deposit (the
// challenge page knows the deposit's id and the challenge's token, no
// tenant): passed authorises or captures it, failed declines it. It
// returns the deposit and where its customer returns (the session's
// returnUrl, "" without one).
func (s *Service) Complete3DS(ctx context.Context, depositID, tok string, passed bool) (Deposit, string, error) {
	d, err := s.depositByID(ctx, depositID)
	if err != nil {
		return Deposit{}, "", err
	}
	st, err := s.settings(ctx, s.db.Read(), d.TenantID)
	if err != nil {
		return Deposit{}, "", err
	}
	cp := s.psps[PSPCard].(*cardPSP)
	approved := DepositCaptured
	if st.authCapture(cp) {
		approved = DepositAuthorised
	}
	var out Deposit
	err = cp.complete(ctx, d, tok, passed, approved, s.depositRecorder(d.TenantID, d.ID, cp, 0, &out, nil))
	if err != nil {
		return Deposit{}, "", err
	}
	return out, s.returnURL(ctx, d), nil
}

// depositByID reads a deposit of any tenant.
func (s *Service) depositByID(ctx context.Context, id string) (*deposit, error) {
	d, err := scanDeposit(s.db.Read().QueryRowContext(ctx, `SELECT `+depositCols+` FROM cashier_deposits WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "deposit %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("cashier: load deposit: %w", err)
	}
	return d, nil
}

// returnURL is where the customer of d returns: its own returnUrl, else
// its session's.
func (s *Service) returnURL(ctx context.Context, d *deposit) string {
	if d.ReturnURL != "" {
		return d.ReturnURL
	}
	if d.SessionID == "" {
		return ""
	}
	x, err := s.loadSession(ctx, s.db.Read(), d.TenantID, d.SessionID)
	if err != nil {
		return ""
	}
	return x.ReturnURL
}

// Stale is the handler of JobStale: a deposit still created (its PSP
// never answered) or waiting for its 3-D Secure challenge fails, and the
// challenge's card leaves the vault.
func (s *Service) Stale(ctx context.Context, jb outbox.Job) error {
	var pl idPayload
	if err := json.Unmarshal(jb.Payload, &pl); err != nil {
		return outbox.Permanent(err)
	}
	return s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		d, err := s.loadDeposit(ctx, tx, jb.TenantID, pl.ID, true)
		if err != nil {
			return outbox.Permanent(err)
		}
		reason := "abandoned"
		switch {
		case d.Status == DepositPending && d.PSP == PSPCard:
			reason = "3ds_abandoned"
			if err := s.purgeChallenges(ctx, tx, d); err != nil {
				return err
			}
		case d.Status != DepositCreated:
			return nil
		}
		return s.applyDeposit(ctx, tx, d, s.psps[d.PSP], Result{Status: DepositFailed, Reason: reason})
	})
}

// ExpireAuthorisation is the handler of JobExpireAuth: an authorisation
// still not captured is voided (reason expired).
func (s *Service) ExpireAuthorisation(ctx context.Context, jb outbox.Job) error {
	var pl idPayload
	if err := json.Unmarshal(jb.Payload, &pl); err != nil {
		return outbox.Permanent(err)
	}
	return s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		d, err := s.loadDeposit(ctx, tx, jb.TenantID, pl.ID, true)
		if err != nil {
			return outbox.Permanent(err)
		}
		if d.Status != DepositAuthorised {
			return nil
		}
		return s.applyDeposit(ctx, tx, d, s.psps[d.PSP], Result{Status: DepositVoided, Reason: "expired"})
	})
}
