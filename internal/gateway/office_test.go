package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/backoffice/officetest"
	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// motoJob creates a paid MOTO job through the API and returns the job's
// and its payment's references.
func (h *harness) motoJob(order, amount string) (job, pay string) {
	h.T.Helper()
	m := h.must("POST", "/api/gateway/payment-jobs", moto(order, amount), http.StatusCreated)
	return data(m)["reference"].(string), firstPayment(m)["reference"].(string)
}

// TestOfficeCardJob: a paid MOTO job is in the payments list (searched by
// its order number and filtered by status), its page shows the payment's
// timeline; half of it is refunded after a confirmation step through the
// API's Refund (the API sees it, the audit log has it); a payment job of
// another tenant is not found.
func TestOfficeCardJob(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			jobRef, payRef := h.motoJob("ORD-7", "10.00")
			b := officetest.Owner(t, h.App)
			for _, q := range []string{"", "?q=ORD-7", "?q=" + payRef, "?status=Paid&kind=card", "?from=2026-11-21&to=2026-11-21"} {
				if p := b.Get("/office/payments" + q); p.Status != 200 || !strings.Contains(p.Body, "/office/gateway/jobs/"+jobRef) {
					t.Fatalf("payments%s: %d %s", q, p.Status, p.Body)
				}
			}
			for _, q := range []string{"?q=ORD-8", "?status=Pending", "?from=2026-11-22"} {
				if p := b.Get("/office/payments" + q); p.Status != 200 || strings.Contains(p.Body, jobRef) {
					t.Fatalf("payments%s lists the job: %d", q, p.Status)
				}
			}
			if p := b.Get("/office/payments?from=yesterday"); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Enter a date") {
				t.Fatalf("bad date: %d", p.Status)
			}
			page := "/office/gateway/jobs/" + jobRef
			if p := b.Get(page); p.Status != 200 || !strings.Contains(p.Body, "Payment <code>"+payRef+"</code>") || !strings.Contains(p.Body, "400000******0010") {
				t.Fatalf("job page: %d %s", p.Status, p.Body)
			}
			q, p := b.Confirm(page, page+"/payments/"+payRef+"/refund", url.Values{"amount": {"5.00"}})
			if q != "Refund 5.00 GBP of payment "+payRef+" to the card?" || p.Status != http.StatusSeeOther || p.Location != page {
				t.Fatalf("refund: %q %d %s", q, p.Status, p.Body)
			}
			got := data(h.must("GET", "/api/gateway/payment-jobs/"+jobRef, "", 200))
			if pay := got["payments"].([]any)[0].(map[string]any); pay["status"] != "PartiallyRefunded" {
				t.Fatalf("payment after the refund: %v", pay)
			}
			if p := b.Get(page); !strings.Contains(p.Body, "Refunded 5.00 GBP.") || !strings.Contains(p.Body, "PartiallyRefunded") {
				t.Fatalf("job page after the refund: %s", p.Body)
			}
			if a := officetest.AuditActions(t, h.App); !slices.Contains(a, "gateway.refund "+payRef) {
				t.Fatalf("audit: %q", a)
			}
			// Too much is refused beside the actions, and changes nothing.
			if p := b.Post(page, page+"/payments/"+payRef+"/refund", url.Values{"amount": {"6.00"}, "confirm": {"yes"}}); p.Status != http.StatusUnprocessableEntity ||
				!strings.Contains(p.Body, gateway.MsgRefundExceeds.Message) {
				t.Fatalf("refund too much: %d %s", p.Status, p.Body)
			}
			ob := officetest.OtherTenant(t, h.App)
			if p := ob.Get(page); p.Status != http.StatusNotFound {
				t.Fatalf("another tenant's job: %d", p.Status)
			}
			if p := ob.Post("/office", page+"/payments/"+payRef+"/refund", url.Values{"amount": {"1.00"}, "confirm": {"yes"}}); p.Status != http.StatusNotFound {
				t.Fatalf("another tenant refunds the job: %d", p.Status)
			}
			if p := ob.Get("/office/payments?q=" + jobRef); strings.Contains(p.Body, jobRef+"</code></a>") {
				t.Fatalf("another tenant's list shows the job")
			}
		})
	}
}

