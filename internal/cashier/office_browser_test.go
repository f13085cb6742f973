package cashier_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cashgate/cashgate/internal/backoffice/officetest"
	"github.com/cashgate/cashgate/internal/browsertest"
	"github.com/cashgate/cashgate/internal/cashier"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestBrowserOfficeApprovePayout (issue 11's Chromium item): an agent
// signs in to the back office, opens Cashier, approves a requested payout
// from the queue after the confirmation page, and finds it approved by
// them; then the other cashier pages: a deposit captured in part, the MOTO
// form with a refused card (the number not shown again), the customer
// view. Every page is checked with axe-core (no serious or critical
// violations) and photographed at 1280 and 390 pixels wide into
// $CASHGATE_SCREENSHOTS (office-cashier-*.png).
func TestBrowserOfficeApprovePayout(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := browsertest.New(t, 120*time.Second)
			v := newEnv(t, e, 34)
			v.settings(`{"payoutManagement":"backoffice","depositManagement":"backoffice","authCapture":{"card":true}}`)
			v.funded()
			officetest.Owner(t, v.App).AddUser("agent", "ann.agent", "agent password 1")
			p := v.payout(`{"customerId":"c-1","psp":"sim","amount":"40.00","reference":"W-1001","destination":{"account":"SIM-ANN-1"}}`)
			v.Clock.Advance(time.Minute)
			v.payout(`{"customerId":"c-1","psp":"bank","amount":"25.00","destination":{"iban":"DE89370400440532013000","name":"Ann Smith"}}`)
			dep := v.deposit(`{"customerId":"c-1","psp":"card","amount":"60.00","card":` + cardPlain + `}`)
			shots := func(string) {}
			if e.Name == "sqlite" {
				shots = browsertest.Screenshotter(t, ctx, "office-cashier-")
			}
			css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
			step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
				t.Helper()
				if err := chromedp.Do(ctx, actions...); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
			page := func(name string) {
				t.Helper()
				browsertest.CheckAxe(t, ctx, name)
				shots(name)
			}
			text := func(sel string) string {
				t.Helper()
				s, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
				if err != nil {
					t.Fatalf("text of %s: %v", sel, err)
				}
				return s
			}
			base := v.Server.URL
			step("sign in", chromedp.Navigate(base+"/office/login"), chromedp.WaitVisible(css("#business")),
				chromedp.SendKeys(css("#business"), v.Tenant.BusinessCode), chromedp.SendKeys(css("#username"), "ann.agent"),
				chromedp.SendKeys(css("#password"), "agent password 1"), chromedp.Click(css("#login")), chromedp.WaitVisible(css("#today")))
			step("cashier", chromedp.Click(css(`nav a[href="/office/cashier"]`)), chromedp.WaitVisible(css("#payout-"+p.ID)))
			page("01-queue")
			step("approve", chromedp.Click(css("#approve-"+p.ID)), chromedp.WaitVisible(css("#question")))
			if q := text("#question"); !strings.HasPrefix(q, "Approve payout "+p.ID+" of 40.00 EUR to customer c-1") {
				t.Fatalf("confirmation: %q", q)
			}
			page("02-confirm-approval")
			step("confirm", chromedp.Click(css("#confirm-submit")), chromedp.WaitVisible(css("#flash")))
			if f := text("#flash"); f != "Payout "+p.ID+" of 40.00 EUR approved: it is being sent." {
				t.Fatalf("flash: %q", f)
			}
			if got := v.getPayout(p.ID); got.Status != cashier.PayoutApproved || *got.DecidedBy != "ann.agent" {
				t.Fatalf("payout: %+v", got)
			}
			page("03-queue-after")
			step("payout page", chromedp.Navigate(base+"/office/cashier/payouts/"+p.ID), chromedp.WaitVisible(css("#payout-facts")))
			if d := text("#payout-decided"); !strings.HasSuffix(d, "by ann.agent") {
				t.Fatalf("decided: %q", d)
			}
			page("04-payout")
			step("deposits", chromedp.Navigate(base+"/office/cashier/deposits"), chromedp.WaitVisible(css("#deposits")))
			page("05-deposits")
			step("deposit", chromedp.Click(css(`a[href="/office/cashier/deposits/`+dep.ID+`"]`)), chromedp.WaitVisible(css("#capture-amount")))
			page("06-deposit")
			step("capture", chromedp.SetValue(css("#capture-amount"), "45.00"), chromedp.Click(css("#capture-submit")), chromedp.WaitVisible(css("#question")),
				chromedp.Click(css("#confirm-submit")), chromedp.WaitVisible(css("#flash")))
			if s := text("#deposit-captured"); s != "45.00 EUR" {
				t.Fatalf("captured: %q", s)
			}
			page("07-deposit-captured")
			step("moto", chromedp.Navigate(base+"/office/cashier/moto"), chromedp.WaitVisible(css("#take-moto")))
			page("08-moto")
			step("refused card", chromedp.SendKeys(css("#customer"), "c-1"), chromedp.SendKeys(css("#amount"), "30.00"),
				chromedp.SendKeys(css("#cardNumber"), "4000000000000003"), chromedp.SendKeys(css("#expiryMonth"), "05"),
				chromedp.SendKeys(css("#expiryYear"), "30"), chromedp.SendKeys(css("#cvc"), "123"), chromedp.Click(css("#take-moto")),
				chromedp.WaitVisible(css("#cardNumber-error")))
			if n, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("cardNumber").value`)); err != nil || n != "" {
				t.Fatalf("the card number is shown again: %q %v", n, err)
			}
			page("09-moto-refused")
			step("customer", chromedp.Navigate(base+"/office/cashier/customers/c-1"), chromedp.WaitVisible(css("#balance")))
			page("10-customer")
			step("customers", chromedp.Navigate(base+"/office/cashier/customers"), chromedp.WaitVisible(css("#customers")))
			page("11-customers")
			step("payments", chromedp.Navigate(base+"/office/payments?kind=payout"), chromedp.WaitVisible(css("#payments")))
			if !strings.Contains(text("#payments"), p.ID) {
				t.Fatalf("payments list: %q", text("#payments"))
			}
			page("12-payments")
		})
	}
}
