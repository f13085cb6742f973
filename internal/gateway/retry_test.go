package gateway_test

import (
	"io"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestPaymentLinkRetry: a payment link (a job created without card details)
// takes another attempt after a failed or cancelled payment, until the job
// is paid, cancelled or expired; a job that came with its card does not.
func TestPaymentLinkRetry(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			shop := `"returnUrlSuccess":"https://shop.test/?r=ok","returnUrlFailed":"https://shop.test/?r=failed","returnUrlCancelled":"https://shop.test/?r=cancelled"`
			link := func(order, extra string) (jobRef, action string) {
				m := h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"7.50","order":{"orderNumber":"`+order+`"},"parameters":{`+shop+`}`+extra+`}`, 201)
				jobRef, _ = refs(m)
				return jobRef, actionURL(m)
			}
			get := func(action string) (int, string, string) {
				resp, err := h.NoRedirect.Get(action)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, resp.Header.Get("Location"), string(b)
			}
			payAttempt := func(action, pan, attempt string) (int, string) {
				u, _ := url.Parse(action)
				resp, err := h.NoRedirect.PostForm(h.Server.URL+"/payment/form-post?ref="+u.Query().Get("ref"), url.Values{
					"cardNumber": {pan}, "cardHolderName": {"Ada Lovelace"}, "cardExpiryMonth": {"12"}, "cardExpiryYear": {"30"}, "cardCvc": {"321"},
					"attempt": {attempt}})
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode, resp.Header.Get("Location")
			}
			pay := func(action, pan string) (int, string) { return payAttempt(action, pan, "") }
			job := func(ref string) map[string]any { return data(h.must("GET", "/api/gateway/payment-jobs/"+ref, "", 200)) }

			// Declined, then paid on the same link.
			jobRef, action := link("retry-1", "")
			if st, loc := pay(action, "4000000000000044"); st != 303 || !strings.HasPrefix(loc, "https://shop.test/?r=failed&paymentjobref="+jobRef) {
				t.Fatalf("declined: %d %s", st, loc)
			}
			st, _, page := get(action)
			if st != 200 || !strings.Contains(page, `id="card-form"`) || !strings.Contains(page, "Payment has been refused.") {
				t.Fatalf("link after a decline: %d %s", st, page)
			}
			m := h.must("GET", "/api/gateway/payment-jobs/"+jobRef, "", 200)
			if actionURL(m) != action || data(m)["paymentStatus"] != "Pending" {
				t.Errorf("job after a decline: action %s, status %v", actionURL(m), data(m)["paymentStatus"])
			}
			if st, loc := pay(action, "4000000000000010"); st != 303 || !strings.HasPrefix(loc, "https://shop.test/?r=ok&paymentjobref="+jobRef) {
				t.Fatalf("second attempt: %d %s", st, loc)
			}
			j := job(jobRef)
			pays := j["payments"].([]any)
			if j["paymentStatus"] != "Paid" || len(pays) != 2 || pays[0].(map[string]any)["status"] != "Failed" || pays[1].(map[string]any)["status"] != "Paid" {
				t.Fatalf("after the retry: %v", j)
			}
			// Paid: the link leads to the success page; no third attempt.
			if st, loc, _ := get(action); st != 303 || !strings.HasPrefix(loc, "https://shop.test/?r=ok&paymentjobref="+jobRef+"&paymentref="+pays[1].(map[string]any)["reference"].(string)) {
				t.Errorf("paid link: %d %s", st, loc)
			}
			if st, _ := pay(action, "4000000000000010"); st != 409 {
				t.Errorf("attempt on a paid link: %d", st)
			}
			if p, _, _ := h.balances(); p != 750 {
				t.Errorf("merchant pending = %d, want 750", p)
			}

			// Cancelled by the shopper, then a new attempt through 3-D Secure.
			jobRef, action = link("retry-2", "")
			if st, loc := pay(action, "4000000000000002"); st != 303 || !strings.Contains(loc, "/payment/form-post?ref=") {
				t.Fatalf("to 3DS: %d %s", st, loc)
			}
			if loc := h.complete3DS(action, "cancel"); !strings.HasPrefix(loc, "https://shop.test/?r=cancelled") {
				t.Errorf("cancel: %s", loc)
			}
			if st, _, page := get(action); st != 200 || !strings.Contains(page, "The previous payment was cancelled.") {
				t.Errorf("link after a cancel: %d %s", st, page)
			}
			// Giving up on the retry form leads to the cancelled page and
			// leaves the link open.
			if loc := h.complete3DS(action, "cancel"); !strings.HasPrefix(loc, "https://shop.test/?r=cancelled") {
				t.Errorf("cancel on the retry form: %s", loc)
			}
			if j := job(jobRef); j["paymentStatus"] != "Pending" || len(j["payments"].([]any)) != 1 {
				t.Errorf("after giving up: %v", j)
			}
			pay(action, "4000000000000002")
			if loc := h.complete3DS(action, "success"); !strings.HasPrefix(loc, "https://shop.test/?r=ok") {
				t.Errorf("3DS after a cancel: %s", loc)
			}
			if j := job(jobRef); j["paymentStatus"] != "Paid" || len(j["payments"].([]any)) != 2 {
				t.Errorf("after cancel and retry: %v", j)
			}

			// The merchant cancels the job: the link is over.
			jobRef, action = link("retry-3", "")
			pay(action, "4000000000000044")
			h.must("PATCH", "/api/gateway/payment-jobs/"+jobRef+"/cancel", "", 200)
			if st, loc, _ := get(action); st != 303 || !strings.HasPrefix(loc, "https://shop.test/?r=failed") {
				t.Errorf("cancelled job's link: %d %s", st, loc)
			}
			if st, _ := pay(action, "4000000000000010"); st != 409 {
				t.Errorf("attempt on a cancelled job: %d", st)
			}
			if j := job(jobRef); j["paymentStatus"] != "Cancelled" || len(j["payments"].([]any)) != 1 {
				t.Errorf("cancelled job: %v", j)
			}

			// The job expires: no attempt after its expiration.
			exp := h.Clock.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05")
			jobRef, action = link("retry-4", `,"expirationDateTimeUtc":"`+exp+`"`)
			pay(action, "4000000000000044")
			h.Clock.Advance(2 * time.Hour)
			if st, _ := pay(action, "4000000000000010"); st != 409 {
				t.Errorf("attempt after the expiration: %d", st)
			}
			h.RunDue()
			if j := job(jobRef); j["paymentStatus"] != "Expired" || len(j["payments"].([]any)) != 1 {
				t.Errorf("expired job: %v", j)
			}

			// A job that came with its card is not a payment link.
			m = h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"1.00","parameters":{"cardNumber":"4000000000000002","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"29","cardHolderName":"Jon Snow",`+shop+`}}`, 201)
			action = actionURL(m)
			h.complete3DS(action, "failure")
			if st, loc, _ := get(action); st != 303 || !strings.HasPrefix(loc, "https://shop.test/?r=failed") {
				t.Errorf("direct job after failure: %d %s", st, loc)
			}
			if st, _ := pay(action, "4000000000000010"); st != 409 {
				t.Errorf("attempt on a direct job: %d", st)
			}
			// The same form sent twice at once (a double click): one attempt.
			jobRef, action = link("retry-5", "")
			pay(action, "4000000000000044")
			_, _, page = get(action)
			attempt := regexp.MustCompile(`name="attempt" value="(\d+)"`).FindStringSubmatch(page)
			if attempt == nil {
				t.Fatalf("no attempt in the form: %s", page)
			}
			done := make(chan int, 2)
			for range 2 {
				go func() { st, _ := payAttempt(action, "4000000000000051", attempt[1]); done <- st }()
			}
			if a, b := <-done, <-done; a != 303 || b != 303 {
				t.Errorf("double submit: %d, %d", a, b)
			}
			if n := len(job(jobRef)["payments"].([]any)); n != 2 {
				t.Errorf("%d payments after a double submit, want 2", n)
			}
			// An old form after a new attempt changes nothing.
			if st, loc := payAttempt(action, "4000000000000010", attempt[1]); st != 303 || !strings.HasPrefix(loc, "https://shop.test/?r=failed") {
				t.Errorf("stale form: %d %s", st, loc)
			}
			if j := job(jobRef); len(j["payments"].([]any)) != 2 || j["paymentStatus"] != "Pending" {
				t.Errorf("after a stale form: %v", j)
			}

			// The merchant cancels a paid payment, not its job (the guide's
			// "Cancellation requests"): the job is open again and its link
			// takes another payment; the money follows.
			jobRef, action = link("retry-6", "")
			pending, _, _ := h.balances()
			pay(action, "4000000000000010")
			pays = job(jobRef)["payments"].([]any)
			payRef := pays[0].(map[string]any)["reference"].(string)
			h.must("PATCH", "/api/gateway/payment-jobs/"+jobRef+"/payments/"+payRef+"/cancel", "", 200)
			if j := job(jobRef); j["paymentStatus"] != "Pending" {
				t.Fatalf("job after its payment was cancelled: %v", j["paymentStatus"])
			}
			if p, _, _ := h.balances(); p != pending {
				t.Errorf("merchant pending after the cancel = %d, want %d", p, pending)
			}
			if st, _, page := get(action); st != 200 || !strings.Contains(page, "The previous payment was cancelled.") {
				t.Fatalf("link after the merchant's cancel: %d %s", st, page)
			}
			if st, loc := pay(action, "4000000000000010"); st != 303 || !strings.HasPrefix(loc, "https://shop.test/?r=ok") {
				t.Fatalf("payment after the merchant's cancel: %d %s", st, loc)
			}
			if j := job(jobRef); j["paymentStatus"] != "Paid" || len(j["payments"].([]any)) != 2 {
				t.Errorf("job paid again: %v", j)
			}
			if p, _, _ := h.balances(); p != pending+750 {
				t.Errorf("merchant pending after paying again = %d, want %d", p, pending+750)
			}
		})
	}
}
