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
// standard library, so they can be copied as they are.
//
// # Authorization token
//
// There is no API key. The merchant has a merchant id (its business code)
// and a merchant secret (shown once when the corporate account is created).
// The secret never travels:
//
//  1. POST /wallet/api/v1/auth/salt {"merchantId":"K7M2QX9A"} returns
//     {"salt":"<64 hex>","expiresAt":"…"} (valid for an hour by default).
//  2. The backend computes
//     signature = hex(HMAC-SHA256(key = merchant secret,
//     message = "cashgate-wallet-token\n" + merchantId + "\n" + salt))
//     token = merchantId + "." + salt + "." + signature
//  3. Every call sends "Authorization: Bearer <token>". The server
//     re-evaluates the token on every call; GET /wallet/api/v1/auth/token
//     checks it explicitly. It expires with its salt; ask for a new salt then.
//
// Worked example: merchantId "K7M2QX9A", secret "cgm_secret",
// salt "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff":
// the message is "cashgate-wallet-token\nK7M2QX9A\n0011…eeff" and the token
// "K7M2QX9A.0011…eeff.<hex HMAC>" (TestMerchantTokenExample pins the value).
//
// # Callback control parameter
//
// A callback is a JSON object (CallbackBody) whose "control" field is
// hex(HMAC-SHA256(key = merchant secret, message = "cashgate-wallet-callback" +
// "\n" + requestId + "\n" + orderId + "\n" + status + "\n" + amount + "\n" +
// currency + "\n" + timestamp)), with amount the decimal EUR amount ("12.50")
// and timestamp as sent. VerifyCallback checks it. Acknowledge a callback by
// answering 2xx with the body "OK"; anything else is retried (every minute
// for 10 minutes, then daily to day 7, weekly to day 28).

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

// CallbackControl computes the control parameter of a callback.
func CallbackControl(secret string, b CallbackBody) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strings.Join([]string{"cashgate-wallet-callback", b.RequestID, b.OrderID, b.Status, b.Amount, b.Currency, b.Timestamp}, "\n")))
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
