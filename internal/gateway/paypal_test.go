package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/backoffice/officetest"
	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// paypalShop are the return URLs of the PayPal tests' jobs.
const paypalShop = `"returnUrlSuccess":"https://shop.test/?r=ok","returnUrlFailed":"https://shop.test/?r=failed","returnUrlCancelled":"https://shop.test/?r=cancelled"`

// paypalJob is the guide's PayPal request: "paymentMethodsToUse": ["Card", "PayPal"].
func paypalJob(order, amount, extra string) string {
	return fmt.Sprintf(`{"type":"Payment","paymentMethodsToUse":["Card","PayPal"],"order":{"orderNumber":%q},"currency":"GBP","amountToCollect":%q,"parameters":{%s%s}}`,
		order, amount, paypalShop, extra)
}

// enableMethods sets the tenant's payment methods (auto capture as given).
func (h *harness) enableMethods(autoCapture bool, methods ...string) {
	h.T.Helper()
	if methods == nil {
		methods = []string{}
	}
	r := h.platform(http.MethodPut, "/platform/gateway/settings", withField(oldSettings(autoCapture), "paymentMethodsEnabled", methods), "Content-Type", "application/json")
	if r.Status != 200 {
		h.T.Fatalf("PUT settings %v = %d %s", methods, r.Status, r.Body)
	}
}

// pageRef is the hosted page reference of an action URL.
func pageRef(t testing.TB, action string) string {
	t.Helper()
	u, err := url.Parse(action)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("ref")
}

