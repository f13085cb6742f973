package cashier_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/cashier"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// funded syncs customer c-1 (EUR) and deposits into its balance: 100.00
// from alice's wallet (which funds the tenant's corporate wallet, so wallet
// payouts can be paid) and an agent's offline deposit of 400.00.
func (v *env) funded() wallet.WalletUser {
	v.t.Helper()
	v.customer("c-1", "EUR", "")
	alice := v.walletUser("alice", "100.00", "EUR")
	v.deposit(`{"customerId":"c-1","psp":"wallet","amount":"100.00","wallet":{"username":"alice","password":"alice-password","pin":"1234"}}`)
	v.want(v.agentCall("POST", "/cashier/v1/agent/deposits/offline", `{"customerId":"c-1","amount":"400.00"}`), 201, nil)
	return alice
}

func (v *env) approve(id string) cashier.Payout {
	v.t.Helper()
	var p cashier.Payout
	v.want(v.agentCall("POST", "/cashier/v1/agent/payouts/"+id+"/approve", ""), 200, &p)
	return p
}

// TestPayoutsThroughEachPSP: a free payout requested, approved by an agent
// and paid through each PSP that pays out — the wallet (paid at once from
// the tenant's corporate wallet), the bank (exported as pain.001, then
// marked paid) and the simulated PSP (paid by its notifications) — with
// the customer's balance, payouts in flight and paid out at each step.
func TestPayoutsThroughEachPSP(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 7)
			v.settings("")
			alice := v.funded()
			raw := v.call("POST", "/cashier/v1/payouts", `{"customerId":"c-1","psp":"wallet","amount":"30.00","reference":"w-1","destination":{"account":"`+alice.AccountNumber+`"}}`)
			var w cashier.Payout
			v.want(raw, 201, &w)
			if e.Name == "sqlite" {
				apptest.Golden(t, *update, "payout_requested.json", v.normalize(raw.Body))
			}
			if b := v.balance("c-1"); b.Available != "470.00" || b.PendingPayouts != "30.00" {
				t.Fatalf("requested: %+v", b)
			}
			bank := v.payout(`{"customerId":"c-1","psp":"bank","amount":"40.00","destination":{"iban":"FR14 2004 1010 0505 0001 3M02 606","name":"Ann Smith"}}`)
			sim := v.payout(`{"customerId":"c-1","psp":"sim","amount":"50.00","destination":{"account":"SIM-ANN-1"}}`)
			for _, id := range []string{w.ID, bank.ID, sim.ID} {
				if p := v.approve(id); p.Status != cashier.PayoutApproved || *p.DecidedBy != v.Tenant.AdminUsername {
					t.Fatalf("approved: %+v", p)
				}
			}
			v.RunDue()
			if p := v.getPayout(w.ID); p.Status != cashier.PayoutPaid || p.Attempts != 1 {
				t.Fatalf("wallet payout: %+v", p)
			}
			if bal, _ := v.App.App.Wallet.Service.BalanceIn(context.Background(), alice.ID, "EUR"); bal.Available != "30.00" {
				t.Fatalf("alice's wallet: %+v", bal)
			}
			if p := v.getPayout(bank.ID); p.Status != cashier.PayoutProcessing {
				t.Fatalf("bank payout before the export: %+v", p)
			}
			x := v.agentCall("POST", "/cashier/v1/agent/payouts/export", "")
			batch := x.Header.Get("Cashier-Batch-Id")
			if x.Status != 200 || x.Header.Get("Content-Type") != "application/xml" || batch == "" || !strings.Contains(string(x.Body), "<EndToEndId>"+strings.Replace(bank.ID, "_", ".", 1)+"</EndToEndId>") {
				t.Fatalf("export: %d %v %s", x.Status, x.Header, x.Body)
			}
			if e.Name == "sqlite" {
				// The batch's digits are drawn after jobs that ran at once: in no fixed order.
				apptest.Golden(t, *update, "payouts_pain001.xml", regexp.MustCompile(`CGB\d{16}`).ReplaceAll(x.Body, []byte("CGB#")))
			}
			if r := v.agentCall("POST", "/cashier/v1/agent/payouts/export", ""); r.Status != 204 {
				t.Fatalf("nothing more to export: %d %s", r.Status, r.Body)
			}
			var paid cashier.BankBatchResult
			v.want(v.agentCall("POST", "/cashier/v1/agent/payouts/batches/"+batch+"/paid", ""), 200, &paid)
			if paid.Count != 1 || v.getPayout(bank.ID).Status != cashier.PayoutPaid {
				t.Fatalf("bank batch paid: %+v", paid)
			}
			v.later(cashier.SimDelay + 10*time.Second)
			if p := v.getPayout(sim.ID); p.Status != cashier.PayoutPaid || p.PSPReference == nil {
				t.Fatalf("sim payout: %+v", p)
			}
			if b := v.balance("c-1"); b.Available != "380.00" || b.PendingPayouts != "0.00" || b.PaidOut != "120.00" || b.Deposited != "500.00" {
				t.Fatalf("after the payouts: %+v", b)
			}
			v.RunDue()
			if n := v.hooks.count("cashier.payout.paid"); n != 3 {
				t.Fatalf("payout.paid webhooks: %d (%v)", n, v.hooks.got)
			}
		})
	}
}

