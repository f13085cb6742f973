package gateway

import (
	"context"
	"errors"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/cardpay"
	"github.com/cashgate/cashgate/internal/store"
)

// Cards is the card-acceptance engine the gateway takes its payments with
// (cardpay.Engine, shared with the other products): the acquirer's
// answers, which the gateway says in the guide's words (declineMsg,
// acquirerErr) and keeps on its payments, and the ledger postings, always
// with the tenant's id as ledger scope and its merchant/pending as the
// destination of sales and holds.
type Cards interface {
	Assess(ctx context.Context, ch cardpay.Charge) (cardpay.Outcome, error)
	Complete3DS(ctx context.Context, challenge cardpay.Outcome, ch cardpay.Charge, passed bool) (cardpay.Outcome, error)
	VerifyCVC(ctx context.Context, c card.Details) (bool, error)
	TransactionID(k cardpay.TxnKind) string

	Sale(ctx context.Context, tx *store.Tx, s cardpay.SaleSpec) error
	CancelSale(ctx context.Context, tx *store.Tx, s cardpay.SaleSpec) error
	Hold(ctx context.Context, tx *store.Tx, s cardpay.SaleSpec) (string, error)
	HoldCredit(ctx context.Context, tx *store.Tx, s cardpay.SaleSpec) (string, error)
	Credit(ctx context.Context, ch cardpay.Charge, reference string) (card.AuthResult, error)
	Capture(ctx context.Context, tx *store.Tx, scope, holdID string, amount int64, final bool) error
	Void(ctx context.Context, tx *store.Tx, scope, holdID string) error
	Settle(ctx context.Context, tx *store.Tx, s cardpay.SettleSpec) error
	Refund(ctx context.Context, tx *store.Tx, s cardpay.RefundSpec) error
}

// chargeOf is the charge of the job's payment p with card c.
func chargeOf(j *job, p *payment, c card.Details) cardpay.Charge {
	ch := cardpay.Charge{Card: c, MOTO: p.MOTO, Amount: p.Amount, Currency: p.Currency.Code(), MCC: j.Params.MCC}
	if r := j.Params.Recipient; r != nil {
		ch.Recipient = &card.Recipient{LastName: r.LastName, DateOfBirth: r.DateOfBirth, Postcode: r.Postcode, AccountNumber: r.PrimaryAccountNumber}
	}
	return ch
}

// assess runs the guide's "How it works" on the card of ch
// (cardpay.Engine.Assess): MOTO → process; else enrolled → 3-D Secure
// challenge; not enrolled and required → decline; else process.
func (s *Service) assess(ctx context.Context, ch cardpay.Charge) (cardpay.Outcome, error) {
	o, err := s.Cards.Assess(ctx, ch)
	return o, acquirerErr(err)
}

// complete3DS records the shopper's 3-D Secure result on p, which awaits
// its challenge: passed authorises ch, failed declines it.
func (s *Service) complete3DS(ctx context.Context, p *payment, ch cardpay.Charge, passed bool) (cardpay.Outcome, error) {
	challenge := cardpay.Outcome{ThreeDS: cardpay.ThreeDS(p.ThreeDS), CVCResult: p.CVCResult}
	o, err := s.Cards.Complete3DS(ctx, challenge, ch, passed)
	return o, acquirerErr(err)
}

// acquirerErr says an acquirer failure in the guide's words ("Error while
// communicating."); other errors pass.
func acquirerErr(err error) error {
	var ae *cardpay.AcquirerError
	if errors.As(err, &ae) {
		return MsgCommunication.Wrap(ae, apperr.Unavailable)
	}
	return err
}

// declineMsg is the guide's message for a decline; zero when not declined.
func declineMsg(d cardpay.Decline) GuideMsg {
	switch d {
	case "":
		return GuideMsg{}
	case cardpay.DeclineNo3DS:
		return MsgNo3DS
	case cardpay.Decline3DSUnavailable:
		return Msg3DSUnavailable
	case cardpay.Decline3DSFailed:
		return Msg3DSFailed
	}
	return MsgRefused
}

// acquiringOf are the acquiring details of an outcome as the gateway shows
// them (cashFlowsAcquiringDetails), before authorisation (authDetails adds
// the acquirer's answer).
func acquiringOf(o cardpay.Outcome) acquiringDetails {
	return acquiringDetails{ThreeDSecureVersion: o.Secure.Version, ThreeDSecureVersionReason: o.Secure.VersionReason,
		AuthenticationStatus: o.Secure.AuthenticationStatus, Eci: o.Secure.ECI,
		ExternalMpi: o.Secure.External, ThreeDSecureDSTransID: o.Secure.DSTransID, EwalletType: o.Secure.Wallet}
}
