package cashier_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/cashier"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// notify posts a notification of the simulated PSP, signed with the
// tenant's key unless forged.
func (v *env) notify(n map[string]any, forged bool) apptest.Reply {
	v.t.Helper()
	b, _ := json.Marshal(n)
	sig := v.App.App.Cashier.Service.SimSign(v.Tenant.TenantID, b)
	if forged {
		sig = cashier.Sign("not-the-key", v.Clock.Now(), b)
	}
	return v.Do("POST", "/cashier/v1/psp/sim/notifications", b, map[string]string{cashier.HeaderSimSignature: sig})
}

func (v *env) count(q string, args ...any) int {
	v.t.Helper()
	var n int
	if err := v.App.App.DB.Read().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		v.t.Fatal(err)
	}
	return n
}

// TestNotificationsChangeNothingTwice: forged, duplicated, reordered and
// stale notifications of the simulated PSP: a forged one is refused and
// changes nothing; the deposit is captured once, by the first valid final
// notification; the same notification again is a duplicate, an older one
// (reordered) and an illegal step are ignored; one ledger entry.
func TestNotificationsChangeNothingTwice(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 11)
			v.settings("")
			v.customer("c-1", "EUR", "")
			d := v.deposit(`{"customerId":"c-1","psp":"sim","amount":"30.00"}`)
			if d.Status != cashier.DepositPending || d.PSPReference == nil {
				t.Fatalf("sim deposit: %+v", d)
			}
			ref := *d.PSPReference
			n := func(id, status string, seq int) map[string]any {
				return map[string]any{"id": id, "merchant": v.Tenant.TenantID, "kind": "deposit", "reference": ref, "merchantReference": d.ID, "status": status, "seq": seq}
			}
			outcome := func(r apptest.Reply) string {
				var a cashier.NotificationAnswer
				v.want(r, 200, &a)
				return a.Outcome
			}
			if r := v.notify(n("ntf_x1", "captured", 2), true); r.Status != 401 {
				t.Fatalf("forged: %d %s", r.Status, r.Body)
			}
			if r := v.Do("POST", "/cashier/v1/psp/sim/notifications", []byte(`{"id":"ntf_x1"}`), nil); r.Status != 400 && r.Status != 401 {
				t.Fatalf("unsigned: %d %s", r.Status, r.Body)
			}
			other := n("ntf_x2", "captured", 2)
			other["reference"] = "sim_someone_else"
			if got := outcome(v.notify(other, false)); got != cashier.NotificationIgnored {
				t.Fatalf("another operation's reference: %s", got)
			}
			if v.getDeposit(d.ID).Status != cashier.DepositPending {
				t.Fatal("a forged or foreign notification changed the deposit")
			}
			final := "ntf_" + ref + "_2"
			if got := outcome(v.notify(n(final, "captured", 2), false)); got != cashier.NotificationApplied {
				t.Fatalf("final: %s", got)
			}
			if got := outcome(v.notify(n(final, "captured", 2), false)); got != cashier.NotificationDuplicate {
				t.Fatalf("the same notification again: %s", got)
			}
			if got := outcome(v.notify(n("ntf_"+ref+"_1", "pending", 1), false)); got != cashier.NotificationIgnored {
				t.Fatalf("an older one, reordered: %s", got)
			}
			if got := outcome(v.notify(n("ntf_x3", "declined", 3), false)); got != cashier.NotificationIgnored {
				t.Fatalf("captured → declined: %s", got)
			}
			v.RunDue() // the PSP's own notifications: duplicates of the above
			v.later(cashier.SimDelay + 10*time.Second)
			if got := v.getDeposit(d.ID); got.Status != cashier.DepositCaptured || v.balance("c-1").Available != "30.00" {
				t.Fatalf("deposit %+v, balance %+v", got, v.balance("c-1"))
			}
			if k := v.count(`SELECT COUNT(*) FROM ledger_entries WHERE reference = $1`, d.ID); k != 1 {
				t.Fatalf("%d ledger entries for the deposit", k)
			}
		})
	}
}

