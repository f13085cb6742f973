package cashier

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/money"
)

// The Platform's synchronous callbacks: the validation of a free deposit
// before it is submitted, and (balance authority crm) what a customer may
// withdraw. Each is a JSON POST signed like this:
//
//	Cashier-Signature: t=<Unix seconds>,v1=<hex HMAC-SHA256(callbackSecret, t + "." + body)>
//
// The Platform answers 2xx with JSON within the callback's timeout
// (DefaultCallbackTimeout unless set): {"approved": true} or
// {"approved": false, "reason": "…"} to a validation, {"withdrawable":
// "123.45"} to a balance check. A validation that does not come back in
// time (or fails) refuses the deposit unless validation.onTimeout is
// "accept"; a balance check that does not refuses the payout, always.

// HeaderSignature carries a callback's signature.
const HeaderSignature = "Cashier-Signature"

// SignatureTolerance is how far a signature's time may be from the
// receiver's clock (VerifySignature).
const SignatureTolerance = 5 * time.Minute

// Sign returns the Cashier-Signature of body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks a Cashier-Signature header of body received at now
// (the Platform's side; the simulated PSP's notifications are signed the
// same way): its time within SignatureTolerance, its MAC constant-time.
func VerifySignature(secret, header string, body []byte, now time.Time) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return apperr.New(apperr.Unauthenticated, "malformed signature")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > SignatureTolerance || d < -SignatureTolerance {
		return apperr.New(apperr.Unauthenticated, "signature too old or in the future")
	}
	if !hmac.Equal([]byte(sig), []byte(mac(secret, ts, body))) {
		return apperr.New(apperr.Unauthenticated, "invalid signature")
	}
	return nil
}

// ValidationRequest is the body of a free deposit's validation callback.
type ValidationRequest struct {
	Type       string `json:"type"` // "deposit.validate"
	CustomerID string `json:"customerId"`
	Amount     string `json:"amount"`
	Currency   string `json:"currency"`
	PSP        string `json:"psp"`
	Reference  string `json:"reference,omitempty"`
	SessionID  string `json:"sessionId,omitempty"`
}

// ValidationAnswer is the Platform's answer to it.
type ValidationAnswer struct {
	Approved bool   `json:"approved"`
	Reason   string `json:"reason,omitempty"`
}

// BalanceCheckRequest is the body of a payout's balance check.
type BalanceCheckRequest struct {
	Type       string `json:"type"` // "payout.check"
	CustomerID string `json:"customerId"`
	Amount     string `json:"amount"`
	Currency   string `json:"currency"`
}

// BalanceCheckAnswer is the Platform's answer: what the customer may
// withdraw in all, before the payouts cashgate holds in flight.
type BalanceCheckAnswer struct {
	Withdrawable string `json:"withdrawable"`
}

// validateDeposit asks the Platform whether a free deposit may go ahead.
func (s *Service) validateDeposit(ctx context.Context, tenantID string, st Settings, v ValidationRequest) error {
	if st.Validation.URL == "" {
		return nil
	}
	v.Type = "deposit.validate"
	var ans ValidationAnswer
	err := s.callPlatform(ctx, tenantID, st.Validation, v, &ans)
	switch {
	case err != nil && st.Validation.OnTimeout == OnTimeoutAccept:
		s.log.WarnContext(ctx, "cashier: deposit validation did not answer; accepted (validation.onTimeout accept)", "tenant", tenantID, "err", err)
		return nil
	case err != nil:
		return apperr.Wrap(err, apperr.Unavailable, "the Platform's deposit validation did not answer within %s: the deposit was not submitted", st.Validation.timeout())
	case !ans.Approved:
		reason := ans.Reason
		if reason == "" {
			reason = "no reason given"
		}
		return apperr.New(apperr.Forbidden, "the Platform refused this deposit: %s", reason)
	}
	return nil
}

// withdrawable asks the Platform what the customer may withdraw.
func (s *Service) withdrawable(ctx context.Context, tenantID string, st Settings, customerID string, amount int64, currency string) (int64, error) {
	var ans BalanceCheckAnswer
	err := s.callPlatform(ctx, tenantID, st.BalanceCheck, BalanceCheckRequest{Type: "payout.check", CustomerID: customerID,
		Amount: format(amount, currency), Currency: currency}, &ans)
	if err != nil {
		return 0, apperr.Wrap(err, apperr.Unavailable, "the Platform's balance check did not answer within %s: the payout was not requested", st.BalanceCheck.timeout())
	}
	cur, _ := money.ParseCurrency(currency)
	a, err := money.ParseDecimal(ans.Withdrawable, cur)
	if err != nil {
		return 0, apperr.Wrap(err, apperr.Unavailable, "the Platform's balance check answered no withdrawable amount in %s: the payout was not requested", currency)
	}
	return a.Minor, nil
}

// maxAnswer bounds what is read of a Platform's answer.
const maxAnswer = 64 << 10

// callPlatform posts body, signed, to cb and decodes the 2xx answer into out.
func (s *Service) callPlatform(ctx context.Context, tenantID string, cb Callback, body, out any) error {
	secret, err := s.callbackSecret(ctx, s.db.Read(), tenantID)
	if err != nil {
		return fmt.Errorf("cashier: callback secret: %w", err)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cb.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cb.URL, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderSignature, Sign(secret, s.now(), b))
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the Platform answered %d", resp.StatusCode)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("the Platform's answer is not the expected JSON: %w", err)
	}
	return nil
}
