package gateway

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
)

// TestParseRecipient: the guide's rules for each recipientDetails field.
func TestParseRecipient(t *testing.T) {
	now := time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC)
	obj := func(lastname, dob, postcode, pan string) string {
		b, _ := json.Marshal(map[string]string{"lastname": lastname, "dateOfBirth": dob, "postcode": postcode, "primaryAccountNumber": pan})
		return string(b)
	}
	ok := func(s string) string { return s }
	str := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	cases := []struct {
		name, raw string
		field     string // "" = accepted
		want      Recipient
	}{
		{"guide example (string, ISO date with a space)", `"{\"lastname\":\"Smith\",\"dateOfBirth\":\"1980-07- 29T23:00:00.000Z\",\"postcode\":\"CB21 5XE\",\"primaryAccountNumber\":\"111213313\"}"`, "",
			Recipient{"Smith", "19800729", "CB21 5XE", "111213313"}},
		{"object, YYYYMMDD", ok(obj("Smith-Jones", "19800729", "SW1A 1AA", "GB/12-34")), "", Recipient{"Smith-Jones", "19800729", "SW1A 1AA", "GB/12-34"}},
		{"letters beyond ASCII", ok(obj("Müller", "2000-02-29", "10115", "4000000002")), "", Recipient{"Müller", "20000229", "10115", "4000000002"}},
		{"field names in any case", `{"LastName":"Smith","DateOfBirth":"19800729","PostCode":"CB21","PrimaryAccountNumber":"1"}`, "", Recipient{"Smith", "19800729", "CB21", "1"}},
		{"string holding an object", str(obj("Smith", "19800729", "CB21 5XE", "111213313")), "", Recipient{"Smith", "19800729", "CB21 5XE", "111213313"}},

		{"not an object", `[1]`, "recipientDetails", Recipient{}},
		{"string not an object", `"Smith"`, "recipientDetails", Recipient{}},
		{"unknown field", `{"lastname":"Smith","dateOfBirth":"19800729","postcode":"CB21","primaryAccountNumber":"1","firstname":"Jo"}`, "recipientDetails.firstname", Recipient{}},
		{"lastname missing", `{"dateOfBirth":"19800729","postcode":"CB21","primaryAccountNumber":"1"}`, "recipientDetails.lastname", Recipient{}},
		{"lastname short", obj("S", "19800729", "CB21", "1"), "recipientDetails.lastname", Recipient{}},
		{"lastname long", obj("Abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcde", "19800729", "CB21", "1"), "recipientDetails.lastname", Recipient{}},
		{"lastname digits", obj("Smith2", "19800729", "CB21", "1"), "recipientDetails.lastname", Recipient{}},
		{"lastname space", obj("van Dyk", "19800729", "CB21", "1"), "recipientDetails.lastname", Recipient{}},
		{"dob missing", `{"lastname":"Smith","postcode":"CB21","primaryAccountNumber":"1"}`, "recipientDetails.dateOfBirth", Recipient{}},
		{"dob 7 digits", obj("Smith", "1980729", "CB21", "1"), "recipientDetails.dateOfBirth", Recipient{}},
		{"dob not a date", obj("Smith", "19801329", "CB21", "1"), "recipientDetails.dateOfBirth", Recipient{}},
		{"dob future", obj("Smith", "20270101", "CB21", "1"), "recipientDetails.dateOfBirth", Recipient{}},
		{"dob today", obj("Smith", "20261121", "CB21", "1"), "", Recipient{"Smith", "20261121", "CB21", "1"}},
		{"dob before 1900", obj("Smith", "18991231", "CB21", "1"), "recipientDetails.dateOfBirth", Recipient{}},
		{"postcode missing", `{"lastname":"Smith","dateOfBirth":"19800729","primaryAccountNumber":"1"}`, "recipientDetails.postcode", Recipient{}},
		{"postcode short", obj("Smith", "19800729", "C", "1"), "recipientDetails.postcode", Recipient{}},
		{"postcode long", obj("Smith", "19800729", "ABCDEFGHIJKLMNOPQ", "1"), "recipientDetails.postcode", Recipient{}},
		{"postcode symbol", obj("Smith", "19800729", "CB21-5XE", "1"), "recipientDetails.postcode", Recipient{}},
		{"account missing", `{"lastname":"Smith","dateOfBirth":"19800729","postcode":"CB21"}`, "recipientDetails.primaryAccountNumber", Recipient{}},
		{"account space", obj("Smith", "19800729", "CB21", "1112 13313"), "recipientDetails.primaryAccountNumber", Recipient{}},
		{"account long", obj("Smith", "19800729", "CB21", "123456789012345678901234567890123"), "recipientDetails.primaryAccountNumber", Recipient{}},
		{"account symbol", obj("Smith", "19800729", "CB21", "12*34"), "recipientDetails.primaryAccountNumber", Recipient{}},
		{"full card number", obj("Smith", "19800729", "CB21", "4000000000000002"), "recipientDetails.primaryAccountNumber", Recipient{}},
		{"number value", `{"lastname":"Smith","dateOfBirth":19800729,"postcode":"CB21","primaryAccountNumber":111213313}`, "", Recipient{"Smith", "19800729", "CB21", "111213313"}},
		{"object value", `{"lastname":{"x":1},"dateOfBirth":"19800729","postcode":"CB21","primaryAccountNumber":"1"}`, "recipientDetails.lastname", Recipient{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := parseRecipient(json.RawMessage(c.raw), now)
			if c.field == "" {
				if err != nil || r == nil || *r != c.want {
					t.Fatalf("got %+v, %v; want %+v", r, err, c.want)
				}
				return
			}
			var e *apperr.Error
			if !errors.As(err, &e) || e.Code != apperr.Invalid || e.Message != MsgRecipientInvalid.Message || e.APICode != MsgRecipientInvalid.Code || e.Field != c.field {
				t.Fatalf("got %+v, %v; want the guide's message on %s", r, err, c.field)
			}
			var d interface{ Detail() string }
			if !errors.As(err, &d) || d.Detail() == "" {
				t.Errorf("no detail: %v", err)
			}
		})
	}
	if r, err := parseRecipient(nil, now); r != nil || err != nil {
		t.Errorf("absent: %v %v", r, err)
	}
}
