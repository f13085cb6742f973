package card

import (
	"context"
	"encoding/base64"
	"strings"
)

// ExternalAuth is a 3-D Secure v2 authentication the merchant made outside
// cashgate: through its own 3-D Secure provider (an "External MPI"), or
// the cryptogram of an e-wallet token (Apple Pay, Google Pay, Samsung
// Pay). The acquirer hands it to the issuer with the authorisation, which
// verifies it; cashgate runs no challenge of its own for such a payment.
//
// The CAVV (an e-wallet's cryptogram) is a credential of that one payment:
// it is passed to the acquirer and never stored, logged or shown.
type ExternalAuth struct {
	Version   string // the 3-D Secure protocol version, "2.1.0", "2.2.0"; "" for an e-wallet token
	CAVV      string // the authentication value (base64 of 20 bytes): an e-wallet's cryptogram
	ECI       string // the electronic commerce indicator, two digits
	DSTransID string // the directory server's transaction id (a UUID); "" for an e-wallet token
	Wallet    string // ApplePay, GooglePay, SamsungPay or Other; "" for a card
}

// The authentication statuses an acquirer reports for an ExternalAuth (the
// 3-D Secure transStatus values that reach authorisation).
const (
	AuthAuthenticated = "Y" // fully authenticated
	AuthAttempted     = "A" // attempted: the issuer or its ACS did not take part, liability still shifts
	AuthFailed        = "N" // not authenticated: the authorisation must not go ahead
)

// Scheme is the card scheme of a PAN, by its first digits: "Visa",
// "Mastercard", "Amex" or "" when unknown.
func Scheme(pan string) string {
	switch {
	case strings.HasPrefix(pan, "4"):
		return "Visa"
	case strings.HasPrefix(pan, "5"), strings.HasPrefix(pan, "2"):
		return "Mastercard"
	case strings.HasPrefix(pan, "34"), strings.HasPrefix(pan, "37"):
		return "Amex"
	}
	return ""
}

// The simulator's ECI table: the scheme's ECI of a fully authenticated and
// of an attempted authentication (EMVCo's values: Visa and Amex 05 and
// 06, Mastercard 02 and 01). Any other ECI, such as Visa's 07 or
// Mastercard's 00 (not authenticated), fails.
var eciTable = map[string][2]string{
	"Visa":       {"05", "06"},
	"Mastercard": {"02", "01"},
	"Amex":       {"05", "06"},
	"":           {"05", "06"},
}

// VerifyAuthentication implements Acquirer: the simulator decides from the
// values alone, deterministically.
//
//   - the CAVV must be base64 of 20 bytes, not all zero (the test value
//     "AAAAAAAAAAAAAAAAAAAAAAAAAAA=" always fails);
//   - the ECI must be the card scheme's for an authenticated (Y) or an
//     attempted (A) authentication: Visa 05 / 06, Mastercard 02 / 01;
//     any other ECI fails (N).
func (s *Simulator) VerifyAuthentication(_ context.Context, pan string, a ExternalAuth) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(a.CAVV)
	if err != nil || len(raw) != 20 || allZero(raw) {
		return AuthFailed, nil
	}
	eci := eciTable[Scheme(pan)]
	switch a.ECI {
	case eci[0]:
		return AuthAuthenticated, nil
	case eci[1]:
		return AuthAttempted, nil
	}
	return AuthFailed, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
