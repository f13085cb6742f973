package remote

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/walletpay"
)

// Methods of paying a remote payment.
const (
	MethodWallet = "wallet"
	MethodCard   = "card"
)

// loadByID reads a payment of any tenant (the hosted page knows only the
// id; the id is 16 random digits, so it cannot be guessed).
func (s *Service) loadByID(ctx context.Context, q store.Querier, id string, lock bool) (*payment, error) {
	suffix := ""
	if lock {
		suffix = s.db.ForUpdate()
	}
	p, err := scanPayment(q.QueryRowContext(ctx, `SELECT `+paymentCols+` FROM remote_payments WHERE id = $1`+suffix, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("remote: load payment: %w", err)
	}
	return p, nil
}

// lockPayable loads payment id FOR UPDATE in tx and refuses it unless it
// can still be paid: the guard that makes one of several attempts pay.
func (s *Service) lockPayable(ctx context.Context, tx *store.Tx, id string) (*payment, error) {
	p, err := s.loadByID(ctx, tx, id, true)
	if err != nil {
		return nil, err
	}
	if !p.payable(s.now()) {
		return nil, notPayable(p)
	}
	return p, nil
}

// notPayable is the refusal of an attempt on a payment that cannot be paid.
func notPayable(p *payment) error {
	if p.Status == StatusPending || p.Status == StatusRejected {
		return apperr.New(apperr.Conflict, "remote payment %s has expired", p.ID)
	}
	return apperr.New(apperr.Conflict, "remote payment %s is %s", p.ID, p.Status)
}

// PayWithWallet pays payment id from the logged-in payer's wallet, in the
// payment's currency, confirmed with the PIN (walletpay.Pay). Only the
// wallet payable_to names may pay when it is set (anyone else is refused;
// the payment is unchanged). Insufficient funds or a PIN locked by wrong
// entries reject the attempt: the payment becomes rejected (still payable
// by another attempt) and the error is returned. A wrong PIN with attempts
// left changes nothing. Of two attempts at once exactly one pays: the
// payment row is locked before the money moves, and the other finds it paid.
func (s *Service) PayWithWallet(ctx context.Context, id string, payer walletpay.Payer, pin string) (Payment, error) {
	p, err := s.loadByID(ctx, s.db.Read(), id, false)
	if err != nil {
		return Payment{}, err
	}
	return s.payWithWallet(ctx, p, payer, pin)
}

// payWithWallet is PayWithWallet of p as last read (the page has read it
// already): the checks before the PIN use p, the payment itself the row
// locked in the transaction.
func (s *Service) payWithWallet(ctx context.Context, p *payment, payer walletpay.Payer, pin string) (Payment, error) {
	id := p.ID
	if !p.payable(s.now()) {
		return Payment{}, notPayable(p)
	}
	if p.PayableTo != "" && payer.AccountNumber != p.PayableTo {
		return Payment{}, apperr.New(apperr.Forbidden, "this payment can only be paid by the wallet with account number %s", p.PayableTo)
	}
	if payer.AccountNumber == p.To {
		return Payment{}, apperr.New(apperr.Invalid, "a merchant cannot pay its own payment")
	}
	var out Payment
	err := walletpay.Pay(ctx, s.db, s.pay, payer.UserID, pin, func(ctx context.Context, tx *store.Tx, move func(walletpay.Transfer) (string, error)) error {
		p, err := s.lockPayable(ctx, tx, id)
		if err != nil {
			return err
		}
		entry, err := move(walletpay.Transfer{From: payer.AccountNumber, To: p.To, Currency: p.Currency, Amount: p.Amount,
			Kind: "remote.payment", Reference: p.ID, Description: p.Note})
		if err != nil {
			return err
		}
		if err := s.markPaid(ctx, tx, p, MethodWallet, payer.AccountNumber, entry); err != nil {
			return err
		}
		out = s.view(p)
		return nil
	})
	if reason, rejected := walletpay.Rejection(err); rejected {
		if rerr := s.reject(ctx, id, MethodWallet, payer.AccountNumber, reason); rerr != nil {
			return Payment{}, errors.Join(err, rerr)
		}
	}
	return out, err
}

// markPaid records, in tx, that p was paid by method from payer with the
// ledger entry: status, attempt and event.
func (s *Service) markPaid(ctx context.Context, tx *store.Tx, p *payment, method, payer, entry string) error {
	now := s.now()
	p.Status, p.Method, p.From, p.LedgerEntry, p.RejectReason, p.PaidAt, p.UpdatedAt = StatusPaid, method, payer, entry, "", now, now
	if err := savePayment(ctx, tx, p); err != nil {
		return err
	}
	if err := s.purgeChallenges(ctx, tx, p); err != nil {
		return err
	}
	if err := s.attempt(ctx, tx, p.ID, method, payer, StatusPaid, ""); err != nil {
		return err
	}
	return s.emit(ctx, tx, p, "paid")
}

// reject records a rejected attempt: the payment, if still payable, becomes
// rejected with the reason, and the event goes out.
func (s *Service) reject(ctx context.Context, id, method, payer, reason string) error {
	return s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		p, err := s.loadByID(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := s.attempt(ctx, tx, p.ID, method, payer, StatusRejected, reason); err != nil {
			return err
		}
		if !p.payable(s.now()) {
			return nil // paid meanwhile by another attempt, or over: only the attempt is kept
		}
		p.Status, p.RejectReason, p.UpdatedAt = StatusRejected, reason, s.now()
		if err := savePayment(ctx, tx, p); err != nil {
			return err
		}
		return s.emit(ctx, tx, p, "rejected")
	})
}

func (s *Service) attempt(ctx context.Context, tx *store.Tx, paymentID, method, payer, outcome, reason string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO remote_attempts (id, payment_id, method, payer, outcome, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		s.ids.ID("rat"), paymentID, method, payer, outcome, reason, micros(s.now()))
	if err != nil {
		return fmt.Errorf("remote: record attempt: %w", err)
	}
	return nil
}
