package gateway_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// holdsOpen returns how much the merchant's pending account still expects
// from open authorisations (the ledger's pendingIn).
func (h *harness) heldIn() int64 {
	h.T.Helper()
	accs, err := h.app.Ledger.Accounts(context.Background(), h.app.DB.Read(), h.Tenant.TenantID, ledger.AccountFilter{})
	if err != nil {
		h.T.Fatal(err)
	}
	var in int64
	for _, a := range accs {
		if a.Owner == "merchant" && a.Purpose == "pending" {
			in += a.Balance.PendingIn
		}
	}
	return in
}

// TestShopperCannotCancelCompletedPayment: the hosted page's cancel button
// (POST /payment/3ds result=cancel) abandons a payment that waits for the
// shopper; sent after the payment went through, it must not reverse the
// sale (before the fix it cancelled the paid payment and moved its money
// back to the card scheme).
func TestShopperCannotCancelCompletedPayment(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			m := h.must("POST", "/api/gateway/payment-jobs", threeDSBody, 201)
			jobRef, payRef := refs(m)
			action := actionURL(m)
			h.complete3DS(action, "success")
			p := data(h.must("GET", "/api/gateway/payment-jobs/"+jobRef+"/payments/"+payRef, "", 200))
			if p["status"] != gateway.StPaid {
				t.Fatalf("after 3-D Secure: %v", p["status"])
			}
			h.complete3DS(action, "cancel") // replayed by whoever holds the page ref
			p = data(h.must("GET", "/api/gateway/payment-jobs/"+jobRef+"/payments/"+payRef, "", 200))
			if p["status"] != gateway.StPaid {
				t.Errorf("shopper's cancel after payment: status %v, want Paid", p["status"])
			}
			if pend, _, _ := h.balances(); pend != 1000 {
				t.Errorf("merchant pending = %d, want 1000", pend)
			}
		})
	}
}

// TestAuthorisationExpiryAfterRefund: an authorisation captured in part and
// then refunded still releases what remains of it after 7 days (before the
// fix the hold stayed open for ever: the expiry job skipped refunded
// payments).
func TestAuthorisationExpiryAfterRefund(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			h.settings(gateway.GatewaySettings{AutoCapture: false})
			for i, refund := range []string{"4.00", "1.00"} { // full, then partial refund of the capture
				m := h.must("POST", "/api/gateway/payment-jobs", moto("auth-refund-"+refund, "10.00"), 201)
				jobRef, payRef := refs(m)
				base := "/api/gateway/payment-jobs/" + jobRef + "/payments/" + payRef
				h.must("POST", base+"/captures", `{"amountToCapture":"4.00"}`, 200)
				h.must("POST", base+"/refunds", `{"amountToRefund":"`+refund+`"}`, 201)
				if got := h.heldIn(); got != 600 {
					t.Fatalf("case %d: held before expiry = %d, want 600", i, got)
				}
				h.Clock.Advance(gateway.AuthorisationTTL + time.Minute)
				h.RunDue()
				if got := h.heldIn(); got != 0 {
					t.Errorf("case %d: held after 7 days = %d, want 0 (the rest of the authorisation released)", i, got)
				}
				if r := h.call("POST", base+"/captures", `{"amountToCapture":"1.00"}`); r.Status != 400 {
					t.Errorf("case %d: capture after expiry: %d %s", i, r.Status, r.Body)
				}
			}
		})
	}
}

// TestRefundsRacingSettlement: refunds sent while the midnight batch runs
// are each either taken before the batch (from pending) or after it (from
// available) — never refused for a wrong reason — and the batch leaves
// nothing unsettled (before the fix, on PostgreSQL, a payment refunded
// between the batch's read and its update was skipped, and nothing ever
// settled it; the refund could fail with "exceeds").
func TestRefundsRacingSettlement(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			const n = 40
			type pay struct{ base string }
			var pays []pay
			for i := 0; i < n; i++ {
				m := h.must("POST", "/api/gateway/payment-jobs", moto("race-"+string(rune('a'+i%26))+string(rune('a'+i/26)), "10.00"), 201)
				j, p := refs(m)
				pays = append(pays, pay{"/api/gateway/payment-jobs/" + j + "/payments/" + p})
			}
			cutoff := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
			h.Clock.Set(cutoff.Add(time.Second))
			var wg sync.WaitGroup
			errs := make(chan string, n+1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := h.app.Gateway.Service.SettleNow(context.Background(), h.Tenant.TenantID, cutoff); err != nil {
					errs <- err.Error()
				}
			}()
			for _, p := range pays {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := h.call("POST", p.base+"/refunds", `{"amountToRefund":"0.10"}`)
					if r.Status != 201 {
						errs <- string(r.Body)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Errorf("refund or settlement: %s", e)
			}
			pend, avail, _ := h.balances()
			if pend != 0 || avail != n*(1000-10) {
				t.Errorf("after the batch: pending %d available %d, want 0 and %d", pend, avail, n*(1000-10))
			}
		})
	}
}

// TestSettlementWhenDSTStartsAtMidnight: in America/Santiago the clocks go
// from 00:00 to 01:00 on 5 September 2027, so 00:00 of that day does not
// exist. A payment captured in the last hour of 4 September is settled by
// the batch at the start of 5 September (before the fix its batch's cutoff
// was computed as 23:00 of 4 September — before the capture — and carried
// the day's key of the previous batch, so it was never settled), and the
// same-day cancel rule counts the day from its real start.
func TestSettlementWhenDSTStartsAtMidnight(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{Seed: 5, Tenant: &platform.TenantSpec{Name: "Santiago", Mode: platform.Production, Timezone: "America/Santiago"}})
			gw := func(method, path, body string) apptest.Reply {
				var b []byte
				if body != "" {
					b = []byte(body)
				}
				return h.Do(method, path, b, map[string]string{"ConfigurationId": h.Tenant.ConfigurationID, "Hash": gateway.HashOf(h.Tenant.SigningKey, []byte(body))})
			}
			pending := func() int64 {
				accs, err := h.App.Ledger.Accounts(context.Background(), h.App.DB.Read(), h.Tenant.TenantID, ledger.AccountFilter{})
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range accs {
					if a.Owner == "merchant" && a.Purpose == "pending" {
						return a.Balance.Posted
					}
				}
				return 0
			}
			h.Clock.Set(time.Date(2027, 9, 5, 3, 30, 0, 0, time.UTC)) // 4 September, 23:30 -04
			r := gw("POST", "/api/gateway/payment-jobs", moto("late", "10.00"))
			if r.Status != 201 {
				t.Fatalf("create: %d %s", r.Status, r.Body)
			}
			var m map[string]any
			_ = json.Unmarshal(r.Body, &m)
			jobRef, payRef := refs(m)
			h.Clock.Set(time.Date(2027, 9, 5, 5, 0, 0, 0, time.UTC)) // 5 September, 02:00 -03
			h.RunDue()
			if got := pending(); got != 0 {
				t.Errorf("pending after the batch of 5 September = %d, want 0", got)
			}
			if r := gw("PATCH", "/api/gateway/payment-jobs/"+jobRef+"/payments/"+payRef+"/cancel", ""); r.Status != 400 {
				t.Errorf("cancel on the next day: %d %s", r.Status, r.Body)
			}
		})
	}
}