// post sends a hosted page form (no redirects followed) and returns the
// status, where it sends the shopper and the body.
func (h *harness) post(path string, form url.Values) (int, string, string) {
	h.T.Helper()
	resp, err := h.NoRedirect.PostForm(h.Server.URL+path, form)
	if err != nil {
		h.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// attemptOf is the payment the hosted page's forms were shown for.
func attemptOf(t testing.TB, page string) string {
	t.Helper()
	const mark = `name="attempt" value="`
	i := strings.Index(page, mark)
	if i < 0 {
		t.Fatalf("no attempt in the page: %s", page)
	}
	rest := page[i+len(mark):]
	return rest[:strings.IndexByte(rest, '"')]
}

// toPayPal chooses PayPal on the hosted page of action and returns the
// simulator page and the attempt it answers for.
func (h *harness) toPayPal(action string) (page, attempt string) {
	h.T.Helper()
	ref := pageRef(h.T, action)
	_, hosted := h.page(action)
	st, loc, body := h.post("/payment/paypal?ref="+ref, url.Values{"attempt": {attemptOf(h.T, hosted)}})
	if st != http.StatusSeeOther || loc != "/payment/paypal?ref="+ref {
		h.T.Fatalf("pay with PayPal: %d %s %s", st, loc, body)
	}
	st, page = h.page(h.Server.URL + loc)
	if st != 200 || !strings.Contains(page, `id="approve"`) {
		h.T.Fatalf("PayPal simulator: %d %s", st, page)
	}
	return page, attemptOf(h.T, page)
}

// paypalAnswer answers the PayPal simulator of action with result and
// returns where the shopper is sent.
func (h *harness) paypalAnswer(action, attempt, result string) string {
	h.T.Helper()
	st, loc, body := h.post("/payment/paypal/result?ref="+pageRef(h.T, action), url.Values{"attempt": {attempt}, "result": {result}})
	if st != http.StatusSeeOther {
		h.T.Fatalf("PayPal %s: %d %s", result, st, body)
	}
	return loc
}

// clearing is the posted balance of owner/clearing of the tenant in GBP.
func (h *harness) clearing(owner string) int64 {
	h.T.Helper()
	accs, err := h.app.Ledger.Accounts(context.Background(), h.app.DB.Read(), h.Tenant.TenantID, ledger.AccountFilter{})
	if err != nil {
		h.T.Fatal(err)
	}
	for _, a := range accs {
		if a.Owner == owner && a.Purpose == "clearing" {
			return a.Balance.Posted
		}
	}
	return 0
}

func methodsOf(p map[string]any) string {
	var out []string
	for _, m := range p["paymentMethods"].([]any) {
		out = append(out, m.(string))
	}
	return strings.Join(out, ",")
}

// TestPayPalMethodEnabled: PayPal is off until the tenant enables it:
// supported-payment-methods lists it (logo, currencies, no tokenisation)
// only then, a job asking for it is refused before, and "Unable to create
// paymentjob without payment methods available." covers a tenant with
// none; a PayPal-only job takes no card, no MOTO and no currency PayPal
// does not take.
func TestPayPalMethodEnabled(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			listed := func() []map[string]any {
				var out []map[string]any
				for _, m := range h.must("GET", "/api/gateway/supported-payment-methods", "", 200)["data"].([]any) {
					out = append(out, m.(map[string]any))
				}
				return out
			}
			if got := listed(); len(got) != 2 {
				t.Fatalf("default methods: %v", got)
			}
			jobs := h.count(`SELECT COUNT(*) FROM gateway_jobs`)
			if r := h.call("POST", "/api/gateway/payment-jobs", paypalJob("pp-0", "5.00", "")); r.Status != 400 || !strings.Contains(string(r.Body), `"code":"PaymentMethodNotAllowed"`) {
				t.Errorf("PayPal not enabled: %d %s", r.Status, r.Body)
			}
			if n := h.count(`SELECT COUNT(*) FROM gateway_jobs`); n != jobs {
				t.Error("a refused job was stored")
			}

			h.enableMethods(true, "Card", "CreditCard", "paypal")
			if got := *h.getSettings().PaymentMethodsEnabled; strings.Join(got, ",") != "Card,CreditCard,PayPal" {
				t.Fatalf("enabled: %v", got)
			}
			r := h.call("GET", "/api/gateway/supported-payment-methods", "")
			h.golden("supported_payment_methods_paypal", r.Body)
			got := listed()
			if len(got) != 3 || got[2]["paymentMethod"] != "PayPal" || got[2]["supportsTokenisation"] != false ||
				!strings.HasSuffix(got[2]["logo"].(string), "/assets/payment-method-paypal.svg") {
				t.Fatalf("listed with PayPal: %v", got)
			}
			resp, err := http.Get(got[2]["logo"].(string))
			if err != nil {
				t.Fatal(err)
			}
			logo, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(string(logo), ">PayPal</text>") {
				t.Errorf("logo: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), logo)
			}

			// PayPal alone: enabled, a job asking for it only; it takes no card.
			h.enableMethods(true, "PayPal")
			if got := listed(); len(got) != 1 || got[0]["paymentMethod"] != "PayPal" {
				t.Fatalf("PayPal only: %v", got)
			}
			only := `{"paymentMethodsToUse":["PayPal"],"currency":"GBP","amountToCollect":"3.00","order":{"orderNumber":"pp-only"}}`
			m := h.must("POST", "/api/gateway/payment-jobs", only, 201)
			if ms := data(m)["paymentMethodsToUse"].([]any); len(ms) != 1 || ms[0] != "PayPal" {
				t.Errorf("PayPal-only job: %v", ms)
			}
			if st, page := h.page(actionURL(m)); st != 200 || !strings.Contains(page, `id="paypal"`) || strings.Contains(page, `id="card-form"`) {
				t.Errorf("PayPal-only page: %d %s", st, page)
			}
			st, _, body := h.post("/payment/form-post?ref="+pageRef(t, actionURL(m)), url.Values{"cardNumber": {"4000000000000010"},
				"cardExpiryMonth": {"12"}, "cardExpiryYear": {"30"}, "cardCvc": {"123"}})
			if st == http.StatusSeeOther || !strings.Contains(body, "Payment method not allowed.") {
				t.Errorf("a card on a PayPal-only page: %d %s", st, body)
			}
			left := h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"3.00"}`, 201) // no methods named: PayPal, the tenant's only one
			if ms := data(left)["paymentMethodsToUse"].([]any); len(ms) != 1 || ms[0] != "PayPal" {
				t.Errorf("job naming no method: %v", ms)
			}
			for name, body := range map[string]string{
				"with a card": `{"paymentMethodsToUse":["PayPal"],"currency":"GBP","amountToCollect":"3.00","parameters":{"cardNumber":"4000000000000010","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"28"}}`,
				"MOTO":        `{"paymentMethodsToUse":["PayPal"],"currency":"GBP","amountToCollect":"3.00","options":["IsMoto"]}`,
				"in ZAR":      `{"paymentMethodsToUse":["PayPal"],"currency":"ZAR","amountToCollect":"3.00"}`,
				"and Card":    paypalJob("pp-card", "3.00", ""),
			} {
				if r := h.call("POST", "/api/gateway/payment-jobs", body); r.Status != 400 || !strings.Contains(string(r.Body), "Payment method not allowed.") {
					t.Errorf("PayPal-only tenant, job %s: %d %s", name, r.Status, r.Body)
				}
			}

			h.enableMethods(true)
			if r := h.call("POST", "/api/gateway/payment-jobs", only); r.Status != 400 ||
				!strings.Contains(string(r.Body), "Unable to create paymentjob without payment methods available.") {
				t.Errorf("none enabled: %d %s", r.Status, r.Body)
			}
			if st, page := h.page(actionURL(m)); st != 200 || strings.Contains(page, `id="paypal"`) || strings.Contains(page, `id="card-form"`) {
				t.Errorf("page with none enabled: %d %s", st, page)
			}
		})
	}
}