// TestPayoutRules: a rejected payout gives its money back; a payout past
// the balance, a payout without payouts enabled, a fixed payout without
// its session and a payout PSP not enabled are refused; a bank return
// gives the money back.
func TestPayoutRules(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 8)
			v.settings("")
			v.funded()
			p := v.payout(`{"customerId":"c-1","psp":"sim","amount":"200.00","destination":{"account":"SIM-ANN-1"}}`)
			if r := v.agentCall("POST", "/cashier/v1/agent/payouts/"+p.ID+"/reject", `{}`); r.Status != 400 {
				t.Fatalf("a rejection without reason: %d %s", r.Status, r.Body)
			}
			var rej cashier.Payout
			v.want(v.agentCall("POST", "/cashier/v1/agent/payouts/"+p.ID+"/reject", `{"reason":"bonus terms not met"}`), 200, &rej)
			if rej.Status != cashier.PayoutRejected || *rej.Reason != "bonus terms not met" {
				t.Fatalf("rejected: %+v", rej)
			}
			if r := v.agentCall("POST", "/cashier/v1/agent/payouts/"+p.ID+"/approve", ""); r.Status != 409 {
				t.Fatalf("approving a rejected payout: %d %s", r.Status, r.Body)
			}
			if b := v.balance("c-1"); b.Available != "500.00" || b.PendingPayouts != "0.00" {
				t.Fatalf("after the rejection: %+v", b)
			}
			if r := v.call("POST", "/cashier/v1/payouts", `{"customerId":"c-1","psp":"sim","amount":"500.01","destination":{"account":"SIM-ANN-1"}}`); r.Status != 422 || !strings.Contains(string(r.Body), "at most 500.00 EUR") {
				t.Fatalf("past the balance: %d %s", r.Status, r.Body)
			}
			if r := v.call("POST", "/cashier/v1/payouts", `{"customerId":"c-1","psp":"card","amount":"5.00","destination":{}}`); r.Status != 400 {
				t.Fatalf("a card payout: %d %s", r.Status, r.Body)
			}
			if r := v.call("POST", "/cashier/v1/payouts", `{"customerId":"c-1","psp":"bank","amount":"5.00","destination":{"iban":"DE00 0000","name":"x"}}`); r.Status != 400 {
				t.Fatalf("a bad IBAN: %d %s", r.Status, r.Body)
			}
			bank := v.payout(`{"customerId":"c-1","psp":"bank","amount":"60.00","destination":{"iban":"DE89370400440532013000","name":"Ann Smith"}}`)
			v.approve(bank.ID)
			v.RunDue()
			v.want(v.agentCall("POST", "/cashier/v1/agent/payouts/export", ""), 200, nil)
			var ret cashier.Payout
			v.want(v.agentCall("POST", "/cashier/v1/agent/payouts/"+bank.ID+"/return", `{"reason":"AC04 account closed"}`), 200, &ret)
			if ret.Status != cashier.PayoutReturned || v.balance("c-1").Available != "500.00" {
				t.Fatalf("returned: %+v %+v", ret, v.balance("c-1"))
			}

			v.settings(`{"payoutAmount":"fixed"}`)
			if r := v.call("POST", "/cashier/v1/payouts", `{"customerId":"c-1","psp":"sim","amount":"5.00","destination":{"account":"SIM-ANN-1"}}`); r.Status != 400 || !strings.Contains(string(r.Body), "fixed") {
				t.Fatalf("a fixed payout without its session: %d %s", r.Status, r.Body)
			}
			var s cashier.Session
			v.want(v.call("POST", "/cashier/v1/sessions", `{"customerId":"c-1","intent":"payout","amount":"25.00","orderReference":"w-9"}`), 201, &s)
			if fp := v.payout(`{"customerId":"c-1","psp":"sim","sessionId":"` + s.ID + `","destination":{"account":"SIM-ANN-1"}}`); fp.Amount != "25.00" {
				t.Fatalf("fixed payout: %+v", fp)
			}
			v.settings(`{"payouts":false}`)
			if r := v.call("POST", "/cashier/v1/payouts", `{"customerId":"c-1","psp":"sim","amount":"5.00","destination":{"account":"SIM-ANN-1"}}`); r.Status != 403 {
				t.Fatalf("payouts disabled: %d %s", r.Status, r.Body)
			}
			v.settings(`{"payoutManagement":"backoffice"}`)
			q := v.payout(`{"customerId":"c-1","psp":"sim","amount":"5.00","destination":{"account":"SIM-ANN-1"}}`)
			if r := v.agentCall("POST", "/cashier/v1/agent/payouts/"+q.ID+"/approve", ""); r.Status != 403 {
				t.Fatalf("Agent API approval when the back office manages payouts: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestFailingPSPRetried: the simulated PSP's API is unavailable the first
// two times a payout of an amount ending in 42 is sent: the send job tries
// again with backoff, the PSP books one operation, and the payout is paid
// once.
func TestFailingPSPRetried(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 9)
			v.settings("")
			v.funded()
			p := v.payout(`{"customerId":"c-1","psp":"sim","amount":"10.42","destination":{"account":"SIM-ANN-1"}}`)
			v.approve(p.ID)
			v.RunDue()
			if got := v.getPayout(p.ID); got.Status != cashier.PayoutProcessing || got.Attempts != 1 || got.PSPReference != nil {
				t.Fatalf("after a failed call: %+v", got)
			}
			v.later(10 * time.Second)
			v.later(20 * time.Second)
			v.later(cashier.SimDelay + 10*time.Second)
			got := v.getPayout(p.ID)
			if got.Status != cashier.PayoutPaid || got.Attempts != 3 {
				t.Fatalf("after the retries: %+v", got)
			}
			var ops int
			if err := v.App.App.DB.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM cashier_sim_ops WHERE merchant_ref = $1`, p.ID).Scan(&ops); err != nil || ops != 1 {
				t.Fatalf("the PSP booked %d operations (%v)", ops, err)
			}
			if b := v.balance("c-1"); b.PaidOut != "10.42" || b.Available != "489.58" {
				t.Fatalf("balance: %+v", b)
			}
			declined := v.payout(`{"customerId":"c-1","psp":"sim","amount":"7.13","destination":{"account":"SIM-ANN-1"}}`)
			v.approve(declined.ID)
			v.RunDue()
			v.later(cashier.SimDelay + 10*time.Second)
			if got := v.getPayout(declined.ID); got.Status != cashier.PayoutFailed || v.balance("c-1").Available != "489.58" {
				t.Fatalf("a payout the PSP fails: %+v", got)
			}
		})
	}
}

// TestCRMBalanceAuthority: with the CRM as balance authority its signed
// balance check says what a customer may withdraw, less the payouts in
// flight; what cashgate's balance does not cover comes from the Platform's
// funds, and goes back there when the payout is rejected; a check that does
// not answer refuses the payout.
func TestCRMBalanceAuthority(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 10)
			if r := v.call("PUT", "/cashier/v1/settings", `{"balanceAuthority":"crm"}`); r.Status != 400 {
				t.Fatalf("crm authority without a check URL: %d %s", r.Status, r.Body)
			}
			v.settings(`{"balanceAuthority":"crm","balanceCheck":{"url":"` + v.crm.srv.URL + `/balance","timeoutMs":300}}`)
			v.customer("c-1", "EUR", "")
			v.want(v.agentCall("POST", "/cashier/v1/agent/deposits/offline", `{"customerId":"c-1","amount":"20.00"}`), 201, nil)
			v.crm.set(func(c *crmSite) { c.withdrawable = "100.00" })
			p := v.payout(`{"customerId":"c-1","psp":"sim","amount":"60.00","destination":{"account":"SIM-ANN-1"}}`)
			if p.FromBalance != "20.00" || p.FromPlatform != "40.00" {
				t.Fatalf("split: %+v", p)
			}
			if r := v.call("POST", "/cashier/v1/payouts", `{"customerId":"c-1","psp":"sim","amount":"50.00","destination":{"account":"SIM-ANN-1"}}`); r.Status != 422 || !strings.Contains(string(r.Body), "60.00 EUR are in payouts under way") {
				t.Fatalf("past what the CRM allows: %d %s", r.Status, r.Body)
			}
			v.want(v.agentCall("POST", "/cashier/v1/agent/payouts/"+p.ID+"/reject", `{"reason":"KYC"}`), 200, nil)
			if b := v.balance("c-1"); b.Available != "20.00" {
				t.Fatalf("after the rejection: %+v", b)
			}
			v.crm.set(func(c *crmSite) { c.delay = time.Second })
			if r := v.call("POST", "/cashier/v1/payouts", `{"customerId":"c-1","psp":"sim","amount":"5.00","destination":{"account":"SIM-ANN-1"}}`); r.Status != 503 {
				t.Fatalf("the balance check timed out: %d %s", r.Status, r.Body)
			}
		})
	}
}
