package cashier_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/backoffice/officetest"
	"github.com/cashgate/cashgate/internal/cashier"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestOfficePayoutApprovals: requested payouts wait in the back office's
// approval queue, oldest first; an agent approves one there after a
// confirmation step (ApprovePayout via the back office: decided by the
// agent, named in both audit logs) and it is paid through its PSP; eight
// approvals of another posted at once send it once (one wins, the others
// are told it is approved already); a rejection needs a reason and gives
// the money back; a tenant whose payouts the Agent API manages sees the
// queue read-only and a forced approval is refused; a post without the
// CSRF token and another tenant's payout change nothing.
func TestOfficePayoutApprovals(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 31)
			v.settings(`{"payoutManagement":"backoffice"}`)
			v.funded()
			owner := officetest.Owner(t, v.App)
			agent := owner.AddUser("agent", "ann.agent", "agent password 1")
			sim := `{"customerId":"c-1","psp":"sim","amount":"AMOUNT","destination":{"account":"SIM-ANN-1"}}`
			p1 := v.payout(strings.Replace(sim, "AMOUNT", "40.00", 1))
			v.Clock.Advance(time.Second)
			p2 := v.payout(strings.Replace(sim, "AMOUNT", "30.00", 1))
			v.Clock.Advance(time.Second)
			p3 := v.payout(strings.Replace(sim, "AMOUNT", "20.00", 1))
			q := agent.Get("/office/cashier")
			i1, i2, i3 := strings.Index(q.Body, `id="payout-`+p1.ID), strings.Index(q.Body, `id="payout-`+p2.ID), strings.Index(q.Body, `id="payout-`+p3.ID)
			if q.Status != 200 || i1 < 0 || i1 > i2 || i2 > i3 || !strings.Contains(q.Body, `id="approve-`+p1.ID) {
				t.Fatalf("queue: %d %s", q.Status, q.Body)
			}

			question, ans := agent.Confirm("/office/cashier", "/office/cashier/payouts/"+p1.ID+"/approve", url.Values{"from": {"queue"}})
			if !strings.Contains(question, "Approve payout "+p1.ID+" of 40.00 EUR to customer c-1 (sim account SIM-ANN-1)") ||
				ans.Status != http.StatusSeeOther || ans.Location != "/office/cashier" {
				t.Fatalf("approve: %q %d %q", question, ans.Status, ans.Location)
			}
			if got := v.getPayout(p1.ID); got.Status != cashier.PayoutApproved || got.DecidedBy == nil || *got.DecidedBy != "ann.agent" {
				t.Fatalf("after the approval: %+v", got)
			}
			if n := v.count(`SELECT COUNT(*) FROM cashier_audit WHERE object_id = $1 AND agent = 'ann.agent' AND action = 'payout.approved'`, p1.ID); n != 1 {
				t.Fatalf("the cashier's audit of the approval: %d", n)
			}
			v.RunDue()
			v.later(cashier.SimDelay + 10*time.Second)
			if got := v.getPayout(p1.ID); got.Status != cashier.PayoutPaid {
				t.Fatalf("the approved payout: %+v", got)
			}
			if page := agent.Get("/office/cashier/payouts/" + p1.ID); !strings.Contains(page.Body, "Approved by ann.agent") || !strings.Contains(page.Body, "Paid") {
				t.Fatalf("payout page: %s", page.Body)
			}

			// Eight approvals at once, from two users: one wins, the payout is sent once.
			codes := parallelPosts(t, []*officetest.Browser{agent, owner}, 8, "/office/cashier/payouts/"+p2.ID,
				"/office/cashier/payouts/"+p2.ID+"/approve", url.Values{"confirm": {"yes"}})
			if codes[http.StatusSeeOther] != 1 || codes[http.StatusUnprocessableEntity] != 7 {
				t.Fatalf("parallel approvals: %v", codes)
			}
			if n := v.count(`SELECT COUNT(*) FROM jobs WHERE kind = $1 AND unique_key = $2`, cashier.JobSendPayout, cashier.JobSendPayout+":"+p2.ID); n != 1 {
				t.Fatalf("send jobs: %d", n)
			}
			if n := v.count(`SELECT COUNT(*) FROM office_audit WHERE action = 'cashier.payout_approve' AND subject = $1`, p2.ID); n != 1 {
				t.Fatalf("approvals audited: %d", n)
			}
			v.RunDue()
			v.later(cashier.SimDelay + 10*time.Second)
			if n := v.count(`SELECT COUNT(*) FROM cashier_sim_ops WHERE merchant_ref = $1`, p2.ID); n != 1 || v.getPayout(p2.ID).Status != cashier.PayoutPaid {
				t.Fatalf("the PSP booked %d operations; payout %+v", n, v.getPayout(p2.ID))
			}

			// A rejection needs its reason.
			page := "/office/cashier/payouts/" + p3.ID
			if r := agent.Post(page, page+"/reject", url.Values{"reason": {" "}}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "give the reason") {
				t.Fatalf("reject without a reason: %d %s", r.Status, r.Body)
			}
			if r := agent.Send("POST", page+"/reject", url.Values{"reason": {"KYC"}, "confirm": {"yes"}}, "same-origin"); r.Status != http.StatusForbidden {
				t.Fatalf("a post without the CSRF token: %d", r.Status)
			}
			if got := v.getPayout(p3.ID); got.Status != cashier.PayoutRequested {
				t.Fatalf("after the refused posts: %+v", got)
			}
			question, ans = agent.Confirm(page, page+"/reject", url.Values{"reason": {"KYC documents expired"}})
			if !strings.Contains(question, "because \u201cKYC documents expired\u201d") || ans.Status != http.StatusSeeOther || ans.Location != page {
				t.Fatalf("reject: %q %d %q", question, ans.Status, ans.Location)
			}
			if got := v.getPayout(p3.ID); got.Status != cashier.PayoutRejected || *got.Reason != "KYC documents expired" {
				t.Fatalf("after the rejection: %+v", got)
			}
			if b := v.balance("c-1"); b.Available != "430.00" || b.PaidOut != "70.00" {
				t.Fatalf("balance: %+v", b)
			}
			acts := officetest.AuditActions(t, v.App)
			if !slices.Contains(acts, "cashier.payout_approve "+p1.ID) || !slices.Contains(acts, "cashier.payout_reject "+p3.ID) {
				t.Fatalf("audit: %q", acts)
			}
			if p := agent.Get("/office/payments?kind=payout&status=rejected"); !strings.Contains(p.Body, `href="/office/cashier/payouts/`+p3.ID+`"`) || strings.Contains(p.Body, p1.ID) {
				t.Fatalf("the payments list: %s", p.Body)
			}

			// The Agent API manages payouts: the queue is read-only, a forced approval refused.
			v.settings(`{"payoutManagement":"agent_api"}`)
			p4 := v.payout(strings.Replace(sim, "AMOUNT", "5.00", 1))
			if q := agent.Get("/office/cashier"); !strings.Contains(q.Body, `id="queue-read-only"`) || strings.Contains(q.Body, `id="approve-`+p4.ID) {
				t.Fatalf("read-only queue: %s", q.Body)
			}
			page4 := "/office/cashier/payouts/" + p4.ID
			if r := agent.Post(page4, page4+"/approve", url.Values{"confirm": {"yes"}}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "through the Agent API") {
				t.Fatalf("forced approval: %d %s", r.Status, r.Body)
			}
			other := officetest.OtherTenant(t, v.App)
			if r := other.Get(page4); r.Status != http.StatusNotFound {
				t.Fatalf("another tenant's payout: %d", r.Status)
			}
			if r := other.Post("/office/cashier", page4+"/approve", url.Values{"confirm": {"yes"}}); r.Status != http.StatusNotFound {
				t.Fatalf("another tenant's approval: %d", r.Status)
			}
			if got := v.getPayout(p4.ID); got.Status != cashier.PayoutRequested {
				t.Fatalf("after the refused approvals: %+v", got)
			}
		})
	}
}

