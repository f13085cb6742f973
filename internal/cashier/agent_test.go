package cashier_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/cashier"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestAuthoriseAndCapture: with authorisation & capture on for cards, a
// deposit is authorised (the customer's pending deposits), an agent
// captures part of it (the rest released) and voids another; the APP key
// alone is not an agent; the back office owning deposits refuses the
// Agent API; an authorisation not captured in 7 days is voided.
func TestAuthoriseAndCapture(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 4)
			if r := v.call("PUT", "/cashier/v1/settings", `{"authCapture":{"wallet":true}}`); r.Status != 400 || !strings.Contains(string(r.Body), "does not support") {
				t.Fatalf("auth & capture on the wallet: %d %s", r.Status, r.Body)
			}
			v.settings(`{"authCapture":{"card":true}}`)
			v.customer("c-1", "GBP", "")
			a := v.deposit(`{"customerId":"c-1","psp":"card","currency":"GBP","amount":"50.00","card":` + cardPlain + `}`)
			if a.Status != cashier.DepositAuthorised {
				t.Fatalf("authorised: %+v", a)
			}
			if b := v.balance("c-1"); b.Available != "0.00" || b.PendingDeposits != "50.00" {
				t.Fatalf("pending: %+v", b)
			}
			if r := v.call("POST", "/cashier/v1/agent/deposits/"+a.ID+"/capture", ""); r.Status != 403 || !strings.Contains(string(r.Body), "back-office agent") {
				t.Fatalf("capture with the APP key alone: %d %s", r.Status, r.Body)
			}
			if r := v.Do("POST", "/cashier/v1/agent/deposits/"+a.ID+"/capture", nil, map[string]string{"Authorization": "Bearer " + v.agent}); r.Status != 401 ||
				string(r.Body) != `{"error":"Authorization field missing"}`+"\n" {
				t.Fatalf("capture with the agent's token alone (no api-key): %d %s", r.Status, r.Body)
			}
			var c cashier.Deposit
			v.want(v.agentCall("POST", "/cashier/v1/agent/deposits/"+a.ID+"/capture", `{"amount":"30.00"}`, "Idempotency-Key", "cap-1"), 200, &c)
			if c.Status != cashier.DepositCaptured || c.CapturedAmount != "30.00" {
				t.Fatalf("captured: %+v", c)
			}
			if r := v.agentCall("POST", "/cashier/v1/agent/deposits/"+a.ID+"/capture", `{"amount":"30.00"}`, "Idempotency-Key", "cap-1"); r.Status != 200 || r.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("replayed capture: %d %s", r.Status, r.Body)
			}
			if r := v.agentCall("POST", "/cashier/v1/agent/deposits/"+a.ID+"/capture", ""); r.Status != 409 {
				t.Fatalf("a second capture: %d %s", r.Status, r.Body)
			}
			if b := v.balance("c-1"); b.Available != "30.00" || b.PendingDeposits != "0.00" || b.Deposited != "30.00" {
				t.Fatalf("after the capture: %+v", b)
			}
			v.Clock.Advance(time.Second)
			b2 := v.deposit(`{"customerId":"c-1","psp":"card","amount":"20.00","card":` + cardPlain + `}`)
			var voided cashier.Deposit
			v.want(v.agentCall("POST", "/cashier/v1/agent/deposits/"+b2.ID+"/void", ""), 200, &voided)
			if voided.Status != cashier.DepositVoided {
				t.Fatalf("voided: %+v", voided)
			}
			old := v.deposit(`{"customerId":"c-1","psp":"card","amount":"5.00","card":` + cardPlain + `}`)
			v.later(7*24*time.Hour + time.Minute)
			v.login()
			if got := v.getDeposit(old.ID); got.Status != cashier.DepositVoided || *got.Reason != "expired" {
				t.Fatalf("an authorisation 7 days old: %+v", got)
			}
			var audit cashier.AuditList
			v.want(v.agentCall("GET", "/cashier/v1/agent/audit", ""), 200, &audit)
			if len(audit.Data) != 2 || audit.Data[0].Action != "deposit.void" || audit.Data[1].Agent != v.Tenant.AdminUsername {
				t.Fatalf("audit: %+v", audit)
			}
			v.settings(`{"authCapture":{"card":true},"depositManagement":"backoffice"}`)
			third := v.deposit(`{"customerId":"c-1","psp":"card","amount":"5.00","card":` + cardPlain + `}`)
			if r := v.agentCall("POST", "/cashier/v1/agent/deposits/"+third.ID+"/capture", ""); r.Status != 403 || !strings.Contains(string(r.Body), "back office") {
				t.Fatalf("capture through the Agent API when the back office manages deposits: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestAgentDeposits: MOTO deposits (an enrolled card goes through without
// 3-D Secure), offline deposits, both only with settings.moto and audited;
// a refund takes a deposit back from the customer's balance.
func TestAgentDeposits(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 5)
			v.settings(`{"moto":false}`)
			v.customer("c-1", "EUR", "")
			if r := v.agentCall("POST", "/cashier/v1/agent/deposits/moto", `{"customerId":"c-1","amount":"80.00","card":`+card3DS+`}`); r.Status != 403 {
				t.Fatalf("MOTO without settings.moto: %d %s", r.Status, r.Body)
			}
			v.settings(`{"moto":true}`)
			var m cashier.Deposit
			v.want(v.agentCall("POST", "/cashier/v1/agent/deposits/moto", `{"customerId":"c-1","amount":"80.00","card":`+card3DS+`}`), 201, &m)
			if m.Status != cashier.DepositCaptured || m.Channel != cashier.ChannelMOTO || *m.Agent != v.Tenant.AdminUsername || m.Action != nil {
				t.Fatalf("MOTO: %+v", m)
			}
			var off cashier.Deposit
			v.want(v.agentCall("POST", "/cashier/v1/agent/deposits/offline", `{"customerId":"c-1","amount":"20.00","note":"cash at the Leeds office"}`), 201, &off)
			if off.Status != cashier.DepositCaptured || off.PSP != cashier.PSPOffline || off.Channel != cashier.ChannelOffline {
				t.Fatalf("offline: %+v", off)
			}
			if r := v.call("POST", "/cashier/v1/deposits", `{"customerId":"c-1","psp":"offline","amount":"20.00"}`); r.Status != 400 {
				t.Fatalf("offline through the Payment API: %d %s", r.Status, r.Body)
			}
			if b := v.balance("c-1"); b.Available != "100.00" {
				t.Fatalf("balance: %+v", b)
			}
			var ref cashier.Deposit
			v.want(v.agentCall("POST", "/cashier/v1/agent/deposits/"+m.ID+"/refund", ""), 200, &ref)
			if ref.Status != cashier.DepositRefunded {
				t.Fatalf("refund: %+v", ref)
			}
			if b := v.balance("c-1"); b.Available != "20.00" || b.Deposited != "20.00" {
				t.Fatalf("after the refund: %+v", b)
			}
			v.RunDue()
			if v.hooks.count("cashier.deposit.captured") != 2 || v.hooks.count("cashier.deposit.refunded") != 1 {
				t.Fatalf("the CRM hears of the manual deposits: %v", v.hooks.got)
			}
		})
	}
}

