package card

import (
	"context"
	"strings"

	"github.com/cashgate/cashgate/internal/ids"
)

// Enrolment is a card's 3-D Secure enrolment as the directory server sees it.
type Enrolment int

// The enrolments.
const (
	// NotEnrolled: no 3-D Secure; the payment is processed without it.
	NotEnrolled Enrolment = iota
	// Enrolled: the shopper must complete a 3-D Secure challenge.
	Enrolled
	// NotEnrolledRequired: not enrolled, but the issuer requires 3-D
	// Secure, so the payment is declined ("Card payments without 3D Secure
	// are not allowed.").
	NotEnrolledRequired
	// Unavailable: the directory server cannot answer; the payment cannot
	// proceed ("3DSecure Authentication Unavailable - Payment cannot proceed.").
	Unavailable
)

// Outcome is an issuer's answer to an authorisation.
type Outcome int

// The outcomes.
const (
	Approve Outcome = iota
	Decline
	InsufficientFunds
)

// TestCard is one row of the simulator's table.
type TestCard struct {
	Number      string
	Brand       string
	Enrolment   Enrolment
	Outcome     Outcome
	Description string
}

// TestCards is the card simulator's table: each number has a deterministic
// outcome. Every other Luhn-valid number is not enrolled and authorised.
// Any expiry in the future works. The CVC "999" always fails the CVC check
// (declined); any other 3 or 4 digits pass.
//
//	number            brand       3-D Secure               authorisation
//	4000000000000002  Visa        enrolled (challenge)     authorised
//	5400100400099001  Mastercard  enrolled (challenge)     authorised
//	4000000000000010  Visa        not enrolled             authorised
//	4000000000000028  Visa        not enrolled, required   (declined before authorisation)
//	4000000000000036  Visa        unavailable              (declined before authorisation)
//	4000000000000044  Visa        not enrolled             declined (issuer 05)
//	4000000000000051  Visa        not enrolled             insufficient funds (issuer 51)
//	4000000000000069  Visa        enrolled (challenge)     declined (issuer 05)
var TestCards = []TestCard{
	{"4000000000000002", "Visa", Enrolled, Approve, "enrolled in 3-D Secure, authorised"},
	{"5400100400099001", "Mastercard", Enrolled, Approve, "enrolled in 3-D Secure, authorised"},
	{"4000000000000010", "Visa", NotEnrolled, Approve, "not enrolled, authorised"},
	{"4000000000000028", "Visa", NotEnrolledRequired, Approve, "not enrolled but 3-D Secure required: declined"},
	{"4000000000000036", "Visa", Unavailable, Approve, "3-D Secure unavailable: declined"},
	{"4000000000000044", "Visa", NotEnrolled, Decline, "declined by the issuer"},
	{"4000000000000051", "Visa", NotEnrolled, InsufficientFunds, "insufficient funds"},
	{"4000000000000069", "Visa", Enrolled, Decline, "enrolled, declined by the issuer after 3-D Secure"},
}

// CVCFail is the CVC the simulator always rejects.
const CVCFail = "999"

// AuthRequest asks the acquirer to authorise an amount on a card.
type AuthRequest struct {
	PAN       string
	CVCResult string // the CVC check made when the card arrived (CheckCVC)
	Amount    int64
	Currency  string
	MOTO      bool
	ThreeDS   bool // authenticated by 3-D Secure
	Recurring bool // a recurring child charging a stored card (merchant-initiated, no shopper)
	// External is the authentication made outside cashgate (ThreeDS is
	// then true: it was verified, VerifyAuthentication); nil otherwise.
	External *ExternalAuth
	// MCC and Recipient: a financial institution's payment (MCC 6012)
	// names the person receiving the funds. The simulator does not use
	// them; a real acquirer connector forwards them.
	MCC       string
	Recipient *Recipient
}

// Recipient is the person receiving the funds of a financial institution's
// payment.
type Recipient struct {
	LastName      string
	DateOfBirth   string // YYYYMMDD
	Postcode      string
	AccountNumber string // an account number, or a card's first 6 and last 4 digits
}

// AuthResult is the acquirer's answer.
type AuthResult struct {
	Approved          bool
	AuthCode          string
	IssuerCode        string // "00" approved, "05" do not honour, "51" insufficient funds, "N7" CVC
	Message           string // "Authorised", "Declined", "Insufficient funds"
	TransactionID     string // the acquirer's id, e.g. "01S00DAA658"
	ARN               string
	AcquirerResponse  string // "A" approved, "D" declined
	CVCResult         string
	InsufficientFunds bool
}