// TestSimulatedPSPChaos: many deposits and payouts through the simulated
// PSP whose notifications the seed delays, duplicates and reorders: each
// ends where its amount says (declined for …13), once, and the balances add
// up; duplicates and reordered notifications did arrive.
func TestSimulatedPSPChaos(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 12)
			v.settings("")
			v.customer("c-1", "EUR", "")
			var ids []string
			for i := range 12 {
				ids = append(ids, v.deposit(fmt.Sprintf(`{"customerId":"c-1","psp":"sim","amount":"%d.%02d"}`, 10+i, []int{0, 13}[i%2])).ID)
			}
			v.RunDue()
			v.later(cashier.SimDelay + 10*time.Second)
			for i, id := range ids {
				want := cashier.DepositCaptured
				if i%2 == 1 {
					want = cashier.DepositDeclined
				}
				if got := v.getDeposit(id); got.Status != want {
					t.Fatalf("deposit %d: %+v", i, got)
				}
			}
			if b := v.balance("c-1"); b.Available != "90.00" { // 10 + 12 + 14 + 16 + 18 + 20
				t.Fatalf("balance: %+v", b)
			}
			p := v.payout(`{"customerId":"c-1","psp":"sim","amount":"40.00","destination":{"account":"SIM-ANN-1"}}`)
			v.approve(p.ID)
			v.RunDue()
			v.later(cashier.SimDelay + 10*time.Second)
			if got := v.getPayout(p.ID); got.Status != cashier.PayoutPaid {
				t.Fatalf("payout: %+v", got)
			}
			dups := v.count(`SELECT COUNT(*) FROM cashier_notifications WHERE outcome = 'ignored'`)
			received := v.count(`SELECT COUNT(*) FROM cashier_notifications`)
			jobs := v.count(`SELECT COUNT(*) FROM jobs WHERE kind = $1 AND state = 'done'`, cashier.JobSimNotify)
			if jobs <= received || dups == 0 {
				t.Fatalf("the seed made no chaos: %d deliveries, %d notifications, %d ignored", jobs, received, dups)
			}
		})
	}
}

// TestApprovedTwiceSentOnce: agents approving one payout at the same time:
// one approval wins, the others are refused, and the payout is sent and
// paid once.
func TestApprovedTwiceSentOnce(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 13)
			v.settings("")
			alice := v.funded()
			p := v.payout(`{"customerId":"c-1","psp":"wallet","amount":"25.00","destination":{"account":"` + alice.AccountNumber + `"}}`)
			statuses := v.parallel(8, func(int) apptest.Reply {
				return v.Do("POST", "/cashier/v1/agent/payouts/"+p.ID+"/approve", nil, v.agentHeaders())
			})
			if statuses[200] != 1 || statuses[409] != 7 {
				t.Fatalf("approvals: %v", statuses)
			}
			v.RunDue()
			v.RunDue()
			if got := v.getPayout(p.ID); got.Status != cashier.PayoutPaid || got.Attempts != 1 {
				t.Fatalf("payout: %+v", got)
			}
			if bal, _ := v.App.App.Wallet.Service.BalanceIn(context.Background(), alice.ID, "EUR"); bal.Available != "25.00" {
				t.Fatalf("alice's wallet got %s", bal.Available)
			}
			if k := v.count(`SELECT COUNT(*) FROM ledger_entries WHERE reference = $1`, p.ID); k != 3 { // requested, paid (cashier) + the wallet's move
				t.Fatalf("%d ledger entries for the payout", k)
			}
		})
	}
}

