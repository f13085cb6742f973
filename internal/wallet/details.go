package wallet

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// A corporate edits its account details (seed 000's FAQ: "You can directly
// edit the information you have entered… Certain changes need to be
// approved by customer service"):
//   - a new bank account (IBAN, BIC) applies at once and resets its
//     verification: withdrawals wait until the 2-cent transfer's code is
//     entered again (Withdraw refuses an unverified account);
//   - company data (the company name) is held for the operator, who
//     approves it (applied) or rejects it with a reason (discarded); the
//     customer sees the change waiting and the reason.

// EventDetailsChanged is the event of a change applied or decided.
const EventDetailsChanged = "wallet.details.changed"

// Detail change statuses.
const (
	ChangePending  = "pending"
	ChangeApproved = "approved"
	ChangeRejected = "rejected"
)

// DetailsEdit is what the corporate changes; an empty field stays as it is.
type DetailsEdit struct {
	CompanyName string `json:"companyName,omitempty"`
	IBAN        string `json:"iban,omitempty"`
	BIC         string `json:"bic,omitempty"`
}

// DetailChange is a change of company data held for the operator.
type DetailChange struct {
	ID             string    `json:"id"`
	TenantID       string    `json:"tenantId"`
	MerchantID     string    `json:"merchantId,omitempty"`
	CompanyName    string    `json:"companyName"`
	OldCompanyName string    `json:"oldCompanyName"`
	Status         string    `json:"status"`
	Reason         string    `json:"reason,omitempty"`
	DecidedBy      string    `json:"decidedBy,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// AccountDetails is the corporate's account with its held change (the
// pending one, or the last decided one so the customer sees the outcome).
type AccountDetails struct {
	Account CorporateAccount `json:"account"`
	Change  *DetailChange    `json:"change,omitempty"`
	// BankReset tells that this edit changed the bank account: verify it
	// again before withdrawing.
	BankReset bool `json:"bankReset,omitempty"`
}

const changeSelect = `SELECT ch.id, ch.tenant_id, c.merchant_id, ch.company_name, ch.old_company_name, ch.status, ch.reason, ch.decided_by,
ch.created_at, ch.updated_at FROM wallet_detail_changes ch JOIN wallet_corporates c ON c.tenant_id = ch.tenant_id `

func scanChange(r interface{ Scan(...any) error }) (DetailChange, error) {
	var d DetailChange
	var created, updated int64
	err := r.Scan(&d.ID, &d.TenantID, &d.MerchantID, &d.CompanyName, &d.OldCompanyName, &d.Status, &d.Reason, &d.DecidedBy, &created, &updated)
	d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
	return d, err
}

// DetailsOf is the corporate's account and its held change: the pending
// one, else the last decided.
func (s *Service) DetailsOf(ctx context.Context, userID string) (AccountDetails, error) {
	return s.detailsOf(ctx, s.db.Read(), userID)
}

func (s *Service) detailsOf(ctx context.Context, q store.Querier, userID string) (AccountDetails, error) {
	acc, err := s.corporateAccount(ctx, q, userID)
	if err != nil {
		return AccountDetails{}, err
	}
	out := AccountDetails{Account: acc}
	ch, err := scanChange(q.QueryRowContext(ctx, changeSelect+`WHERE ch.tenant_id = $1
ORDER BY CASE WHEN ch.status = 'pending' THEN 0 ELSE 1 END, ch.updated_at DESC, ch.id DESC LIMIT 1`, acc.TenantID))
	switch {
	case err == nil:
		out.Change = &ch
	case !errors.Is(err, sql.ErrNoRows):
		return AccountDetails{}, err
	}
	return out, nil
}

// companyName validates a company name.
func companyName(v string) (string, error) {
	v = strings.TrimSpace(v)
	if err := httpx.CheckText("companyName", v); err != nil {
		return "", err
	}
	return v, checkText("companyName", v, 2, 140)
}

// EditDetails applies the corporate's edit: a new bank account at once
// (its verification reset), a new company name held for the operator (one
// change waits at a time). One transaction with the log rows and event.
func (s *Service) EditDetails(ctx context.Context, userID string, in DetailsEdit) (AccountDetails, error) {
	cur, err := s.corporateAccount(ctx, s.db.Read(), userID)
	if err != nil {
		return AccountDetails{}, err
	}
	name, iban, bic, err := s.editValues(cur, in)
	if err != nil {
		return AccountDetails{}, err
	}
	bankChanged := iban != cur.IBAN || bic != cur.BIC
	if !bankChanged && name == cur.CompanyName {
		return AccountDetails{}, apperr.New(apperr.Invalid, "nothing changes: enter a new company name or bank account")
	}
	var out AccountDetails
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := lockCorporate(ctx, tx, cur.TenantID); err != nil {
			return err
		}
		if bankChanged {
			if err := s.changeBank(ctx, tx, cur, iban, bic); err != nil {
				return err
			}
		}
		if name != cur.CompanyName {
			if err := s.holdName(ctx, tx, cur, name); err != nil {
				return err
			}
		}
		if out, err = s.detailsOf(ctx, tx, userID); err != nil {
			return err
		}
		out.BankReset = bankChanged
		if err := s.emitDetails(ctx, tx, out); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusOK, out) // the answer commits with the change
	})
	return out, err
}

// editValues validates an edit over the current values (empty: kept).
func (s *Service) editValues(cur CorporateAccount, in DetailsEdit) (name, iban, bic string, err error) {
	name, iban, bic = cur.CompanyName, cur.IBAN, cur.BIC
	for field, v := range map[string]string{"companyName": in.CompanyName, "iban": in.IBAN, "bic": in.BIC} {
		if err := httpx.CheckText(field, v); err != nil {
			return "", "", "", err
		}
	}
	if strings.TrimSpace(in.CompanyName) != "" {
		if name, err = companyName(in.CompanyName); err != nil {
			return "", "", "", err
		}
	}
	if strings.TrimSpace(in.IBAN) != "" {
		if iban, err = ValidateIBAN("iban", in.IBAN); err != nil {
			return "", "", "", err
		}
	}
	if strings.TrimSpace(in.BIC) != "" {
		if bic, err = ValidateBIC("bic", in.BIC); err != nil {
			return "", "", "", err
		}
	}
	return name, iban, bic, nil
}

// changeBank replaces the bank account and resets its verification (and
// any code of a transfer to the old account).
func (s *Service) changeBank(ctx context.Context, tx *store.Tx, cur CorporateAccount, iban, bic string) error {
	if err := exec1(ctx, tx, `UPDATE wallet_corporates SET iban = $1, bic = $2, bank_verified = $3, verify_code_hash = '', verify_failures = 0 WHERE tenant_id = $4`,
		iban, bic, false, cur.TenantID); err != nil {
		return err
	}
	return s.logReview(ctx, tx, cur.TenantID, cur.TenantID, "bank_account_changed", "customer", cur.IBAN+" → "+iban)
}

// holdName records a company name change for the operator.
func (s *Service) holdName(ctx context.Context, tx *store.Tx, cur CorporateAccount, name string) error {
	id, now := s.ids.ID("wdc"), micros(s.now())
	_, err := tx.ExecContext(ctx, `INSERT INTO wallet_detail_changes (id, tenant_id, company_name, old_company_name, status, created_at, updated_at)
VALUES ($1, $2, $3, $4, 'pending', $5, $5)`, id, cur.TenantID, name, cur.CompanyName, now)
	if store.IsUniqueViolation(err) {
		return apperr.InvalidField("companyName", "a change of the company data waits for customer service already")
	}
	if err != nil {
		return err
	}
	return s.logReview(ctx, tx, cur.TenantID, id, "requested", "customer", cur.CompanyName+" → "+name)
}

func (s *Service) emitDetails(ctx context.Context, tx *store.Tx, d AccountDetails) error {
	data := map[string]any{"merchantId": d.Account.MerchantID, "bankReset": d.BankReset, "bankVerified": d.Account.BankVerified}
	if d.Change != nil {
		data["change"] = map[string]string{"id": d.Change.ID, "status": d.Change.Status}
	}
	_, err := s.outbox.Emit(ctx, tx, outbox.Event{TenantID: d.Account.TenantID, Type: EventDetailsChanged, Subject: d.Account.TenantID, Data: data})
	return err
}

// PendingChanges are the company data changes waiting for the operator,
// oldest first.
func (s *Service) PendingChanges(ctx context.Context) ([]DetailChange, error) {
	rows, err := s.db.Read().QueryContext(ctx, changeSelect+`WHERE ch.status = 'pending' ORDER BY ch.created_at, ch.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []DetailChange{}
	for rows.Next() {
		d, err := scanChange(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DecideChange is the operator's approval (the change applied) or
// rejection (discarded, the reason shown to the customer) of a held
// change; one outcome only (a change decided meanwhile is a Conflict).
func (s *Service) DecideChange(ctx context.Context, id string, approve bool, reason, operator string) (DetailChange, error) {
	status := ChangeApproved
	if !approve {
		status = ChangeRejected
		var err error
		if reason, err = reviewText("reason", reason); err != nil {
			return DetailChange{}, err
		}
	}
	var out DetailChange
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		ch, err := scanChange(tx.QueryRowContext(ctx, changeSelect+`WHERE ch.id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.New(apperr.NotFound, "no change %q", id)
		}
		if err != nil {
			return err
		}
		if err := exec1(ctx, tx, `UPDATE wallet_detail_changes SET status = $1, reason = $2, decided_by = $3, updated_at = $4 WHERE id = $5 AND status = 'pending'`,
			status, reason, operator, micros(s.now()), id); err != nil {
			return apperr.New(apperr.Conflict, "the change is %s, not waiting for a decision", ch.Status)
		}
		if approve {
			if err := exec1(ctx, tx, `UPDATE wallet_corporates SET company_name = $1 WHERE tenant_id = $2`, ch.CompanyName, ch.TenantID); err != nil {
				return err
			}
		}
		if err := s.logReview(ctx, tx, ch.TenantID, id, status, operator, reason); err != nil {
			return err
		}
		if out, err = scanChange(tx.QueryRowContext(ctx, changeSelect+`WHERE ch.id = $1`, id)); err != nil {
			return err
		}
		if _, err := s.outbox.Emit(ctx, tx, outbox.Event{TenantID: ch.TenantID, Type: EventDetailsChanged, Subject: id,
			Data: map[string]string{"changeId": id, "status": status, "reason": reason}}); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusOK, out)
	})
	return out, err
}
