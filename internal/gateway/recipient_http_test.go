package gateway_test

import (
	"bytes"
	"testing"

	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestRecipientDetailsHTTP: recipientDetails through the API, as the guide
// sends them (a string in parameters, with mcc 6012) and as an object;
// refusals carry the guide's message, the field at fault and why, and
// create nothing.
func TestRecipientDetailsHTTP(t *testing.T) {
	const card = `"cardNumber":"4000000000000010","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"29","cardHolderName":"Jon Snow"`
	const guide = `"{\"lastname\":\"Smith\",\"dateOfBirth\":\"1980-07- 29T23:00:00.000Z\",\"postcode\":\"CB21 5XE\",\"primaryAccountNumber\":\"111213313\"}"`
	cases := []struct {
		name, body     string
		status         int
		field, message string
		detail         string
	}{
		{"guide's MOTO payment of a financial institution", `{"type":"Payment","paymentMethodsToUse":["creditcard"],"options":["IsMoto"],"currency":"GBP","amountToCollect":"10.00","parameters":{` + card + `,"mcc":"6012","recipientDetails":` + guide + `}}`,
			201, "", "", ""},
		{"object at the top level", `{"currency":"GBP","amountToCollect":"10.00","options":["IsMoto"],"parameters":{` + card + `,"mcc":"6012"},"recipientDetails":{"lastname":"Smith","dateOfBirth":"19800729","postcode":"CB21 5XE","primaryAccountNumber":"400000-0002"}}`,
			201, "", "", ""},
		{"recurring parent", `{"currency":"GBP","amountToCollect":"0.00","options":["IsMoto","IsRecurringPaymentJobParent"],"recurrenceCriteria":{"recurrenceType":"Unscheduled"},"parameters":{` + card + `,"mcc":"6012","recipientDetails":` + guide + `}}`,
			201, "", "", ""},
		{"mcc 6012 without recipientDetails", `{"currency":"GBP","amountToCollect":"10.00","options":["IsMoto"],"parameters":{` + card + `,"mcc":"6012"}}`,
			400, "recipientDetails", "The validation for recipient detail fields failed.", "recipientDetails are required for a financial institution's payment (mcc 6012)"},
		{"bad lastname", `{"currency":"GBP","amountToCollect":"10.00","options":["IsMoto"],"parameters":{` + card + `,"mcc":"6012","recipientDetails":{"lastname":"Sm1th","dateOfBirth":"19800729","postcode":"CB21 5XE","primaryAccountNumber":"111213313"}}}`,
			400, "recipientDetails.lastname", "The validation for recipient detail fields failed.", "lastname must be 2 to 64 letters or '-'"},
		{"bad date of birth", `{"currency":"GBP","amountToCollect":"10.00","options":["IsMoto"],"parameters":{` + card + `,"mcc":"6012","recipientDetails":{"lastname":"Smith","dateOfBirth":"29/07/1980","postcode":"CB21 5XE","primaryAccountNumber":"111213313"}}}`,
			400, "recipientDetails.dateOfBirth", "The validation for recipient detail fields failed.", "dateOfBirth must be a date as YYYYMMDD (8 digits)"},
		{"bad postcode", `{"currency":"GBP","amountToCollect":"10.00","options":["IsMoto"],"parameters":{` + card + `,"mcc":"6012","recipientDetails":{"lastname":"Smith","dateOfBirth":"19800729","postcode":"C","primaryAccountNumber":"111213313"}}}`,
			400, "recipientDetails.postcode", "The validation for recipient detail fields failed.", "postcode must be 2 to 16 letters, digits or spaces"},
		{"full card number as account", `{"currency":"GBP","amountToCollect":"10.00","options":["IsMoto"],"parameters":{` + card + `,"mcc":"6012","recipientDetails":{"lastname":"Smith","dateOfBirth":"19800729","postcode":"CB21 5XE","primaryAccountNumber":"4000000000000002"}}}`,
			400, "recipientDetails.primaryAccountNumber", "The validation for recipient detail fields failed.", "for a card, give only its first six and last four digits, not the full card number"},
		{"given twice", `{"currency":"GBP","amountToCollect":"10.00","parameters":{"mcc":"6012","recipientDetails":` + guide + `},"recipientDetails":` + guide + `}`,
			400, "recipientDetails", "The validation for recipient detail fields failed.", "give recipientDetails once: in parameters or at the top level"},
		{"bad mcc", `{"currency":"GBP","amountToCollect":"10.00","parameters":{"mcc":"60a2"}}`,
			400, "mcc", "mcc must be a merchant category code of 4 digits, such as 6012.", ""},
	}
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			for _, c := range cases {
				jobs := h.count(`SELECT COUNT(*) FROM gateway_jobs`)
				r := h.call("POST", "/api/gateway/payment-jobs", c.body)
				if r.Status != c.status {
					t.Errorf("%s: %d %s, want %d", c.name, r.Status, r.Body, c.status)
					continue
				}
				if c.status == 201 {
					if !bytes.Contains(r.Body, []byte(`"paymentStatus":"Paid"`)) {
						t.Errorf("%s: not paid: %s", c.name, r.Body)
					}
					continue
				}
				want := `{"code":"RecipientDetailsInvalid","message":"` + c.message + `","field":"` + c.field + `","detail":"` + c.detail + `"}`
				if c.detail == "" {
					want = `"message":"` + c.message + `","field":"` + c.field + `"}`
				}
				if !bytes.Contains(r.Body, []byte(want)) {
					t.Errorf("%s: %s, want %s", c.name, r.Body, want)
				}
				if n := h.count(`SELECT COUNT(*) FROM gateway_jobs`); n != jobs {
					t.Errorf("%s: a refused request created a job", c.name)
				}
			}
			// A payment link keeps the details for the card that comes later.
			m := h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"4.00","parameters":{"mcc":"6012","recipientDetails":`+guide+`}}`, 201)
			jobRef, _ := refs(m)
			if n := h.count(`SELECT COUNT(*) FROM gateway_jobs WHERE reference = $1 AND params_json LIKE '%"dateOfBirth":"19800729"%'`, jobRef); n != 1 {
				t.Errorf("recipient details not kept with the payment link")
			}
			if bytes.Contains(h.call("GET", "/api/gateway/payment-jobs/"+jobRef, "").Body, []byte("19800729")) {
				t.Errorf("recipient details echoed in the job")
			}
		})
	}
}
