package remote_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/remote"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/walletpay"
)

func payer(number string) walletpay.Payer {
	return walletpay.Payer{UserID: number, Username: "u" + number, AccountNumber: number}
}

func (e *env) available(number, currency string) int64 {
	e.t.Helper()
	n, err := e.w.Available(e.ctx, number, currency)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) invariants() {
	e.t.Helper()
	if err := ledger.CheckInvariants(e.ctx, e.db.Read()); err != nil {
		e.t.Fatal(err)
	}
}

// TestPayWithWallet: a payment is paid from the payer's balance in its
// currency into the merchant's wallet; insufficient funds reject the
// attempt (still payable), a wrong PIN changes nothing, a locked PIN
// rejects, payable_to refuses anyone else, and a paid payment cannot be
// paid again.
func TestPayWithWallet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.create(e.a, `{"amount":10098,"currency":"USD","note":"Order 1"}`)
		alice := payer("111111111111")
		if err := e.w.topUp(e.ctx, alice.AccountNumber, "USD", 5000); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.PayWithWallet(e.ctx, p.ID, alice, "1234")
		if !apperr.Is(err, apperr.InsufficientFunds) {
			t.Fatalf("short balance: %v", err)
		}
		got, _ := e.svc.Get(e.ctx, e.a, p.ID)
		if got.Status != remote.StatusRejected || got.RejectReason == nil || *got.RejectReason != "insufficient_funds" {
			t.Fatalf("after a short balance: %+v", got)
		}
		if _, err := e.svc.PayWithWallet(e.ctx, p.ID, alice, "9999"); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("wrong PIN: %v", err)
		}
		if _, err := e.svc.PayWithWallet(e.ctx, p.ID, payer("locked"), "1234"); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("locked PIN: %v", err)
		}
		if err := e.w.topUp(e.ctx, alice.AccountNumber, "USD", 6000); err != nil {
			t.Fatal(err)
		}
		paid, err := e.svc.PayWithWallet(e.ctx, p.ID, alice, "1234")
		if err != nil || paid.Status != remote.StatusPaid || paid.From == nil || *paid.From != alice.AccountNumber ||
			paid.Method == nil || *paid.Method != "wallet" || paid.PaidAt == nil || paid.RejectReason != nil {
			t.Fatalf("paid: %+v %v", paid, err)
		}
		if a, m := e.available(alice.AccountNumber, "USD"), e.available("to-"+e.a, "USD"); a != 11000-10098 || m != 10098 {
			t.Fatalf("balances: payer %d, merchant %d", a, m)
		}
		if _, err := e.svc.PayWithWallet(e.ctx, p.ID, alice, "1234"); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("paying twice: %v", err)
		}
		if n := e.count(`SELECT COUNT(*) FROM remote_attempts WHERE payment_id = $1`, p.ID); n != 3 {
			t.Fatalf("%d attempts recorded, want 3 (short, locked, paid)", n)
		}

		only := e.create(e.a, `{"amount":100,"currency":"EUR","payable_to":"123456789012"}`)
		if err := e.w.topUp(e.ctx, alice.AccountNumber, "EUR", 100); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.PayWithWallet(e.ctx, only.ID, alice, "1234"); !apperr.Is(err, apperr.Forbidden) || !strings.Contains(err.Error(), "123456789012") {
			t.Fatalf("a payer other than payable_to: %v", err)
		}
		if got, _ := e.svc.Get(e.ctx, e.a, only.ID); got.Status != remote.StatusPending {
			t.Fatalf("a stranger's attempt changed the payment: %+v", got)
		}
		e.invariants()
	})
}