// TestPayPalApproveRefund: the guide's PayPal job is offered both methods
// on its hosted page; approved in the simulator it is Paid (auto capture)
// by PayPal: paymentMethods ["PayPal"], money from paypal/clearing to
// merchant/pending, the webhook as for a card; partial and full refunds go
// back to paypal/clearing; the answers are pinned by golden files.
func TestPayPalApproveRefund(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			var mu sync.Mutex
			var hooks []gateway.Notification
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var n gateway.Notification
				_ = json.NewDecoder(r.Body).Decode(&n)
				mu.Lock()
				hooks = append(hooks, n)
				mu.Unlock()
				fmt.Fprintf(w, `{"paymentJobReference":%q,"paymentReference":%q}`, n.PaymentJobReference, n.PaymentReference)
			}))
			defer hook.Close()
			h.enableMethods(true, "Card", "CreditCard", "PayPal")
			r := h.call("POST", "/api/gateway/payment-jobs", paypalJob("pp-1", "12.50", `,"webhookUrl":"`+hook.URL+`"`))
			if r.Status != 201 {
				t.Fatalf("create = %d %s", r.Status, r.Body)
			}
			h.golden("payment_job_paypal", []byte(strings.ReplaceAll(string(r.Body), hook.URL, "https://hook.test")))
			m := r.JSON(t)
			jobRef, payRef := refs(m)
			action := actionURL(m)
			if st, page := h.page(action); st != 200 || !strings.Contains(page, `id="paypal"`) || !strings.Contains(page, `id="card-form"`) {
				t.Fatalf("hosted page: %d %s", st, page)
			}
			sim, attempt := h.toPayPal(action)
			if attempt != payRef || !strings.Contains(sim, "12.50 GBP") || !strings.Contains(sim, "pp-1") {
				t.Errorf("simulator: attempt %s, page %s", attempt, sim)
			}
			if loc := h.paypalAnswer(action, attempt, "approve"); !strings.HasPrefix(loc, "https://shop.test/?r=ok&paymentjobref="+jobRef+"&paymentref="+payRef) {
				t.Errorf("approve sent the shopper to %s", loc)
			}
			// Approving again (a reload, a second tab) changes nothing.
			h.paypalAnswer(action, attempt, "approve")
			if n := h.count(`SELECT COUNT(*) FROM ledger_entries WHERE reference = $1`, payRef); n != 1 {
				t.Errorf("%d ledger entries for the payment, want 1", n)
			}
			r = h.call("GET", "/api/gateway/payment-jobs/"+jobRef, "")
			h.golden("payment_job_paypal_paid", r.Body)
			j := data(r.JSON(t))
			p := firstPayment(r.JSON(t))
			if j["paymentStatus"] != "Paid" || p["status"] != "Paid" || methodsOf(p) != "PayPal" || len(attrs(p)["paymentMethodTransactionId"].(string)) != 17 ||
				!strings.Contains(attrs(p)["cashFlowsAcquiringDetails"].(string), `"Status":"Approved"`) {
				t.Fatalf("paid by PayPal: %v", j)
			}
			if pend, _, _ := h.balances(); pend != 1250 || h.clearing("paypal") != -1250 || h.clearing("card-scheme") != 0 {
				t.Errorf("ledger: pending %d, paypal %d, card scheme %d", pend, h.clearing("paypal"), h.clearing("card-scheme"))
			}

			pay := "/api/gateway/payment-jobs/" + jobRef + "/payments/" + payRef
			h.golden("refund_paypal", h.call("POST", pay+"/refunds", `{"amountToRefund":"2.50","refundNumber":"R-1"}`).Body)
			if p := data(h.must("GET", pay, "", 200)); p["status"] != "PartiallyRefunded" || p["refundedAmount"] != "2.50" {
				t.Errorf("partially refunded: %v", p)
			}
			if h.clearing("paypal") != -1000 {
				t.Errorf("paypal/clearing after the partial refund: %d", h.clearing("paypal"))
			}
			if r := h.call("POST", pay+"/refunds", `{"amountToRefund":"10.01"}`); r.Status != 400 || !strings.Contains(string(r.Body), gateway.MsgRefundExceeds.Message) {
				t.Errorf("refund beyond: %d %s", r.Status, r.Body)
			}
			h.must("POST", pay+"/refunds", `{"amountToRefund":"10.00"}`, 201)
			if p := data(h.must("GET", pay, "", 200)); p["status"] != "Refunded" {
				t.Errorf("refunded: %v", p)
			}
			if pend, _, _ := h.balances(); pend != 0 || h.clearing("paypal") != 0 {
				t.Errorf("after refunds: pending %d, paypal %d", pend, h.clearing("paypal"))
			}
			h.RunDue()
			mu.Lock()
			defer mu.Unlock()
			var got []string
			for _, n := range hooks {
				got = append(got, n.PaymentStatus)
				if n.Hash == "" || n.PaymentReference != payRef {
					t.Errorf("notification %+v", n)
				}
			}
			if !slices.Contains(got, "Paid") || !slices.Contains(got, "PartiallyRefunded") || !slices.Contains(got, "Refunded") {
				t.Errorf("notifications %v", got)
			}
		})
	}
}

