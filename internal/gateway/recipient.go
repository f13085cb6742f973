package gateway

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/card"
)

// The guide's "Additional details required for financial institutions": a
// payment of a financial institution (MCC 6012) carries recipientDetails,
// the person receiving the funds. The guide sends them in parameters as a
// JSON string holding an object; an object is accepted too, as is
// recipientDetails at the top level of the request.
//
//	lastname              2-64 letters or '-'
//	dateOfBirth           YYYYMMDD (8 digits); an ISO date or date-time
//	                      (the guide's example "1980-07-29T23:00:00.000Z") is
//	                      accepted too; a real date in the past
//	postcode              2-16 letters, digits or spaces (the guide's
//	                      example "CB21 5XE" has digits)
//	primaryAccountNumber  1-32 letters, digits, '/' or '-', no spaces; for
//	                      a card, its first six and last four digits only:
//	                      a full card number is refused (a PAN is never
//	                      stored in clear)
//
// All four are required when recipientDetails is given, and
// recipientDetails is required when parameters.mcc is "6012". Every failure
// is the guide's "The validation for recipient detail fields failed." with
// the field at fault (recipientDetails.lastname…) and a detail saying why.

// MCCFinancialInstitution is the merchant category code of financial
// institutions, whose payments need recipientDetails.
const MCCFinancialInstitution = "6012"

// MsgRecipientInvalid is the guide's message (and code) for bad recipientDetails.
var MsgRecipientInvalid = GuideMsg{Code: "RecipientDetailsInvalid", Message: "The validation for recipient detail fields failed."}

// Recipient are validated recipientDetails, kept with the job (for a
// payment link, whose card arrives later) and handed to the acquirer.
type Recipient struct {
	LastName             string `json:"lastname"`
	DateOfBirth          string `json:"dateOfBirth"` // normalised to YYYYMMDD
	Postcode             string `json:"postcode"`
	PrimaryAccountNumber string `json:"primaryAccountNumber"`
}

// detailError carries the reason of a refusal to the gateway's error format
// (httpx.GatewayErrors shows Detail() next to the guide's message).
type detailError string

func (d detailError) Error() string  { return string(d) }
func (d detailError) Detail() string { return string(d) }

func recipientError(field, why string) error {
	e := MsgRecipientInvalid.Invalid("recipientDetails" + field)
	e.Err = detailError(why)
	return e
}

// parseRecipient validates raw recipientDetails (a JSON object, or a JSON
// string holding one). now bounds the date of birth.
func parseRecipient(raw json.RawMessage, now time.Time) (*Recipient, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, recipientError("", "recipientDetails must be a JSON object or a string holding one")
		}
		raw = bytes.TrimSpace([]byte(s))
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&fields); err != nil || fields == nil || dec.More() {
		return nil, recipientError("", "recipientDetails must be a JSON object with lastname, dateOfBirth, postcode and primaryAccountNumber")
	}
	var in struct{ lastname, dob, postcode, pan *string }
	for k, v := range fields {
		var dst **string
		switch strings.ToLower(k) {
		case "lastname":
			dst = &in.lastname
		case "dateofbirth":
			dst = &in.dob
		case "postcode":
			dst = &in.postcode
		case "primaryaccountnumber":
			dst = &in.pan
		default:
			return nil, recipientError("."+k, "unknown field "+k+": recipientDetails has lastname, dateOfBirth, postcode and primaryAccountNumber")
		}
		var f Flex
		if err := json.Unmarshal(v, &f); err != nil {
			return nil, recipientError("."+k, k+" must be a string")
		}
		s := string(f)
		*dst = &s
	}
	r := &Recipient{}
	switch {
	case in.lastname == nil || *in.lastname == "":
		return nil, recipientError(".lastname", "lastname is required")
	case !validLastName(*in.lastname):
		return nil, recipientError(".lastname", "lastname must be 2 to 64 letters or '-'")
	}
	r.LastName = *in.lastname
	if in.dob == nil || *in.dob == "" {
		return nil, recipientError(".dateOfBirth", "dateOfBirth is required, as YYYYMMDD")
	}
	dob, ok := parseBirthDate(*in.dob)
	switch {
	case !ok:
		return nil, recipientError(".dateOfBirth", "dateOfBirth must be a date as YYYYMMDD (8 digits)")
	case !dob.Before(now) || dob.Year() < 1900:
		return nil, recipientError(".dateOfBirth", "dateOfBirth must be a date in the past")
	}
	r.DateOfBirth = dob.Format("20060102")
	switch {
	case in.postcode == nil || strings.TrimSpace(*in.postcode) == "":
		return nil, recipientError(".postcode", "postcode is required")
	case !validPostcode(*in.postcode):
		return nil, recipientError(".postcode", "postcode must be 2 to 16 letters, digits or spaces")
	}
	r.Postcode = strings.TrimSpace(*in.postcode)
	switch {
	case in.pan == nil || *in.pan == "":
		return nil, recipientError(".primaryAccountNumber", "primaryAccountNumber is required")
	case !validAccountNumber(*in.pan):
		return nil, recipientError(".primaryAccountNumber", "primaryAccountNumber must be 1 to 32 letters, digits, '/' or '-', without spaces")
	case looksLikePAN(*in.pan):
		return nil, recipientError(".primaryAccountNumber", "for a card, give only its first six and last four digits, not the full card number")
	}
	r.PrimaryAccountNumber = *in.pan
	return r, nil
}

func validLastName(s string) bool {
	n := utf8.RuneCountInString(s)
	if n < 2 || n > 64 || !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if !unicode.IsLetter(c) && c != '-' {
			return false
		}
	}
	return true
}

func validPostcode(s string) bool {
	t := strings.TrimSpace(s)
	if len(t) < 2 || len(t) > 16 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ') {
			return false
		}
	}
	return true
}

func validAccountNumber(s string) bool {
	if len(s) < 1 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '/' || c == '-') {
			return false
		}
	}
	return true
}

// looksLikePAN reports whether s (dashes removed) is a Luhn-valid number of
// card length: a full card number, which must not be stored in clear.
func looksLikePAN(s string) bool {
	d := strings.ReplaceAll(s, "-", "")
	return len(d) >= 13 && card.Luhn(d)
}

// parseBirthDate reads YYYYMMDD, YYYY-MM-DD or an RFC 3339 date-time
// (spaces removed: the guide's own example carries one), as a calendar date.
func parseBirthDate(s string) (time.Time, bool) {
	s = strings.ReplaceAll(s, " ", "")
	for _, layout := range []string{"20060102", "2006-01-02", time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			// A date-time counts as the calendar date written in it.
			return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), true
		}
	}
	return time.Time{}, false
}
