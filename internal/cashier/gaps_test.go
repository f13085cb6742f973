package cashier_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/cashier"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestCardRefundThroughCardCore: a card deposit's refund is the payments
// core's card refund, as the card gateway's are: the customer's balance
// goes back to the card scheme's clearing account in an entry card_refund
// (not a ledger transfer of the cashier's own), and the deposit names the
// acquirer's refund transaction; a refund the balance no longer holds is
// refused and moves nothing.
func TestCardRefundThroughCardCore(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 21)
			v.settings("")
			v.customer("c-1", "EUR", "")
			d := v.deposit(`{"customerId":"c-1","psp":"card","amount":"25.00","card":` + cardPlain + `}`)
			// The balance with the clearing account's unfolded postings (it
			// is hot: ledger/fold.go).
			clearing := `SELECT a.posted + COALESCE((SELECT SUM(u.amount) FROM ledger_unfolded u WHERE u.account_id = a.id), 0)
FROM ledger_accounts a WHERE a.tenant_id = $1 AND a.owner = 'card-scheme' AND a.purpose = 'clearing' AND a.currency = 'EUR'`
			if got := v.count(clearing, v.Tenant.TenantID); got != -2500 {
				t.Fatalf("card-scheme clearing after the deposit: %d", got)
			}
			var ref cashier.Deposit
			v.want(v.agentCall("POST", "/cashier/v1/agent/deposits/"+d.ID+"/refund", ""), 200, &ref)
			if ref.Status != cashier.DepositRefunded || ref.RefundReference == nil || !regexp.MustCompile(`^01R[0-9A-F]{8}$`).MatchString(*ref.RefundReference) {
				t.Fatalf("refund: %+v", ref)
			}
			if got := v.getDeposit(d.ID); got.RefundReference == nil || *got.RefundReference != *ref.RefundReference {
				t.Fatalf("the refund's reference is not kept: %+v", got)
			}
			kinds := `SELECT COUNT(*) FROM ledger_entries WHERE tenant_id = $1 AND reference = $2 AND kind = $3`
			if n := v.count(kinds, v.Tenant.TenantID, d.ID, "card_refund"); n != 1 {
				t.Fatalf("card_refund entries: %d", n)
			}
			if n := v.count(kinds, v.Tenant.TenantID, d.ID, cashier.KindRefund); n != 0 {
				t.Fatalf("cashier_refund entries for a card deposit: %d", n)
			}
			if got := v.count(clearing, v.Tenant.TenantID); got != 0 {
				t.Fatalf("card-scheme clearing after the refund: %d", got)
			}
			if b := v.balance("c-1"); b.Available != "0.00" || b.Deposited != "0.00" {
				t.Fatalf("balance after the refund: %+v", b)
			}
			// Withdrawn first: the refund is refused and nothing moves.
			d2 := v.deposit(`{"customerId":"c-1","psp":"card","amount":"30.00","card":` + cardPlain + `}`)
			v.payout(`{"customerId":"c-1","psp":"sim","amount":"20.00","destination":{"account":"SIM-ANN-1"}}`)
			if r := v.agentCall("POST", "/cashier/v1/agent/deposits/"+d2.ID+"/refund", ""); r.Status != 422 || !strings.Contains(string(r.Body), "was withdrawn") {
				t.Fatalf("refund of a withdrawn deposit: %d %s", r.Status, r.Body)
			}
			if got := v.getDeposit(d2.ID); got.Status != cashier.DepositCaptured || v.count(kinds, v.Tenant.TenantID, d2.ID, "card_refund") != 0 {
				t.Fatalf("after the refused refund: %+v", got)
			}
		})
	}
}

