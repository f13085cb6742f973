package wallet

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/sepa"
	"github.com/cashgate/cashgate/internal/store"
)

// Debtor is the issuer's own bank account, which pays the payouts.
type Debtor struct {
	Name string
	IBAN string
	BIC  string
}

// Export is one pain.001 file of payouts.
type Export struct {
	BatchID string `json:"batchId"` // the file's MsgId; MarkPaid takes it
	Count   int    `json:"count"`
	Total   string `json:"total"` // EUR
	XML     []byte `json:"-"`
}

// ExportPayouts writes every requested payout (withdrawals and 2-cent
// verifications) into one pain.001 credit transfer file from the issuer's
// account and marks them exported under the file's message id. With no
// payout waiting it returns an Export with Count 0 and no XML.
func (s *Service) ExportPayouts(ctx context.Context, debtor Debtor, execution time.Time) (Export, error) {
	iban, err := ValidateIBAN("debtorIban", debtor.IBAN)
	if err != nil {
		return Export{}, err
	}
	bic, err := ValidateBIC("debtorBic", debtor.BIC)
	if err != nil {
		return Export{}, err
	}
	if strings.TrimSpace(debtor.Name) == "" {
		return Export{}, apperr.InvalidField("debtorName", "the debtor (issuer) name is required")
	}
	var out Export
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		out = Export{}
		rows, err := tx.QueryContext(ctx, `SELECT id, amount, iban, bic, beneficiary, description, reference FROM wallet_transactions
WHERE kind IN ('withdrawal', 'verification') AND status = 'requested' ORDER BY created_at, id`)
		if err != nil {
			return err
		}
		var txs []sepa.Transfer
		var ids []string
		for rows.Next() {
			var id, iban, bic, name, desc, ref string
			var amount int64
			if err := rows.Scan(&id, &amount, &iban, &bic, &name, &desc, &ref); err != nil {
				rows.Close()
				return err
			}
			txs = append(txs, sepa.Transfer{EndToEndID: ref, Amount: amount, Creditor: sepa.Party{Name: name, IBAN: iban, BIC: bic}, Remittance: desc})
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(txs) == 0 {
			return nil
		}
		now := s.now()
		batch := "CGW" + now.Format("20060102") + s.ids.Digits(8)
		for _, id := range ids {
			if err := exec1(ctx, tx, `UPDATE wallet_transactions SET status = 'exported', batch_id = $1, updated_at = $2 WHERE id = $3 AND status = 'requested'`,
				batch, micros(now), id); err != nil {
				return err
			}
		}
		b := sepa.Batch{MsgID: batch, Created: now, Execution: execution.In(s.cfg.Location).Format("2006-01-02"),
			Debtor: sepa.Party{Name: debtor.Name, IBAN: iban, BIC: bic}, Transfers: txs}
		xmlDoc, err := sepa.Pain001(b)
		if err != nil {
			return fmt.Errorf("wallet: %w", err)
		}
		out = Export{BatchID: batch, Count: len(txs), Total: cents(b.Total()), XML: xmlDoc}
		return nil
	})
	return out, err
}

// PayoutStatus is the state of a payout (a withdrawal, or the 2-cent
// transfer that verifies a corporate's bank account):
//
//	requested → exported (in a pain.001 file, ExportPayouts)
//	exported  → paid      (the bank executed it, MarkPaid)
//	exported  → returned  (the bank rejected it, ReturnPayouts)
//
// paid and returned are final; any other transition is a Conflict.
//
// Ledger: requesting moves the amount into the issuer's payouts-in-transit
// account (and a withdrawal's 2 € fee to fee revenue); paid moves it on to
// bank clearing; returned moves it back to where it came from.
//
// Fee policy on a return: the 2 € withdrawal fee is refunded with the
// amount, because the service it paid for (the SEPA transfer) did not
// happen, and the returned withdrawal no longer counts against the
// withdrawal limits of the day and year it was requested in. A returned
// verification transfer goes back to the issuer's expenses and voids its
// code (nobody received it): the corporate requests a new one after
// correcting its bank details.
type PayoutStatus = string

// The payout states (wallet transaction statuses of payouts).
const (
	PayoutRequested PayoutStatus = "requested"
	PayoutExported  PayoutStatus = "exported"
	PayoutPaid      PayoutStatus = "paid"
	PayoutReturned  PayoutStatus = "returned"
)

