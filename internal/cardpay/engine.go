// Package cardpay is the card-acceptance engine of cashgate's core. Every
// product that takes a card (the card gateway of seed 003, remote payments
// of seed 004, later the cashier) calls it; none of them imports another,
// and none keeps its own copy of these rules.
//
// # Acquiring
//
// Assess runs a card through the acquirer as the gateway guide's "How it
// works" describes: the CVC is checked when the card arrives; a MOTO or
// merchant-initiated charge is authorised at once; otherwise the card's
// 3-D Secure enrolment decides: enrolled → the shopper must pass a
// challenge (Complete3DS then authorises, or declines a failed one); not
// enrolled but required, or the directory unavailable → declined; not
// enrolled → authorised. A charge that carries its own 3-D Secure v2
// authentication (Charge.External: the merchant's external MPI, or an
// e-wallet token's cryptogram) skips enrolment and challenge: the acquirer
// verifies the values (card.Acquirer.VerifyAuthentication) and a verified
// one is authorised, a failed one declined. The product calls it before the transaction that
// records the Outcome (the acquirer is outside the database, and a
// transaction may be retried).
//
// The engine speaks no product's wire language: a decline is a Decline, a
// reason each product says in its own API's words; the acquiring details a
// product may show (3-D Secure version, authentication status, ECI, the
// acquirer's answer) are fields of the Outcome. An acquirer that cannot be
// reached is an apperr Unavailable wrapping an *AcquirerError.
//
// # Ledger
//
// Card acceptance posts to four accounts per ledger scope (ledger tenant
// id) and currency (Accounts): card-scheme/clearing (the outside world, may
// go negative), merchant/pending (captured, not yet settled),
// merchant/available (settled) and platform/fees (fee revenue).
//
//	sale                 card-scheme/clearing → destination                       card_sale
//	hold, capture, void  a hold card-scheme/clearing → destination, posted in part,
//	                     several times; the final capture or a void releases the rest card_capture
//	cancel of a sale     destination → card-scheme/clearing                        card_cancel
//	settlement           merchant/pending → merchant/available + platform/fees      card_settlement
//	refund               source → card-scheme/clearing; from the card accounts:     card_refund
//	                     merchant/pending first, then merchant/available, and
//	                     platform/fees returns its pro-rata share of the fee (SplitRefund)
//
// The product picks the destination of a sale (and the source of a refund):
// by default merchant/pending of the scope; the card gateway uses that with
// the tenant's id as scope; remote payments credit a merchant's e-money
// wallet in the scope "wallet" from that scope's card-scheme/clearing. A
// payment taken by another payment method (SaleSpec.Via, RefundSpec.Via:
// ViaPayPal) moves the same merchant accounts against that provider's
// clearing account (paypal/clearing) instead of card-scheme/clearing. Every
// posting runs in the caller's transaction, with the payment's reference on
// its entry, so a product writes its state change and the money movement
// together.
package cardpay

import (
	"context"
	"errors"
	"sync"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/ledger"
)

// Engine is the card-acceptance engine. It is safe for concurrent use.
type Engine struct {
	acq    card.Acquirer
	ledger *ledger.Ledger
	// Account ids, remembered once the transaction that ensured them has
	// committed (scopeKey → Accounts, and → string for a lone clearing).
	sets, clearings sync.Map
}

// New returns the engine over the acquirer and the ledger.
func New(acq card.Acquirer, l *ledger.Ledger) (*Engine, error) {
	if acq == nil || l == nil {
		return nil, errors.New("cardpay: missing dependency")
	}
	return &Engine{acq: acq, ledger: l}, nil
}

// Charge is what the acquirer is asked about one card payment.
type Charge struct {
	Card card.Details
	MOTO bool // mail or telephone order: no shopper to authenticate
	// MerchantInitiated: a recurring child or a stored-credential payment,
	// charged without the shopper, so without 3-D Secure.
	MerchantInitiated bool
	Amount            int64 // minor units
	Currency          string
	// MCC and Recipient: a financial institution's payment (MCC 6012)
	// names the person receiving the funds, handed to the acquirer.
	MCC       string
	Recipient *card.Recipient
	// External is a 3-D Secure v2 authentication the merchant made
	// outside cashgate (an external MPI, or an e-wallet token's
	// cryptogram): the acquirer verifies it and no challenge is asked for,
	// whatever the card's enrolment. It takes precedence over MOTO and
	// MerchantInitiated, which the product does not combine with it.
	External *card.ExternalAuth
	// Require3DS: the payment must be authenticated by 3-D Secure (a PAN
	// paid without its CVC, "PAN CV2less"): a card not enrolled is
	// declined as one whose issuer requires it.
	Require3DS bool
}

