package remote

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/cardpay"
	"github.com/cashgate/cashgate/internal/store"
)

// Paying a remote payment by card on the hosted page, through the payments
// core's card-acceptance engine (cardpay): the card is assessed at the
// acquirer; a card enrolled in 3-D Secure waits for the challenge (the
// card kept encrypted in the vault meanwhile); an approved card's money
// goes from the card scheme's clearing account of the e-money scope to the
// merchant's wallet, as one ledger entry in the transaction that marks the
// payment paid. A declined card (or a failed challenge) rejects the attempt.

// Cards is the card-acceptance engine remote payments use (cardpay.Engine).
type Cards interface {
	Assess(ctx context.Context, ch cardpay.Charge) (cardpay.Outcome, error)
	Complete3DS(ctx context.Context, challenge cardpay.Outcome, ch cardpay.Charge, passed bool) (cardpay.Outcome, error)
	Sale(ctx context.Context, tx *store.Tx, s cardpay.SaleSpec) error
	Refund(ctx context.Context, tx *store.Tx, s cardpay.RefundSpec) error
}

// Vault keeps a card while its 3-D Secure challenge runs (card.Vault).
type Vault interface {
	Store(ctx context.Context, tx *store.Tx, tenantID string, d card.Details, now time.Time, tokenise bool) (card.Stored, error)
	Open(ctx context.Context, q store.Querier, tenantID, id string) (card.Stored, string, error)
	Forget(ctx context.Context, tx *store.Tx, tenantID, id string) error
}

// CardResult is what a card attempt led to: paid, or a 3-D Secure
// challenge to complete (Challenge is its token).
type CardResult struct {
	Payment   Payment
	Challenge string
}

// PayWithCard assesses the card for payment id and pays it, or returns the
// challenge to complete first. A declined card rejects the attempt (the
// payment stays payable) and returns the refusal.
func (s *Service) PayWithCard(ctx context.Context, id string, d card.Details) (CardResult, error) {
	p, err := s.loadByID(ctx, s.db.Read(), id, false)
	if err != nil {
		return CardResult{}, err
	}
	if !p.payable(s.now()) {
		return CardResult{}, notPayable(p)
	}
	if p.PayableTo != "" {
		return CardResult{}, apperr.New(apperr.Forbidden, "this payment can only be paid by the wallet with account number %s", p.PayableTo)
	}
	ch := cardpay.Charge{Card: d, Amount: p.Amount, Currency: p.Currency}
	out, err := s.cards.Assess(ctx, ch)
	if err != nil {
		return CardResult{}, err
	}
	masked := card.Mask(d.Number)
	switch {
	case out.Refused():
		return CardResult{}, s.declined(ctx, id, masked, out.Declined)
	case out.NeedsChallenge():
		tok, err := s.holdForChallenge(ctx, p, d, out)
		return CardResult{Challenge: tok}, err
	}
	pay, err := s.payByCard(ctx, id, masked)
	return CardResult{Payment: pay}, err
}

// declined rejects the attempt and returns the payer's refusal.
func (s *Service) declined(ctx context.Context, id, masked string, why cardpay.Decline) error {
	if err := s.reject(ctx, id, MethodCard, masked, "declined"); err != nil {
		return err
	}
	msg := "The card was declined."
	switch why {
	case cardpay.DeclineNo3DS, cardpay.Decline3DSUnavailable:
		msg = "The card cannot be used: 3-D Secure is required and not available for it."
	case cardpay.Decline3DSFailed:
		msg = "3-D Secure authentication failed; the card was not charged."
	}
	return apperr.New(apperr.Forbidden, "%s", msg)
}

// holdForChallenge keeps the card in the vault and records the challenge.
func (s *Service) holdForChallenge(ctx context.Context, p *payment, d card.Details, out cardpay.Outcome) (string, error) {
	tok := s.ids.Secret(24)
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		// Marked first, and only while payable: a payment paid or ended
		// meanwhile has purged its challenges already and gets no new one.
		res, err := tx.ExecContext(ctx, `UPDATE remote_payments SET challenged = TRUE WHERE id = $1 AND status IN ($2, $3)`,
			p.ID, StatusPending, StatusRejected)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return apperr.New(apperr.Conflict, "payment %s can no longer be paid", p.ID)
		}
		st, err := s.vault.Store(ctx, tx, p.TenantID, d, s.now(), false)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO remote_card_challenges (token, payment_id, card_id, masked_pan, cvc_result, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			tok, p.ID, st.ID, st.MaskedPAN, out.CVCResult, micros(s.now()))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("remote: hold card for 3-D Secure: %w", err)
	}
	return tok, nil
}