// Events of the payout lifecycle; the data is the wallet transaction as its
// user sees it.
const (
	EventPayoutPaid     = "wallet.payout.paid"
	EventPayoutReturned = "wallet.payout.returned"
)

// Paid is the result of MarkPaid and ReturnPayouts.
type Paid struct {
	Count int    `json:"count"`
	Total string `json:"total"`
	// Skipped lists the payouts of the batch left as they were (already
	// paid, or returned before the batch was marked paid).
	Skipped []string `json:"skipped,omitempty"`
}

// payout is a payout row being settled.
type payout struct {
	id, kind, status, user, tenantID, iban string
	amount, fee, createdAt                 int64
}

// payoutsOf locks and returns the payouts of a batch (or the one payout
// whose transaction id or end-to-end id is batchOrTx), and whether
// batchOrTx named one payout.
func (s *Service) payoutsOf(ctx context.Context, tx *store.Tx, batchOrTx string) ([]payout, bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, kind, status, from_user, to_user, tenant_id, iban, amount, sender_fee, created_at FROM wallet_transactions
WHERE kind IN ('withdrawal', 'verification') AND (batch_id = $1 OR id = $1 OR reference = $1) ORDER BY id`+s.db.ForUpdate(), batchOrTx)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var ps []payout
	single := false
	for rows.Next() {
		var p payout
		var from, to string
		if err := rows.Scan(&p.id, &p.kind, &p.status, &from, &to, &p.tenantID, &p.iban, &p.amount, &p.fee, &p.createdAt); err != nil {
			return nil, false, err
		}
		p.user = from
		if p.kind == "verification" {
			p.user = to
		}
		single = single || p.id == batchOrTx || endToEndID(p.id) == batchOrTx
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if len(ps) == 0 {
		return nil, false, apperr.New(apperr.NotFound, "no payout batch or payout %q", batchOrTx)
	}
	return ps, single, nil
}

// payoutEvent emits a payout's new state to its corporate tenant (or the
// issuer scope) with the transaction as its user sees it.
func (s *Service) payoutEvent(ctx context.Context, tx *store.Tx, p payout, typ string) error {
	t, err := s.transaction(ctx, tx, p.user, p.id)
	if err != nil {
		return err
	}
	tenant := p.tenantID
	if tenant == "" {
		tenant = LedgerScope
	}
	_, err = s.outbox.Emit(ctx, tx, outbox.Event{TenantID: tenant, Type: typ, Subject: p.id, Data: t})
	return err
}

// MarkPaid records that the bank executed the payouts of an exported batch
// (or one payout by transaction id): payouts in transit → bank clearing,
// status paid. A payout not exported yet is a Conflict, and so is one
// payout named by id that was returned. In a batch, payouts paid already or
// returned are skipped (return the rejected ones, then mark the batch paid).
func (s *Service) MarkPaid(ctx context.Context, batchOrTx string) (Paid, error) {
	if batchOrTx == "" {
		return Paid{}, apperr.InvalidField("batch", "a batch id or a transaction id is required")
	}
	var out Paid
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		out = Paid{}
		ps, single, err := s.payoutsOf(ctx, tx, batchOrTx)
		if err != nil {
			return err
		}
		now := micros(s.now())
		var total int64
		for _, x := range ps {
			switch x.status {
			case PayoutRequested:
				return apperr.New(apperr.Conflict, "payout %s is not exported yet: export it first", x.id)
			case PayoutReturned:
				if single {
					return apperr.New(apperr.Conflict, "payout %s was returned by the bank; a returned payout cannot be paid", x.id)
				}
				out.Skipped = append(out.Skipped, x.id)
				continue
			case PayoutPaid:
				out.Skipped = append(out.Skipped, x.id)
				continue
			}
			if _, err := s.ledger.Transfer(ctx, tx, ledger.TransferSpec{TenantID: LedgerScope, From: s.acct.payouts, To: s.acct.clearing,
				Currency: Currency, Amount: x.amount, Kind: "wallet.payout", Reference: x.id, Description: "SEPA payout executed"}); err != nil {
				return err
			}
			if err := exec1(ctx, tx, `UPDATE wallet_transactions SET status = 'paid', updated_at = $1 WHERE id = $2 AND status = 'exported'`, now, x.id); err != nil {
				return err
			}
			if err := s.payoutEvent(ctx, tx, x, EventPayoutPaid); err != nil {
				return err
			}
			out.Count++
			total += x.amount
		}
		out.Total = cents(total)
		return nil
	})
	return out, err
}

// ReturnPayouts records that the bank rejected exported payouts — a whole
// batch, or one payout by transaction id — with the bank's reason: the
// money goes back (see PayoutStatus for the fee policy) and the status
// becomes returned. Payouts not exported yet, or paid already, are a
// Conflict and nothing changes; in a batch, payouts returned already are
// skipped.
func (s *Service) ReturnPayouts(ctx context.Context, batchOrTx, reason string) (Paid, error) {
	if batchOrTx == "" {
		return Paid{}, apperr.InvalidField("batch", "a batch id or a transaction id is required")
	}
	reason = strings.TrimSpace(reason)
	if err := checkText("reason", reason, 1, 140); err != nil {
		return Paid{}, err
	}
	var out Paid
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		out = Paid{}
		ps, single, err := s.payoutsOf(ctx, tx, batchOrTx)
		if err != nil {
			return err
		}
		now := s.now()
		var total int64
		for _, x := range ps {
			switch x.status {
			case PayoutRequested:
				return apperr.New(apperr.Conflict, "payout %s is not exported yet: only a payout sent to the bank can come back", x.id)
			case PayoutPaid:
				return apperr.New(apperr.Conflict, "payout %s is marked paid; a paid payout cannot be returned", x.id)
			case PayoutReturned:
				if single {
					return apperr.New(apperr.Conflict, "payout %s was returned already", x.id)
				}
				out.Skipped = append(out.Skipped, x.id)
				continue
			}
			if err := s.returnPayout(ctx, tx, x, now); err != nil {
				return err
			}
			if err := exec1(ctx, tx, `UPDATE wallet_transactions SET status = 'returned', return_reason = $1, updated_at = $2 WHERE id = $3 AND status = 'exported'`,
				reason, micros(now), x.id); err != nil {
				return err
			}
			if err := s.payoutEvent(ctx, tx, x, EventPayoutReturned); err != nil {
				return err
			}
			out.Count++
			total += x.amount
		}
		out.Total = cents(total)
		return nil
	})
	return out, err
}

// returnPayout posts the money of a returned payout back and undoes what
// requesting it counted.
func (s *Service) returnPayout(ctx context.Context, tx *store.Tx, x payout, now time.Time) error {
	if x.kind == "verification" {
		if _, err := s.ledger.Transfer(ctx, tx, ledger.TransferSpec{TenantID: LedgerScope, From: s.acct.payouts, To: s.acct.expenses,
			Currency: Currency, Amount: x.amount, Kind: "wallet.payout_return", Reference: x.id, Description: "Verification transfer returned by the bank"}); err != nil {
			return err
		}
		// The code travelled only in the returned transfer: nobody has it.
		_, err := tx.ExecContext(ctx, `UPDATE wallet_corporates SET verify_code_hash = '', verify_failures = 0 WHERE tenant_id = $1 AND bank_verified = $2`, x.tenantID, false)
		return err
	}
	u, err := s.userByID(ctx, tx, x.user)
	if err != nil {
		return err
	}
	postings := []ledger.Posting{
		{AccountID: s.acct.payouts, Currency: Currency, Amount: -x.amount},
		{AccountID: u.AccountID, Currency: Currency, Amount: x.amount + x.fee},
	}
	if x.fee > 0 {
		postings = append(postings, ledger.Posting{AccountID: s.acct.fees, Currency: Currency, Amount: -x.fee})
	}
	if _, err := s.ledger.Post(ctx, tx, ledger.Entry{TenantID: LedgerScope, Kind: "wallet.payout_return", Reference: x.id,
		Description: "Withdrawal returned by the bank", Postings: postings}); err != nil {
		return err
	}
	created := fromMicros(x.createdAt)
	for _, period := range []string{s.day(created), s.year(created)} {
		if _, err := tx.ExecContext(ctx, `UPDATE wallet_usage SET n = n - 1, amount = amount - $1
WHERE user_id = $2 AND period = $3 AND metric = $4 AND n >= 1 AND amount >= $1`, x.amount, x.user, period, metricWithdrawals); err != nil {
			return err
		}
	}
	return nil
}
