package remote_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/remote"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

func testCard(number string) card.Details {
	return card.Details{Number: number, ExpiryMonth: 5, ExpiryYear: 2035, CVC: "123", HolderName: "Alice Doe"}
}

// TestPayByCard: each test card of the simulator on the hosted page's code
// path: paid into the merchant's wallet, declined (the attempt rejected,
// the payment still payable), or a 3-D Secure challenge completed or
// failed; a challenge is used once.
func TestPayByCard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		for _, c := range []struct {
			name, number string
			challenge    bool
			passed       bool
			want         string
		}{
			{"not enrolled", "4000000000000010", false, false, remote.StatusPaid},
			{"declined by the issuer", "4000000000000044", false, false, remote.StatusRejected},
			{"3DS required, not enrolled", "4000000000000028", false, false, remote.StatusRejected},
			{"3DS unavailable", "4000000000000036", false, false, remote.StatusRejected},
			{"enrolled, challenge passed", "4000000000000002", true, true, remote.StatusPaid},
			{"enrolled, challenge failed", "5400100400099001", true, false, remote.StatusRejected},
			{"enrolled, declined after 3DS", "4000000000000069", true, true, remote.StatusRejected},
		} {
			t.Run(c.name, func(t *testing.T) {
				p := e.create(e.a, `{"amount":4200,"currency":"GBP"}`)
				res, err := e.svc.PayWithCard(e.ctx, p.ID, testCard(c.number))
				if c.challenge {
					if err != nil || res.Challenge == "" {
						t.Fatalf("want a challenge: %+v %v", res, err)
					}
					_, err = e.svc.Complete3DS(e.ctx, p.ID, res.Challenge, c.passed)
					if _, again := e.svc.Complete3DS(e.ctx, p.ID, res.Challenge, true); !apperr.Is(again, apperr.NotFound) {
						t.Fatalf("the challenge was used twice: %v", again)
					}
				}
				got, _ := e.svc.Get(e.ctx, e.a, p.ID)
				if got.Status != c.want || (c.want == remote.StatusPaid) != (err == nil) {
					t.Fatalf("status %s (err %v), want %s", got.Status, err, c.want)
				}
				if c.want == remote.StatusPaid && (got.Method == nil || *got.Method != "card" || got.From == nil || !strings.HasSuffix(*got.From, c.number[12:]) || strings.Contains(*got.From, c.number[6:12])) {
					t.Fatalf("paid by card: %+v", got)
				}
				if c.want == remote.StatusRejected && (got.RejectReason == nil || *got.RejectReason != "declined") {
					t.Fatalf("rejected: %+v", got)
				}
			})
		}
		if m := e.available("to-"+e.a, "GBP"); m != 2*4200 {
			t.Fatalf("the merchant's wallet holds %d GBP, want two payments", m)
		}
		e.invariants()
	})
}

// TestCardRefundAndDoublePayment: a card payment refunds back to the card
// from the merchant's wallet; a wallet and cards paying at once pay once.
func TestCardRefundAndDoublePayment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.create(e.a, `{"amount":1000,"currency":"EUR"}`)
		if _, err := e.svc.PayWithCard(e.ctx, p.ID, testCard("4000000000000010")); err != nil {
			t.Fatal(err)
		}
		r := e.call(e.a, "POST", "/remote/v1/payments/"+p.ID+"/refunds", `{"amount":400}`)
		if r.status != 201 || e.available("to-"+e.a, "EUR") != 600 {
			t.Fatalf("card refund: %d %s; merchant holds %d", r.status, r.body, e.available("to-"+e.a, "EUR"))
		}

		q := e.create(e.a, `{"amount":700,"currency":"EUR"}`)
		bob := payer("333333333333")
		if err := e.w.topUp(e.ctx, bob.AccountNumber, "EUR", 700); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 6)
		wg.Go(func() { _, errs[0] = e.svc.PayWithWallet(e.ctx, q.ID, bob, "1234") })
		for i := 1; i < len(errs); i++ {
			wg.Go(func() { _, errs[i] = e.svc.PayWithCard(e.ctx, q.ID, testCard("4000000000000010")) })
		}
		wg.Wait()
		paid := 0
		for i, err := range errs {
			if err == nil {
				paid++
			} else if !apperr.Is(err, apperr.Conflict) {
				t.Errorf("attempt %d: %v", i, err)
			}
		}
		got, _ := e.svc.Get(e.ctx, e.a, q.ID)
		if paid != 1 || got.Status != remote.StatusPaid || e.available("to-"+e.a, "EUR") != 600+700 {
			t.Fatalf("%d paid (status %s), merchant holds %d", paid, got.Status, e.available("to-"+e.a, "EUR"))
		}
		if *got.Method == "card" && e.available(bob.AccountNumber, "EUR") != 700 || *got.Method == "wallet" && e.available(bob.AccountNumber, "EUR") != 0 {
			t.Fatalf("paid by %s; bob holds %d", *got.Method, e.available(bob.AccountNumber, "EUR"))
		}
		e.invariants()
	})
}

// TestCardNumbersDoNotOutliveTheirAttempt: the card kept for a 3-D Secure
// challenge leaves the vault when the challenge is taken, or when the
// payment is canceled or expires with the challenge still open.
func TestCardNumbersDoNotOutliveTheirAttempt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		vault := func() int { return e.count(`SELECT COUNT(*) FROM card_vault`) }
		p := e.create(e.a, `{"amount":500,"currency":"EUR"}`)
		res, err := e.svc.PayWithCard(e.ctx, p.ID, testCard("4000000000000002"))
		if err != nil || res.Challenge == "" || vault() != 1 {
			t.Fatalf("challenge %+v %v; %d cards kept", res, err, vault())
		}
		if _, err := e.svc.Complete3DS(e.ctx, p.ID, res.Challenge, true); err != nil || vault() != 0 {
			t.Fatalf("after the challenge: %v; %d cards kept", err, vault())
		}

		q := e.create(e.a, `{"amount":500,"currency":"EUR"}`)
		if _, err := e.svc.PayWithCard(e.ctx, q.ID, testCard("4000000000000002")); err != nil || vault() != 1 {
			t.Fatalf("second challenge: %v; %d cards kept", err, vault())
		}
		if r := e.call(e.a, "POST", "/remote/v1/payments/"+q.ID+"/cancel", ""); r.status != 200 || vault() != 0 {
			t.Fatalf("cancel with a challenge open: %d; %d cards kept", r.status, vault())
		}
		if n := e.count(`SELECT COUNT(*) FROM remote_card_challenges`); n != 0 {
			t.Fatalf("%d challenges left", n)
		}

		// A challenge opened for a payment read as payable but paid by a
		// wallet meanwhile is refused and keeps no card.
		w := e.create(e.a, `{"amount":500,"currency":"EUR"}`)
		bob := payer("444444444444")
		if err := e.w.topUp(e.ctx, bob.AccountNumber, "EUR", 500); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.ChallengeAfter(e.ctx, w.ID, testCard("4000000000000002"), func() {
			if _, err := e.svc.PayWithWallet(e.ctx, w.ID, bob, "1234"); err != nil {
				t.Fatal(err)
			}
		})
		if !apperr.Is(err, apperr.Conflict) || vault() != 0 || e.count(`SELECT COUNT(*) FROM remote_card_challenges`) != 0 {
			t.Fatalf("challenge after the payment was paid: %v; %d cards kept", err, vault())
		}
	})
}