// Decline is why a card was refused, in no product's words.
type Decline string

// The declines.
const (
	DeclineRefused        Decline = "refused"         // the issuer declined the authorisation
	DeclineNo3DS          Decline = "no_3ds"          // not enrolled, but the issuer requires 3-D Secure
	Decline3DSUnavailable Decline = "3ds_unavailable" // the 3-D Secure directory could not answer
	Decline3DSFailed      Decline = "3ds_failed"      // the shopper failed the 3-D Secure challenge
)

// ThreeDS is where a payment stands with 3-D Secure.
type ThreeDS string

// The 3-D Secure states.
const (
	ThreeDSNone      ThreeDS = ""          // not used (MOTO, merchant-initiated, not enrolled, declined before)
	ThreeDSChallenge ThreeDS = "challenge" // the shopper must pass a challenge (Complete3DS)
	ThreeDSPassed    ThreeDS = "passed"
	ThreeDSFailed    ThreeDS = "failed"
)

// Version3DS is the 3-D Secure protocol version the engine reports.
const Version3DS = "2.2.0"

// Secure are the 3-D Secure details of an outcome.
type Secure struct {
	Version              string // Version3DS once enrolment was looked up
	VersionReason        string // why 3-D Secure was not used, e.g. "Card not enrolled in 3-D Secure."
	AuthenticationStatus string // "Y" passed, "N" failed or not enrolled, "U" unavailable
	ECI                  string // the electronic commerce indicator of an authenticated payment
	// External: the authentication was made outside cashgate
	// (Charge.External), with these directory server transaction id and
	// e-wallet type ("" for a card).
	External  bool
	DSTransID string
	Wallet    string
}

// Outcome is what happened to a card at the acquirer.
type Outcome struct {
	ThreeDS   ThreeDS
	Declined  Decline         // "" unless refused
	Auth      card.AuthResult // the acquirer's answer, once authorisation was asked
	CVCResult string          // the CVC check made when the card arrived
	Secure    Secure
}

// Refused reports whether the card was declined.
func (o Outcome) Refused() bool { return o.Declined != "" }

// NeedsChallenge reports whether the shopper must pass 3-D Secure before the
// payment can be authorised (Complete3DS).
func (o Outcome) NeedsChallenge() bool { return o.ThreeDS == ThreeDSChallenge }

// AcquirerError is a failure to reach the card acquirer (or of its answer):
// the payment was not decided and nothing about it should be recorded as
// refused.
type AcquirerError struct {
	Op  string // what the engine asked: "check the CVC", "look up 3-D Secure enrolment", "authorise"
	Err error
}

