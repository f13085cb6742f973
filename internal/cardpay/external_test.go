package cardpay_test

import (
	"context"
	"testing"

	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/cardpay"
)

// TestAssessExternalAuthentication: a charge with its own 3-D Secure v2
// authentication skips enrolment and challenge (even for cards enrolled
// with cashgate's directory); the simulator decides from the values — the
// scheme's ECI of an authenticated (Y) or attempted (A) authentication and
// a CAVV of 20 bytes, not all zero — and the issuer's table still applies.
// The cases are the guide's three examples (external 3DS v2 on a
// Mastercard, an Apple Pay token, a PAN CV2less Visa) and their failures.
func TestAssessExternalAuthentication(t *testing.T) {
	const (
		guideCavv = "5dc4a6a39b6730a360e42c3b5f+="
		cv2less   = "0H4G2ZcW398zA1Q8XyAI70H7nXY="
		zeroCavv  = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
	)
	mc := card.ExternalAuth{Version: "2.2.0", CAVV: guideCavv, ECI: "02", DSTransID: "c5b808e7-1de1-4069-a17b-f70d3b3b1645"}
	wallet := card.ExternalAuth{CAVV: guideCavv, ECI: "02", Wallet: "ApplePay"}
	visa := card.ExternalAuth{Version: "2.1.0", CAVV: cv2less, ECI: "05", DSTransID: "111dc9c3-6644-4164-9661-3afa0e8f64e1"}
	with := func(a card.ExternalAuth, f func(*card.ExternalAuth)) card.ExternalAuth { f(&a); return a }
	cases := []struct {
		name, pan, cvc string
		auth           card.ExternalAuth
		status         string
		declined       cardpay.Decline
		issuer         string
	}{
		{"guide external 3DS v2", "5400100400099001", "123", mc, "Y", "", "00"},
		{"guide e-wallet", "5400100400099001", "", wallet, "Y", "", "00"},
		{"guide PAN CV2less", "4510500400099002", "", visa, "Y", "", "00"},
		{"attempted (Mastercard 01)", "5400100400099001", "123", with(mc, func(a *card.ExternalAuth) { a.ECI = "01" }), "A", "", "00"},
		{"attempted (Visa 06)", "4510500400099002", "", with(visa, func(a *card.ExternalAuth) { a.ECI = "06" }), "A", "", "00"},
		{"not authenticated (Visa 07)", "4510500400099002", "", with(visa, func(a *card.ExternalAuth) { a.ECI = "07" }), "N", cardpay.Decline3DSFailed, ""},
		{"not authenticated (Mastercard 00)", "5400100400099001", "123", with(mc, func(a *card.ExternalAuth) { a.ECI = "00" }), "N", cardpay.Decline3DSFailed, ""},
		{"another scheme's ECI", "4510500400099002", "", with(visa, func(a *card.ExternalAuth) { a.ECI = "02" }), "N", cardpay.Decline3DSFailed, ""},
		{"all-zero CAVV", "5400100400099001", "123", with(mc, func(a *card.ExternalAuth) { a.CAVV = zeroCavv }), "N", cardpay.Decline3DSFailed, ""},
		{"short CAVV", "5400100400099001", "123", with(mc, func(a *card.ExternalAuth) { a.CAVV = "AAEC" }), "N", cardpay.Decline3DSFailed, ""},
		{"enrolled card, no challenge", "4000000000000002", "123", with(visa, func(*card.ExternalAuth) {}), "Y", "", "00"},
		{"authenticated, then declined by the issuer", "4000000000000044", "123", with(visa, func(*card.ExternalAuth) {}), "Y", cardpay.DeclineRefused, "05"},
		{"3DS required: satisfied", "4000000000000028", "123", with(visa, func(*card.ExternalAuth) {}), "Y", "", "00"},
	}
	e, _ := engineOn(t, nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch := charge(c.pan)
			ch.Card.CVC, ch.Card.HolderName = c.cvc, ""
			auth := c.auth
			ch.External = &auth
			o, err := e.Assess(context.Background(), ch)
			if err != nil {
				t.Fatal(err)
			}
			if o.NeedsChallenge() {
				t.Fatalf("asked for cashgate's challenge: %+v", o)
			}
			want := cardpay.Secure{Version: auth.Version, AuthenticationStatus: c.status, ECI: auth.ECI, External: true,
				DSTransID: auth.DSTransID, Wallet: auth.Wallet}
			if o.Secure != want || o.Declined != c.declined || o.Auth.IssuerCode != c.issuer {
				t.Errorf("outcome %+v, want %+v declined %q issuer %q", o, want, c.declined, c.issuer)
			}
			if c.status == "N" && (o.ThreeDS != cardpay.ThreeDSFailed || o.Auth.TransactionID != "") {
				t.Errorf("a failed authentication reached the authorisation: %+v", o)
			}
			if c.status != "N" && o.ThreeDS != cardpay.ThreeDSPassed {
				t.Errorf("3-D Secure %q", o.ThreeDS)
			}
		})
	}
}
