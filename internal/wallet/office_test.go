package wallet_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/backoffice/officetest"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// TestOfficeMoneyRequest: an approved money request of the tenant's
// corporate wallet is in the payments list (by id and by order id), its page
// shows its timeline, the home page its corporate wallet balance; half of it
// is refunded after a confirmation step through the API's Refund (audited);
// too much is refused beside the form; another tenant's is not found.
func TestOfficeMoneyRequest(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			ctx := context.Background()
			w := h.App.Wallet.Service
			if _, err := w.OpenCorporate(ctx, h.Tenant.TenantID, wallet.CorporateSpec{CompanyName: "Acme Ltd", Username: "acme", Password: "acme-password",
				PIN: "4321", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"}); err != nil {
				t.Fatal(err)
			}
			u, err := w.SignUp(ctx, wallet.SignUp{Username: "alice", Password: "alice-password", PIN: "1234"})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.SetSandboxTopUps(ctx, true); err != nil {
				t.Fatal(err)
			}
			if _, err := w.SimulateTopUp(ctx, u.ID, "50.00", "EUR"); err != nil {
				t.Fatal(err)
			}
			req, err := w.CreateRequest(ctx, h.Tenant.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: "20.00", Currency: "EUR",
				Description: "Order 42", CallbackURL: "http://127.0.0.1:9/cb", OrderID: "ORD-W1"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Approve(ctx, u.ID, req.ID, "1234"); err != nil {
				t.Fatal(err)
			}
			b := officetest.Owner(t, h)
			for _, q := range []string{"?q=" + req.ID, "?q=ORD-W1", "?kind=wallet&status=approved"} {
				if p := b.Get("/office/payments" + q); !strings.Contains(p.Body, "/office/wallet/requests/"+req.ID) {
					t.Fatalf("payments%s: %d %s", q, p.Status, p.Body)
				}
			}
			if p := b.Get("/office"); !strings.Contains(p.Body, "Corporate wallet") || !strings.Contains(p.Body, "20.00 EUR") {
				t.Fatalf("home: %s", p.Body)
			}
			page := "/office/wallet/requests/" + req.ID
			if p := b.Get(page); p.Status != 200 || !strings.Contains(p.Body, "Customer&#39;s decision: approved") {
				t.Fatalf("request page: %d %s", p.Status, p.Body)
			}
			if p := b.Post(page, page+"/refund", url.Values{"amount": {"30.00"}, "confirm": {"yes"}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="action-error"`) {
				t.Fatalf("refund too much: %d %s", p.Status, p.Body)
			}
			q, p := b.Confirm(page, page+"/refund", url.Values{"amount": {"10.00"}})
			if !strings.Contains(q, "Refund 10.00 EUR") || p.Status != http.StatusSeeOther {
				t.Fatalf("refund: %q %d %s", q, p.Status, p.Body)
			}
			got, err := w.MerchantRequest(ctx, h.Tenant.TenantID, req.ID)
			if err != nil || got.Status != wallet.StatusPartiallyRefunded || got.Refunded != "10.00" {
				t.Fatalf("after the refund: %+v %v", got, err)
			}
			if acts := officetest.AuditActions(t, h); !slices.Contains(acts, "wallet.refund "+req.ID) {
				t.Fatalf("audit: %q", acts)
			}
			if p := officetest.OtherTenant(t, h).Get(page); p.Status != http.StatusNotFound {
				t.Fatalf("another tenant's request: %d", p.Status)
			}
		})
	}
}
