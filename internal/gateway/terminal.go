package gateway

import (
	"context"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
)

// The Virtual Terminal (issue 10): an agent of the merchant keys in a card
// payment taken by mail or telephone. It is the API's MOTO payment job
// (option IsMoto, the card in parameters) made through Create's own path,
// flagged virtualTerminal; a tenant that refuses card details in the API
// (refuseDirectCardPayments) still takes it, as its hosted pages do, since
// the card is entered on cashgate's own page. What comes back carries the
// card only as its first 6 and last 4 digits; the card number itself is
// never logged, stored (a MOTO payment vaults nothing) or shown again.

// TerminalPayment is what the agent enters.
type TerminalPayment struct {
	Amount, Currency                    string
	CardNumber, ExpiryMonth, ExpiryYear string
	CVC, CardHolder, OrderNumber        string
}

// TerminalResult is the outcome shown to the agent.
type TerminalResult struct {
	PaymentJobReference, PaymentReference string
	Status                                string // the payment's: Paid, Authorised or Failed
	Amount, Currency                      string
	MaskedCard                            string // first 6 and last 4 digits
	OrderNumber                           string
	Message                               string // why it was declined, in the guide's words
}

// Approved reports whether the payment went through.
func (r TerminalResult) Approved() bool { return r.Status == StPaid || r.Status == StAuthorised }

// TakeTerminalPayment takes the agent's MOTO payment for the tenant.
func (s *Service) TakeTerminalPayment(ctx context.Context, tenantID string, in TerminalPayment) (TerminalResult, error) {
	for _, f := range []struct{ name, v string }{{"cardHolderName", in.CardHolder}, {"orderNumber", in.OrderNumber}} {
		if err := httpx.CheckText(f.name, f.v); err != nil {
			return TerminalResult{}, err
		}
	}
	off, err := s.VirtualTerminalUnavailable(ctx, tenantID)
	if err != nil {
		return TerminalResult{}, err
	}
	if off {
		return TerminalResult{}, MsgMPIUnavailable.Err(apperr.Conflict)
	}
	cfg, err := s.configurationOf(ctx, tenantID)
	if err != nil {
		return TerminalResult{}, err
	}
	req := CreatePaymentJobRequest{Currency: in.Currency, AmountToCollect: Flex(in.Amount), Options: []string{"IsMoto"},
		Parameters: &RequestParameters{CardNumber: strings.TrimSpace(in.CardNumber), CardCvc: Flex(in.CVC),
			CardExpiryMonth: Flex(in.ExpiryMonth), CardExpiryYear: Flex(in.ExpiryYear), CardHolderName: in.CardHolder}}
	if n := strings.TrimSpace(in.OrderNumber); n != "" {
		req.Order = &PaymentOrder{OrderNumber: n}
	}
	j, err := s.create(ctx, tenantID, cfg, req, createOpts{terminal: true})
	if err != nil {
		return TerminalResult{}, err
	}
	return terminalResult(j), nil
}

func terminalResult(j *job) TerminalResult {
	p := j.Payments[0]
	out := TerminalResult{PaymentJobReference: j.Ref, PaymentReference: p.Ref, Status: p.Status, Amount: amount(p.Amount, p.Currency),
		Currency: p.Currency.Code(), MaskedCard: p.MaskedPAN, OrderNumber: j.OrderNumber}
	if n := len(p.Steps); n > 0 {
		out.Message = p.Steps[n-1].Message
	}
	return out
}

// VirtualTerminalUnavailable reports whether the tenant's External MPI
// Provider flag is on, which makes Virtual Terminal payments and payment
// links unavailable (external3ds.go).
func (s *Service) VirtualTerminalUnavailable(ctx context.Context, tenantID string) (bool, error) {
	st, err := s.requestSettings(ctx, tenantID)
	return st.ExternalMPI, err
}