// TestPayPalAuthoriseCapture: without auto capture an approved PayPal
// payment is Authorised (held); the job API captures it in parts, as a
// card's, from paypal/clearing.
func TestPayPalAuthoriseCapture(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			h.enableMethods(false, "Card", "PayPal")
			m := h.must("POST", "/api/gateway/payment-jobs", paypalJob("pp-auth", "20.00", ""), 201)
			jobRef, payRef := refs(m)
			_, attempt := h.toPayPal(actionURL(m))
			h.paypalAnswer(actionURL(m), attempt, "approve")
			pay := "/api/gateway/payment-jobs/" + jobRef + "/payments/" + payRef
			if p := data(h.must("GET", pay, "", 200)); p["status"] != "Authorised" || methodsOf(p) != "PayPal" {
				t.Fatalf("authorised: %v", p)
			}
			if pend, _, _ := h.balances(); pend != 0 || h.heldIn() != 2000 {
				t.Errorf("held: pending %d, held %d", pend, h.heldIn())
			}
			h.must("POST", pay+"/captures", `{"amountToCapture":"5.00","isFinalCapture":"false"}`, 200)
			h.must("POST", pay+"/captures", `{"amountToCapture":"10.00","isFinalCapture":"true"}`, 200)
			if r := h.call("POST", pay+"/captures", `{"amountToCapture":"1.00"}`); r.Status < 400 {
				t.Errorf("capture after the final one: %d %s", r.Status, r.Body)
			}
			p := data(h.must("GET", pay, "", 200))
			if p["status"] != "Paid" || p["paidAmount"] != "15.00" || len(p["captures"].([]any)) != 2 {
				t.Errorf("captured: %v", p)
			}
			if pend, _, _ := h.balances(); pend != 1500 || h.clearing("paypal") != -1500 || h.heldIn() != 0 {
				t.Errorf("after captures: pending %d, paypal %d, held %d", pend, h.clearing("paypal"), h.heldIn())
			}
			// Same day, the merchant may still cancel it: the money goes back.
			h.must("PATCH", pay+"/cancel", "", 200)
			if pend, _, _ := h.balances(); pend != 0 || h.clearing("paypal") != 0 {
				t.Errorf("after cancel: pending %d, paypal %d", pend, h.clearing("paypal"))
			}
		})
	}
}

