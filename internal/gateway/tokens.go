package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
)

// Card tokenisation (the guide's "Stored card details"):
//
//   - POST /api/gateway/card-tokenisation validates a card (Luhn, expiry,
//     CVC checked with the acquirer and then forgotten), seals its PAN in
//     the vault and answers with a 16-digit token, the expiry and the
//     masked number;
//   - the option GenerateToken of a payment job vaults its card and gives
//     it a token once the payment succeeded (attributes.token of the
//     payment; a failed payment yields none);
//   - parameters.token instead of cardNumber pays with a tokenised card
//     (the request may repeat the expiry, and the CVC, which is checked);
//     3-D Secure applies as for a card number, except with the
//     UsingStoredCredentials option.
//
// Tokens belong to the tenant that created them: another tenant's token is
// unknown ("The card token is not known.").

// MsgCardRejected is the guide's message when the card fails the
// acquirer's checks at tokenisation.
var MsgCardRejected = GuideMsg{Code: "PaymentMethodRejected", Message: "The payment method rejected the request."}

// Tokenise stores a card for the tenant and returns its token, stored for
// the request's customer when it names one (customers.go) — with the
// guide's warning instead when the customer has the maximum already.
func (s *Service) Tokenise(ctx context.Context, tenantID string, req CardTokenisationRequest) (CardTokenisationResponse, error) {
	now := s.now()
	st, err := s.requestSettings(ctx, tenantID)
	if err != nil {
		return CardTokenisationResponse{}, err
	}
	if st.RefuseDirectCards {
		return CardTokenisationResponse{}, MsgDirectCardForbidden.Invalid("cardNumber")
	}
	customer, err := parseCustomerRef(req.CustomerReference)
	if err != nil {
		return CardTokenisationResponse{}, err
	}
	d := card.Details{Number: card.Normalize(strings.TrimSpace(req.CardNumber)), CVC: strings.TrimSpace(string(req.CardCvc)),
		HolderName: strings.TrimSpace(req.CardHolderName)}
	m, y, err := card.ParseExpiry(strings.TrimSpace(string(req.CardExpiryMonth)), strings.TrimSpace(string(req.CardExpiryYear)))
	if err != nil {
		return CardTokenisationResponse{}, err
	}
	d.ExpiryMonth, d.ExpiryYear = m, y
	if err := d.Validate(now, true); err != nil {
		return CardTokenisationResponse{}, err
	}
	ok, err := s.Cards.VerifyCVC(ctx, d)
	if err != nil {
		return CardTokenisationResponse{}, acquirerErr(err)
	}
	if !ok {
		return CardTokenisationResponse{}, MsgCardRejected.Invalid("cardCvc")
	}
	var out CardTokenisationResponse
	err = s.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		sc, err := s.Vault.Store(ctx, tx, tenantID, d, now, true)
		if err != nil {
			return err
		}
		out = CardTokenisationResponse{Data: CardToken{Token: sc.Token, CardExpiryMonth: fmt.Sprintf("%02d", sc.ExpiryMonth),
			CardExpiryYear: fmt.Sprintf("%02d", sc.ExpiryYear%100), TruncatedCardNumber: sc.MaskedPAN}}
		if customer != "" {
			stored, err := storeForCustomer(ctx, tx, tenantID, customer, sc.Token, sc.ID, now)
			if err != nil {
				return err
			}
			if stored {
				out.Data.CustomerReference = customer
			} else {
				out.Warnings = []Warning{MsgMaxStoredTokens.warning("customerReference")}
			}
		}
		return httpx.Answer(ctx, tx, out) // the answer commits with the token
	})
	if err != nil {
		return CardTokenisationResponse{}, err
	}
	return out, nil
}

func (h handlers) tokenise(r *http.Request, p httpx.Principal, req CardTokenisationRequest) (CardTokenisationResponse, error) {
	var out CardTokenisationResponse
	ctx := httpx.Answering(r.Context(), http.StatusCreated, &out, func(_ context.Context, t CardTokenisationResponse) (CardTokenisationResponse, error) {
		return t, nil
	})
	_, err := h.s.Tokenise(ctx, p.TenantID, req)
	return out, err
}
