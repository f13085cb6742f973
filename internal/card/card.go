// Package card holds what the card gateway needs about cards: validation
// (Luhn, expiry, CVC), masking (first 6 and last 4 digits), the card
// simulator acquirer with its table of test cards, and the vault that
// stores PANs encrypted.
//
// Rules: a PAN is stored only sealed by the Vault; the CVC is checked when
// the card arrives and never stored; anything shown (logs, events, pages,
// API responses) carries at most Mask(pan).
package card

import (
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
)

// Details are the card data of one payment as the merchant or shopper sent them.
type Details struct {
	Number      string // PAN, digits only after Normalize
	ExpiryMonth int    // 1..12
	ExpiryYear  int    // four digits
	CVC         string // 3 or 4 digits; empty only when the card is used by token or stored credentials
	HolderName  string
}

// Normalize strips spaces and dashes from a PAN.
func Normalize(pan string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, pan)
}

// Luhn reports whether the digit string passes the Luhn check.
func Luhn(pan string) bool {
	if len(pan) < 12 || len(pan) > 19 {
		return false
	}
	sum := 0
	for i := 0; i < len(pan); i++ {
		c := pan[len(pan)-1-i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// Mask returns the first 6 and last 4 digits with the rest as '*':
// "400000******0002" (the guide's TruncatedCardNumber).
func Mask(pan string) string {
	if len(pan) < 10 {
		return strings.Repeat("*", len(pan))
	}
	return pan[:6] + strings.Repeat("*", len(pan)-10) + pan[len(pan)-4:]
}

// ParseExpiry turns the guide's "MM" and "YY" (or "YYYY") into a month and
// a four-digit year.
func ParseExpiry(month, year string) (int, int, error) {
	m, ok := atoi(month)
	if !ok || len(month) > 2 || m < 1 || m > 12 {
		return 0, 0, apperr.InvalidField("cardExpiryMonth", "The card expiry month must be MM, 01 to 12.")
	}
	y, ok := atoi(year)
	switch {
	case ok && len(year) == 2:
		y += 2000
	case ok && len(year) == 4:
	default:
		return 0, 0, apperr.InvalidField("cardExpiryYear", "The card expiry year must be YY (or YYYY).")
	}
	return m, y, nil
}

func atoi(s string) (int, bool) {
	if s == "" || len(s) > 4 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// Validate checks the card at now: Luhn, not expired (a card is valid to
// the end of its expiry month), CVC of 3 or 4 digits (when requireCVC).
// Errors are apperr.Invalid naming the field.
func (d Details) Validate(now time.Time, requireCVC bool) error {
	if d.Number == "" {
		return apperr.InvalidField("cardNumber", "The card number is required.")
	}
	if !Luhn(d.Number) {
		return apperr.InvalidField("cardNumber", "The card number is not valid.")
	}
	if d.ExpiryMonth < 1 || d.ExpiryMonth > 12 || d.ExpiryYear < 2000 {
		return apperr.InvalidField("cardExpiryMonth", "The card expiry date is not valid.")
	}
	end := time.Date(d.ExpiryYear, time.Month(d.ExpiryMonth)+1, 1, 0, 0, 0, 0, time.UTC)
	if !now.Before(end) {
		return apperr.InvalidField("cardExpiryYear", "The card has expired.")
	}
	if requireCVC || d.CVC != "" {
		if n := len(d.CVC); n < 3 || n > 4 {
			return apperr.InvalidField("cardCvc", "The card security code must be 3 or 4 digits.")
		}
		if _, ok := atoi(d.CVC); !ok {
			return apperr.InvalidField("cardCvc", "The card security code must be 3 or 4 digits.")
		}
	}
	if len(d.HolderName) > 100 {
		return apperr.InvalidField("cardHolderName", "The cardholder name must be at most 100 characters.")
	}
	return nil
}
