package gateway_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestRecurring: a parent job (3-D Secure, zero amount) and two children
// charging its vaulted card; the refusals; instalments counted under
// concurrency; the end of a recurrence.
func TestRecurring(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			// The guide's parent job for a subscription (zero amount, card
			// verified through 3-D Secure).
			m := h.must("POST", "/api/gateway/payment-jobs", `{
"type": "Payment",
"locale": "en_GB",
"options": ["IsRecurringPaymentJobParent"],
"paymentMethodsToUse": ["creditcard"],
"parameters": {
"cardNumber": "4000000000000002",
"cardCvc": "123",
"cardExpiryMonth": "05",
"cardExpiryYear": "29",
"cardHolderName": "Jon Snow"
},
"currency": "GBP",
"amountToCollect": "0.00",
"recurrenceCriteria": {
"recurrenceType": "Subscription",
"recurringExpiry": "2034-11-08",
"recurringFrequency": "12"
}
}`, 201)
			d := data(m)
			if d["flags"].(map[string]any)["recurringParent"] != true || d["paymentStatus"] != "Pending" {
				t.Fatalf("parent: %v", d)
			}
			if rc := d["recurrenceCriteria"].(map[string]any); rc["recurrenceType"] != "Subscription" || rc["recurringExpiry"] != "2034-11-08" || rc["recurringFrequency"] != "12" {
				t.Errorf("recurrenceCriteria: %v", rc)
			}
			parent, _ := refs(m)
			// A child before the parent's payment succeeded is refused.
			child := `{"amountToCollect":"10.00","currency":"GBP","locale":"en_GB","parentPaymentJobReference":"` + parent + `","order":{"orderNumber":"Payment 2"},"recurrenceCriteria":{"recurrenceType":"Subscription","recurringExpiry":"2034-11-08","recurringFrequency":"12"}}`
			if r := h.call("POST", "/api/gateway/payment-jobs", child); r.Status != 400 || !bytes.Contains(r.Body, []byte("no successful card payment")) {
				t.Errorf("child of an unpaid parent: %d %s", r.Status, r.Body)
			}
			h.complete3DS(actionURL(m), "success")
			if j := data(h.must("GET", "/api/gateway/payment-jobs/"+parent, "", 200)); j["paymentStatus"] != "Paid" {
				t.Fatalf("parent after 3DS: %v", j["paymentStatus"])
			}

			// Two children: the guide's JSON child (with criteria), then the
			// guide's Python child (without).
			c1 := h.must("POST", "/api/gateway/payment-jobs", child, 201)
			c2 := h.must("POST", "/api/gateway/payment-jobs", `{"amountToCollect": "10", "currency": "GBP", "parentPaymentJobReference": "`+parent+`"}`, 201)
			for i, c := range []map[string]any{c1, c2} {
				d := data(c)
				if d["paymentStatus"] != "Paid" || d["parentPaymentJobReference"] != parent || firstPayment(c)["status"] != "Paid" {
					t.Errorf("child %d: %v", i+1, d)
				}
				if !strings.Contains(attrs(firstPayment(c))["cashFlowsAcquiringDetails"].(string), "400000******0002") {
					t.Errorf("child %d did not charge the parent's card: %v", i+1, attrs(firstPayment(c)))
				}
			}
			if pend, _, _ := h.balances(); pend != 2000 {
				t.Errorf("merchant pending = %d, want 2000", pend)
			}

			// Refusals, none of which creates anything.
			moto := h.must("POST", "/api/gateway/payment-jobs", moto("not a parent", "1.00"), 201)
			plain, _ := refs(moto)
			jobs := h.count(`SELECT COUNT(*) FROM gateway_jobs`)
			for _, c := range []struct{ name, body, field, msg string }{
				{"non-recurring parent", `{"amountToCollect":"1.00","currency":"GBP","parentPaymentJobReference":"` + plain + `"}`, "parentPaymentJobReference", "Cannot recur on a non recurring parent."},
				{"unknown parent", `{"amountToCollect":"1.00","currency":"GBP","parentPaymentJobReference":"123456789012345678"}`, "parentPaymentJobReference", "Cannot recur on a non recurring parent."},
				{"child of a child", `{"amountToCollect":"1.00","currency":"GBP","parentPaymentJobReference":"` + data(c1)["reference"].(string) + `"}`, "parentPaymentJobReference", "Cannot recur on a non recurring parent."},
				{"type mismatch", `{"amountToCollect":"1.00","currency":"GBP","parentPaymentJobReference":"` + parent + `","recurrenceCriteria":{"recurrenceType":"Unscheduled"}}`, "recurrenceCriteria.recurrenceType", "recurrenceType must match the parent payment job's: Subscription."},
				{"card with child", `{"amountToCollect":"1.00","currency":"GBP","parentPaymentJobReference":"` + parent + `","parameters":{"cardNumber":"4000000000000010","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"29"}}`, "parentPaymentJobReference", "A recurring child payment job charges its parent's card: leave out cardNumber and token."},
				{"zero child", `{"amountToCollect":"0.00","currency":"GBP","parentPaymentJobReference":"` + parent + `"}`, "amountToCollect", "Invalid amount for payment method."},
			} {
				r := h.call("POST", "/api/gateway/payment-jobs", c.body)
				if r.Status != 400 || !bytes.Contains(r.Body, []byte(`"message":"`+c.msg+`"`)) || !bytes.Contains(r.Body, []byte(`"field":"`+c.field+`"`)) {
					t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
				}
			}
			if n := h.count(`SELECT COUNT(*) FROM gateway_jobs`); n != jobs {
				t.Errorf("refused children created jobs: %d → %d", jobs, n)
			}
			r := h.call("POST", "/api/gateway/payment-jobs", `{"amountToCollect":"1.00","currency":"GBP","parentPaymentJobReference":"`+plain+`"}`)
			if !bytes.Contains(r.Body, []byte(`"code":"CannotRecurOnNonRecurringParent"`)) {
				t.Errorf("code of the refusal: %s", r.Body)
			}

			// Instalments: a MOTO parent paying the first, at most 3 children
			// even when 10 are asked for at once.
			m = h.must("POST", "/api/gateway/payment-jobs", `{"options":["IsRecurringPaymentJobParent","IsMoto"],"parameters":{"cardNumber":"4000000000000010","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"29"},"currency":"GBP","amountToCollect":"5.00","recurrenceCriteria":{"recurrenceType":"Instalment","recurringExpiry":"2027-12-08","recurringFrequency":"3","Instalments":"3"}}`, 201)
			inst, _ := refs(m)
			if data(m)["paymentStatus"] != "Paid" {
				t.Fatalf("instalment parent: %v", data(m))
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			statuses := map[int]int{}
			for range 10 {
				wg.Go(func() {
					r := h.call("POST", "/api/gateway/payment-jobs", `{"amountToCollect":"5.00","currency":"GBP","parentPaymentJobReference":"`+inst+`","recurrenceCriteria":{"recurrenceType":"Instalment","recurringExpiry":"2027-12-08","recurringFrequency":"3","instalments":"3"}}`)
					mu.Lock()
					statuses[r.Status]++
					mu.Unlock()
					if r.Status != 201 && !bytes.Contains(r.Body, []byte("All 3 instalments of the parent payment job have been taken.")) {
						t.Errorf("instalment child: %d %s", r.Status, r.Body)
					}
				})
			}
			wg.Wait()
			if statuses[201] != 3 || statuses[400] != 7 {
				t.Errorf("instalment children: %v, want 3 created and 7 refused", statuses)
			}
			if r := h.call("POST", "/api/gateway/payment-jobs", `{"amountToCollect":"5.00","currency":"GBP","parentPaymentJobReference":"`+inst+`","recurrenceCriteria":{"recurrenceType":"Instalment","recurringExpiry":"2027-12-08","recurringFrequency":"4","instalments":"4"}}`); r.Status != 400 || !bytes.Contains(r.Body, []byte("instalments must match the parent payment job's: 3.")) {
				t.Errorf("instalments mismatch: %d %s", r.Status, r.Body)
			}

			// The end of a recurrence: an unscheduled parent valid through
			// 2026-11-25 (UTC) recurs on that day, not after.
			m = h.must("POST", "/api/gateway/payment-jobs", `{"options":["IsRecurringPaymentJobParent","IsMoto"],"parameters":{"cardNumber":"4000000000000010","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"29"},"currency":"GBP","amountToCollect":"10.00","recurrenceCriteria":{"recurrenceType":"Unscheduled","recurringExpiry":"2026-11-25"}}`, 201)
			uns, _ := refs(m)
			h.Clock.Set(time.Date(2026, 11, 25, 23, 59, 0, 0, time.UTC))
			h.must("POST", "/api/gateway/payment-jobs", `{"amountToCollect":"3.00","currency":"GBP","parentPaymentJobReference":"`+uns+`"}`, 201)
			h.Clock.Set(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
			if r := h.call("POST", "/api/gateway/payment-jobs", `{"amountToCollect":"3.00","currency":"GBP","parentPaymentJobReference":"`+uns+`"}`); r.Status != 400 || !bytes.Contains(r.Body, []byte("The recurrence of the parent payment job ended (recurringExpiry 2026-11-25).")) {
				t.Errorf("after the recurring expiry: %d %s", r.Status, r.Body)
			}
			h.RunDue()
		})
	}
}