// TestOfficeCaptureAndCancel: with auto capture off (set on the settings
// page by an owner), a MOTO payment is authorised; an agent captures part of
// it and then cancels another job's payment, each after its confirmation.
func TestOfficeCaptureAndCancel(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			b := officetest.Owner(t, h.App)
			p := b.Post("/office/gateway/settings", "/office/gateway/settings", url.Values{"feeBasisPoints": {"0"}, "feeFixedMinor": {"0"},
				"paymentMethods": {"Card", "CreditCard"}, "signatureScheme": {"hash"}})
			if p.Status != http.StatusSeeOther {
				t.Fatalf("settings: %d %s", p.Status, p.Body)
			}
			agent := b.AddUser("agent", "ann.agent", "agent password 1")
			jobRef, payRef := h.motoJob("ORD-1", "10.00")
			page := "/office/gateway/jobs/" + jobRef
			if p := agent.Get(page); !strings.Contains(p.Body, "Authorised") || !strings.Contains(p.Body, `value="10.00"`) {
				t.Fatalf("authorised job: %s", p.Body)
			}
			q, p := agent.Confirm(page, page+"/payments/"+payRef+"/capture", url.Values{"amount": {"4.00"}, "final": {"true"}})
			if !strings.Contains(q, "Capture 4.00 GBP") || p.Status != http.StatusSeeOther {
				t.Fatalf("capture: %q %d %s", q, p.Status, p.Body)
			}
			pay := data(h.must("GET", "/api/gateway/payment-jobs/"+jobRef+"/payments/"+payRef, "", 200))
			if pay["paymentStatus"] != "Paid" && pay["status"] != "Paid" {
				t.Fatalf("payment after the capture: %v", pay)
			}
			job2, pay2 := h.motoJob("ORD-2", "3.00")
			page2 := "/office/gateway/jobs/" + job2
			if _, p := agent.Confirm(page2, page2+"/payments/"+pay2+"/cancel", url.Values{}); p.Status != http.StatusSeeOther {
				t.Fatalf("cancel: %d %s", p.Status, p.Body)
			}
			if p := agent.Get(page2); !strings.Contains(p.Body, "Payment "+pay2+" cancelled.") {
				t.Fatalf("job after the cancel: %s", p.Body)
			}
			a := officetest.AuditActions(t, h.App)
			for _, want := range []string{"gateway.settings ", "gateway.capture " + payRef, "gateway.cancel_payment " + pay2} {
				if !slices.Contains(a, want) {
					t.Fatalf("audit %q lacks %q", a, want)
				}
			}
		})
	}
}

// TestOfficeSettingsOwnerOnly: an agent sees the card settings read-only and
// a post of the form is refused (403) and changes nothing; an owner's post
// changes them as PUT /platform/gateway/settings would.
func TestOfficeSettingsOwnerOnly(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			b := officetest.Owner(t, h.App)
			agent := b.AddUser("agent", "ann.agent", "agent password 1")
			if p := agent.Get("/office/gateway/settings"); p.Status != 200 || !strings.Contains(p.Body, `id="settings-read-only"`) ||
				strings.Contains(p.Body, `id="save-settings"`) || !strings.Contains(p.Body, "<fieldset disabled>") {
				t.Fatalf("settings for an agent: %d %s", p.Status, p.Body)
			}
			form := url.Values{"feeBasisPoints": {"250"}, "feeFixedMinor": {"0"}, "returnUrlSuccess": {"https://shop.example/ok"},
				"paymentMethods": {"Card"}, "signatureScheme": {"hmac-bodyless"}}
			if p := agent.Post("/office/gateway/settings", "/office/gateway/settings", form); p.Status != http.StatusForbidden {
				t.Fatalf("agent saves settings: %d", p.Status)
			}
			st, _ := h.app.Gateway.Service.GetSettings(context.Background(), h.Tenant.TenantID)
			if !st.AutoCapture || st.FeeBasisPoints != 0 {
				t.Fatalf("settings after the agent's post: %+v", st)
			}
			form.Set("autoCapture", "on")
			form.Set("webhookUrl", "ftp://nope")
			if p := b.Post("/office/gateway/settings", "/office/gateway/settings", form); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="webhookUrl-error"`) {
				t.Fatalf("bad webhook URL: %d %s", p.Status, p.Body)
			}
			form.Set("webhookUrl", "")
			if p := b.Post("/office/gateway/settings", "/office/gateway/settings", form); p.Status != http.StatusSeeOther {
				t.Fatalf("owner saves settings: %d %s", p.Status, p.Body)
			}
			st, _ = h.app.Gateway.Service.GetSettings(context.Background(), h.Tenant.TenantID)
			if !st.AutoCapture || st.FeeBasisPoints != 250 || st.ReturnURLSuccess != "https://shop.example/ok" || *st.AutoCaptureRecurring ||
				strings.Join(*st.PaymentMethodsEnabled, ",") != "Card" || st.RequireHMAC || !st.RequireHMACBodylessWrites {
				t.Fatalf("settings after the owner's post: %+v", st)
			}
			p := b.Get("/office/gateway/settings")
			for _, want := range []string{`id="autoCapture" name="autoCapture" checked`, `id="autoCaptureRecurring" name="autoCaptureRecurring" aria-describedby`,
				`id="method-Card" name="paymentMethods" value="Card" checked`, `id="method-CreditCard" name="paymentMethods" value="CreditCard" aria-describedby`,
				`id="scheme-hmac-bodyless" name="signatureScheme" value="hmac-bodyless" checked`, `id="hash-scheme"`} {
				if !strings.Contains(p.Body, want) {
					t.Errorf("settings page lacks %s", want)
				}
			}
			// The recurring switch, the methods and the signatures each change;
			// a post without a signature choice is refused beside it.
			form.Set("autoCaptureRecurring", "on")
			form["paymentMethods"] = nil
			form.Set("signatureScheme", "hmac")
			form.Set("externalMpiProvider", "on")
			if p := b.Post("/office/gateway/settings", "/office/gateway/settings", form); p.Status != http.StatusSeeOther {
				t.Fatalf("owner saves settings again: %d %s", p.Status, p.Body)
			}
			if p := b.Get("/office/gateway/settings"); !strings.Contains(p.Body, `id="externalMpiProvider" name="externalMpiProvider" checked`) {
				t.Errorf("settings page does not show the External MPI flag on")
			}
			st, _ = h.app.Gateway.Service.GetSettings(context.Background(), h.Tenant.TenantID)
			if !*st.AutoCaptureRecurring || len(*st.PaymentMethodsEnabled) != 0 || !st.RequireHMAC || !*st.ExternalMPIProvider {
				t.Fatalf("settings after the second post: %+v", st)
			}
			form.Del("signatureScheme")
			if p := b.Post("/office/gateway/settings", "/office/gateway/settings", form); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="signatureScheme-error"`) {
				t.Fatalf("no signature choice: %d %s", p.Status, p.Body)
			}
			if audit := h.count(`SELECT COUNT(*) FROM office_audit WHERE action = 'gateway.settings' AND detail LIKE '%autoCaptureRecurring on, refuseDirectCardPayments off, paymentMethods none%'`); audit != 1 {
				t.Errorf("audit rows of the second post = %d, want 1", audit)
			}
		})
	}
}