// parallelPosts posts form n times at once, alternating between the
// browsers (each post with its browser's CSRF token, fetched first), and
// counts the answers' statuses.
func parallelPosts(t *testing.T, bs []*officetest.Browser, n int, from, path string, form url.Values) map[int]int {
	t.Helper()
	forms := make([]url.Values, n)
	for i := range forms {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("csrf", bs[i%len(bs)].Token(from))
		forms[i] = f
	}
	var mu sync.Mutex
	out := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			r := bs[i%len(bs)].Send("POST", path, forms[i], "same-origin")
			mu.Lock()
			out[r.Status]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return out
}

// TestOfficeDeposits: deposits are listed, searched (by id, the PSP's
// reference) and filtered in the back office and in the unified Payments
// list; an authorised card deposit is captured in part after a
// confirmation (the rest released) and another voided, a captured one
// refunded to the card through the card core, each shown on the
// deposit's timeline and audited; a bank transfer's page shows its
// instructions; the customer's view shows the balance, deposits and
// payouts; a tenant whose deposits the Agent API manages gets no actions.
func TestOfficeDeposits(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 32)
			v.settings(`{"depositManagement":"backoffice","authCapture":{"card":true}}`)
			v.customer("c-1", "EUR", `{"maxDeposit":"1000.00"}`)
			a := v.deposit(`{"customerId":"c-1","psp":"card","amount":"50.00","reference":"ORD-D1","card":` + cardPlain + `}`)
			b := v.deposit(`{"customerId":"c-1","psp":"card","amount":"20.00","card":` + cardPlain + `}`)
			bank := v.deposit(`{"customerId":"c-1","psp":"bank","amount":"75.00"}`)
			agent := officetest.Owner(t, v.App).AddUser("agent", "ann.agent", "agent password 1")
			for q, want := range map[string]string{"?q=" + a.ID: a.ID, "?q=" + bank.Instructions.Reference: bank.ID, "?status=authorised&psp=card": b.ID,
				"?customer=c-1": bank.ID} {
				if p := agent.Get("/office/cashier/deposits" + q); p.Status != 200 || !strings.Contains(p.Body, `href="/office/cashier/deposits/`+want+`"`) {
					t.Fatalf("deposits%s: %d %s", q, p.Status, p.Body)
				}
			}
			for _, q := range []string{"?status=nonsense", "?q=" + url.QueryEscape("ORD\x00"), "?customer=" + url.QueryEscape("c\t1"),
				"?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("1:cdp_\x00"))} {
				if p := agent.Get("/office/cashier/deposits" + q); p.Status != http.StatusUnprocessableEntity && p.Status != http.StatusBadRequest {
					t.Fatalf("a bad filter %q: %d %s", q, p.Status, p.Body)
				}
			}
			for _, q := range []string{"?q=" + a.ID, "?q=ORD-D1", "?kind=deposit&status=authorised"} {
				if p := agent.Get("/office/payments" + q); !strings.Contains(p.Body, `href="/office/cashier/deposits/`+a.ID+`"`) || strings.Contains(p.Body, bank.ID) {
					t.Fatalf("payments%s: %s", q, p.Body)
				}
			}
			page := "/office/cashier/deposits/" + a.ID
			question, ans := agent.Confirm(page, page+"/capture", url.Values{"amount": {"30.00"}})
			if !strings.Contains(question, "Capture 30.00 EUR of deposit "+a.ID) || !strings.Contains(question, "remaining 20.00 EUR are released") || ans.Status != http.StatusSeeOther {
				t.Fatalf("capture: %q %d %s", question, ans.Status, ans.Body)
			}
			if got := v.getDeposit(a.ID); got.Status != cashier.DepositCaptured || got.CapturedAmount != "30.00" {
				t.Fatalf("after the capture: %+v", got)
			}
			if p := agent.Get(page); !strings.Contains(p.Body, "Captured 30.00 EUR") || !strings.Contains(p.Body, "Agent ann.agent: deposit.capture (30.00)") ||
				!strings.Contains(p.Body, `id="refund-submit"`) {
				t.Fatalf("deposit page after the capture: %s", p.Body)
			}
			if r := agent.Post(page, page+"/capture", url.Values{"amount": {"5.00"}, "confirm": {"yes"}}); r.Status != http.StatusUnprocessableEntity ||
				!strings.Contains(r.Body, "is captured, not authorised") {
				t.Fatalf("a second capture: %d %s", r.Status, r.Body)
			}
			pageB := "/office/cashier/deposits/" + b.ID
			if _, ans := agent.Confirm(pageB, pageB+"/void", url.Values{}); ans.Status != http.StatusSeeOther || v.getDeposit(b.ID).Status != cashier.DepositVoided {
				t.Fatalf("void: %d %+v", ans.Status, v.getDeposit(b.ID))
			}
			if _, ans := agent.Confirm(page, page+"/refund", url.Values{}); ans.Status != http.StatusSeeOther {
				t.Fatalf("refund: %d %s", ans.Status, ans.Body)
			}
			got := v.getDeposit(a.ID)
			if got.Status != cashier.DepositRefunded || got.RefundReference == nil ||
				v.count(`SELECT COUNT(*) FROM ledger_entries WHERE reference = $1 AND kind = 'card_refund'`, a.ID) != 1 {
				t.Fatalf("after the refund: %+v", got)
			}
			if p := agent.Get(page); !strings.Contains(p.Body, "Refunded 30.00 EUR (refund "+*got.RefundReference+")") {
				t.Fatalf("deposit page after the refund: %s", p.Body)
			}
			if p := agent.Get("/office/cashier/deposits/" + bank.ID); !strings.Contains(p.Body, `id="instructions"`) || !strings.Contains(p.Body, bank.Instructions.Reference) {
				t.Fatalf("bank deposit page: %s", p.Body)
			}
			acts := officetest.AuditActions(t, v.App)
			for _, want := range []string{"cashier.deposit_capture " + a.ID, "cashier.deposit_void " + b.ID, "cashier.deposit_refund " + a.ID} {
				if !slices.Contains(acts, want) {
					t.Fatalf("audit lacks %q: %q", want, acts)
				}
			}

			v.want(v.agentCall("POST", "/cashier/v1/agent/deposits/offline", `{"customerId":"c-1","amount":"100.00"}`), 201, nil)
			p := v.payout(`{"customerId":"c-1","psp":"sim","amount":"40.00","destination":{"account":"SIM-ANN-1"}}`)
			cust := agent.Get("/office/cashier/customers/c-1")
			for _, want := range []string{`id="balance-available">60.00`, `id="balance-pending-payouts">40.00`, `id="balance-deposited">100.00`,
				"Largest deposit</dt><dd>1000.00 EUR", `href="/office/cashier/payouts/` + p.ID + `"`, `href="/office/cashier/deposits/` + bank.ID + `"`} {
				if !strings.Contains(cust.Body, want) {
					t.Fatalf("customer view lacks %q: %s", want, cust.Body)
				}
			}
			if r := agent.Get("/office/cashier/customers?q=c-1"); !strings.Contains(r.Body, `href="/office/cashier/customers/c-1"`) {
				t.Fatalf("customer search: %s", r.Body)
			}
			if r := agent.Get("/office/cashier/customers/nobody"); r.Status != http.StatusNotFound {
				t.Fatalf("an unknown customer: %d", r.Status)
			}

			v.settings(`{"depositManagement":"agent_api","authCapture":{"card":true}}`)
			c := v.deposit(`{"customerId":"c-1","psp":"card","amount":"10.00","card":` + cardPlain + `}`)
			pageC := "/office/cashier/deposits/" + c.ID
			if r := agent.Get(pageC); strings.Contains(r.Body, `id="capture-submit"`) || !strings.Contains(r.Body, `id="manage-read-only"`) {
				t.Fatalf("deposit page when the Agent API manages deposits: %s", r.Body)
			}
			if r := agent.Post(pageC, pageC+"/void", url.Values{"confirm": {"yes"}}); r.Status != http.StatusUnprocessableEntity || v.getDeposit(c.ID).Status != cashier.DepositAuthorised {
				t.Fatalf("forced void: %d %s", r.Status, r.Body)
			}
			if r := officetest.OtherTenant(t, v.App).Get(pageC); r.Status != http.StatusNotFound {
				t.Fatalf("another tenant's deposit: %d", r.Status)
			}
		})
	}
}