type challenge struct {
	cardID, masked, cvcResult string
}

// Complete3DS finishes the challenge tok of payment id: passed pays it
// (if still payable), failed rejects the attempt. A challenge is used once,
// and its card leaves the vault as it is taken.
func (s *Service) Complete3DS(ctx context.Context, id, tok string, passed bool) (Payment, error) {
	p, err := s.loadByID(ctx, s.db.Read(), id, false)
	if err != nil {
		return Payment{}, err
	}
	c, d, err := s.takeChallenge(ctx, p, tok)
	if err != nil {
		return Payment{}, err
	}
	ch := cardpay.Charge{Card: d, Amount: p.Amount, Currency: p.Currency}
	out, err := s.cards.Complete3DS(ctx, cardpay.Outcome{CVCResult: c.cvcResult, ThreeDS: cardpay.ThreeDSChallenge}, ch, passed)
	if err != nil {
		return Payment{}, err
	}
	if out.Refused() {
		return Payment{}, s.declined(ctx, id, c.masked, out.Declined)
	}
	return s.payByCard(ctx, id, c.masked)
}

// takeChallenge deletes challenge tok of payment p and its card from the
// vault, and returns them (the card with its number, for the acquirer).
func (s *Service) takeChallenge(ctx context.Context, p *payment, tok string) (challenge, card.Details, error) {
	var c challenge
	var d card.Details
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT card_id, masked_pan, cvc_result FROM remote_card_challenges WHERE token = $1 AND payment_id = $2`,
			tok, p.ID).Scan(&c.cardID, &c.masked, &c.cvcResult)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.New(apperr.NotFound, "this 3-D Secure challenge is over; start again")
		}
		if err != nil {
			return err
		}
		st, pan, err := s.vault.Open(ctx, tx, p.TenantID, c.cardID)
		if err != nil {
			return err
		}
		d = card.Details{Number: pan, ExpiryMonth: st.ExpiryMonth, ExpiryYear: st.ExpiryYear, HolderName: st.HolderName}
		if _, err := tx.ExecContext(ctx, `DELETE FROM remote_card_challenges WHERE token = $1`, tok); err != nil {
			return err
		}
		return s.vault.Forget(ctx, tx, p.TenantID, c.cardID)
	})
	return c, d, err
}

// purgeChallenges deletes, in tx, the open 3-D Secure challenges of a
// payment that no longer awaits them (paid, canceled, expired) and their
// cards from the vault: no card number outlives the attempt it was for.
func (s *Service) purgeChallenges(ctx context.Context, tx *store.Tx, p *payment) error {
	if !p.Challenged {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT card_id FROM remote_card_challenges WHERE payment_id = $1`, p.ID)
	if err != nil {
		return err
	}
	var cards []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		cards = append(cards, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(cards) == 0 {
		return err
	}
	for _, id := range cards {
		if err := s.vault.Forget(ctx, tx, p.TenantID, id); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM remote_card_challenges WHERE payment_id = $1`, p.ID)
	return err
}

// payByCard records an approved card: the sale into the merchant's wallet
// and the paid payment, in one transaction (refused when the payment was
// paid or ended meanwhile: the card's authorisation is then not captured).
func (s *Service) payByCard(ctx context.Context, id, masked string) (Payment, error) {
	var res Payment
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		p, err := s.lockPayable(ctx, tx, id)
		if err != nil {
			return err
		}
		scope, to, err := s.wallets.LedgerAccount(ctx, tx, p.To, p.Currency)
		if err != nil {
			return err
		}
		if err := s.cards.Sale(ctx, tx, cardpay.SaleSpec{Scope: scope, Currency: p.Currency, Amount: p.Amount, To: to, Reference: p.ID}); err != nil {
			return err
		}
		if err := s.markPaid(ctx, tx, p, MethodCard, masked, ""); err != nil { // the sale's entry carries the payment's id
			return err
		}
		res = s.view(p)
		return nil
	})
	return res, err
}
