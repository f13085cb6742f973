package gateway

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/store"
)

// External 3-D Secure v2, e-wallet tokens and PAN CV2less (the guide's
// "External 3DS v2 solutions", "eWallet external 3DS v2" and "PAN
// CV2less"):
//
//   - a card payment job may carry the authentication the merchant made
//     with its own 3-D Secure provider: parameters ThreeDSecureVersion
//     (2.x.y), ThreeDSecureCavv, ThreeDSecureEci and ThreeDSecureDSTransId,
//     all four;
//   - an e-wallet token (EwalletType ApplePay, GooglePay, SamsungPay or
//     Other) carries the wallet's card number and expiry, no CVC, and its
//     cryptogram as ThreeDSecureCavv with ThreeDSecureEci;
//   - PAN CV2less (option UsingStoredCredentials with a cardNumber) pays
//     without a CVC and must be authenticated by 3-D Secure v2: the four
//     values, or, without the External MPI Provider flag, cashgate's own
//     3-D Secure (a card not enrolled in it is declined: "Card payments
//     without 3D Secure are not allowed.").
//
// The tenant's External MPI Provider flag (settings externalMpiProvider)
// has the guide's effects: the values are used and cashgate's own
// challenge is skipped (the acquirer verifies them, card.Acquirer.
// VerifyAuthentication: the simulator's rules are in card/external.go);
// all payment details must be in the request, so a card payment job
// without them, a job without card details (the hosted card page would run
// cashgate's own 3-D Secure), a payment link and the Virtual Terminal are
// refused. Without the flag the values are not used, as the guide says:
// the gateway performs 3-D Secure with its own solution; e-wallet tokens
// need the flag. MOTO payments and recurring children are never
// authenticated by 3-D Secure and refuse the values; a token paying with
// UsingStoredCredentials and no values is a merchant-initiated payment, as
// before, and with the values an authenticated one.
//
// The CAVV and the cryptogram are handed to the acquirer and forgotten:
// they are not kept with the job, its payment or its acquiring details
// (which show the version, ECI, authentication status, directory server
// transaction id and wallet type), and no log line carries them.

// The e-wallet types of the guide.
var ewalletTypes = []string{"ApplePay", "GooglePay", "SamsungPay", "Other"}

var (
	reVersion2 = regexp.MustCompile(`^2\.[0-9]{1,2}\.[0-9]{1,2}$`)
	reECI      = regexp.MustCompile(`^[0-9]{2}$`)
	reUUID     = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)
)

// The request fields, as the errors name them.
const (
	fVersion   = "threeDSecureVersion"
	fCavv      = "threeDSecureCavv"
	fEci       = "threeDSecureEci"
	fDSTransID = "threeDSecureDSTransId"
	fWallet    = "ewalletType"
)

// parseExternalAuth returns the external 3-D Secure values of the request's
// parameters, checked for their form; nil when it carries none.
func parseExternalAuth(p *RequestParameters) (*card.ExternalAuth, error) {
	if p == nil {
		return nil, nil
	}
	x := &card.ExternalAuth{Version: strings.TrimSpace(p.ThreeDSecureVersion), CAVV: strings.TrimSpace(p.ThreeDSecureCavv),
		ECI: strings.TrimSpace(string(p.ThreeDSecureEci)), DSTransID: strings.TrimSpace(p.ThreeDSecureDSTransID)}
	wallet := strings.TrimSpace(p.EwalletType)
	if *x == (card.ExternalAuth{}) && wallet == "" {
		return nil, nil
	}
	if wallet != "" {
		i := -1
		for k, w := range ewalletTypes {
			if strings.EqualFold(w, wallet) {
				i = k
			}
		}
		if i < 0 {
			return nil, apperr.InvalidField(fWallet, "EwalletType must be one of %s.", strings.Join(ewalletTypes, ", "))
		}
		x.Wallet = ewalletTypes[i]
	}
	what := "the external 3-D Secure v2 values (ThreeDSecureVersion, ThreeDSecureCavv, ThreeDSecureEci, ThreeDSecureDSTransId)"
	if x.Wallet != "" {
		what = "an e-wallet token (EwalletType, its cryptogram as ThreeDSecureCavv, ThreeDSecureEci)"
	}
	required := []struct{ field, v string }{{fCavv, x.CAVV}, {fEci, x.ECI}}
	if x.Wallet == "" {
		required = []struct{ field, v string }{{fVersion, x.Version}, {fCavv, x.CAVV}, {fEci, x.ECI}, {fDSTransID, x.DSTransID}}
	}
	for _, r := range required {
		if r.v == "" {
			return nil, apperr.InvalidField(r.field, "%s is required with %s.", pascal(r.field), what)
		}
	}
	if x.Version != "" && !reVersion2.MatchString(x.Version) {
		return nil, apperr.InvalidField(fVersion, "ThreeDSecureVersion must be a 3-D Secure v2 version such as 2.2.0.")
	}
	if _, err := base64.StdEncoding.DecodeString(x.CAVV); err != nil || len(x.CAVV) > 128 {
		return nil, apperr.InvalidField(fCavv, "ThreeDSecureCavv must be the base64 authentication value (or e-wallet cryptogram) such as 5dc4a6a39b6730a360e42c3b5f+=.")
	}
	if !reECI.MatchString(x.ECI) {
		return nil, apperr.InvalidField(fEci, "ThreeDSecureEci must be the two-digit electronic commerce indicator such as 05.")
	}
	if x.DSTransID != "" && !reUUID.MatchString(x.DSTransID) {
		return nil, apperr.InvalidField(fDSTransID, "ThreeDSecureDSTransId must be the directory server's transaction id, a UUID.")
	}
	return x, nil
}