// TestBankTransferDeposit: a bank-transfer deposit gets instructions with
// a reference and stays pending until the operator credits the transfer
// (Agent API); a transfer of another amount credits nothing.
func TestBankTransferDeposit(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 6)
			v.settings("")
			v.customer("c-1", "EUR", "")
			raw := v.call("POST", "/cashier/v1/deposits", `{"customerId":"c-1","psp":"bank","amount":"250.00"}`)
			var d cashier.Deposit
			v.want(raw, 201, &d)
			in := d.Instructions
			if d.Status != cashier.DepositPending || in == nil || in.IBAN != "DE89370400440532013000" || !strings.HasPrefix(in.Reference, "CGC") || in.Amount != "250.00" {
				t.Fatalf("bank deposit: %+v %+v", d, in)
			}
			if e.Name == "sqlite" {
				apptest.Golden(t, *update, "deposit_bank.json", v.normalize(raw.Body))
			}
			if r := v.agentCall("POST", "/cashier/v1/agent/bank-transfers", `{"reference":"`+in.Reference+`","amount":"25.00"}`); r.Status != 409 {
				t.Fatalf("another amount: %d %s", r.Status, r.Body)
			}
			if r := v.agentCall("POST", "/cashier/v1/agent/bank-transfers", `{"reference":"CGC000000000000","amount":"250.00"}`); r.Status != 400 {
				t.Fatalf("an unknown reference: %d %s", r.Status, r.Body)
			}
			var c cashier.Deposit
			v.want(v.agentCall("POST", "/cashier/v1/agent/bank-transfers", `{"reference":"`+strings.ToLower(in.Reference)+`","amount":"250.00","bankReference":"STMT-77"}`), 200, &c)
			if c.Status != cashier.DepositCaptured || *c.Payer != "STMT-77" {
				t.Fatalf("credited: %+v", c)
			}
			if r := v.agentCall("POST", "/cashier/v1/agent/bank-transfers", `{"reference":"`+in.Reference+`","amount":"250.00"}`); r.Status != 409 {
				t.Fatalf("credited twice: %d %s", r.Status, r.Body)
			}
			if b := v.balance("c-1"); b.Available != "250.00" {
				t.Fatalf("balance: %+v", b)
			}
			if r := v.call("POST", "/cashier/v1/deposits", `{"customerId":"c-1","psp":"bank","amount":"250.00","currency":"GBP"}`); r.Status != 400 {
				t.Fatalf("a GBP bank transfer for a EUR customer: %d %s", r.Status, r.Body)
			}
		})
	}
}