var deliveryRE = regexp.MustCompile(`/office/webhooks/deliveries/([a-z]+_[0-9a-z]+)/resend`)

// TestOfficeResendNotification: a payment's notification to the webhook URL
// is on its job's page with its attempt; an owner resends it and a second
// attempt is made (manual), both on the page.
func TestOfficeResendNotification(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				b, _ := io.ReadAll(r.Body) // the guide's acknowledgement: 200 echoing the references
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(b)
			}))
			defer srv.Close()
			h.settings(gateway.GatewaySettings{AutoCapture: true, WebhookURL: srv.URL + "/hook"})
			jobRef, _ := h.motoJob("ORD-9", "2.00")
			h.RunDue()
			b := officetest.Owner(t, h.App)
			page := "/office/gateway/jobs/" + jobRef
			p := b.Get(page)
			m := deliveryRE.FindStringSubmatch(p.Body)
			if m == nil || !strings.Contains(p.Body, "succeeded") || hits.Load() != 1 {
				t.Fatalf("notification on the job page (%d hits): %s", hits.Load(), p.Body)
			}
			p = b.Post(page, m[0], url.Values{"back": {page}})
			if p.Status != http.StatusSeeOther || p.Location != page {
				t.Fatalf("resend: %d %q %s", p.Status, p.Location, p.Body)
			}
			h.RunDue()
			if hits.Load() != 2 {
				t.Fatalf("hits after the resend: %d", hits.Load())
			}
			if p := b.Get("/office/webhooks/deliveries/" + m[1]); !strings.Contains(p.Body, "resend") || !strings.Contains(p.Body, `id="delivery-attempts">2<`) {
				t.Fatalf("delivery page: %s", p.Body)
			}
			if a := officetest.AuditActions(t, h.App); !slices.Contains(a, "webhooks.resend "+m[1]) {
				t.Fatalf("audit: %q", a)
			}
		})
	}
}

// TestOfficeHome: the home page adds up today's card payments (one paid, one
// declined: 50 %), shows the merchant's pending balance, and the 30 days'
// table (oldest day 29 days ago) with the chart's data beside it; yesterday's
// payment is in yesterday's row, not today's figures.
func TestOfficeHome(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			h.motoJob("ORD-Y", "3.00")
			h.Clock.Advance(24 * time.Hour)
			h.motoJob("ORD-1", "10.00")
			declined := strings.Replace(moto("ORD-2", "7.00"), "4000000000000010", "4000000000000044", 1)
			if r := h.call("POST", "/api/gateway/payment-jobs", declined); r.Status >= 500 {
				t.Fatalf("declined job: %d %s", r.Status, r.Body)
			}
			b := officetest.Owner(t, h.App)
			p := b.Get("/office")
			for _, want := range []string{`id="today-volume">10.00 GBP<`, `id="success-rate">50.0 % (1 of 2)<`, "Card payments", "13.00 GBP",
				`data-label="Day">2026-11-22</td><td data-label="Volume">10.00 GBP</td><td data-label="Succeeded">1</td><td data-label="Declined">1</td>`,
				`data-label="Day">2026-11-21</td><td data-label="Volume">3.00 GBP</td>`, `data-label="Day">2026-10-24</td>`,
				`data-chart="{&#34;x&#34;:[`, `src="/web/assets/kit-chart.js"`} {
				if !strings.Contains(p.Body, want) {
					t.Fatalf("home lacks %s:\n%s", want, p.Body)
				}
			}
			if strings.Contains(p.Body, "2026-10-23") {
				t.Fatalf("home shows 31 days")
			}
		})
	}
}