// TestOfficeMOTODeposit: an agent keys in a customer's card (MOTO: an
// enrolled card goes through without 3-D Secure) and records an offline
// deposit in the back office, each shown on its deposit's page and
// audited with the card as first 6 and last 4 digits; refusals are shown
// beside their field with the card number and security code emptied; the
// card number is in no page, no log line and no stored row; without
// settings.moto the forms are not offered and a forced post is refused.
func TestOfficeMOTODeposit(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logs := &lockedBuffer{}
			v := newEnvWith(t, e, apptest.Options{Seed: 33, LogAll: logs})
			v.settings("")
			v.customer("c-1", "EUR", "")
			agent := officetest.Owner(t, v.App).AddUser("agent", "ann.agent", "agent password 1")
			const pan = "4000000000000002"
			card := url.Values{"customer": {"c-1"}, "amount": {"80.00"}, "cardNumber": {pan}, "cardHolder": {"Ann Smith"},
				"expiryMonth": {"05"}, "expiryYear": {"30"}, "cvc": {"123"}}
			var pages []string
			r := agent.Post("/office/cashier/moto", "/office/cashier/moto", card)
			if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/office/cashier/deposits/cdp_") {
				t.Fatalf("MOTO: %d %q %s", r.Status, r.Location, r.Body)
			}
			id := strings.TrimPrefix(r.Location, "/office/cashier/deposits/")
			d := v.getDeposit(id)
			if d.Status != cashier.DepositCaptured || d.Channel != cashier.ChannelMOTO || *d.Agent != "ann.agent" || *d.Payer != "400000******0002" {
				t.Fatalf("MOTO deposit: %+v", d)
			}
			page := agent.Get(r.Location)
			pages = append(pages, r.Body, page.Body)
			if !strings.Contains(page.Body, "Deposit of 80.00 EUR captured.") || !strings.Contains(page.Body, "400000******0002") {
				t.Fatalf("deposit page: %s", page.Body)
			}
			for _, c := range []struct{ field, value, want string }{
				{"cardNumber", "4000000000000003", "The card number is not valid."},
				{"expiryYear", "20", "The card has expired."},
				{"customer", "nobody", "Unknown customer"},
				{"amount", "8,00", "amount"},
				{"cardHolder", "Ann\x00", "control character"},
			} {
				bad := url.Values{}
				for k, x := range card {
					bad[k] = x
				}
				bad.Set(c.field, c.value)
				r := agent.Post("/office/cashier/moto", "/office/cashier/moto", bad)
				fieldErr := regexp.MustCompile(`id="` + c.field + `-error">([^<]*)<`).FindStringSubmatch(r.Body)
				if r.Status != http.StatusUnprocessableEntity || fieldErr == nil || !strings.Contains(fieldErr[1], c.want) {
					t.Fatalf("%s %q: %d %s", c.field, c.value, r.Status, r.Body)
				}
				if strings.Contains(r.Body, `value="123"`) {
					t.Fatalf("%s: the security code is sent back", c.field)
				}
				pages = append(pages, r.Body)
			}
			declined := url.Values{}
			for k, x := range card {
				declined[k] = x
			}
			declined.Set("cardNumber", "4000000000000044")
			r = agent.Post("/office/cashier/moto", "/office/cashier/moto", declined)
			if r.Status != http.StatusSeeOther {
				t.Fatalf("declined MOTO: %d %s", r.Status, r.Body)
			}
			if p := agent.Get(r.Location); !strings.Contains(p.Body, "The deposit was not taken: refused.") || !strings.Contains(p.Body, `id="deposit-status">declined`) {
				t.Fatalf("declined deposit page: %s", p.Body)
			}
			r = agent.Post("/office/cashier/moto", "/office/cashier/offline", url.Values{"customer": {"c-1"}, "amount": {"20.00"}, "note": {"cash at the Leeds office"}})
			if r.Status != http.StatusSeeOther {
				t.Fatalf("offline: %d %s", r.Status, r.Body)
			}
			if off := v.getDeposit(strings.TrimPrefix(r.Location, "/office/cashier/deposits/")); off.Status != cashier.DepositCaptured || off.PSP != cashier.PSPOffline {
				t.Fatalf("offline deposit: %+v", off)
			}
			if b := v.balance("c-1"); b.Available != "100.00" {
				t.Fatalf("balance: %+v", b)
			}
			acts := officetest.AuditActions(t, v.App)
			if !slices.Contains(acts, "cashier.moto_deposit customer c-1, card 400000******0002") || !slices.Contains(acts, "cashier.offline_deposit customer c-1") {
				t.Fatalf("audit: %q", acts)
			}
			v.RunDue()
			for _, p := range append(pages, logs.String()) {
				if strings.Contains(p, pan) || strings.Contains(p, "4000000000000044") {
					t.Fatalf("a page or the log shows the card number: %s", p)
				}
			}
			if where := tablesWith(t, v.App.App.DB, pan); len(where) > 0 {
				t.Fatalf("the card number is stored in %v", where)
			}
			if logs.String() == "" || !strings.Contains(strings.Join(pages, ""), "400000******0002") {
				t.Fatal("the check is blind")
			}

			v.settings(`{"moto":false}`)
			if p := agent.Get("/office/cashier/moto"); !strings.Contains(p.Body, `id="moto-disabled"`) || strings.Contains(p.Body, `id="take-moto"`) {
				t.Fatalf("MOTO page without settings.moto: %s", p.Body)
			}
			if r := agent.Post("/office/cashier/moto", "/office/cashier/offline", url.Values{"customer": {"c-1"}, "amount": {"5.00"}}); r.Status != http.StatusUnprocessableEntity ||
				!strings.Contains(r.Body, "not enabled") {
				t.Fatalf("forced offline deposit: %d %s", r.Status, r.Body)
			}
		})
	}
}

// lockedBuffer is a log destination shared by the app's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tablesWith lists the table.column of every stored value that contains
// needle, in every table of the database.
func tablesWith(t *testing.T, db *store.DB, needle string) []string {
	t.Helper()
	ctx := context.Background()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if db.Dialect() == store.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	rows, err := db.Read().QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 20 {
		t.Fatalf("only %d tables found", len(tables))
	}
	var hits []string
	for _, table := range tables {
		rows, err := db.Read().QueryContext(ctx, `SELECT * FROM `+table)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		cols, _ := rows.Columns()
		vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			for i, x := range vals {
				s := fmt.Sprint(x)
				if b, ok := x.([]byte); ok {
					s = string(b)
				}
				if strings.Contains(s, needle) {
					hits = append(hits, table+"."+cols[i])
				}
			}
		}
		rows.Close()
	}
	return hits
}
