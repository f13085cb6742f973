package gateway_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/backoffice/officetest"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestOfficeCreditSettings: an owner turns credit payments on with limits
// per currency on the card settings page (what PUT /platform/gateway/settings
// sets, audited); bad amounts, a per-credit limit above the day's and a
// control character are refused beside their field and change nothing; an
// agent's post is refused; a credit then goes through within the limit.
func TestOfficeCreditSettings(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			b := officetest.Owner(t, h.App)
			agent := b.AddUser("agent", "ann.agent", "agent password 1")
			form := func(kv ...string) url.Values {
				v := url.Values{"feeBasisPoints": {"0"}, "feeFixedMinor": {"0"}, "paymentMethods": {"Card", "CreditCard"},
					"signatureScheme": {"hash"}, "autoCapture": {"on"}}
				for i := 0; i+1 < len(kv); i += 2 {
					v.Set(kv[i], kv[i+1])
				}
				return v
			}
			on := form("creditPaymentsEnabled", "on", "creditPerPayment-GBP", "500.00", "creditPerDay-GBP", "2000.00")
			if p := agent.Post("/office/gateway/settings", "/office/gateway/settings", on); p.Status != http.StatusForbidden {
				t.Fatalf("agent: %d", p.Status)
			}
			for name, bad := range map[string]url.Values{
				"creditPerPayment-GBP": form("creditPaymentsEnabled", "on", "creditPerPayment-GBP", "abc", "creditPerDay-GBP", "2000.00"),
				"creditPerDay-EUR":     form("creditPaymentsEnabled", "on", "creditPerPayment-EUR", "10.00"),
				"creditPerPayment-USD": form("creditPaymentsEnabled", "on", "creditPerPayment-USD", "900.00", "creditPerDay-USD", "100.00"),
				"creditPerPayment-JPY": form("creditPaymentsEnabled", "on", "creditPerPayment-JPY", "5\x00", "creditPerDay-JPY", "9"),
			} {
				p := b.Post("/office/gateway/settings", "/office/gateway/settings", bad)
				if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="`+name+`"`) ||
					!strings.Contains(p.Body, `class="field-error"`) {
					t.Errorf("%s: %d %.300s", name, p.Status, p.Body)
				}
			}
			if st, _ := h.app.Gateway.Service.GetSettings(context.Background(), h.Tenant.TenantID); st.CreditPayments.Enabled {
				t.Fatalf("refused forms changed the settings: %+v", st.CreditPayments)
			}
			if p := b.Post("/office/gateway/settings", "/office/gateway/settings", on); p.Status != http.StatusSeeOther {
				t.Fatalf("owner: %d %s", p.Status, p.Body)
			}
			st, _ := h.app.Gateway.Service.GetSettings(context.Background(), h.Tenant.TenantID)
			if c := st.CreditPayments; !c.Enabled || len(c.Limits) != 1 || c.Limits["GBP"].PerPayment != "500.00" || c.Limits["GBP"].PerDay != "2000.00" {
				t.Fatalf("credit settings: %+v", c)
			}
			p := b.Get("/office/gateway/settings")
			for _, want := range []string{`id="creditPaymentsEnabled" name="creditPaymentsEnabled" checked`, `name="creditPerPayment-GBP" value="500.00"`,
				`name="creditPerDay-GBP" value="2000.00"`, `name="creditPerDay-EUR" value=""`} {
				if !strings.Contains(p.Body, want) {
					t.Errorf("settings page lacks %s", want)
				}
			}
			if n := h.count(`SELECT COUNT(*) FROM office_audit WHERE action = 'gateway.settings' AND detail LIKE '%creditPayments on (GBP 500.00/2000.00)%'`); n != 1 {
				t.Errorf("audit rows = %d", n)
			}
			// The settings work: a credit within the limit is made (the
			// merchant's balance funds it), one above it is refused.
			h.fund("fund-1", "100.00")
			credit := func(amount string) int {
				return h.call("POST", "/api/gateway/payment-jobs", `{"type":"Credit","currency":"GBP","amountToCollect":"`+amount+
					`","parameters":{"cardNumber":"4000000000000010","cardExpiryMonth":"12","cardExpiryYear":"30"}}`).Status
			}
			if st := credit("501.00"); st != 400 {
				t.Errorf("credit above the limit: %d", st)
			}
			if st := credit("20.00"); st != 201 {
				t.Errorf("credit within the limit: %d", st)
			}
			// Off again: no limits kept, credits refused.
			if p := b.Post("/office/gateway/settings", "/office/gateway/settings", form()); p.Status != http.StatusSeeOther {
				t.Fatalf("owner turns credits off: %d %s", p.Status, p.Body)
			}
			if st := credit("20.00"); st != 400 {
				t.Errorf("credit after switching off: %d", st)
			}
		})
	}
}
