package wallet_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// randomActor is a wallet user of the randomized test.
type randomActor struct {
	u        wallet.WalletUser
	pin      string
	tier     wallet.Tier
	corp     *wallet.CorporateCreated
	verified bool
}

// TestRandomizedMoneyInvariants drives many mixed operations — top-ups,
// sends, money requests (EUR and converted USD) approved, denied and
// expired, partial and full refunds, withdrawals exported and paid or
// returned, 2-cent verifications — some of them in concurrent bursts from
// the same wallets, with the fake clock crossing days and a year end. After
// every step: the ledger's invariants hold; every wallet's balance is the
// sum of the net amounts of its transactions and never negative; fee
// revenue is the sum of the fees the transactions show; refunds never pass
// what was paid; and the limit counters are exactly what the completed
// movements add up to, within the table's limits.
func TestRandomizedMoneyInvariants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		site := newMerchantSite(t, 0)
		// CASHGATE_WALLET_SEED=n varies the run (default 0).
		seed, _ := strconv.ParseUint(os.Getenv("CASHGATE_WALLET_SEED"), 10, 64)
		rng := rand.New(rand.NewPCG(42+seed, 4242))
		// Start just before a year end so the run crosses it (see the loop).
		e.clk.Set(time.Date(2026, 12, 29, 20, 0, 0, 0, time.UTC))
		_, err := e.w.SetRate(e.ctx, "USD", "0.9215")
		ok(t, err)

		var actors []*randomActor
		for i := 0; i < 4; i++ {
			u := e.customer(fmt.Sprintf("cust%d", i))
			actors = append(actors, &randomActor{u: u, pin: "1234", tier: wallet.TierPrivate})
		}
		for i, plus := range []bool{false, true} {
			c := e.corporate(fmt.Sprintf("corp%d", i), plus)
			tier := wallet.TierCorporate
			if plus {
				tier = wallet.TierCorporatePlus
			}
			actors = append(actors, &randomActor{u: c.User, pin: "4321", tier: tier, corp: &c})
		}
		pick := func() *randomActor { return actors[rng.IntN(len(actors))] }
		corps := actors[4:]
		amount := func(maxCents int) string { c := 1 + rng.IntN(maxCents); return fmt.Sprintf("%d.%02d", c/100, c%100) }
		bankRef := 0
		var requests []string
		var pending []struct{ id, customer string }

		// tolerated are the refusals a random operation may meet.
		tolerated := func(err error) bool {
			return err == nil || apperr.Is(err, apperr.LimitExceeded) || apperr.Is(err, apperr.InsufficientFunds) ||
				apperr.Is(err, apperr.Conflict) || apperr.Is(err, apperr.RateLimited)
		}
		check := func(step int, what string, err error) {
			t.Helper()
			if !tolerated(err) {
				t.Fatalf("step %d %s: %v", step, what, err)
			}
		}
		verifyCode := regexp.MustCompile(`cashgate verification code ([0-9]{6})`)

		ops := []func(step int){
			// top-up by the operator
			func(step int) {
				a := pick()
				bankRef++
				_, err := e.w.CreditTopUp(e.ctx, wallet.TopUp{Reference: a.u.TopUpReference, Amount: amount(90000), BankReference: fmt.Sprintf("BANK-%d", bankRef)})
				check(step, "top-up", err)
			},
			// send
			func(step int) {
				from, to := pick(), pick()
				if from == to {
					return
				}
				_, err := e.w.Send(e.ctx, from.u.ID, wallet.WalletSend{To: to.u.Username, Amount: amount(25000)})
				check(step, "send", err)
			},
			// money request (EUR or USD)
			func(step int) {
				m, c := corps[rng.IntN(len(corps))], pick()
				if m == c {
					return
				}
				cur := "EUR"
				if rng.IntN(3) == 0 {
					cur = "USD"
				}
				r, err := e.w.CreateRequest(e.ctx, m.corp.TenantID, wallet.MoneyRequestSpec{Username: c.u.Username, Amount: amount(22000), Currency: cur,
					Description: "order", CallbackURL: site.srv.URL + "/cb", TimeFrame: 60 + rng.IntN(7200)})
				check(step, "request", err)
				if err == nil {
					pending = append(pending, struct{ id, customer string }{r.ID, c.u.ID})
				}
			},
			// approve or deny a pending request
			func(step int) {
				if len(pending) == 0 {
					return
				}
				i := rng.IntN(len(pending))
				p := pending[i]
				pending = append(pending[:i], pending[i+1:]...)
				var a *randomActor
				for _, x := range actors {
					if x.u.ID == p.customer {
						a = x
					}
				}
				if rng.IntN(4) == 0 {
					_, err := e.w.Deny(e.ctx, p.customer, p.id)
					check(step, "deny", err)
					return
				}
				_, err := e.w.Approve(e.ctx, p.customer, p.id, a.pin)
				check(step, "approve", err)
				if err == nil {
					requests = append(requests, p.id)
				}
			},
			// refund part or all of an approved request
			func(step int) {
				if len(requests) == 0 {
					return
				}
				id := requests[rng.IntN(len(requests))]
				for _, m := range corps {
					r, err := e.w.MerchantRequest(e.ctx, m.corp.TenantID, id)
					if err != nil {
						continue
					}
					var amt int64
					if rng.IntN(2) == 0 {
						amt = int64(1 + rng.IntN(15000))
					}
					_, err = e.w.Refund(e.ctx, m.corp.TenantID, r.ID, amt, "")
					if !apperr.Is(err, apperr.Invalid) { // more than is left
						check(step, "refund", err)
					}
				}
			},
			// withdrawal
			func(step int) {
				a := pick()
				spec := wallet.WalletWithdrawal{Amount: amount(60000), PIN: a.pin}
				if a.corp == nil {
					spec.IBAN, spec.Name = "NL91ABNA0417164300", "Holder "+a.u.Username
				} else if !a.verified {
					return
				}
				_, err := e.w.Withdraw(e.ctx, a.u.ID, spec)
				check(step, "withdraw", err)
			},
			// export payouts, then pay or return the batch
			func(step int) {
				ex, err := e.w.ExportPayouts(e.ctx, wallet.Debtor{Name: "Issuer", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"}, e.clk.Now())
				ok(t, err)
				if ex.Count == 0 {
					return
				}
				for _, m := range verifyCode.FindAllSubmatch(ex.XML, -1) {
					for _, c := range corps {
						if !c.verified {
							if _, err := e.w.VerifyBankAccount(e.ctx, c.u.ID, string(m[1])); err == nil {
								c.verified = true
							}
						}
					}
				}
				if rng.IntN(4) == 0 {
					_, err = e.w.ReturnPayouts(e.ctx, ex.BatchID, "AC04 account closed")
				} else {
					_, err = e.w.MarkPaid(e.ctx, ex.BatchID)
				}
				ok(t, err)
			},
			// verification transfer for an unverified corporate
			func(step int) {
				c := corps[rng.IntN(len(corps))]
				if c.verified {
					return
				}
				_, err := e.w.RequestVerification(e.ctx, c.u.ID)
				check(step, "verification", err)
			},
			// time passes: minutes to days; requests expire
			func(step int) {
				if rng.IntN(5) == 0 {
					e.clk.Advance(time.Duration(rng.IntN(36*60)) * time.Minute)
				} else {
					e.clk.Advance(time.Duration(rng.IntN(30)) * time.Minute)
				}
				e.runDue()
			},
			// a concurrent burst from one wallet: sends, approvals and a withdrawal
			func(step int) {
				a := pick()
				var mine []string
				for i := 0; i < len(pending); i++ {
					if pending[i].customer == a.u.ID {
						mine = append(mine, pending[i].id)
						pending = append(pending[:i], pending[i+1:]...)
						i--
					}
				}
				var wg sync.WaitGroup
				var mu sync.Mutex
				errs := make(chan error, 32)
				for i := 0; i < 8; i++ {
					to := pick()
					amt := amount(9000)
					if to == a {
						continue
					}
					wg.Go(func() {
						_, err := e.w.Send(e.ctx, a.u.ID, wallet.WalletSend{To: to.u.Username, Amount: amt})
						errs <- err
					})
				}
				for _, id := range mine {
					wg.Go(func() {
						_, err := e.w.Approve(e.ctx, a.u.ID, id, a.pin)
						errs <- err
						if err == nil {
							mu.Lock()
							requests = append(requests, id)
							mu.Unlock()
						}
					})
				}
				if a.corp == nil || a.verified {
					amt := amount(30000)
					wg.Go(func() {
						spec := wallet.WalletWithdrawal{Amount: amt, PIN: a.pin}
						if a.corp == nil {
							spec.IBAN, spec.Name = "FR1420041010050500013M02606", "Holder"
						}
						_, err := e.w.Withdraw(e.ctx, a.u.ID, spec)
						errs <- err
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					check(step, "burst", err)
				}
				// Approvals refused for a concurrent PIN check are still pending.
				for _, id := range mine {
					r, err := e.w.CustomerRequests(e.ctx, a.u.ID, wallet.StatusPending, 200)
					ok(t, err)
					for _, x := range r {
						if x.ID == id {
							pending = append(pending, struct{ id, customer string }{id, a.u.ID})
						}
					}
				}
			},
		}
		weights := []int{4, 8, 6, 7, 4, 3, 2, 1, 3, 2}
		var table []int
		for i, w := range weights {
			for j := 0; j < w; j++ {
				table = append(table, i)
			}
		}
		steps := 400
		if testing.Short() {
			steps = 120
		}
		for step := 0; step < steps; step++ {
			if step == steps/2 && e.clk.Now().Year() == 2026 {
				// Half the run on each side of the year end, whatever the seed.
				e.clk.Set(time.Date(2027, 1, 1, 0, 5, 0, 0, time.UTC))
			}
			ops[table[rng.IntN(len(table))]](step)
			if step%10 == 9 || step == steps-1 {
				checkMoney(t, e, actors, step)
			}
		}
		if e.clk.Now().Year() != 2027 {
			t.Fatalf("the run did not cross the year end: %v", e.clk.Now())
		}
	})
}

// checkMoney checks the money invariants of the randomized test.
func checkMoney(t *testing.T, e *env, actors []*randomActor, step int) {
	t.Helper()
	ctx, q := e.ctx, e.db.Read()
	if err := ledger.CheckInvariants(ctx, q); err != nil {
		t.Fatalf("step %d: %v", step, err)
	}
	for _, a := range actors {
		bal, err := e.w.BalanceOf(ctx, a.u.ID)
		ok(t, err)
		b, err := wallet.ParseEUR("balance", bal.Available)
		if bal.Available == "0.00" {
			b, err = 0, nil
		}
		ok(t, err)
		var sum int64
		f := wallet.TxFilter{Limit: 200}
		for {
			page, err := e.w.Transactions(ctx, a.u.ID, f)
			ok(t, err)
			for _, tx := range page.Transactions {
				sum += signedCents(t, tx.Net)
			}
			if page.NextCursor == "" {
				break
			}
			f.Cursor = page.NextCursor
		}
		if sum != b {
			t.Fatalf("step %d: %s has %d cents but its transactions net %d", step, a.u.Username, b, sum)
		}
	}
	// Fee revenue is what the transactions show as fees.
	var fees int64
	ok(t, q.QueryRowContext(ctx, `SELECT COALESCE(SUM(sender_fee + recipient_fee - fee_returned), 0) FROM wallet_transactions
WHERE status <> 'returned' AND kind <> 'verification'`).Scan(&fees))
	if got := e.feeRevenue(); got != fees {
		t.Fatalf("step %d: fee revenue %d, transactions' fees %d", step, got, fees)
	}
	// Refunds never pass what was paid, and match the refund transactions.
	// The receive fee comes back pro rata: all of it once all is refunded.
	rows, err := q.QueryContext(ctx, `SELECT r.id, r.amount, r.refunded, r.status, r.fee, r.fee_refunded,
COALESCE((SELECT SUM(t.amount) FROM wallet_transactions t WHERE t.request_id = r.id AND t.kind = 'refund'), 0),
COALESCE((SELECT SUM(t.fee_returned) FROM wallet_transactions t WHERE t.request_id = r.id AND t.kind = 'refund'), 0) FROM wallet_requests r`)
	ok(t, err)
	for rows.Next() {
		var id, st string
		var amt, refunded, fee, feeRefunded, sum, feeSum int64
		ok(t, rows.Scan(&id, &amt, &refunded, &st, &fee, &feeRefunded, &sum, &feeSum))
		if refunded > amt || refunded != sum || (st == "refunded") != (refunded == amt && amt > 0 && sum > 0) {
			t.Fatalf("step %d: request %s %s amount %d refunded %d, refund transactions %d", step, id, st, amt, refunded, sum)
		}
		want, err := money.ProRata(fee, refunded, amt, wallet.FeeRounding)
		ok(t, err)
		if feeRefunded != feeSum || feeRefunded != want {
			t.Fatalf("step %d: request %s fee %d refunded %d of %d: fee refunded %d (transactions %d), want %d", step, id, fee, refunded, amt, feeRefunded, feeSum, want)
		}
	}
	ok(t, rows.Err())
	rows.Close()

	// The limit counters are what the completed movements add up to.
	type key struct{ user, period, metric string }
	type use struct{ n, amount int64 }
	want := map[key]use{}
	add := func(k key, amount int64) { u := want[k]; u.n++; u.amount += amount; want[k] = u }
	tiers := map[string]wallet.Tier{}
	for _, a := range actors {
		tiers[a.u.ID] = a.tier
	}
	rows, err = q.QueryContext(ctx, `SELECT kind, status, from_user, to_user, amount, created_at FROM wallet_transactions`)
	ok(t, err)
	for rows.Next() {
		var kind, st, from, to string
		var amt, created int64
		ok(t, rows.Scan(&kind, &st, &from, &to, &amt, &created))
		at := time.UnixMicro(created).UTC()
		day, year := at.Format("2006-01-02"), at.Format("2006")
		switch {
		case kind == "send" || kind == "payment":
			l := wallet.LimitsOf(tiers[from])
			if l.TransactionsPerDay != wallet.Unlimited {
				add(key{from, day, "transactions"}, amt)
			}
			if kind == "payment" && l.PurchasesPerDay != wallet.Unlimited {
				add(key{from, day, "purchases"}, amt)
			}
		case kind == "topup":
			add(key{to, day, "top_ups"}, amt)
			if wallet.LimitsOf(tiers[to]).TopUpPerYear != wallet.Unlimited {
				add(key{to, year, "top_ups"}, amt)
			}
		case kind == "verification":
			add(key{to, day, "verifications"}, amt)
		case kind == "withdrawal" && st != "returned":
			add(key{from, day, "withdrawals"}, amt)
			if wallet.LimitsOf(tiers[from]).WithdrawalPerYear != wallet.Unlimited {
				add(key{from, year, "withdrawals"}, amt)
			}
		}
	}
	ok(t, rows.Err())
	rows.Close()
	got := map[key]use{}
	rows, err = q.QueryContext(ctx, `SELECT user_id, period, metric, n, amount FROM wallet_usage WHERE n > 0 OR amount > 0`)
	ok(t, err)
	for rows.Next() {
		var k key
		var u use
		ok(t, rows.Scan(&k.user, &k.period, &k.metric, &u.n, &u.amount))
		got[k] = u
	}
	ok(t, rows.Err())
	rows.Close()
	for k, w := range want {
		if got[k] != w {
			t.Fatalf("step %d: usage %+v counts %+v, the completed movements %+v", step, k, got[k], w)
		}
		l := wallet.LimitsOf(tiers[k.user])
		var maxN, maxAmount int64 = wallet.Unlimited, wallet.Unlimited
		switch {
		case k.metric == "transactions":
			maxN = l.TransactionsPerDay
		case k.metric == "purchases":
			maxN = l.PurchasesPerDay
		case k.metric == "top_ups" && len(k.period) == 10:
			maxN = l.TopUpsPerDay
		case k.metric == "top_ups":
			maxAmount = l.TopUpPerYear
		case k.metric == "withdrawals" && len(k.period) == 10:
			maxN = l.WithdrawalsPerDay
		case k.metric == "withdrawals":
			maxAmount = l.WithdrawalPerYear
		case k.metric == "verifications":
			maxN = wallet.MaxVerificationsPerDay
		}
		if (maxN != wallet.Unlimited && w.n > maxN) || (maxAmount != wallet.Unlimited && w.amount > maxAmount) {
			t.Fatalf("step %d: %+v passed its limit: %+v", step, k, w)
		}
	}
	for k, u := range got {
		if _, ok := want[k]; !ok {
			t.Fatalf("step %d: usage %+v counts %+v without completed movements", step, k, u)
		}
	}
}

// signedCents reads "-12.50" or "12.50" as cents.
func signedCents(t *testing.T, s string) int64 {
	t.Helper()
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	if s == "0.00" {
		return 0
	}
	c, err := wallet.ParseEUR("net", s)
	ok(t, err)
	if neg {
		return -c
	}
	return c
}