// TestParallelPaymentsPayOnce: many attempts at once from wallets that can
// all afford it: exactly one pays, one ledger movement, the others are
// refused, nobody else's money moves.
func TestParallelPaymentsPayOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.create(e.a, `{"amount":2500,"currency":"EUR"}`)
		const n = 12
		payers := make([]walletpay.Payer, n)
		for i := range payers {
			payers[i] = payer(strings.Repeat(string(rune('a'+i)), 12))
			if err := e.w.topUp(e.ctx, payers[i].AccountNumber, "EUR", 2500); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range payers {
			wg.Go(func() { _, errs[i] = e.svc.PayWithWallet(e.ctx, p.ID, payers[i], "1234") })
		}
		wg.Wait()
		ok, spent := 0, 0
		for i, err := range errs {
			if err == nil {
				ok++
			} else if !apperr.Is(err, apperr.Conflict) {
				t.Errorf("attempt %d: %v, want paid or a conflict", i, err)
			}
			if e.available(payers[i].AccountNumber, "EUR") == 0 {
				spent++
			}
		}
		if ok != 1 || spent != 1 || e.available("to-"+e.a, "EUR") != 2500 {
			t.Fatalf("%d paid, %d wallets debited, merchant holds %d; want exactly one payment", ok, spent, e.available("to-"+e.a, "EUR"))
		}
		if m := e.count(`SELECT COUNT(*) FROM ledger_entries WHERE kind = 'remote.payment'`); m != 1 {
			t.Fatalf("%d payment entries", m)
		}
		e.invariants()
	})
}

// TestRefunds: partial then full refunds return the money to the payer's
// wallet; more than remains, or refunding an unpaid payment, is refused.
func TestRefunds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.create(e.a, `{"amount":1000,"currency":"TRY"}`)
		if r := e.call(e.a, "POST", "/remote/v1/payments/"+p.ID+"/refunds", `{}`); r.status != 409 || !strings.Contains(r.body, "pending") {
			t.Fatalf("refund of a pending payment: %d %s", r.status, r.body)
		}
		bob := payer("222222222222")
		if err := e.w.topUp(e.ctx, bob.AccountNumber, "TRY", 1000); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.PayWithWallet(e.ctx, p.ID, bob, "1234"); err != nil {
			t.Fatal(err)
		}
		if r := e.call(e.b, "POST", "/remote/v1/payments/"+p.ID+"/refunds", `{"amount":100}`); r.status != 404 {
			t.Fatalf("another tenant refunded: %d %s", r.status, r.body)
		}
		r := e.call(e.a, "POST", "/remote/v1/payments/"+p.ID+"/refunds", `{"amount":300,"reason":"one item back"}`)
		if r.status != 201 || !strings.Contains(r.body, `"refunded_amount":300`) || !strings.Contains(r.body, `"status":"paid"`) {
			t.Fatalf("partial refund: %d %s", r.status, r.body)
		}
		if r := e.call(e.a, "POST", "/remote/v1/payments/"+p.ID+"/refunds", `{"amount":701}`); r.status != 400 || !strings.Contains(r.body, "700") {
			t.Fatalf("refund beyond what remains: %d %s", r.status, r.body)
		}
		r = e.call(e.a, "POST", "/remote/v1/payments/"+p.ID+"/refunds", ``)
		if r.status != 201 || !strings.Contains(r.body, `"status":"refunded"`) || !strings.Contains(r.body, `"refunded_amount":1000`) {
			t.Fatalf("refund of the rest: %d %s", r.status, r.body)
		}
		if b, m := e.available(bob.AccountNumber, "TRY"), e.available("to-"+e.a, "TRY"); b != 1000 || m != 0 {
			t.Fatalf("after refunds: payer %d, merchant %d", b, m)
		}
		l := e.call(e.a, "GET", "/remote/v1/payments/"+p.ID+"/refunds", "")
		if l.status != 200 || strings.Count(l.body, `"id":"rrf_`) != 2 {
			t.Fatalf("refund list: %d %s", l.status, l.body)
		}
		if n := e.count(`SELECT COUNT(*) FROM events WHERE type IN ('remote.payment.partially_refunded', 'remote.payment.refunded')`); n != 2 {
			t.Fatalf("%d refund events", n)
		}
		e.invariants()
	})
}
