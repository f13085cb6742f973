package wallet

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
)

// This file is the merchant's side of the wallet API: the reference Go
// functions a merchant backend uses (and the tests use) to build an
// authorization token and to verify a callback. They need only the
// standard library, so they can be copied as they are. The package
// documentation (doc.go) describes both constructions with a worked example.

// TokenMessage is the message a merchant token signs.
func TokenMessage(merchantID, salt string) string {
	return "cashgate-wallet-token\n" + merchantID + "\n" + salt
}

// MerchantToken builds the authorization token for a salt.
func MerchantToken(merchantID, secret, salt string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(TokenMessage(merchantID, salt)))
	return merchantID + "." + salt + "." + hex.EncodeToString(m.Sum(nil))
}

// CallbackBody is what the wallet POSTs to a money request's callback URL
// when the customer approves or denies it or its time frame runs out.
type CallbackBody struct {
	RequestID        string `json:"requestId"`
	OrderID          string `json:"orderId"`
	Status           string `json:"status"`   // approved, denied, expired
	Amount           string `json:"amount"`   // EUR amount of the request, e.g. "12.50"
	Currency         string `json:"currency"` // always "EUR"
	OriginalAmount   string `json:"originalAmount"`
	OriginalCurrency string `json:"originalCurrency"`
	Fee              string `json:"fee"` // the receive fee deducted (approved only; "0.00" otherwise)
	Timestamp        string `json:"timestamp"`
	Control          string `json:"control"` // hex HMAC, see CallbackControl
}

// CallbackMessage is the message a callback's control parameter signs:
// "cashgate-wallet-callback" and every other field of the body, in the
// order of CallbackBody, joined by "\n".
func CallbackMessage(b CallbackBody) string {
	return strings.Join([]string{"cashgate-wallet-callback", b.RequestID, b.OrderID, b.Status, b.Amount, b.Currency,
		b.OriginalAmount, b.OriginalCurrency, b.Fee, b.Timestamp}, "\n")
}

// CallbackControl computes the control parameter of a callback:
// hex(HMAC-SHA256(merchant secret, CallbackMessage(b))).
func CallbackControl(secret string, b CallbackBody) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(CallbackMessage(b)))
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyCallback parses a callback body and checks its control parameter
// with the merchant secret (constant time).
func VerifyCallback(secret string, body []byte) (CallbackBody, error) {
	var b CallbackBody
	if err := json.Unmarshal(body, &b); err != nil {
		return CallbackBody{}, errors.New("wallet callback: body is not the callback JSON")
	}
	want := CallbackControl(secret, b)
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(b.Control))) {
		return CallbackBody{}, errors.New("wallet callback: control parameter does not match")
	}
	return b, nil
}
