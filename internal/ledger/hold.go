package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
)

const holdCols = `id, tenant_id, kind, from_account, to_account, currency, amount, posted_amount, status, reference, created_at, updated_at`

const (
	// sqlReserve moves an account's pending amounts, refusing to take a
	// non-overdraft account's available balance below zero.
	sqlReserve = `UPDATE ledger_accounts
SET pending_out = pending_out + $1, pending_in = pending_in + $2
WHERE id = $3 AND tenant_id = $4 AND currency = $5 AND (allow_overdraft OR posted - pending_out - $1 >= 0)
AND pending_out + $1 BETWEEN -` + maxBalanceSQL + ` AND ` + maxBalanceSQL + `
AND pending_in + $2 BETWEEN -` + maxBalanceSQL + ` AND ` + maxBalanceSQL

	// sqlUnreserve reverts sqlReserve on an account this transaction already updated.
	sqlUnreserve = `UPDATE ledger_accounts SET pending_out = pending_out - $1, pending_in = pending_in - $2 WHERE id = $3`

	sqlInsertHold = `INSERT INTO ledger_holds (` + holdCols + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 'pending', $8, $9, $9)`

	// sqlPostHold records a post of $1 against a pending hold, never beyond
	// its amount; the hold is done when $2 (final) or when nothing remains.
	sqlPostHold = `UPDATE ledger_holds
SET posted_amount = posted_amount + $1,
    status = CASE WHEN $2 OR posted_amount + $1 = amount THEN 'posted' ELSE 'pending' END,
    updated_at = $3
WHERE id = $4 AND tenant_id = $5 AND status = 'pending' AND posted_amount + $1 <= amount
RETURNING ` + holdCols

	sqlVoidHold = `UPDATE ledger_holds SET status = 'voided', updated_at = $1
