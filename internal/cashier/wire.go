package cashier

import (
	"encoding/base64"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
)

// The cashier API's wire types. Amounts are decimal strings in the
// currency's scale ("10.00" EUR, "1000" JPY); times RFC 3339 UTC.

// CustomerRequest is the body of PUT /cashier/v1/customers/{id}.
type CustomerRequest struct {
	Name     string  `json:"name"`
	Email    string  `json:"email"`
	Country  string  `json:"country"`  // ISO 3166-1 alpha-2
	Currency string  `json:"currency"` // the customer's account currency: deposits and payouts are in it
	Status   string  `json:"status"`   // active or blocked
	KYCLevel *int    `json:"kycLevel"` // 0 (not verified) to MaxKYCLevel
	Limits   *Limits `json:"limits,omitempty"`
}

// Limits are a customer's optional limits ("" or absent: none). Daily
// limits count the calendar day in the tenant's time zone.
type Limits struct {
	MaxDeposit    string `json:"maxDeposit,omitempty"`    // one deposit at most
	DailyDeposits string `json:"dailyDeposits,omitempty"` // deposits of a day in all
	MaxPayout     string `json:"maxPayout,omitempty"`
	DailyPayouts  string `json:"dailyPayouts,omitempty"`
}

// Customer is a customer on the wire.
type Customer struct {
	ID        string           `json:"id"`
	Name      string           `json:"name"`
	Email     string           `json:"email"`
	Country   string           `json:"country"`
	Currency  string           `json:"currency"`
	Status    string           `json:"status"`
	KYCLevel  int              `json:"kycLevel"`
	Limits    Limits           `json:"limits"`
	Balance   *CustomerBalance `json:"balance,omitempty"` // GET of one customer
	CreatedAt time.Time        `json:"createdAt"`
	UpdatedAt time.Time        `json:"updatedAt"`
}

// CustomerBalance is what the ledger says of a customer.
type CustomerBalance struct {
	Available       string `json:"available"`       // may be withdrawn (balance authority ledger)
	PendingDeposits string `json:"pendingDeposits"` // authorised, not captured
	PendingPayouts  string `json:"pendingPayouts"`  // requested, not yet paid
	Deposited       string `json:"deposited"`       // captured deposits (not refunded)
	PaidOut         string `json:"paidOut"`         // paid payouts
}

// CustomerList is a page of customers in id order.
type CustomerList struct {
	Data []Customer `json:"data"`
	Next string     `json:"next,omitempty"` // the cursor of the next page
}

// Page asks for one page of a list.
type Page struct {
	Limit  int    // 1..MaxPage, DefaultPage when 0
	Cursor string // Next of the previous page
}

// Page sizes.
const (
	DefaultPage = 20
	MaxPage     = 100
)

// check applies the default limit and decodes the cursor.
func (p *Page) check() (string, error) {
	if p.Limit == 0 {
		p.Limit = DefaultPage
	}
	if p.Limit < 1 || p.Limit > MaxPage {
		return "", apperr.InvalidField("limit", "limit must be between 1 and %d", MaxPage)
	}
	b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
	if err != nil {
		return "", apperr.InvalidField("cursor", "cursor is not one this API gave out")
	}
	return string(b), nil
}
