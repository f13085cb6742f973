package remote_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/backoffice/officetest"
	"github.com/cashgate/cashgate/internal/remote"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/walletpay"
)

// TestOfficeRemotePayment: a remote payment paid from a wallet is in the
// payments list (found by its id and by its metadata orderId), its page shows
// the attempt, and half of it is refunded after a confirmation step through
// the API's Refund (audited); a pending one is canceled; another tenant's is
// not found.
func TestOfficeRemotePayment(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			a := app{App: h, t: t}
			ctx := context.Background()
			alice := a.customer("alice", "50.00", "EUR")
			create := func(order string) remote.Payment {
				r := a.api("POST", "/remote/v1/payments", h.Tenant.APIKey, `{"amount":1250,"currency":"EUR","note":"Order","metadata":{"orderId":"`+order+`"}}`)
				var p remote.Payment
				if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &p) != nil {
					t.Fatalf("create: %d %s", r.Status, r.Body)
				}
				return p
			}
			paid := create("ORD-R1")
			if _, err := h.App.Remote.Service.PayWithWallet(ctx, paid.ID, walletpay.Payer{UserID: alice.ID, Username: "alice", AccountNumber: alice.AccountNumber}, "1234"); err != nil {
				t.Fatal(err)
			}
			pending := create("ORD-R2")
			b := officetest.Owner(t, h)
			for _, q := range []string{"?q=" + paid.ID, "?q=ORD-R1", "?kind=remote&status=paid"} {
				if p := b.Get("/office/payments" + q); !strings.Contains(p.Body, "/office/remote/payments/"+paid.ID) || strings.Contains(p.Body, pending.ID) {
					t.Fatalf("payments%s: %d %s", q, p.Status, p.Body)
				}
			}
			page := "/office/remote/payments/" + paid.ID
			if p := b.Get(page); p.Status != 200 || !strings.Contains(p.Body, "Paid by wallet") {
				t.Fatalf("payment page: %d %s", p.Status, p.Body)
			}
			q, p := b.Confirm(page, page+"/refund", url.Values{"amount": {"6.25"}, "reason": {"half"}})
			if !strings.Contains(q, "Refund 6.25 EUR") || p.Status != http.StatusSeeOther {
				t.Fatalf("refund: %q %d %s", q, p.Status, p.Body)
			}
			got, err := h.App.Remote.Service.Get(ctx, h.Tenant.TenantID, paid.ID)
			if err != nil || got.RefundedAmount != 625 || got.Status != remote.StatusPaid {
				t.Fatalf("after the refund: %+v %v", got, err)
			}
			page2 := "/office/remote/payments/" + pending.ID
			if _, p := b.Confirm(page2, page2+"/cancel", url.Values{}); p.Status != http.StatusSeeOther {
				t.Fatalf("cancel: %d %s", p.Status, p.Body)
			}
			if got, _ := h.App.Remote.Service.Get(ctx, h.Tenant.TenantID, pending.ID); got.Status != remote.StatusCanceled {
				t.Fatalf("after the cancel: %s", got.Status)
			}
			acts := officetest.AuditActions(t, h)
			if !slices.Contains(acts, "remote.refund "+paid.ID) || !slices.Contains(acts, "remote.cancel "+pending.ID) {
				t.Fatalf("audit: %q", acts)
			}
			other := officetest.OtherTenant(t, h)
			if p := other.Get(page); p.Status != http.StatusNotFound {
				t.Fatalf("another tenant's payment: %d", p.Status)
			}
		})
	}
}
