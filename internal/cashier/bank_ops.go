package cashier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/sepa"
	"github.com/cashgate/cashgate/internal/store"
)

// BankCredit is the operator's word that a bank transfer arrived: POST
// /cashier/v1/agent/bank-transfers and `cashgate cashier credit`.
type BankCredit struct {
	Reference     string `json:"reference"` // the deposit's instructions' reference (CGC…)
	Amount        string `json:"amount"`    // what arrived; it must be the deposit's amount
	BankReference string `json:"bankReference,omitempty"`
}

// CreditBankTransfer captures the pending bank-transfer deposit whose
// reference the transfer quoted. A transfer of another amount is refused
// (record it as an offline deposit, or return it): nothing changes.
func (s *Service) CreditBankTransfer(ctx context.Context, tenantID string, in BankCredit, ag Agent) (Deposit, error) {
	ref := strings.ToUpper(strings.TrimSpace(in.Reference))
	if utf8.RuneCountInString(in.BankReference) > 100 {
		return Deposit{}, apperr.InvalidField("bankReference", "bankReference is at most 100 characters")
	}
	var out Deposit
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		d, err := scanDeposit(tx.QueryRowContext(ctx, `SELECT `+depositCols+` FROM cashier_deposits WHERE psp = 'bank' AND psp_reference = $1 AND tenant_id = $2`+s.forUpdate(),
			ref, tenantID))
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.InvalidField("reference", "no bank-transfer deposit has the reference %q", in.Reference)
		}
		if err != nil {
			return err
		}
		if d.Status != DepositPending {
			return apperr.New(apperr.Conflict, "deposit %s of reference %s is %s: only a pending bank transfer can be credited", d.ID, ref, d.Status)
		}
		amount, err := parseAmount("amount", in.Amount, d.Currency)
		if err != nil {
			return err
		}
		if amount != d.Amount {
			return apperr.New(apperr.Conflict, "deposit %s expects %s %s, the transfer brought %s: nothing was credited", d.ID,
				format(d.Amount, d.Currency), d.Currency, format(amount, d.Currency))
		}
		payer := in.BankReference
		if payer == "" {
			payer = ref
		}
		if err := s.applyDeposit(ctx, tx, d, s.psps[PSPBank], Result{Status: DepositCaptured, Payer: payer}); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, tenantID, ag, "bank_transfer.credit", d.ID, ref); err != nil {
			return err
		}
		out = viewDeposit(d)
		return httpx.Reply(ctx, tx, http.StatusOK, out)
	})
	return out, err
}

// Export is a pain.001 file of bank payouts.
type Export struct {
	BatchID string `json:"batchId"`
	Count   int    `json:"count"`
	XML     []byte `json:"-"`
}

// ExportPayouts writes the tenant's bank payouts waiting to be sent into
// one pain.001 file paid from its bank account, marks them exported under
// the file's id and answers the file (application/xml) from inside that
// transaction; with none waiting it answers 204 and Count is 0.
func (s *Service) ExportPayouts(ctx context.Context, tenantID string, ag Agent) (Export, error) {
	st, err := s.settings(ctx, s.db.Read(), tenantID)
	if err != nil {
		return Export{}, err
	}
	if st.BankAccount.IBAN == "" {
		return Export{}, apperr.New(apperr.Conflict, "the tenant has no bank account (settings.bankAccount) to pay bank payouts from")
	}
	var out Export
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		ps, err := s.payoutsToExport(ctx, tx, tenantID)
		if err != nil || len(ps) == 0 {
			out = Export{}
			if err != nil {
				return err
			}
			return httpx.ReplyRaw(ctx, tx, httpx.Response{Status: http.StatusNoContent})
		}
		now := s.now()
		batch, n := "CGB"+now.Format("20060102")+s.ids.Digits(8), len(ps)
		b := sepa.Batch{MsgID: batch, Created: now, Execution: now.Format("2006-01-02"),
			Debtor: sepa.Party{Name: st.BankAccount.Name, IBAN: st.BankAccount.IBAN, BIC: st.BankAccount.BIC}}
		for _, p := range ps {
			p.BatchID, p.UpdatedAt = batch, now
			if err := savePayout(ctx, tx, p); err != nil {
				return err
			}
			b.Transfers = append(b.Transfers, sepa.Transfer{EndToEndID: p.ID, Amount: p.Amount, Remittance: "Payout " + p.ID,
				Creditor: sepa.Party{Name: p.Destination.Name, IBAN: p.Destination.IBAN, BIC: p.Destination.BIC}})
		}
		doc, err := sepa.Pain001(b)
		if err != nil {
			return err
		}
		if err := s.audit(ctx, tx, tenantID, ag, "payouts.export", batch, fmt.Sprintf("%d payouts", n)); err != nil {
			return err
		}
		out = Export{BatchID: batch, Count: n, XML: doc}
		return httpx.ReplyRaw(ctx, tx, httpx.Response{Status: http.StatusOK, ContentType: "application/xml", Body: doc})
	})
	return out, err
}

