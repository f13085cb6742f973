package cashier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/cardpay"
	"github.com/cashgate/cashgate/internal/store"
)

// CardAuthExpiry is how long a card authorisation lives (the card
// schemes' usual 7 days): an authorised deposit not captured by then is
// voided.
const CardAuthExpiry = 7 * 24 * time.Hour

// cardPSP takes cards through the payments core's card engine: a card
// enrolled in 3-D Secure waits in the vault for its challenge (the
// deposit pending, the customer sent to the challenge page); a MOTO card
// is authorised at once. Money: the card scheme's clearing account of the
// tenant → the customer's balance.
type cardPSP struct {
	basePSP
	s *Service
}

func (p *cardPSP) Info() Info {
	return Info{Name: PSPCard, MinAmount: 1, MaxAmount: MaxAmount, Deposits: true, AuthCapture: true, AuthExpiry: CardAuthExpiry, Selectable: true}
}

func (p *cardPSP) Deposit(ctx context.Context, op Op, rec Recorder) error {
	return p.charge(ctx, op, rec, DepositCaptured)
}

func (p *cardPSP) Authorise(ctx context.Context, op Op, rec Recorder) error {
	return p.charge(ctx, op, rec, DepositAuthorised)
}

// The acquirer keeps nothing of an authorisation the simulator is asked to
// capture or void: these are the ledger's. A refund is the payments core's
// card refund (Cards.Refund, in the recording transaction: depositMoney),
// named by the acquirer's refund transaction, as the card gateway's are.
func (p *cardPSP) Capture(ctx context.Context, op Op, rec Recorder) error {
	return p.s.record(ctx, rec, Result{Status: DepositCaptured, Amount: op.Amount})
}

func (p *cardPSP) Void(ctx context.Context, _ Op, rec Recorder) error {
	return p.s.record(ctx, rec, Result{Status: DepositVoided})
}

func (p *cardPSP) Refund(ctx context.Context, _ Op, rec Recorder) error {
	return p.s.record(ctx, rec, Result{Status: DepositRefunded, RefundRef: p.s.cards.TransactionID(cardpay.TxnRefund)})
}

// charge assesses the card; approved is the status of an approved card.
func (p *cardPSP) charge(ctx context.Context, op Op, rec Recorder, approved string) error {
	out, err := p.s.cards.Assess(ctx, cardpay.Charge{Card: *op.Card, MOTO: op.MOTO, Amount: op.Amount, Currency: op.Currency})
	if err != nil {
		return err
	}
	masked := card.Mask(op.Card.Number)
	switch {
	case out.Refused():
		return p.s.record(ctx, rec, Result{Status: DepositDeclined, Reason: string(out.Declined), Payer: masked})
	case out.NeedsChallenge():
		return p.challenge(ctx, op, out, masked, rec)
	}
	return p.s.record(ctx, rec, Result{Status: approved, Payer: masked, PSPRef: out.Auth.TransactionID})
}

// challenge keeps the card in the vault for its 3-D Secure challenge and
// records the deposit pending, with the challenge page as its action.
func (p *cardPSP) challenge(ctx context.Context, op Op, out cardpay.Outcome, masked string, rec Recorder) error {
	tok := p.s.ids.Secret(24)
	return p.s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		now := p.s.now()
		st, err := p.s.vault.Store(ctx, tx, op.TenantID, *op.Card, now, false)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO cashier_challenges (token_hash, deposit_id, tenant_id, card_id, cvc_result, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, hashToken(tok), op.ID, op.TenantID, st.ID, out.CVCResult, micros(now)); err != nil {
			return fmt.Errorf("cashier: hold card for 3-D Secure: %w", err)
		}
		return rec(ctx, tx, Result{Status: DepositPending, Payer: masked,
			Action: p.s.public + "/cashier/3ds/" + op.ID + "?c=" + url.QueryEscape(tok)})
	})
}

// complete finishes the 3-D Secure challenge tok of a deposit: passed
// authorises the card (approved: captured, or authorised to capture
// later), failed declines it. A challenge is used once; its card leaves
// the vault as it is taken.
func (p *cardPSP) complete(ctx context.Context, d *deposit, tok string, passed bool, approved string, rec Recorder) error {
	cvc, cd, err := p.take(ctx, d, tok)
	if err != nil {
		return err
	}
	out, err := p.s.cards.Complete3DS(ctx, cardpay.Outcome{CVCResult: cvc, ThreeDS: cardpay.ThreeDSChallenge},
		cardpay.Charge{Card: cd, Amount: d.Amount, Currency: d.Currency}, passed)
	if err != nil {
		return err
	}
	if out.Refused() {
		return p.s.record(ctx, rec, Result{Status: DepositDeclined, Reason: string(out.Declined)})
	}
	return p.s.record(ctx, rec, Result{Status: approved, PSPRef: out.Auth.TransactionID})
}

// take deletes challenge tok of deposit d and its card from the vault and
// returns them.
func (p *cardPSP) take(ctx context.Context, d *deposit, tok string) (string, card.Details, error) {
	var cvc string
	var cd card.Details
	err := p.s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		var cardID string
		err := tx.QueryRowContext(ctx, `SELECT card_id, cvc_result FROM cashier_challenges WHERE token_hash = $1 AND deposit_id = $2`,
			hashToken(tok), d.ID).Scan(&cardID, &cvc)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.New(apperr.NotFound, "this 3-D Secure challenge is over")
		}
		if err != nil {
			return err
		}
		st, pan, err := p.s.vault.Open(ctx, tx, d.TenantID, cardID)
		if err != nil {
			return err
		}
		cd = card.Details{Number: pan, ExpiryMonth: st.ExpiryMonth, ExpiryYear: st.ExpiryYear, HolderName: st.HolderName}
		if _, err := tx.ExecContext(ctx, `DELETE FROM cashier_challenges WHERE token_hash = $1`, hashToken(tok)); err != nil {
			return err
		}
		return p.s.vault.Forget(ctx, tx, d.TenantID, cardID)
	})
	return cvc, cd, err
}

// purgeChallenges forgets, in tx, the cards of a deposit's open
// challenges: no card number outlives the attempt it was for.
func (s *Service) purgeChallenges(ctx context.Context, tx *store.Tx, d *deposit) error {
	rows, err := tx.QueryContext(ctx, `SELECT card_id FROM cashier_challenges WHERE deposit_id = $1`, d.ID)
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
		if err := s.vault.Forget(ctx, tx, d.TenantID, id); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM cashier_challenges WHERE deposit_id = $1`, d.ID)
	return err
}