// Acquirer is what the gateway needs of a card acquirer. The simulator
// implements it; a real acquirer connector would too.
type Acquirer interface {
	// Enrolment looks the card up in the 3-D Secure directory.
	Enrolment(ctx context.Context, pan string) (Enrolment, error)
	// CheckCVC verifies the CVC when the card arrives and returns a result
	// code ("200" match, "400" mismatch, "000" not checked); the CVC is not
	// kept after it.
	CheckCVC(ctx context.Context, pan, cvc string) (string, error)
	// VerifyAuthentication checks a 3-D Secure authentication made outside
	// cashgate (ExternalAuth) for the card and returns its status:
	// AuthAuthenticated, AuthAttempted or AuthFailed. A real connector
	// sends the values with the authorisation, where the issuer checks them.
	VerifyAuthentication(ctx context.Context, pan string, a ExternalAuth) (string, error)
	// Authorise reserves the amount on the card.
	Authorise(ctx context.Context, req AuthRequest) (AuthResult, error)
	// Credit pays an amount to the card (a credit payment: an original
	// credit transaction). Reference names it, so that a real connector
	// sends it once however often it is asked.
	Credit(ctx context.Context, req CreditRequest) (AuthResult, error)
	// NewTransactionID names a capture ("S"), void ("V") or refund ("R").
	NewTransactionID(kind byte) string
}

// Simulator is the card simulator acquirer: deterministic outcomes from
// TestCards, no network.
type Simulator struct {
	gen *ids.Gen
}

// NewSimulator returns a simulator drawing its transaction ids from gen.
func NewSimulator(gen *ids.Gen) *Simulator { return &Simulator{gen: gen} }

func lookup(pan string) (TestCard, bool) {
	for _, c := range TestCards {
		if c.Number == pan {
			return c, true
		}
	}
	return TestCard{}, false
}

// Enrolment implements Acquirer.
func (s *Simulator) Enrolment(_ context.Context, pan string) (Enrolment, error) {
	if c, ok := lookup(pan); ok {
		return c.Enrolment, nil
	}
	return NotEnrolled, nil
}

// CheckCVC implements Acquirer.
func (s *Simulator) CheckCVC(_ context.Context, _ string, cvc string) (string, error) {
	switch cvc {
	case "":
		return "000", nil
	case CVCFail:
		return "400", nil
	}
	return "200", nil
}

// Authorise implements Acquirer.
func (s *Simulator) Authorise(_ context.Context, req AuthRequest) (AuthResult, error) {
	r := AuthResult{TransactionID: s.NewTransactionID('S'), CVCResult: req.CVCResult}
	outcome := Approve
	if c, ok := lookup(req.PAN); ok {
		outcome = c.Outcome
	}
	if req.CVCResult == "400" {
		r.IssuerCode, r.Message, r.AcquirerResponse = "N7", "Declined: CVC mismatch", "D"
		return r, nil
	}
	switch outcome {
	case Decline:
		r.IssuerCode, r.Message, r.AcquirerResponse = "05", "Declined", "D"
	case InsufficientFunds:
		r.IssuerCode, r.Message, r.AcquirerResponse, r.InsufficientFunds = "51", "Insufficient funds", "D", true
	default:
		r.Approved, r.AuthCode, r.IssuerCode, r.Message, r.AcquirerResponse = true, "AUTHOK", "00", "Authorised", "A"
		r.ARN = "7450187" + s.gen.Digits(16)
	}
	return r, nil
}

// CreditRequest asks the acquirer to pay an amount to a card.
type CreditRequest struct {
	PAN       string
	Amount    int64
	Currency  string
	Reference string // the credit payment's reference: the acquirer's idempotency key
}

// Credit implements Acquirer: a card the table declines (issuer 05) refuses
// the credit; every other card takes it.
func (s *Simulator) Credit(_ context.Context, req CreditRequest) (AuthResult, error) {
	r := AuthResult{TransactionID: s.NewTransactionID('C')}
	if c, ok := lookup(req.PAN); ok && c.Outcome == Decline {
		r.IssuerCode, r.Message, r.AcquirerResponse = "05", "Declined", "D"
		return r, nil
	}
	r.Approved, r.AuthCode, r.IssuerCode, r.Message, r.AcquirerResponse = true, "CREDITOK", "00", "Credited", "A"
	return r, nil
}

// NewTransactionID implements Acquirer: "01" + kind + 8 upper-case hex
// digits (kinds: S sale, V void, R refund, C credit).
func (s *Simulator) NewTransactionID(kind byte) string {
	return "01" + string(kind) + strings.ToUpper(s.gen.Secret(4))
}