// payoutsToExport locks the bank payouts processing and not exported yet.
func (s *Service) payoutsToExport(ctx context.Context, tx *store.Tx, tenantID string) ([]*payout, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+payoutCols+` FROM cashier_payouts WHERE tenant_id = $1 AND status = 'processing' AND psp = 'bank'
		AND batch_id = '' ORDER BY created_at, id`+s.forUpdate(), tenantID)
	if err != nil {
		return nil, fmt.Errorf("cashier: payouts to export: %w", err)
	}
	defer rows.Close()
	var ps []*payout
	for rows.Next() {
		p, err := scanPayout(rows)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, rows.Err()
}

// BankBatchResult answers MarkBankPaid.
type BankBatchResult struct {
	Count   int      `json:"count"`
	Skipped []string `json:"skipped,omitempty"` // paid or returned already
}

// MarkBankPaid records that the bank executed an exported file (its batch
// id) or one payout of it (its id): those payouts are paid. A payout not
// exported is a Conflict; in a batch, payouts paid or returned already are
// skipped.
func (s *Service) MarkBankPaid(ctx context.Context, tenantID, batchOrID string, ag Agent) (BankBatchResult, error) {
	var out BankBatchResult
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		out = BankBatchResult{}
		rows, err := tx.QueryContext(ctx, `SELECT `+payoutCols+` FROM cashier_payouts WHERE tenant_id = $1 AND psp = 'bank'
			AND (batch_id = $2 OR id = $2) ORDER BY id`+s.forUpdate(), tenantID, batchOrID)
		if err != nil {
			return err
		}
		var ps []*payout
		for rows.Next() {
			p, err := scanPayout(rows)
			if err != nil {
				rows.Close()
				return err
			}
			ps = append(ps, p)
		}
		rows.Close()
		if len(ps) == 0 {
			return apperr.New(apperr.NotFound, "no bank payout or batch %q", batchOrID)
		}
		for _, p := range ps {
			if p.Status != PayoutProcessing || p.BatchID == "" {
				if p.BatchID == "" {
					return apperr.New(apperr.Conflict, "payout %s is %s and not exported: export it first", p.ID, p.Status)
				}
				out.Skipped = append(out.Skipped, p.ID)
				continue
			}
			if err := s.applyPayout(ctx, tx, p, s.psps[PSPBank], Result{Status: PayoutPaid}); err != nil {
				return err
			}
			out.Count++
		}
		if err := s.audit(ctx, tx, tenantID, ag, "payouts.paid", batchOrID, fmt.Sprintf("%d paid", out.Count)); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusOK, out)
	})
	return out, err
}

// ReturnBankPayout records that the bank returned an exported payout: its
// money goes back to the customer (and the Platform's funds).
func (s *Service) ReturnBankPayout(ctx context.Context, tenantID, id, reason string, ag Agent) (Payout, error) {
	reason = strings.TrimSpace(reason)
	if n := utf8.RuneCountInString(reason); n == 0 || n > 200 {
		return Payout{}, apperr.InvalidField("reason", "reason is the bank's reason for the return, at most 200 characters")
	}
	var out Payout
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		p, err := s.loadPayout(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if p.PSP != PSPBank || p.BatchID == "" {
			return apperr.New(apperr.Conflict, "payout %s is not an exported bank payout", id)
		}
		if err := s.applyPayout(ctx, tx, p, s.psps[PSPBank], Result{Status: PayoutReturned, Reason: reason}); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, tenantID, ag, "payout.returned", id, reason); err != nil {
			return err
		}
		out = viewPayout(p)
		return httpx.Reply(ctx, tx, http.StatusOK, out)
	})
	return out, err
}