// TestPayPalCancelAndFail: cancel in the simulator brings the shopper back
// to the hosted page, the attempt Cancelled and the job payable again (by
// PayPal or card, its Cancel button to the cancelled return URL); fail is
// a Failed attempt with "The payment method rejected the request.", the
// shopper at the failed return URL and the job payable again; stale and
// unknown answers change nothing; a disabled PayPal is no longer offered.
func TestPayPalCancelAndFail(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			h.enableMethods(true, "Card", "PayPal")
			m := h.must("POST", "/api/gateway/payment-jobs", paypalJob("pp-cancel", "8.00", ""), 201)
			jobRef, payRef := refs(m)
			action := actionURL(m)
			job := func() map[string]any { return data(h.must("GET", "/api/gateway/payment-jobs/"+jobRef, "", 200)) }
			_, attempt := h.toPayPal(action)
			if loc := h.paypalAnswer(action, attempt, "cancel"); loc != "/payment/form-post?ref="+pageRef(t, action) {
				t.Fatalf("cancel sent the shopper to %s", loc)
			}
			st, page := h.page(action)
			if st != 200 || !strings.Contains(page, "The previous payment was cancelled.") || !strings.Contains(page, `id="paypal"`) || !strings.Contains(page, `id="card-form"`) {
				t.Fatalf("page after the cancel: %d %s", st, page)
			}
			j := job()
			if j["paymentStatus"] != "Pending" || firstPayment(map[string]any{"data": j})["status"] != "Cancelled" {
				t.Fatalf("job after the cancel: %v", j)
			}
			// A stale answer of the cancelled attempt changes nothing.
			h.paypalAnswer(action, attempt, "approve")
			if j := job(); j["paymentStatus"] != "Pending" || len(j["payments"].([]any)) != 1 {
				t.Fatalf("stale approve: %v", j)
			}
			if st, _, _ := h.post("/payment/paypal/result?ref="+pageRef(t, action), url.Values{"attempt": {attempt}, "result": {"steal"}}); st != 400 {
				t.Errorf("unknown result: %d", st)
			}

			// Second attempt: PayPal fails it.
			_, attempt2 := h.toPayPal(action)
			if attempt2 == payRef {
				t.Fatal("the second attempt is the first payment")
			}
			if loc := h.paypalAnswer(action, attempt2, "fail"); !strings.HasPrefix(loc, "https://shop.test/?r=failed&paymentjobref="+jobRef+"&paymentref="+attempt2) {
				t.Errorf("fail sent the shopper to %s", loc)
			}
			j = job()
			pays := j["payments"].([]any)
			failed := pays[1].(map[string]any)
			steps := failed["steps"].([]any)
			last := steps[len(steps)-1].(map[string]any)
			if j["paymentStatus"] != "Pending" || failed["status"] != "Failed" || methodsOf(failed) != "PayPal" ||
				last["resultAttributes"].(map[string]any)["message"] != "The payment method rejected the request." {
				t.Fatalf("after the fail: %v", j)
			}
			if _, page := h.page(action); !strings.Contains(page, "The payment method rejected the request.") {
				t.Errorf("page after the fail: %s", page)
			}

			// Third attempt by card, on the same page.
			_, page = h.page(action)
			st, loc, _ := h.post("/payment/form-post?ref="+pageRef(t, action), url.Values{"cardNumber": {"4000000000000010"}, "cardHolderName": {"Ada Lovelace"},
				"cardExpiryMonth": {"12"}, "cardExpiryYear": {"30"}, "cardCvc": {"321"}, "attempt": {attemptOf(t, page)}})
			if st != 303 || !strings.HasPrefix(loc, "https://shop.test/?r=ok") {
				t.Fatalf("card after PayPal: %d %s", st, loc)
			}
			j = job()
			pays = j["payments"].([]any)
			if j["paymentStatus"] != "Paid" || len(pays) != 3 || methodsOf(pays[2].(map[string]any)) != "Card" {
				t.Fatalf("paid by card: %v", j)
			}
			if h.clearing("paypal") != 0 || h.clearing("card-scheme") != -800 {
				t.Errorf("ledger: paypal %d, card scheme %d", h.clearing("paypal"), h.clearing("card-scheme"))
			}

			// PayPal disabled: no longer offered, and refused if asked.
			m = h.must("POST", "/api/gateway/payment-jobs", paypalJob("pp-off", "8.00", ""), 201)
			h.enableMethods(true, "Card")
			if _, page := h.page(actionURL(m)); strings.Contains(page, `id="paypal"`) || !strings.Contains(page, `id="card-form"`) {
				t.Errorf("page with PayPal disabled: %s", page)
			}
			if st, _, body := h.post("/payment/paypal?ref="+pageRef(t, actionURL(m)), url.Values{}); st != 400 || !strings.Contains(body, "Payment method not allowed.") {
				t.Errorf("PayPal disabled: %d %s", st, body)
			}
		})
	}
}