// pascal is a field name as the guide writes it in parameters.
func pascal(field string) string {
	if field == fDSTransID {
		return "ThreeDSecureDSTransId"
	}
	return strings.ToUpper(field[:1]) + field[1:]
}

// externalAuthSpec is what create knows when it applies the rules.
type externalAuthSpec struct {
	mpi               bool // the tenant's External MPI Provider flag
	moto, child, link bool
	card              cardInput
	storedCredentials bool
	cvc               string // the request's cardCvc
}

// MsgDetailsRequired refuses a payment job without its payment details when
// the External MPI Provider flag is on (the guide: "All payment details
// need to be provided in the request").
var MsgDetailsRequired = GuideMsg{Code: "PaymentDetailsRequired",
	Message: "All payment details need to be provided in the request: the External MPI Provider flag is on, so cashgate's hosted card page is not used."}

// MsgMPIUnavailable refuses what the External MPI Provider flag makes
// unavailable: the Virtual Terminal and payment links.
var MsgMPIUnavailable = GuideMsg{Code: "UnavailableWithExternalMpi",
	Message: "Virtual Terminal payments and payment links are unavailable while the External MPI Provider flag is on."}

// externalAuthOf applies the rules above to a payment job's external
// 3-D Secure values x: the authentication the charge carries (nil: none,
// cashgate's own 3-D Secure or none at all), or the error.
func externalAuthOf(x *card.ExternalAuth, sp externalAuthSpec) (*card.ExternalAuth, error) {
	switch {
	case sp.link && sp.mpi:
		return nil, MsgMPIUnavailable.ErrAt(apperr.Conflict, "")
	case x == nil:
	case sp.moto:
		return nil, apperr.InvalidField(fCavv, "A MOTO payment (IsMoto) is not authenticated by 3-D Secure: leave out the ThreeDSecure values and EwalletType.")
	case sp.child:
		return nil, apperr.InvalidField(fCavv, "A recurring child payment job is charged without the shopper, so without 3-D Secure: leave out the ThreeDSecure values and EwalletType.")
	case !sp.card.present:
		return nil, apperr.InvalidField("cardNumber", "The external 3-D Secure values authenticate a card payment: give its cardNumber (or token).")
	case x.Wallet != "" && !sp.mpi:
		return nil, apperr.InvalidField(fWallet, "E-wallet payments (EwalletType) need the External MPI Provider flag (externalMpiProvider in the gateway settings).")
	case x.Wallet != "" && sp.card.stored != nil:
		return nil, apperr.InvalidField("token", "An e-wallet payment carries the wallet's card number (cardNumber), not a card token.")
	case x.Wallet != "" && sp.cvc != "":
		return nil, apperr.InvalidField("cardCvc", "An e-wallet payment carries no card security code: leave out cardCvc.")
	case !sp.mpi:
		// The guide: without the flag the gateway performs 3-D Secure
		// with its own solution; the values are not used.
		return nil, nil
	}
	if !sp.mpi || sp.moto || sp.child || x != nil {
		return x, nil
	}
	switch {
	case !sp.card.present:
		return nil, MsgDetailsRequired.Invalid("cardNumber")
	case sp.card.stored != nil && sp.storedCredentials:
		return nil, nil // a merchant-initiated payment with a stored card: no shopper to authenticate
	}
	return nil, apperr.InvalidField(fVersion, "ThreeDSecureVersion, ThreeDSecureCavv, ThreeDSecureEci and ThreeDSecureDSTransId are required (or EwalletType with its cryptogram): "+
		"the External MPI Provider flag is on, so cashgate runs no 3-D Secure of its own.")
}

// putExternalMPI sets the flag in tx (after the settings row was written);
// nil leaves it unchanged.
func putExternalMPI(ctx context.Context, tx *store.Tx, tenantID string, on *bool) error {
	if on == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE gateway_settings SET external_mpi = $1 WHERE tenant_id = $2`, *on, tenantID); err != nil {
		return fmt.Errorf("gateway: external MPI flag: %w", err)
	}
	return nil
}