func (e *AcquirerError) Error() string { return "cardpay: acquirer: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the acquirer's error.
func (e *AcquirerError) Unwrap() error { return e.Err }

// unreachable is the engine's error when the acquirer failed at op.
func unreachable(op string, err error) error {
	return &apperr.Error{Code: apperr.Unavailable, Message: "The card acquirer could not be reached.", Err: &AcquirerError{Op: op, Err: err}}
}

// Assess checks the card of ch with the acquirer and, unless the shopper
// must first pass 3-D Secure or the card is declined before, authorises it.
// The error is apperr Invalid when an enrolled card has no holder name, or
// an acquirer failure (AcquirerError).
func (e *Engine) Assess(ctx context.Context, ch Charge) (Outcome, error) {
	var o Outcome
	c := ch.Card
	cvc, err := e.acq.CheckCVC(ctx, c.Number, c.CVC)
	if err != nil {
		return o, unreachable("check the CVC", err)
	}
	o.CVCResult = cvc
	if ch.External != nil {
		return e.assessExternal(ctx, o, ch)
	}
	if ch.MOTO || ch.MerchantInitiated {
		return e.Authorise(ctx, o, ch)
	}
	enr, err := e.acq.Enrolment(ctx, c.Number)
	if err != nil {
		return o, unreachable("look up 3-D Secure enrolment", err)
	}
	o.Secure.Version = Version3DS
	switch enr {
	case card.Enrolled:
		if c.HolderName == "" {
			return o, apperr.InvalidField("cardHolderName", "The cardholder name is required for cards enrolled in 3-D Secure.")
		}
		o.ThreeDS = ThreeDSChallenge
		return o, nil
	case card.NotEnrolledRequired:
		o.Declined, o.Secure.AuthenticationStatus = DeclineNo3DS, "N"
		return o, nil
	case card.Unavailable:
		o.Declined, o.Secure.AuthenticationStatus = Decline3DSUnavailable, "U"
		return o, nil
	}
	if ch.Require3DS {
		o.Declined, o.Secure.AuthenticationStatus = DeclineNo3DS, "N"
		return o, nil
	}
	o.Secure.VersionReason = "Card not enrolled in 3-D Secure."
	return e.Authorise(ctx, o, ch)
}

// assessExternal verifies the charge's external authentication with the
// acquirer and authorises a verified one (authenticated or attempted); a
// failed one is declined as a failed 3-D Secure, before authorisation.
func (e *Engine) assessExternal(ctx context.Context, o Outcome, ch Charge) (Outcome, error) {
	x := ch.External
	status, err := e.acq.VerifyAuthentication(ctx, ch.Card.Number, *x)
	if err != nil {
		return o, unreachable("verify the 3-D Secure authentication", err)
	}
	o.Secure = Secure{Version: x.Version, AuthenticationStatus: status, ECI: x.ECI, External: true, DSTransID: x.DSTransID, Wallet: x.Wallet}
	if status == card.AuthFailed {
		o.ThreeDS, o.Declined = ThreeDSFailed, Decline3DSFailed
		return o, nil
	}
	o.ThreeDS = ThreeDSPassed
	return e.Authorise(ctx, o, ch)
}

// Authorise asks the acquirer to authorise ch, assessed as o (its CVC
// result and 3-D Secure state), and returns o with the answer.
func (e *Engine) Authorise(ctx context.Context, o Outcome, ch Charge) (Outcome, error) {
	req := card.AuthRequest{PAN: ch.Card.Number, CVCResult: o.CVCResult, Amount: ch.Amount, Currency: ch.Currency,
		MOTO: ch.MOTO, ThreeDS: o.ThreeDS == ThreeDSPassed, Recurring: ch.MerchantInitiated, MCC: ch.MCC, Recipient: ch.Recipient,
		External: ch.External}
	r, err := e.acq.Authorise(ctx, req)
	if err != nil {
		return o, unreachable("authorise", err)
	}
	o.Auth = r
	if !r.Approved {
		o.Declined = DeclineRefused
	}
	return o, nil
}

// Credit asks the acquirer to pay ch.Amount to ch.Card (a credit payment,
// named by reference); no CVC or 3-D Secure is involved. The product holds
// the money first (HoldCredit) and calls this after that transaction
// committed, never inside one.
func (e *Engine) Credit(ctx context.Context, ch Charge, reference string) (card.AuthResult, error) {
	r, err := e.acq.Credit(ctx, card.CreditRequest{PAN: ch.Card.Number, Amount: ch.Amount, Currency: ch.Currency, Reference: reference})
	if err != nil {
		return r, unreachable("credit the card", err)
	}
	return r, nil
}

// Complete3DS finishes the 3-D Secure challenge that Assess asked for
// (challenge is that outcome, or one with its CVCResult, as the product
// kept it): a passed challenge authorises ch (the card's number is enough),
// a failed one declines it. The caller holds the payment's state: it calls
// this only for a payment that awaits its challenge.
func (e *Engine) Complete3DS(ctx context.Context, challenge Outcome, ch Charge, passed bool) (Outcome, error) {
	o := Outcome{CVCResult: challenge.CVCResult, Secure: Secure{Version: Version3DS}}
	if !passed {
		o.ThreeDS, o.Declined, o.Secure.AuthenticationStatus = ThreeDSFailed, Decline3DSFailed, "N"
		return o, nil
	}
	o.ThreeDS, o.Secure.AuthenticationStatus, o.Secure.ECI = ThreeDSPassed, "Y", "05"
	return e.Authorise(ctx, o, ch)
}

// cvcMismatch is the acquirer's CVC result for a CVC that does not match
// (card.Acquirer.CheckCVC).
const cvcMismatch = "400"

// VerifyCVC checks the CVC of a card that is stored rather than charged
// (tokenisation): false when the acquirer says it does not match.
func (e *Engine) VerifyCVC(ctx context.Context, c card.Details) (bool, error) {
	res, err := e.acq.CheckCVC(ctx, c.Number, c.CVC)
	if err != nil {
		return false, unreachable("check the CVC", err)
	}
	return res != cvcMismatch, nil
}

// TxnKind is the kind of an acquirer transaction after authorisation.
type TxnKind byte

// The transaction kinds.
const (
	TxnCapture TxnKind = 'S'
	TxnVoid    TxnKind = 'V'
	TxnRefund  TxnKind = 'R'
)

// TransactionID names a capture, void or refund at the acquirer.
func (e *Engine) TransactionID(k TxnKind) string { return e.acq.NewTransactionID(byte(k)) }