// TestPayPalConcurrentApprovals: many approvals of one PayPal payment at
// once (double clicks, tabs) pay it once.
func TestPayPalConcurrentApprovals(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			h.enableMethods(true, "Card", "PayPal")
			m := h.must("POST", "/api/gateway/payment-jobs", paypalJob("pp-race", "9.00", ""), 201)
			_, payRef := refs(m)
			_, attempt := h.toPayPal(actionURL(m))
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := h.NoRedirect.PostForm(h.Server.URL+"/payment/paypal/result?ref="+pageRef(t, actionURL(m)),
						url.Values{"attempt": {attempt}, "result": {"approve"}})
					if err == nil {
						resp.Body.Close()
					}
				}()
			}
			wg.Wait()
			if n := h.count(`SELECT COUNT(*) FROM ledger_entries WHERE reference = $1`, payRef); n != 1 {
				t.Errorf("%d ledger entries, want 1", n)
			}
			if pend, _, _ := h.balances(); pend != 900 {
				t.Errorf("pending %d, want 900", pend)
			}
		})
	}
}

// TestOfficePayPalJob: the back office's job page shows a PayPal payment's
// method and PayPal order, and refunds it (confirmed first) to the PayPal
// account, back to paypal/clearing.
func TestOfficePayPalJob(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			h.enableMethods(true, "Card", "PayPal")
			m := h.must("POST", "/api/gateway/payment-jobs", paypalJob("pp-office", "30.00", ""), 201)
			jobRef, payRef := refs(m)
			sim, attempt := h.toPayPal(actionURL(m))
			h.paypalAnswer(actionURL(m), attempt, "approve")
			order := regexp.MustCompile(`id="paypal-order">([0-9A-Z]{17})<`).FindStringSubmatch(sim)
			if order == nil {
				t.Fatalf("no PayPal order on the simulator: %s", sim)
			}
			b := officetest.Owner(t, h.App)
			page := "/office/gateway/jobs/" + jobRef
			if p := b.Get(page); p.Status != 200 || !strings.Contains(p.Body, "<dd>PayPal <code>"+order[1]+"</code></dd>") {
				t.Fatalf("job page: %d %s", p.Status, p.Body)
			}
			q, p := b.Confirm(page, page+"/payments/"+payRef+"/refund", url.Values{"amount": {"12.00"}})
			if q != "Refund 12.00 GBP of payment "+payRef+" to the PayPal account?" || p.Status != http.StatusSeeOther {
				t.Fatalf("refund: %q %d %s", q, p.Status, p.Body)
			}
			if pay := data(h.must("GET", "/api/gateway/payment-jobs/"+jobRef+"/payments/"+payRef, "", 200)); pay["status"] != "PartiallyRefunded" || pay["refundedAmount"] != "12.00" {
				t.Fatalf("after the office refund: %v", pay)
			}
			if h.clearing("paypal") != -1800 || h.clearing("card-scheme") != 0 {
				t.Errorf("ledger: paypal %d, card scheme %d", h.clearing("paypal"), h.clearing("card-scheme"))
			}
		})
	}
}

// TestPayPalExpiredJob: an approval that arrives once the job has expired
// (before the expiry job ran) pays nothing.
func TestPayPalExpiredJob(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			h.enableMethods(true, "Card", "PayPal")
			expires := h.Clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
			body := strings.Replace(paypalJob("pp-late", "6.00", ""), `"type":"Payment",`, `"type":"Payment","expirationDateTimeUtc":"`+expires+`",`, 1)
			m := h.must("POST", "/api/gateway/payment-jobs", body, 201)
			_, payRef := refs(m)
			_, attempt := h.toPayPal(actionURL(m))
			h.Clock.Advance(2 * time.Hour)
			st, _, page := h.post("/payment/paypal/result?ref="+pageRef(t, actionURL(m)), url.Values{"attempt": {attempt}, "result": {"approve"}})
			if st != 400 || !strings.Contains(page, "This payment has expired.") {
				t.Errorf("late approval: %d %s", st, page)
			}
			if n := h.count(`SELECT COUNT(*) FROM ledger_entries WHERE reference = $1`, payRef); n != 0 {
				t.Errorf("%d ledger entries for an expired job", n)
			}
		})
	}
}