WHERE id = $2 AND tenant_id = $3 AND status = 'pending'
RETURNING ` + holdCols

	sqlHoldByID = `SELECT ` + holdCols + ` FROM ledger_holds WHERE id = $1 AND tenant_id = $2`
)

func scanHold(s scanner) (Hold, error) {
	var h Hold
	var status string
	var created, updated int64
	err := s.Scan(&h.ID, &h.TenantID, &h.Kind, &h.From, &h.To, &h.Currency, &h.Amount, &h.PostedAmount,
		&status, &h.Reference, &created, &updated)
	if err != nil {
		return Hold{}, err
	}
	h.Status = HoldStatus(status)
	h.CreatedAt, h.UpdatedAt = fromMicros(created), fromMicros(updated)
	return h, nil
}

// Hold reserves spec.Amount on spec.From for a later post to spec.To: the
// source's pending_out and the destination's pending_in grow by the amount.
// A hold that would take a non-overdraft source's available balance below
// zero is InsufficientFunds; unknown accounts are NotFound; an account in
// another currency is Invalid. A refused hold changes nothing.
func (l *Ledger) Hold(ctx context.Context, tx *store.Tx, spec HoldSpec) (Hold, error) {
	if spec.Kind == "" {
		spec.Kind = "capture"
	}
	for _, c := range []struct{ field, v string }{
		{"tenant_id", spec.TenantID}, {"from", spec.From}, {"to", spec.To}, {"kind", spec.Kind},
	} {
		if err := checkName(c.field, c.v); err != nil {
			return Hold{}, err
		}
	}
	if err := checkOptional("reference", spec.Reference, maxName); err != nil {
		return Hold{}, err
	}
	if err := checkCurrency("currency", spec.Currency); err != nil {
		return Hold{}, err
	}
	if err := checkPositive("amount", spec.Amount); err != nil {
		return Hold{}, err
	}
	if spec.From == spec.To {
		return Hold{}, apperr.InvalidField("to", "cannot hold from an account to itself")
	}
	if err := l.flush(ctx, tx); err != nil {
		return Hold{}, err
	}
	legs := []leg{
		{account: spec.From, currency: spec.Currency, pendingOut: spec.Amount},
		{account: spec.To, currency: spec.Currency, pendingIn: spec.Amount},
	}
	order := applyOrder(legs)
	for n, i := range order {
		lg := legs[i]
		k, err := l.reserve(ctx, tx, spec.TenantID, lg)
		if err != nil {
			return Hold{}, err
		}
		if k == 0 {
			refusal := diagnose(ctx, tx, spec.TenantID, lg)
			return Hold{}, undo(refusal, func() error {
				for _, j := range order[:n] {
					if err := exec1(ctx, tx, sqlUnreserve, legs[j].pendingOut, legs[j].pendingIn, legs[j].account); err != nil {
						return err
					}
				}
				return nil
			})
		}
	}
	now := l.now()
	h := Hold{
		ID: l.gen.ID("hold"), TenantID: spec.TenantID, Kind: spec.Kind, From: spec.From, To: spec.To,
		Currency: spec.Currency, Amount: spec.Amount, Status: HoldPending, Reference: spec.Reference,
		CreatedAt: fromMicros(now), UpdatedAt: fromMicros(now),
	}
	if _, err := tx.ExecContext(ctx, sqlInsertHold, h.ID, h.TenantID, h.Kind, h.From, h.To, h.Currency, h.Amount,
		h.Reference, now); err != nil {
		return Hold{}, fmt.Errorf("ledger: insert hold: %w", err)
	}
	return h, nil
}

// reserve applies sqlReserve for lg and reports the rows it changed: 0 when
// the account refuses. A refusal of a hot account folds its unfolded
// postings and tries again, as applyLeg does (Ledger.again).
func (l *Ledger) reserve(ctx context.Context, tx *store.Tx, tenantID string, lg leg) (int64, error) {
	var r refusal
	for {
		res, err := tx.ExecContext(ctx, sqlReserve, lg.pendingOut, lg.pendingIn, lg.account, tenantID, lg.currency)
		if err != nil {
			return 0, fmt.Errorf("ledger: hold on account %s: %w", lg.account, err)
		}
		k, err := res.RowsAffected()
		if err != nil || k > 0 {
			return k, err
		}
		if again, err := l.again(ctx, tx, lg.account, &r); err != nil || !again {
			return 0, err
		}
	}
}

// PostHold posts amount of a pending hold as an entry (From -amount, To
// +amount, kind and reference of the hold) and returns the entry id. A hold
// may be posted in several parts; it becomes posted when nothing remains or
// when final is true, which releases whatever remains unposted. Posting
// more than remains is Conflict (Invalid when amount exceeds the whole
// hold); posting a posted or voided hold is Conflict; an unknown hold is
// NotFound. Concurrent posts never exceed the hold's amount.
func (l *Ledger) PostHold(ctx context.Context, tx *store.Tx, tenantID, holdID string, amount int64, final bool) (string, error) {
	if err := checkPositive("amount", amount); err != nil {
		return "", err
	}
	if err := l.flush(ctx, tx); err != nil {
		return "", err
	}
	now := l.now()
	h, err := scanHold(tx.QueryRowContext(ctx, sqlPostHold, amount, final, now, holdID, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return "", diagnoseHold(ctx, tx, tenantID, holdID, amount)
	}
	if err != nil {
		return "", fmt.Errorf("ledger: post hold %s: %w", holdID, err)
	}
	// Pending shrinks by what is posted, plus what is released if this
	// post closes the hold.
	release := amount
	if h.Status == HoldPosted {
		release += h.Amount - h.PostedAmount
	}
	legs := []leg{
		{seq: 0, account: h.From, currency: h.Currency, amount: -amount, pendingOut: -release},
		{seq: 1, account: h.To, currency: h.Currency, amount: amount, pendingIn: -release},
	}
	row := entryRow{
		id: l.gen.ID("ent"), tenantID: tenantID, kind: h.Kind, reference: h.Reference,
		holdID: h.ID, createdAt: now,
	}
	if err := l.write(ctx, tx, row, legs); err != nil {
		// The hold row is already updated and its accounts refused the
		// post: the data is inconsistent. Not a domain error, so the
		// caller rolls back.
		return "", fmt.Errorf("ledger: post hold %s: accounts disagree with the hold: %v", holdID, err)
	}
	return row.id, nil
}

// VoidHold releases what remains of a pending hold without posting it; the
// hold becomes voided (parts posted before stay posted). Voiding a posted or
// voided hold is Conflict; an unknown hold is NotFound.
func (l *Ledger) VoidHold(ctx context.Context, tx *store.Tx, tenantID, holdID string) error {
	if err := l.flush(ctx, tx); err != nil {
		return err
	}
	h, err := scanHold(tx.QueryRowContext(ctx, sqlVoidHold, l.now(), holdID, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return diagnoseHold(ctx, tx, tenantID, holdID, 0)
	}
	if err != nil {
		return fmt.Errorf("ledger: void hold %s: %w", holdID, err)
	}
	rest := h.Amount - h.PostedAmount
	legs := []leg{
		{account: h.From, currency: h.Currency, pendingOut: -rest},
		{account: h.To, currency: h.Currency, pendingIn: -rest},
	}
	for _, i := range applyOrder(legs) {
		lg := legs[i]
		if err := exec1(ctx, tx, sqlReserve, lg.pendingOut, lg.pendingIn, lg.account, tenantID, lg.currency); err != nil {
			return fmt.Errorf("ledger: void hold %s: release on account %s: %w", holdID, lg.account, err)
		}
	}
	return nil
}

// HoldByID returns the tenant's hold id.
func (l *Ledger) HoldByID(ctx context.Context, q store.Querier, tenantID, id string) (Hold, error) {
	if err := l.flushQuerier(ctx, q); err != nil {
		return Hold{}, err
	}
	h, err := scanHold(q.QueryRowContext(ctx, sqlHoldByID, id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return Hold{}, apperr.New(apperr.NotFound, "hold %s not found", id)
	}
	if err != nil {
		return Hold{}, fmt.Errorf("ledger: hold %s: %w", id, err)
	}
	return h, nil
}

// diagnoseHold explains why a guarded update of a hold matched no row.
// amount is the amount being posted, 0 for a void.
func diagnoseHold(ctx context.Context, tx *store.Tx, tenantID, holdID string, amount int64) error {
	h, err := scanHold(tx.QueryRowContext(ctx, sqlHoldByID, holdID, tenantID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return apperr.New(apperr.NotFound, "hold %s not found", holdID)
	case err != nil:
		return fmt.Errorf("ledger: hold %s: %w", holdID, err)
	case h.Status != HoldPending:
		return apperr.New(apperr.Conflict, "hold %s is already %s", holdID, h.Status)
	case amount > h.Amount:
		return apperr.InvalidField("amount", "amount %d exceeds hold %s's amount %d", amount, holdID, h.Amount)
	default:
		return apperr.New(apperr.Conflict, "amount %d exceeds the %d remaining on hold %s", amount, h.Amount-h.PostedAmount, holdID)
	}
}
