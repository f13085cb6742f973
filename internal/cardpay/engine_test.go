package cardpay_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/cardpay"
	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
)

// engineOn returns an engine with the card simulator over a ledger of db
// (nil: a ledger that is never written to).
func engineOn(t *testing.T, db *store.DB) (*cardpay.Engine, *ledger.Ledger) {
	t.Helper()
	gen := ids.New(rand.NewChaCha8([32]byte{7}))
	l := ledger.New(db, clock.NewFake(time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC)), gen)
	e, err := cardpay.New(card.NewSimulator(gen), l)
	if err != nil {
		t.Fatal(err)
	}
	return e, l
}

func charge(pan string) cardpay.Charge {
	return cardpay.Charge{Card: card.Details{Number: pan, ExpiryMonth: 12, ExpiryYear: 2031, CVC: "123", HolderName: "Ada Lovelace"},
		Amount: 1000, Currency: "GBP"}
}

// TestAssessTestCards: every test card of the simulator has its outcome in
// an e-commerce payment (3-D Secure looked up).
func TestAssessTestCards(t *testing.T) {
	const notEnrolled = "Card not enrolled in 3-D Secure."
	type want struct {
		threeDS  cardpay.ThreeDS
		declined cardpay.Decline
		secure   cardpay.Secure
		issuer   string // the acquirer's IssuerCode, "" when not asked
	}
	cases := map[string]want{
		"4000000000000002": {threeDS: cardpay.ThreeDSChallenge, secure: cardpay.Secure{Version: "2.2.0"}},
		"5400100400099001": {threeDS: cardpay.ThreeDSChallenge, secure: cardpay.Secure{Version: "2.2.0"}},
		"4000000000000010": {secure: cardpay.Secure{Version: "2.2.0", VersionReason: notEnrolled}, issuer: "00"},
		"4000000000000028": {declined: cardpay.DeclineNo3DS, secure: cardpay.Secure{Version: "2.2.0", AuthenticationStatus: "N"}},
		"4000000000000036": {declined: cardpay.Decline3DSUnavailable, secure: cardpay.Secure{Version: "2.2.0", AuthenticationStatus: "U"}},
		"4000000000000044": {declined: cardpay.DeclineRefused, secure: cardpay.Secure{Version: "2.2.0", VersionReason: notEnrolled}, issuer: "05"},
		"4000000000000051": {declined: cardpay.DeclineRefused, secure: cardpay.Secure{Version: "2.2.0", VersionReason: notEnrolled}, issuer: "51"},
		"4000000000000069": {threeDS: cardpay.ThreeDSChallenge, secure: cardpay.Secure{Version: "2.2.0"}},
		"4111111111111111": {secure: cardpay.Secure{Version: "2.2.0", VersionReason: notEnrolled}, issuer: "00"}, // any other number
	}
	for _, c := range card.TestCards {
		if _, ok := cases[c.Number]; !ok {
			t.Errorf("test card %s (%s) has no expected outcome here", c.Number, c.Description)
		}
	}
	e, _ := engineOn(t, nil)
	for pan, w := range cases {
		t.Run(pan, func(t *testing.T) {
			o, err := e.Assess(context.Background(), charge(pan))
			if err != nil {
				t.Fatal(err)
			}
			if o.ThreeDS != w.threeDS || o.Declined != w.declined || o.Secure != w.secure || o.Auth.IssuerCode != w.issuer || o.CVCResult != "200" {
				t.Errorf("outcome %+v, want %+v", o, w)
			}
			if o.NeedsChallenge() != (w.threeDS == cardpay.ThreeDSChallenge) || o.Refused() != (w.declined != "") {
				t.Errorf("NeedsChallenge %t, Refused %t", o.NeedsChallenge(), o.Refused())
			}
			if w.issuer == "00" && (!o.Auth.Approved || o.Auth.TransactionID == "") {
				t.Errorf("not authorised: %+v", o.Auth)
			}
		})
	}
}

