package remote

import (
	"encoding/json"
	"time"
)

// CreatePaymentRequest is the body of POST /remote/v1/payments.
type CreatePaymentRequest struct {
	// Amount is in the smallest unit of the currency: 10098 is 100.98 USD,
	// 1000 is 1000 JPY.
	Amount int64 `json:"amount"`
	// Currency is an ISO 4217 code (USD, EUR, TRY, SYP…).
	Currency string `json:"currency"`
	// Note is shown to the payer (up to MaxNote characters).
	Note string `json:"note,omitempty"`
	// Metadata is any JSON object of up to MaxMetadata bytes, stored and
	// returned as given; its top-level string, number and boolean values
	// can filter the list (metadata[key]=value).
	Metadata json.RawMessage `json:"metadata,omitempty"`
	// PayableTo restricts who may pay: only the wallet with this account number.
	PayableTo string `json:"payable_to,omitempty"`
	// RedirectURL is where the payer's browser goes after the page, with
	// paymentId and status appended to its query.
	RedirectURL string `json:"redirectUrl,omitempty"`
	// ExpiresAt (RFC 3339) ends the payment's payability; default
	// DefaultExpiry after creation, within MinExpiry..MaxExpiry.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// Payment is a remote payment on the wire. Fields that do not apply yet are null.
type Payment struct {
	ID       string          `json:"id"`
	Amount   int64           `json:"amount"`
	Currency string          `json:"currency"`
	Note     string          `json:"note"`
	Metadata json.RawMessage `json:"metadata"`
	Status   string          `json:"status"`
	// From is the payer's wallet account number once paid (for a card
	// payment, the masked card number).
	From *string `json:"from"`
	// To is the merchant's wallet account number, credited.
	To        string  `json:"to"`
	PayableTo *string `json:"payable_to"`
	// Method is "wallet" or "card" once paid.
	Method         *string    `json:"method"`
	RedirectURL    *string    `json:"redirectUrl"`
	PaymentURL     string     `json:"payment_url"`
	RefundedAmount int64      `json:"refunded_amount"`
	RejectReason   *string    `json:"reject_reason"`
	CancelReason   *string    `json:"cancel_reason"`
	CreatedAt      time.Time  `json:"created_at"`
	ExpiresAt      time.Time  `json:"expires_at"`
	PaidAt         *time.Time `json:"paid_at"`
	CanceledAt     *time.Time `json:"canceled_at"`
}

// PaymentList is a page of payments, newest first.
type PaymentList struct {
	Data []Payment `json:"data"`
	// Next is the cursor of the following page (?cursor=), absent on the last.
	Next string `json:"next,omitempty"`
}

func (s *Service) view(p *payment) Payment {
	return Payment{ID: p.ID, Amount: p.Amount, Currency: p.Currency, Note: p.Note, Metadata: json.RawMessage(p.Metadata),
		Status: p.Status, From: opt(p.From), To: p.To, PayableTo: opt(p.PayableTo), Method: opt(p.Method),
		RedirectURL: opt(p.RedirectURL), PaymentURL: s.PageURL(p.ID), RefundedAmount: p.RefundedAmount,
		RejectReason: opt(p.RejectReason), CancelReason: opt(p.CancelReason), CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt,
		PaidAt: optTime(p.PaidAt), CanceledAt: optTime(p.CanceledAt)}
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