// TestRecurrenceCriteriaValidation: every malformed recurrenceCriteria is
// refused with the field at fault, and creates nothing.
func TestRecurrenceCriteriaValidation(t *testing.T) {
	const card = `"paymentMethodsToUse":["card"],"parameters":{"cardNumber":"4000000000000010","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"29"},"currency":"GBP","amountToCollect":"10"`
	parent := func(criteria string) string {
		return `{"options":["IsRecurringPaymentJobParent"],` + card + `,"recurrenceCriteria":` + criteria + `}`
	}
	cases := []struct {
		name, body, field, msg string
	}{
		{"criteria missing", `{"options":["IsRecurringPaymentJobParent"],` + card + `}`, "recurrenceCriteria", "recurrenceCriteria are required with the option IsRecurringPaymentJobParent"},
		{"type missing", parent(`{"recurringExpiry":"2034-11-08","recurringFrequency":"28"}`), "recurrenceCriteria.recurrenceType", "recurrenceType is required: Subscription, Instalment or Unscheduled."},
		{"type unknown", parent(`{"recurrenceType":"Weekly","recurringExpiry":"2034-11-08","recurringFrequency":"28"}`), "recurrenceCriteria.recurrenceType", `recurrenceType must be Subscription, Instalment or Unscheduled, not \"Weekly\".`},
		{"expiry missing", parent(`{"recurrenceType":"Subscription","recurringFrequency":"28"}`), "recurrenceCriteria.recurringExpiry", "recurringExpiry is required for a Subscription recurrence"},
		{"expiry format", parent(`{"recurrenceType":"Subscription","recurringExpiry":"08/11/2034","recurringFrequency":"28"}`), "recurrenceCriteria.recurringExpiry", "recurringExpiry must be a date as yyyy-mm-dd, for example 2034-11-08."},
		{"expiry past", parent(`{"recurrenceType":"Subscription","recurringExpiry":"2022-02-16T13:07:33.92Z","recurringFrequency":"28"}`), "recurrenceCriteria.recurringExpiry", "recurringExpiry must be in the future."},
		{"frequency missing", parent(`{"recurrenceType":"Subscription","recurringExpiry":"2034-11-08"}`), "recurrenceCriteria.recurringFrequency", "recurringFrequency is required for a Subscription recurrence"},
		{"frequency zero", parent(`{"recurrenceType":"Subscription","recurringExpiry":"2034-11-08","recurringFrequency":"0"}`), "recurrenceCriteria.recurringFrequency", "recurringFrequency must be a whole number of days between payments, from 1 to 366."},
		{"frequency text", parent(`{"recurrenceType":"Subscription","recurringExpiry":"2034-11-08","recurringFrequency":"monthly"}`), "recurrenceCriteria.recurringFrequency", "recurringFrequency must be a whole number"},
		{"frequency too long", parent(`{"recurrenceType":"Instalment","recurringExpiry":"2034-11-08","recurringFrequency":400,"instalments":3}`), "recurrenceCriteria.recurringFrequency", "recurringFrequency must be a whole number"},
		{"instalments missing", parent(`{"recurrenceType":"Instalment","recurringExpiry":"2034-11-08","recurringFrequency":"13"}`), "recurrenceCriteria.instalments", "instalments is required for an Instalment recurrence"},
		{"instalments zero", parent(`{"recurrenceType":"Instalment","recurringExpiry":"2034-11-08","recurringFrequency":"13","Instalments":"0"}`), "recurrenceCriteria.instalments", "instalments must be a whole number of payments from 1 to 999."},
		{"instalments not matching recurringFrequency", parent(`{"recurrenceType":"Instalment","recurringExpiry":"2034-11-08","recurringFrequency":"28","Instalments":"13"}`), "recurrenceCriteria.instalments", "instalments must match recurringFrequency (28)."},
		{"instalments for subscription", parent(`{"recurrenceType":"Subscription","recurringExpiry":"2034-11-08","recurringFrequency":"13","Instalments":"13"}`), "recurrenceCriteria.instalments", "instalments applies only to the Instalment recurrence type."},
		{"instalment expiry missing", parent(`{"recurrenceType":"Instalment","recurringFrequency":"13","Instalments":"13"}`), "recurrenceCriteria.recurringExpiry", "recurringExpiry is required for a Instalment recurrence"},
		{"criteria on a plain job", `{` + card + `,"recurrenceCriteria":{"recurrenceType":"Unscheduled"}}`, "recurrenceCriteria", "recurrenceCriteria apply only to a recurring parent"},
		{"parent and child", `{"options":["IsRecurringPaymentJobParent"],"parentPaymentJobReference":"123456789012345678","currency":"GBP","amountToCollect":"1.00","recurrenceCriteria":{"recurrenceType":"Unscheduled"}}`, "parentPaymentJobReference", "A payment job is either a recurring parent"},
	}
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			for _, c := range cases {
				r := h.call("POST", "/api/gateway/payment-jobs", c.body)
				if r.Status != 400 || !bytes.Contains(r.Body, []byte(`"message":"`+c.msg)) || !bytes.Contains(r.Body, []byte(`"field":"`+c.field+`"`)) {
					t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
				}
			}
			if n := h.count(`SELECT COUNT(*) FROM gateway_jobs`); n != 0 {
				t.Errorf("%d jobs created", n)
			}
			// The guide's three parents are accepted (with expiries in the future).
			for _, criteria := range []string{
				`{"recurrenceType": "Subscription", "recurringExpiry": "2034-11-08", "recurringFrequency": "12"}`,
				`{"recurrenceType": "Instalment", "recurringExpiry": "2027-12-08", "recurringFrequency": "13", "Instalments": "13"}`,
				`{"recurrenceType": "Unscheduled"}`,
				`{"recurrenceType": "Subscription", "recurringExpiry": "2030-02-16T13:07:33.92Z", "recurringFrequency": "28"}`,
			} {
				h.must("POST", "/api/gateway/payment-jobs", parent(criteria), 201)
			}
		})
	}
}