// TestAssessWithoutShopper: MOTO and merchant-initiated charges skip 3-D
// Secure (an enrolled card is authorised at once, with no 3-D Secure
// details); a failed CVC is refused; an enrolled card needs its holder's
// name.
func TestAssessWithoutShopper(t *testing.T) {
	e, _ := engineOn(t, nil)
	ctx := context.Background()
	for name, ch := range map[string]cardpay.Charge{
		"moto": func() cardpay.Charge { c := charge("4000000000000002"); c.MOTO = true; return c }(),
		"merchant-initiated": func() cardpay.Charge {
			c := charge("4000000000000002")
			c.MerchantInitiated, c.Card.CVC = true, ""
			return c
		}(),
	} {
		o, err := e.Assess(ctx, ch)
		if err != nil || o.Refused() || o.ThreeDS != cardpay.ThreeDSNone || o.Secure != (cardpay.Secure{}) || !o.Auth.Approved {
			t.Errorf("%s: %+v, %v", name, o, err)
		}
	}
	bad := charge("4000000000000010")
	bad.Card.CVC = card.CVCFail
	if o, err := e.Assess(ctx, bad); err != nil || o.Declined != cardpay.DeclineRefused || o.CVCResult != "400" {
		t.Errorf("CVC %s: %+v, %v", card.CVCFail, o, err)
	}
	anon := charge("4000000000000002")
	anon.Card.HolderName = ""
	if _, err := e.Assess(ctx, anon); !apperr.Is(err, apperr.Invalid) || apperr.From(err).Field != "cardHolderName" {
		t.Errorf("enrolled card without a holder name: %v", err)
	}
}

// TestComplete3DS: a passed challenge authorises (or the issuer declines
// after it); a failed one declines without asking the acquirer.
func TestComplete3DS(t *testing.T) {
	e, _ := engineOn(t, nil)
	ctx := context.Background()
	cases := []struct {
		name     string
		pan      string
		passed   bool
		want     cardpay.ThreeDS
		declined cardpay.Decline
		secure   cardpay.Secure
		approved bool
	}{
		{"passed", "4000000000000002", true, cardpay.ThreeDSPassed, "", cardpay.Secure{Version: "2.2.0", AuthenticationStatus: "Y", ECI: "05"}, true},
		{"passed, then declined", "4000000000000069", true, cardpay.ThreeDSPassed, cardpay.DeclineRefused, cardpay.Secure{Version: "2.2.0", AuthenticationStatus: "Y", ECI: "05"}, false},
		{"failed", "4000000000000002", false, cardpay.ThreeDSFailed, cardpay.Decline3DSFailed, cardpay.Secure{Version: "2.2.0", AuthenticationStatus: "N"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch := charge(c.pan)
			challenge, err := e.Assess(ctx, ch)
			if err != nil || !challenge.NeedsChallenge() {
				t.Fatalf("assess: %+v, %v", challenge, err)
			}
			ch.Card = card.Details{Number: c.pan} // what the product keeps: the vaulted number
			o, err := e.Complete3DS(ctx, challenge, ch, c.passed)
			if err != nil {
				t.Fatal(err)
			}
			if o.ThreeDS != c.want || o.Declined != c.declined || o.Secure != c.secure || o.Auth.Approved != c.approved || o.CVCResult != "200" {
				t.Errorf("outcome %+v", o)
			}
			if !c.passed && o.Auth.TransactionID != "" {
				t.Errorf("a failed challenge reached the acquirer: %+v", o.Auth)
			}
		})
	}
}

// failing is an acquirer that cannot be reached.
type failing struct{ card.Acquirer }

var errDown = errors.New("connection refused")

func (failing) CheckCVC(context.Context, string, string) (string, error) { return "", errDown }

// TestAcquirerFailure: an acquirer that fails is apperr Unavailable
// wrapping an *AcquirerError, in no product's words.
func TestAcquirerFailure(t *testing.T) {
	e, err := cardpay.New(failing{}, ledger.New(nil, clock.NewFake(time.Time{}), ids.New(nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = e.Assess(ctx, charge("4000000000000010"))
	var ae *cardpay.AcquirerError
	if !apperr.Is(err, apperr.Unavailable) || !errors.As(err, &ae) || !errors.Is(err, errDown) || ae.Op != "check the CVC" {
		t.Errorf("assess: %v", err)
	}
	if _, err := e.VerifyCVC(ctx, charge("4000000000000010").Card); !errors.As(err, &ae) {
		t.Errorf("verify CVC: %v", err)
	}
}

func TestVerifyCVC(t *testing.T) {
	e, _ := engineOn(t, nil)
	for cvc, want := range map[string]bool{"123": true, "7373": true, card.CVCFail: false} {
		c := charge("4000000000000010").Card
		c.CVC = cvc
		if ok, err := e.VerifyCVC(context.Background(), c); err != nil || ok != want {
			t.Errorf("CVC %s: %t, %v", cvc, ok, err)
		}
	}
}