// parallel runs n requests at once and counts their statuses.
func (v *env) parallel(n int, req func(i int) apptest.Reply) map[int]int {
	var mu sync.Mutex
	out := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := req(i)
			mu.Lock()
			out[r.Status]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// TestLimitsHoldUnderConcurrency: deposits and payouts sent at once cannot
// pass a customer's daily deposit limit, one-deposit limit, or what the
// customer may withdraw.
func TestLimitsHoldUnderConcurrency(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 14)
			v.settings("")
			v.customer("c-1", "EUR", `{"dailyDeposits":"100.00","maxDeposit":"40.00","dailyPayouts":"70.00"}`)
			if r := v.call("POST", "/cashier/v1/deposits", `{"customerId":"c-1","psp":"card","amount":"40.01","card":`+cardPlain+`}`); r.Status != 422 {
				t.Fatalf("past maxDeposit: %d %s", r.Status, r.Body)
			}
			got := v.parallel(10, func(i int) apptest.Reply {
				return v.Do("POST", "/cashier/v1/deposits", []byte(`{"customerId":"c-1","psp":"card","amount":"30.00","card":`+cardPlain+`}`),
					map[string]string{"api-key": v.key})
			})
			if got[201] != 3 || got[422] != 7 {
				t.Fatalf("deposits at once: %v", got)
			}
			if b := v.balance("c-1"); b.Available != "90.00" {
				t.Fatalf("balance: %+v", b)
			}
			got = v.parallel(8, func(i int) apptest.Reply {
				return v.Do("POST", "/cashier/v1/payouts", []byte(`{"customerId":"c-1","psp":"sim","amount":"30.00","destination":{"account":"SIM-ANN-1"}}`),
					map[string]string{"api-key": v.key})
			})
			if got[201] != 2 || got[422] != 6 {
				t.Fatalf("payouts at once (daily 70.00): %v", got)
			}
			v.customer("c-1", "EUR", `{"dailyDeposits":"100.00","maxDeposit":"40.00"}`)
			got = v.parallel(8, func(i int) apptest.Reply {
				return v.Do("POST", "/cashier/v1/payouts", []byte(`{"customerId":"c-1","psp":"sim","amount":"20.00","destination":{"account":"SIM-ANN-1"}}`),
					map[string]string{"api-key": v.key})
			})
			if got[201] != 1 || got[422] != 7 {
				t.Fatalf("payouts at once (30.00 left): %v", got)
			}
			if b := v.balance("c-1"); b.Available != "10.00" || b.PendingPayouts != "80.00" {
				t.Fatalf("balance: %+v", b)
			}
		})
	}
}

// TestControlCharactersRefused: every text field of every write refuses
// NUL and control characters with a 400 in the platform's format, and
// nothing changes.
func TestControlCharactersRefused(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 15)
			v.settings("")
			v.customer("c-1", "EUR", "")
			cases := []struct{ method, path, body string }{
				{"PUT", "/cashier/v1/customers/c-2", `{"name":"A\u0000B","email":"a@example.com","country":"GB","currency":"EUR","status":"active","kycLevel":1}`},
				{"PUT", "/cashier/v1/customers/c-2", `{"name":"Ann","email":"a@exa\nmple.com","country":"GB","currency":"EUR","status":"active","kycLevel":1}`},
				{"PUT", "/cashier/v1/customers/c%002", `{"name":"Ann","email":"a@example.com","country":"GB","currency":"EUR","status":"active","kycLevel":1}`},
				{"PUT", "/cashier/v1/settings", `{"bankAccount":{"name":"Acme\u0007","iban":"DE89370400440532013000"}}`},
				{"POST", "/cashier/v1/sessions", `{"customerId":"c-1","intent":"deposit","orderReference":"o\u001f1"}`},
				{"POST", "/cashier/v1/deposits", `{"customerId":"c-1","psp":"card","amount":"5.00","reference":"r\u0000","card":` + cardPlain + `}`},
				{"POST", "/cashier/v1/deposits", `{"customerId":"c-1","psp":"wallet","amount":"5.00","wallet":{"username":"al\u0000ice","password":"x","pin":"1234"}}`},
				{"POST", "/cashier/v1/payouts", `{"customerId":"c-1","psp":"bank","amount":"5.00","destination":{"iban":"DE89370400440532013000","name":"Ann\u007f"}}`},
				{"POST", "/cashier/v1/agent/deposits/offline", `{"customerId":"c-1","amount":"5.00","note":"cash\ttill"}`},
				{"POST", "/cashier/v1/agent/bank-transfers", `{"reference":"CGC1\u0000","amount":"5.00"}`},
				{"POST", "/cashier/v1/agent/payouts/cpo_x/reject", `{"reason":"no\r"}`},
			}
			for _, c := range cases {
				hdr := map[string]string{"api-key": v.key}
				if strings.Contains(c.path, "/agent/") {
					hdr = v.agentHeaders()
				}
				r := v.Do(c.method, c.path, []byte(c.body), hdr)
				if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"error"`) {
					t.Errorf("%s %s %s: %d %s", c.method, c.path, c.body, r.Status, r.Body)
				}
			}
			if k := v.count(`SELECT COUNT(*) FROM cashier_deposits`) + v.count(`SELECT COUNT(*) FROM cashier_payouts`) + v.count(`SELECT COUNT(*) FROM cashier_sessions`); k != 0 {
				t.Fatalf("%d rows written", k)
			}
			if k := v.count(`SELECT COUNT(*) FROM cashier_customers`); k != 1 {
				t.Fatalf("%d customers", k)
			}
		})
	}
}