// TestBankInstructionsReadAgain: a bank-transfer deposit's instructions
// are in every answer about it (GET, the list), as the customer was first
// told even after the tenant's bank account changed, and the hosted
// cashier shows them again when its page is opened again; once credited,
// the page says the order is paid.
func TestBankInstructionsReadAgain(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 22)
			v.settings("")
			v.customer("c-1", "EUR", "")
			d := v.deposit(`{"customerId":"c-1","psp":"bank","amount":"250.00"}`)
			v.settings(`{"bankAccount":{"name":"Acme Two","iban":"GB82WEST12345698765432","bic":"WESTGB2L"}}`)
			got := v.getDeposit(d.ID)
			if got.Instructions == nil || *got.Instructions != *d.Instructions || got.Instructions.IBAN != "DE89370400440532013000" {
				t.Fatalf("GET: %+v, created with %+v", got.Instructions, d.Instructions)
			}
			var list cashier.DepositList
			v.want(v.call("GET", "/cashier/v1/deposits?psp=bank", ""), 200, &list)
			if len(list.Data) != 1 || list.Data[0].Instructions == nil || list.Data[0].Instructions.Reference != d.Instructions.Reference {
				t.Fatalf("list: %+v", list)
			}

			s := v.session(`{"customerId":"c-1","intent":"deposit","orderReference":"o-9"}`)
			path := strings.TrimPrefix(s.URL, v.Server.URL)
			_, _, first := v.form(path+"/deposit", url.Values{"psp": {"bank"}, "amount": {"75.00"}})
			m := regexp.MustCompile(`id="reference">(CGC[0-9]+)<`).FindStringSubmatch(first)
			if m == nil {
				t.Fatalf("instructions on the first answer: %s", first)
			}
			again := string(v.Do("GET", path, nil, nil).Body)
			if !strings.Contains(again, `id="reference">`+m[1]+`<`) || !strings.Contains(again, "GB82WEST12345698765432") || strings.Contains(again, `id="bank-submit"`) {
				t.Fatalf("the page opened again: %s", again)
			}
			v.want(v.agentCall("POST", "/cashier/v1/agent/bank-transfers", `{"reference":"`+m[1]+`","amount":"75.00"}`), 200, nil)
			if paid := string(v.Do("GET", path, nil, nil).Body); !strings.Contains(paid, "deposit of 75.00 EUR was accepted") {
				t.Fatalf("after the credit: %s", paid)
			}
		})
	}
}

// TestUnavailablePSPDepositRetried: a deposit whose PSP cannot be reached
// (the simulated PSP, an amount ending in 42: unavailable twice) is not
// failed: it stays created and is submitted again by a job with backoff,
// the PSP books one operation, and it is captured; one whose PSP never
// answers (ending in 99) fails after DepositAttempts calls, with no money
// moved; a card deposit, whose card is not kept, fails at once.
func TestUnavailablePSPDepositRetried(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 23)
			v.settings("")
			v.customer("c-1", "EUR", "")
			d := v.deposit(`{"customerId":"c-1","psp":"sim","amount":"10.42"}`)
			if d.Status != cashier.DepositCreated || d.Attempts != 1 {
				t.Fatalf("after an unavailable PSP: %+v", d)
			}
			v.RunDue()
			if got := v.getDeposit(d.ID); got.Status != cashier.DepositCreated || got.Attempts != 1 {
				t.Fatalf("before the retry is due: %+v", got)
			}
			v.later(cashier.DepositRetryDelay)
			if got := v.getDeposit(d.ID); got.Status != cashier.DepositCreated || got.Attempts != 2 {
				t.Fatalf("after the second call: %+v", got)
			}
			v.later(20 * time.Second)
			if got := v.getDeposit(d.ID); got.Status != cashier.DepositPending || got.Attempts != 3 || got.PSPReference == nil {
				t.Fatalf("after the third call: %+v", got)
			}
			v.later(cashier.SimDelay + 10*time.Second)
			if got := v.getDeposit(d.ID); got.Status != cashier.DepositCaptured {
				t.Fatalf("after the notifications: %+v", got)
			}
			if n := v.count(`SELECT COUNT(*) FROM cashier_sim_ops WHERE merchant_ref = $1`, d.ID); n != 1 {
				t.Fatalf("the PSP booked %d operations", n)
			}
			if b := v.balance("c-1"); b.Available != "10.42" {
				t.Fatalf("balance: %+v", b)
			}

			never := v.deposit(`{"customerId":"c-1","psp":"sim","amount":"5.99"}`)
			for _, wait := range []time.Duration{10, 10, 20, 40, 80} {
				v.later(wait * time.Second)
			}
			got := v.getDeposit(never.ID)
			if got.Status != cashier.DepositFailed || got.Attempts != cashier.DepositAttempts || got.Reason == nil || *got.Reason != "psp_unavailable" {
				t.Fatalf("a PSP that never answers: %+v", got)
			}
			if b := v.balance("c-1"); b.Available != "10.42" || b.PendingDeposits != "0.00" {
				t.Fatalf("balance after the failed deposit: %+v", b)
			}
			v.later(time.Hour)
			if got := v.getDeposit(never.ID); got.Attempts != cashier.DepositAttempts {
				t.Fatalf("asked again after failing: %+v", got)
			}
			v.RunDue()
			if v.hooks.count("cashier.deposit.failed") != 1 || v.hooks.count("cashier.deposit.captured") != 1 {
				t.Fatalf("webhooks: %v", v.hooks.got)
			}
		})
	}
}
