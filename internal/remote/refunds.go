package remote

import (
	"context"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/cardpay"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/walletpay"
)

// RefundRequest is the body of POST /remote/v1/payments/{id}/refunds:
// without an amount, what remains of the payment is refunded.
type RefundRequest struct {
	Amount *int64 `json:"amount,omitempty"` // minor units
	Reason string `json:"reason,omitempty"`
}

// Refund is one refund of a paid remote payment.
type Refund struct {
	ID        string    `json:"id"`
	PaymentID string    `json:"payment_id"`
	Amount    int64     `json:"amount"`
	Currency  string    `json:"currency"`
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`
}

// RefundResult answers a refund: the refund and the payment after it.
type RefundResult struct {
	Refund  Refund  `json:"refund"`
	Payment Payment `json:"payment"`
}

// RefundList lists a payment's refunds, oldest first.
type RefundList struct {
	Data []Refund `json:"data"`
}

// MaxReason bounds a refund's reason.
const MaxReason = 500

// Refund returns part or all of what remains of a paid payment to the payer
// (back to the wallet it came from), as one ledger entry from the
// merchant's wallet, and answers from inside its transaction. The payment
// becomes refunded when its refunds reach the amount. A merchant wallet
// that no longer holds the amount is refused (422) and nothing moves.
func (s *Service) Refund(ctx context.Context, tenantID, id string, in RefundRequest) (RefundResult, error) {
	if utf8.RuneCountInString(in.Reason) > MaxReason {
		return RefundResult{}, apperr.InvalidField("reason", "reason is at most %d characters", MaxReason)
	}
	var out RefundResult
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		p, err := s.load(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		amount, err := refundAmount(p, in.Amount)
		if err != nil {
			return err
		}
		entry, err := s.refundMoney(ctx, tx, p, amount, in.Reason)
		if apperr.Is(err, apperr.InsufficientFunds) {
			return apperr.New(apperr.InsufficientFunds, "the merchant wallet %s holds less than the %d to refund", p.To, amount)
		}
		if err != nil {
			return err
		}
		if out, err = s.recordRefund(ctx, tx, p, amount, in.Reason, entry); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusCreated, out)
	})
	return out, err
}

// refundMoney moves a refund back the way p was paid: to the payer's
// wallet, or to the card (the card scheme's clearing account), from the
// merchant's wallet. It returns the ledger entry of a wallet refund.
func (s *Service) refundMoney(ctx context.Context, tx *store.Tx, p *payment, amount int64, reason string) (string, error) {
	if p.Method == MethodWallet {
		return s.pay.Move(ctx, tx, walletpay.Transfer{From: p.To, To: p.From, Currency: p.Currency, Amount: amount,
			Kind: "remote.refund", Reference: p.ID, Description: reason})
	}
	scope, from, err := s.wallets.LedgerAccount(ctx, tx, p.To, p.Currency)
	if err != nil {
		return "", err
	}
	return "", s.cards.Refund(ctx, tx, cardpay.RefundSpec{Scope: scope, Currency: p.Currency, Reference: p.ID, Amount: amount, From: from})
}

// refundAmount is the amount to refund of p: asked (positive, at most what
// remains) or, when nil, all that remains.
func refundAmount(p *payment, asked *int64) (int64, error) {
	if p.Status != StatusPaid {
		return 0, apperr.New(apperr.Conflict, "remote payment %s is %s: only a paid payment can be refunded", p.ID, p.Status)
	}
	left := p.Amount - p.RefundedAmount
	if asked == nil {
		return left, nil
	}
	if *asked <= 0 || *asked > left {
		return 0, apperr.InvalidField("amount", "amount must be between 1 and %d, what remains of the payment", left)
	}
	return *asked, nil
}

func (s *Service) recordRefund(ctx context.Context, tx *store.Tx, p *payment, amount int64, reason, entry string) (RefundResult, error) {
	now := s.now()
	r := Refund{ID: s.ids.ID("rrf"), PaymentID: p.ID, Amount: amount, Currency: p.Currency, Reason: reason, CreatedAt: now}
	if _, err := tx.ExecContext(ctx, `INSERT INTO remote_refunds (id, payment_id, tenant_id, amount, reason, ledger_entry, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		r.ID, p.ID, p.TenantID, amount, reason, entry, micros(now)); err != nil {
		return RefundResult{}, fmt.Errorf("remote: insert refund: %w", err)
	}
	p.RefundedAmount += amount
	p.UpdatedAt = now
	if p.RefundedAmount == p.Amount {
		p.Status = StatusRefunded
	}
	if err := savePayment(ctx, tx, p); err != nil {
		return RefundResult{}, err
	}
	what := "partially_refunded"
	if p.Status == StatusRefunded {
		what = "refunded"
	}
	if err := s.emit(ctx, tx, p, what); err != nil {
		return RefundResult{}, err
	}
	return RefundResult{Refund: r, Payment: s.view(p)}, nil
}

// sqlRefundsOfPayment lists a payment's refunds, oldest first.
const sqlRefundsOfPayment = `SELECT id, amount, reason, created_at FROM remote_refunds WHERE payment_id = $1 ORDER BY created_at, id`

// Refunds lists a payment's refunds.
func (s *Service) Refunds(ctx context.Context, tenantID, id string) (RefundList, error) {
	q := s.db.Read()
	p, err := s.load(ctx, q, tenantID, id, false)
	if err != nil {
		return RefundList{}, err
	}
	rows, err := q.QueryContext(ctx, sqlRefundsOfPayment, id)
	if err != nil {
		return RefundList{}, fmt.Errorf("remote: list refunds: %w", err)
	}
	defer rows.Close()
	out := RefundList{Data: []Refund{}}
	for rows.Next() {
		r := Refund{PaymentID: id, Currency: p.Currency}
		var at int64
		if err := rows.Scan(&r.ID, &r.Amount, &r.Reason, &at); err != nil {
			return RefundList{}, err
		}
		r.CreatedAt = fromMicros(at)
		out.Data = append(out.Data, r)
	}
	return out, rows.Err()
}
