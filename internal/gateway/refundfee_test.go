package gateway_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// settle runs the settlement batch for everything captured so far.
func (h *harness) settle() {
	h.T.Helper()
	h.Clock.Advance(time.Second)
	if _, err := h.app.Gateway.Service.SettleNow(context.Background(), h.Tenant.TenantID, h.Clock.Now()); err != nil {
		h.T.Fatal(err)
	}
}

// TestRefundReturnsSettlementFeeProRata: with a 10 % fee a merchant can
// refund all the shopper paid, before and after settlement: a refund of
// settled money returns the fee's pro-rata share from platform/fees
// (cumulative, rounded half up), so refunds adding up to the amount
// return exactly the fee; money not yet settled carries no fee. The
// ledger's invariants hold after every step.
func TestRefundReturnsSettlementFeeProRata(t *testing.T) {
	type bal struct{ pending, available, fees int64 }
	type step struct {
		refund string // amountToRefund; "" = run the settlement
		want   bal    // balances after the step
	}
	cases := []struct {
		name  string
		fixed int64 // FeeFixedMinor besides the 10 %
		steps []step
	}{
		{name: "full refund before settlement", steps: []step{
			{refund: "10.00", want: bal{0, 0, 0}},
			{want: bal{0, 0, 0}},
		}},
		{name: "full refund after settlement", steps: []step{
			{want: bal{0, 900, 100}},
			{refund: "10.00", want: bal{0, 0, 0}},
		}},
		{name: "thirds after settlement", steps: []step{
			{want: bal{0, 900, 100}},
			{refund: "3.33", want: bal{0, 600, 67}}, // 0.33 of the fee back
			{refund: "3.33", want: bal{0, 301, 33}}, // 0.67 in all
			{refund: "3.34", want: bal{0, 0, 0}},
		}},
		{name: "part before and the rest after settlement", steps: []step{
			{refund: "4.00", want: bal{600, 0, 0}},
			{want: bal{0, 540, 60}}, // the fee is on the 6.00 settled
			{refund: "3.00", want: bal{0, 270, 30}},
			{refund: "3.00", want: bal{0, 0, 0}},
		}},
		{name: "fixed fee, one cent first", fixed: 20, steps: []step{
			{want: bal{0, 880, 120}},
			{refund: "0.01", want: bal{0, 879, 120}}, // 0.12 cents rounds to none
			{refund: "9.99", want: bal{0, 0, 0}},
		}},
	}
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					h := newHarness(t, e)
					h.settings(gateway.GatewaySettings{AutoCapture: true, FeeBasisPoints: 1000, FeeFixedMinor: c.fixed})
					m := h.must("POST", "/api/gateway/payment-jobs", moto("fee", "10.00"), 201)
					jobRef, payRef := refs(m)
					base := "/api/gateway/payment-jobs/" + jobRef + "/payments/" + payRef
					for i, s := range c.steps {
						if s.refund == "" {
							h.settle()
						} else if r := h.call("POST", base+"/refunds", `{"amountToRefund":"`+s.refund+`"}`); r.Status != 201 {
							t.Fatalf("step %d: refund %s = %d %s", i, s.refund, r.Status, r.Body)
						}
						if err := ledger.CheckInvariants(context.Background(), h.app.DB.Read()); err != nil {
							t.Fatalf("step %d: %v", i, err)
						}
						if p, a, f := h.balances(); (bal{p, a, f}) != s.want {
							t.Fatalf("step %d: balances %+v, want %+v", i, bal{p, a, f}, s.want)
						}
					}
					p := data(h.must("GET", base, "", 200))
					if p["status"] != "Refunded" || p["refundedAmount"] != "10.00" {
						t.Fatalf("payment after the refunds: %v %v", p["status"], p["refundedAmount"])
					}
				})
			}
		})
	}
}

// TestUnfundableRefundNamesItsCause: a refund the merchant's available
// balance cannot fund (it was paid out) is refused in the gateway's error
// format with the guide's message, and a detail naming the balance and
// what the refund takes from it; what the balance can fund still goes
// through.
func TestUnfundableCardRefundNamesItsCause(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			h.settings(gateway.GatewaySettings{AutoCapture: true, FeeBasisPoints: 1000})
			m := h.must("POST", "/api/gateway/payment-jobs", moto("paidout", "10.00"), 201)
			jobRef, payRef := refs(m)
			base := "/api/gateway/payment-jobs/" + jobRef + "/payments/" + payRef
			h.settle()
			// The merchant is paid out 8.00 of its 9.00.
			ctx := context.Background()
			accs, err := h.app.Ledger.Accounts(ctx, h.app.DB.Read(), h.Tenant.TenantID, ledger.AccountFilter{})
			ok(t, err)
			var avail string
			for _, a := range accs {
				if a.Owner == "merchant" && a.Purpose == "available" {
					avail = a.ID
				}
			}
			ok(t, h.app.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
				bank, err := h.app.Ledger.EnsureAccount(ctx, tx, ledger.AccountSpec{TenantID: h.Tenant.TenantID, Owner: "bank", Purpose: "payouts",
					Currency: "GBP", AllowOverdraft: true})
				if err != nil {
					return err
				}
				_, err = h.app.Ledger.Transfer(ctx, tx, ledger.TransferSpec{TenantID: h.Tenant.TenantID, From: avail, To: bank.ID, Currency: "GBP",
					Amount: 800, Kind: "payout", Reference: "payout-1"})
				return err
			}))

			r := h.call("POST", base+"/refunds", `{"amountToRefund":"10.00"}`)
			var rep httpx.GatewayErrorReport
			if err := json.Unmarshal(r.Body, &rep); err != nil || r.Status != 400 || len(rep.ErrorReport.Errors) != 1 {
				t.Fatalf("unfundable refund: %d %s", r.Status, r.Body)
			}
			got := rep.ErrorReport.Errors[0]
			if got.Code != "RefundRefused" || got.Message != gateway.MsgRefundRefused.Message || got.Field != "amountToRefund" ||
				!strings.Contains(got.Detail, "1.00 GBP") || !strings.Contains(got.Detail, "9.00 GBP") {
				t.Fatalf("the refusal does not name its cause: %+v", got)
			}
			if p, a, f := h.balances(); p != 0 || a != 100 || f != 100 {
				t.Fatalf("a refused refund moved money: %d %d %d", p, a, f)
			}
			// 1.10 takes 0.99 from the balance and 0.11 from the fee.
			h.must("POST", base+"/refunds", `{"amountToRefund":"1.10"}`, 201)
			if _, a, f := h.balances(); a != 1 || f != 89 {
				t.Fatalf("after refunding 1.10: available %d fees %d", a, f)
			}
			if err := ledger.CheckInvariants(ctx, h.app.DB.Read()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
