package gateway_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/backoffice/officetest"
	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

func credit(amount, pan string) string {
	return `{"type":"Credit","currency":"GBP","amountToCollect":"` + amount + `","parameters":{"cardNumber":"` + pan + `","cardExpiryMonth":"12","cardExpiryYear":"30"}}`
}

func creditSettings(perPayment, perDay string) gateway.GatewaySettings {
	return gateway.GatewaySettings{AutoCapture: true, CreditPayments: &gateway.CreditPaymentSettings{Enabled: true,
		Limits: map[string]gateway.CreditLimit{"GBP": {PerPayment: perPayment, PerDay: perDay}}}}
}

// fund gives the merchant available money: a MOTO payment of amount,
// settled at once.
func (h *harness) fund(order, amount string) {
	h.T.Helper()
	h.must("POST", "/api/gateway/payment-jobs", moto(order, amount), 201)
	if _, err := h.app.Gateway.Service.SettleNow(context.Background(), h.Tenant.TenantID, h.Clock.Now().Add(time.Second)); err != nil {
		h.T.Fatal(err)
	}
}

// TestCreditPayments: a credit payment (type Credit) pays money from the
// merchant's available balance to a card: held in the request's
// transaction, paid by the acquirer afterwards (Paid, or Failed with
// "Credit payment has been refused." and the hold released); never more
// than the available balance, the limit of one credit or of the day
// ("Credit payment has been refused."); "Unable to perform credit payment."
// when the tenant has not enabled them, for a currency without limits or
// a request that is no card credit; a credit is not captured, cancelled or
// refunded. The ledger's invariants hold (apptest, at cleanup).
func TestCreditPayments(t *testing.T) {
	const refused, unable = `"message":"Credit payment has been refused."`, `"message":"Unable to perform credit payment."`
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			if r := h.call("POST", "/api/gateway/payment-jobs", credit("5.00", "4000000000000010")); r.Status != 400 || !bytes.Contains(r.Body, []byte(unable)) ||
				!bytes.Contains(r.Body, []byte(`"code":"UnableToPerformCreditPayment"`)) {
				t.Fatalf("not enabled: %d %s", r.Status, r.Body)
			}
			h.settings(creditSettings("30.00", "50.00"))
			h.settings(gateway.GatewaySettings{AutoCapture: true}) // left out: unchanged
			if c := h.getSettings().CreditPayments; c == nil || !c.Enabled || c.Limits["GBP"] != (gateway.CreditLimit{PerPayment: "30.00", PerDay: "50.00"}) {
				t.Fatalf("settings: %+v", c)
			}
			h.fund("fund-1", "40.00")
			_, available, _ := h.balances()
			if available != 4000 {
				t.Fatalf("available %d", available)
			}

			r := h.call("POST", "/api/gateway/payment-jobs", credit("25.00", "4000000000000010"), "Idempotency-Key", "credit-1")
			if r.Status != 201 {
				t.Fatalf("credit: %d %s", r.Status, r.Body)
			}
			m := r.JSON(t)
			if d := data(m); d["type"] != "Credit" || firstPayment(m)["status"] != "Pending" || m["links"].(map[string]any)["action"] != nil {
				t.Errorf("credit answer: %s", r.Body)
			}
			h.golden("credit_payment", r.Body)
			paidRef, paidPay := refs(m)
			ref := paidRef
			// Held: 15.00 left to credit, though not yet paid out.
			if r := h.call("POST", "/api/gateway/payment-jobs", credit("20.00", "4000000000000010")); r.Status != 400 || !bytes.Contains(r.Body, []byte(refused)) {
				t.Errorf("beyond the available balance while held: %d %s", r.Status, r.Body)
			}
			h.RunDue()
			got := h.must("GET", "/api/gateway/payment-jobs/"+ref, "", 200)
			if data(got)["paymentStatus"] != "Paid" || firstPayment(got)["status"] != "Paid" {
				t.Fatalf("after the acquirer: %v", data(got))
			}
			if _, available, _ = h.balances(); available != 1500 {
				t.Errorf("available after the credit: %d", available)
			}
			for _, c := range []struct{ name, body, want, field string }{
				{"beyond the balance", credit("20.00", "4000000000000010"), refused, "amountToCollect"},
				{"beyond one credit's limit", credit("30.01", "4000000000000010"), refused, "amountToCollect"},
				{"a currency without limits", strings.Replace(credit("5.00", "4000000000000010"), "GBP", "EUR", 1), unable, "currency"},
				{"with options", strings.Replace(credit("5.00", "4000000000000010"), `"type"`, `"options":["IsMoto"],"type"`, 1), unable, "options"},
				{"no card", `{"type":"Credit","currency":"GBP","amountToCollect":"5.00"}`, unable, "cardNumber"},
			} {
				if r := h.call("POST", "/api/gateway/payment-jobs", c.body); r.Status != 400 || !bytes.Contains(r.Body, []byte(c.want)) || !bytes.Contains(r.Body, []byte(`"field":"`+c.field+`"`)) {
					t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
				}
			}
			if _, available, _ = h.balances(); available != 1500 {
				t.Errorf("a refusal changed the balance: %d", available)
			}

			// The issuer refuses: Failed, the hold and the day's total released.
			m = h.must("POST", "/api/gateway/payment-jobs", credit("10.00", "4000000000000044"), 201)
			h.RunDue()
			ref, pay := refs(m)
			got = h.must("GET", "/api/gateway/payment-jobs/"+ref, "", 200)
			if p := firstPayment(got); p["status"] != "Failed" || data(got)["paymentStatus"] != "Cancelled" || !strings.Contains(mustJSONString(t, p), "Credit payment has been refused.") {
				t.Errorf("declined credit: %v", p)
			}
			if _, available, _ = h.balances(); available != 1500 {
				t.Errorf("available after a declined credit: %d", available)
			}
			for _, c := range [][2]string{{paidRef, paidPay}, {ref, pay}} { // the paid credit and the declined one
				for _, op := range []struct{ method, path, body, want string }{
					{"POST", "/payments/" + c[1] + "/refunds", `{"amountToRefund":"1.00"}`, "Unable to refund this payment."},
					{"PATCH", "/payments/" + c[1] + "/cancel", "", "Payment has an invalid status."},
					{"POST", "/payments/" + c[1] + "/captures", `{"amountToCapture":"1.00"}`, "Payment has an invalid status."},
					{"PATCH", "/cancel", "", "Payment job can not be cancelled."},
				} {
					if r := h.call(op.method, "/api/gateway/payment-jobs/"+c[0]+op.path, op.body); r.Status != 400 || !bytes.Contains(r.Body, []byte(op.want)) {
						t.Errorf("%s %s: %d %s", op.method, op.path, r.Status, r.Body)
					}
				}
			}
			if _, available, _ = h.balances(); available != 1500 {
				t.Errorf("an operation on a credit changed the balance: %d", available)
			}
			// The back office shows the credit with no action to take.
			if p := officetest.Owner(t, h.App).Get("/office/gateway/jobs/" + paidRef); p.Status != 200 || !strings.Contains(p.Body, "card (credit payment)") ||
				strings.Contains(p.Body, "cancel-submit-") || strings.Contains(p.Body, "refund-submit-") || strings.Contains(p.Body, `id="cancel-job"`) {
				t.Errorf("office job page: %d %s", p.Status, p.Body)
			}

			// The day's limit: 25.00 credited, 25.00 more fits, then nothing.
			h.fund("fund-2", "100.00")
			if r := h.call("POST", "/api/gateway/payment-jobs", credit("25.00", "4000000000000010")); r.Status != 201 {
				t.Errorf("up to the day's limit: %d %s", r.Status, r.Body)
			}
			if r := h.call("POST", "/api/gateway/payment-jobs", credit("0.01", "4000000000000010")); r.Status != 400 || !bytes.Contains(r.Body, []byte(refused)) ||
				!bytes.Contains(r.Body, []byte("day")) {
				t.Errorf("beyond the day's limit: %d %s", r.Status, r.Body)
			}
			h.Clock.Advance(24 * time.Hour) // a new day in Europe/London
			if r := h.call("POST", "/api/gateway/payment-jobs", credit("5.00", "4000000000000010")); r.Status != 201 {
				t.Errorf("the next day: %d %s", r.Status, r.Body)
			}
			h.RunDue()
		})
	}
}

// TestCreditPaymentDayLimitConcurrent: credits sent at once never pass the
// day's limit: of 8 credits of 10.00 with a limit of 30.00 a day, exactly 3
// are made.
func TestCreditPaymentDayLimitConcurrent(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			h.settings(creditSettings("10.00", "30.00"))
			h.fund("fund", "500.00")
			var wg sync.WaitGroup
			statuses := make([]int, 8)
			for i := range statuses {
				wg.Add(1)
				go func() {
					defer wg.Done()
					statuses[i] = h.call("POST", "/api/gateway/payment-jobs", credit("10.00", "4000000000000010")).Status
				}()
			}
			wg.Wait()
			made := 0
			for _, st := range statuses {
				switch st {
				case 201:
					made++
				case 400:
				default:
					t.Errorf("status %d", st)
				}
			}
			if made != 3 {
				t.Errorf("%d credits made, want 3 (%v)", made, statuses)
			}
			h.RunDue()
			if _, available, _ := h.balances(); available != 50000-3000 {
				t.Errorf("available %d", available)
			}
		})
	}
}
