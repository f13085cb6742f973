package cardpay_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/cardpay"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

const scope, cur = "ten_1", "GBP"

// books is the engine over a fresh database, with helpers that run one
// posting per transaction and check the ledger's invariants after it.
type books struct {
	t  *testing.T
	db *store.DB
	e  *cardpay.Engine
	l  *ledger.Ledger
}

func newBooks(t *testing.T, db *store.DB) *books {
	e, l := engineOn(t, db)
	return &books{t: t, db: db, e: e, l: l}
}

// do runs fn in one transaction, then checks the invariants.
func (b *books) do(fn func(ctx context.Context, tx *store.Tx) error) error {
	b.t.Helper()
	ctx := context.Background()
	err := b.db.Transact(ctx, fn)
	if ierr := ledger.CheckInvariants(ctx, b.db.Read()); ierr != nil {
		b.t.Fatalf("ledger invariants: %v", ierr)
	}
	return err
}

func (b *books) must(fn func(ctx context.Context, tx *store.Tx) error) {
	b.t.Helper()
	if err := b.do(fn); err != nil {
		b.t.Fatal(err)
	}
}

// bal are posted balances of the card accounts (and pending_in of
// merchant/pending, what holds to it reserve).
type bal struct{ clearing, pending, available, fees, held int64 }

func (b *books) balances() bal {
	b.t.Helper()
	var set cardpay.Accounts
	b.must(func(ctx context.Context, tx *store.Tx) (err error) {
		set, err = b.e.Accounts(ctx, tx, scope, cur)
		return err
	})
	var out bal
	for _, a := range []struct {
		id  string
		dst *int64
	}{{set.Clearing, &out.clearing}, {set.Pending, &out.pending}, {set.Available, &out.available}, {set.Fees, &out.fees}} {
		*a.dst = b.account(scope, a.id).Balance.Posted
	}
	out.held = b.account(scope, set.Pending).Balance.PendingIn
	return out
}

func (b *books) account(scope, id string) ledger.Account {
	b.t.Helper()
	a, err := b.l.Account(context.Background(), b.db.Read(), scope, id)
	if err != nil {
		b.t.Fatal(err)
	}
	return a
}

func (b *books) want(step string, w bal) {
	b.t.Helper()
	if got := b.balances(); got != w {
		b.t.Errorf("%s: balances %+v, want %+v", step, got, w)
	}
}

// entries are the kinds of the entries of reference, sorted.
func (b *books) entries(ref string) []string {
	b.t.Helper()
	rows, err := b.db.Read().QueryContext(context.Background(), `SELECT kind FROM ledger_entries WHERE reference = $1 ORDER BY kind`, ref)
	if err != nil {
		b.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			b.t.Fatal(err)
		}
		out = append(out, k)
	}
	return out
}

func sale(ref string, amount int64) cardpay.SaleSpec {
	return cardpay.SaleSpec{Scope: scope, Currency: cur, Amount: amount, Reference: ref}
}

// TestSaleAndCancel: a sale credits merchant/pending from the card scheme;
// its cancellation takes it back.
func TestSaleAndCancel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := newBooks(t, db)
		b.must(func(ctx context.Context, tx *store.Tx) error { return b.e.Sale(ctx, tx, sale("pay_1", 1000)) })
		b.want("sale", bal{clearing: -1000, pending: 1000})
		b.must(func(ctx context.Context, tx *store.Tx) error { return b.e.CancelSale(ctx, tx, sale("pay_1", 1000)) })
		b.want("cancel", bal{})
		if got := b.entries("pay_1"); !slices.Equal(got, []string{cardpay.KindCancel, cardpay.KindSale}) {
			t.Errorf("entries %v", got)
		}
	})
}

// TestHoldCapturesVoid: an authorisation holds the amount; partial
// captures post parts of it; a void releases the rest; a capture of more
// than remains, or of a closed hold, is refused.
func TestHoldCapturesVoid(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := newBooks(t, db)
		var hold string
		b.must(func(ctx context.Context, tx *store.Tx) (err error) {
			hold, err = b.e.Hold(ctx, tx, sale("pay_1", 1000))
			return err
		})
		b.want("hold", bal{held: 1000})
		capture := func(amount int64, final bool) error {
			return b.do(func(ctx context.Context, tx *store.Tx) error { return b.e.Capture(ctx, tx, scope, hold, amount, final) })
		}
		for _, amt := range []int64{300, 200} {
			if err := capture(amt, false); err != nil {
				t.Fatal(err)
			}
		}
		b.want("two captures", bal{clearing: -500, pending: 500, held: 500})
		if err := capture(501, false); !apperr.Is(err, apperr.Conflict) {
			t.Errorf("capture beyond the hold: %v", err)
		}
		b.must(func(ctx context.Context, tx *store.Tx) error { return b.e.Void(ctx, tx, scope, hold) })
		b.want("void", bal{clearing: -500, pending: 500})
		if err := capture(1, true); err == nil {
			t.Error("captured a voided hold")
		}
		if got := b.entries("pay_1"); !slices.Equal(got, []string{cardpay.KindCapture, cardpay.KindCapture}) {
			t.Errorf("entries %v", got)
		}
	})
}

// TestSettle: the pending money goes to merchant/available less the fee,
// which goes to platform/fees; a fee above the amount is refused.
func TestSettle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := newBooks(t, db)
		b.must(func(ctx context.Context, tx *store.Tx) error { return b.e.Sale(ctx, tx, sale("pay_1", 1000)) })
		settle := cardpay.SettleSpec{Scope: scope, Currency: cur, Reference: "pay_1", Amount: 1000, Fee: 1001}
		if err := b.do(func(ctx context.Context, tx *store.Tx) error { return b.e.Settle(ctx, tx, settle) }); err == nil {
			t.Error("settled with a fee above the amount")
		}
		settle.Fee = 130
		b.must(func(ctx context.Context, tx *store.Tx) error { return b.e.Settle(ctx, tx, settle) })
		b.want("settle", bal{clearing: -1000, available: 870, fees: 130})
		if got := b.entries("pay_1"); !slices.Equal(got, []string{cardpay.KindSale, cardpay.KindSettlement}) {
			t.Errorf("entries %v", got)
		}
	})
}

// TestRefundProRataFee: refunds take pending money first, then settled
// money with the fee's pro-rata share returned by platform/fees; refunds of
// everything return exactly the fee.
func TestRefundProRataFee(t *testing.T) {
	type step struct {
		settle int64 // > 0: settle what is pending with this fee
		refund int64
		want   bal
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"thirds after settlement", []step{
			{settle: 100, want: bal{clearing: -1000, available: 900, fees: 100}},
			{refund: 333, want: bal{clearing: -667, available: 600, fees: 67}},
			{refund: 333, want: bal{clearing: -334, available: 301, fees: 33}},
			{refund: 334, want: bal{}},
		}},
		{"part before and the rest after settlement", []step{
			{refund: 400, want: bal{clearing: -600, pending: 600}},
			{settle: 60, want: bal{clearing: -600, available: 540, fees: 60}},
			{refund: 300, want: bal{clearing: -300, available: 270, fees: 30}},
			{refund: 300, want: bal{}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				b := newBooks(t, db)
				b.must(func(ctx context.Context, tx *store.Tx) error { return b.e.Sale(ctx, tx, sale("pay_1", 1000)) })
				p := cardpay.Paid{Captured: 1000, Pending: 1000}
				for i, s := range c.steps {
					if s.settle > 0 {
						spec := cardpay.SettleSpec{Scope: scope, Currency: cur, Reference: "pay_1", Amount: p.Pending, Fee: s.settle}
						b.must(func(ctx context.Context, tx *store.Tx) error { return b.e.Settle(ctx, tx, spec) })
						p.Settled, p.FeeCharged, p.Pending = p.Settled+p.Pending, p.FeeCharged+s.settle, 0
					} else {
						sp, err := cardpay.SplitRefund(p, s.refund)
						if err != nil {
							t.Fatal(err)
						}
						spec := cardpay.RefundSpec{Scope: scope, Currency: cur, Reference: "pay_1", Amount: s.refund, Split: sp}
						b.must(func(ctx context.Context, tx *store.Tx) error { return b.e.Refund(ctx, tx, spec) })
						p.Refunded, p.Pending, p.FeeReturned = p.Refunded+s.refund, p.Pending-sp.FromPending, p.FeeReturned+sp.FeeBack
					}
					b.want(fmt.Sprintf("step %d", i+1), s.want)
				}
			})
		})
	}
}

// TestRefundShortfall: a refund of settled money that merchant/available
// no longer holds (paid out) is InsufficientFunds with a *ShortfallError
// naming the balance and what the refund takes; nothing moves.
func TestRefundShortfall(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := newBooks(t, db)
		b.must(func(ctx context.Context, tx *store.Tx) error { return b.e.Sale(ctx, tx, sale("pay_1", 1000)) })
		settle := cardpay.SettleSpec{Scope: scope, Currency: cur, Reference: "pay_1", Amount: 1000, Fee: 100}
		b.must(func(ctx context.Context, tx *store.Tx) error { return b.e.Settle(ctx, tx, settle) })
		b.must(func(ctx context.Context, tx *store.Tx) error { // a payout of 800
			set, err := b.e.Accounts(ctx, tx, scope, cur)
			if err != nil {
				return err
			}
			_, err = b.l.Transfer(ctx, tx, ledger.TransferSpec{TenantID: scope, From: set.Available, To: set.Clearing, Currency: cur, Amount: 800, Kind: "payout"})
			return err
		})
		p := cardpay.Paid{Captured: 1000, Settled: 1000, FeeCharged: 100}
		sp, err := cardpay.SplitRefund(p, 500)
		if err != nil || sp != (cardpay.Split{FromAvailable: 500, FeeBack: 50}) {
			t.Fatalf("split %+v, %v", sp, err)
		}
		err = b.do(func(ctx context.Context, tx *store.Tx) error {
			return b.e.Refund(ctx, tx, cardpay.RefundSpec{Scope: scope, Currency: cur, Reference: "pay_1", Amount: 500, Split: sp})
		})
		var sf *cardpay.ShortfallError
		if !apperr.Is(err, apperr.InsufficientFunds) || !errors.As(err, &sf) || *sf != (cardpay.ShortfallError{Available: 100, Need: 450}) {
			t.Errorf("refund beyond the available balance: %v", err)
		}
		b.want("refused", bal{clearing: -200, available: 100, fees: 100})
	})
}

// TestSplitRefund: pending money first; the fee's share is cumulative and
// rounded half up, so the last refund returns what remains of it.
func TestSplitRefund(t *testing.T) {
	cases := []struct {
		name   string
		p      cardpay.Paid
		amount int64
		want   cardpay.Split
	}{
		{"all pending", cardpay.Paid{Captured: 1000, Pending: 1000}, 400, cardpay.Split{FromPending: 400}},
		{"pending then settled", cardpay.Paid{Captured: 1000, Pending: 300, Settled: 700, FeeCharged: 70}, 500, cardpay.Split{FromPending: 300, FromAvailable: 200, FeeBack: 20}},
		{"a third of settled", cardpay.Paid{Captured: 1000, Settled: 1000, FeeCharged: 100}, 333, cardpay.Split{FromAvailable: 333, FeeBack: 33}},
		{"the last third", cardpay.Paid{Captured: 1000, Refunded: 666, Settled: 1000, FeeCharged: 100, FeeReturned: 67}, 334, cardpay.Split{FromAvailable: 334, FeeBack: 33}},
		{"one cent of a fixed fee", cardpay.Paid{Captured: 1000, Settled: 1000, FeeCharged: 120}, 1, cardpay.Split{FromAvailable: 1}},
		{"no fee", cardpay.Paid{Captured: 1000, Settled: 1000}, 1000, cardpay.Split{FromAvailable: 1000}},
	}
	for _, c := range cases {
		got, err := cardpay.SplitRefund(c.p, c.amount)
		if err != nil || got != c.want || got.Amount() != c.amount {
			t.Errorf("%s: %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
}

// TestSaleIntoWalletScope: remote payments take a card into a merchant's
// e-money wallet: the sale credits an explicit account of the scope
// "wallet" from that scope's card-scheme/clearing, creates no merchant
// card accounts there, and a refund from the wallet takes it back (refused
// beyond the wallet's balance).
func TestSaleIntoWalletScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := newBooks(t, db)
		const wallet = "wallet"
		var dest string
		b.must(func(ctx context.Context, tx *store.Tx) error {
			a, err := b.l.EnsureAccount(ctx, tx, ledger.AccountSpec{TenantID: wallet, Owner: "wallet:w_1", Purpose: "available", Currency: "EUR"})
			dest = a.ID
			return err
		})
		spec := cardpay.SaleSpec{Scope: wallet, Currency: "EUR", Amount: 2500, To: dest, Reference: "rp_1"}
		b.must(func(ctx context.Context, tx *store.Tx) error { return b.e.Sale(ctx, tx, spec) })
		if got := b.account(wallet, dest).Balance.Posted; got != 2500 {
			t.Errorf("wallet holds %d", got)
		}
		accts, err := b.l.Accounts(context.Background(), db.Read(), wallet, ledger.AccountFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(accts) != 2 {
			t.Errorf("accounts of the wallet scope: %+v", accts)
		}
		for _, a := range accts {
			if a.ID != dest && (a.Owner != "card-scheme" || a.Purpose != "clearing" || a.Balance.Posted != -2500 || !a.AllowOverdraft) {
				t.Errorf("account %+v", a)
			}
		}
		refund := cardpay.RefundSpec{Scope: wallet, Currency: "EUR", Reference: "rp_1", Amount: 2501, From: dest}
		if err := b.do(func(ctx context.Context, tx *store.Tx) error { return b.e.Refund(ctx, tx, refund) }); !apperr.Is(err, apperr.InsufficientFunds) {
			t.Errorf("refund beyond the wallet: %v", err)
		}
		refund.Amount = 2500
		b.must(func(ctx context.Context, tx *store.Tx) error { return b.e.Refund(ctx, tx, refund) })
		if got := b.account(wallet, dest).Balance.Posted; got != 0 {
			t.Errorf("wallet holds %d after the refund", got)
		}
		if got := b.entries("rp_1"); !slices.Equal(got, []string{cardpay.KindRefund, cardpay.KindSale}) {
			t.Errorf("entries %v", got)
		}
	})
}

// TestAccountsRememberedAfterCommit: account ids ensured in a transaction
// that rolls back are not remembered (they do not exist).
func TestAccountsRememberedAfterCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := newBooks(t, db)
		rollback := errors.New("roll back")
		var first cardpay.Accounts
		var firstClearing string
		err := b.db.Transact(context.Background(), func(ctx context.Context, tx *store.Tx) (err error) {
			if first, err = b.e.Accounts(ctx, tx, scope, cur); err != nil {
				return err
			}
			if firstClearing, err = b.e.Clearing(ctx, tx, "wallet", cur); err != nil {
				return err
			}
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatal(err)
		}
		var set cardpay.Accounts
		var clearing string
		b.must(func(ctx context.Context, tx *store.Tx) (err error) {
			if set, err = b.e.Accounts(ctx, tx, scope, cur); err != nil {
				return err
			}
			clearing, err = b.e.Clearing(ctx, tx, "wallet", cur)
			return err
		})
		if set == first || clearing == firstClearing {
			t.Fatalf("rolled-back ids remembered: %+v %s", set, clearing)
		}
		b.account(scope, set.Fees)
		b.account("wallet", clearing)
		var again cardpay.Accounts
		b.must(func(ctx context.Context, tx *store.Tx) (err error) {
			again, err = b.e.Accounts(ctx, tx, scope, cur)
			return err
		})
		if again != set {
			t.Errorf("accounts %+v, then %+v", set, again)
		}
	})
}

// TestViaPayPal: a payment taken by PayPal (Via) moves money between
// paypal/clearing and the same merchant accounts as a card — sale, hold
// and capture, cancel, refund — and card-scheme/clearing never moves.
func TestViaPayPal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := newBooks(t, db)
		pp := func(ref string, amount int64) cardpay.SaleSpec {
			s := sale(ref, amount)
			s.Via = cardpay.ViaPayPal
			return s
		}
		paypal := func() int64 {
			var id string
			b.must(func(ctx context.Context, tx *store.Tx) (err error) {
				id, err = b.e.ViaClearing(ctx, tx, scope, cur, cardpay.ViaPayPal)
				return err
			})
			if a := b.account(scope, id); a.Owner != cardpay.ViaPayPal || a.Purpose != "clearing" {
				t.Fatalf("paypal clearing is %s/%s", a.Owner, a.Purpose)
			}
			return b.account(scope, id).Balance.Posted
		}
		b.must(func(ctx context.Context, tx *store.Tx) error { return b.e.Sale(ctx, tx, pp("pay_1", 1000)) })
		b.want("sale", bal{pending: 1000})
		if got := paypal(); got != -1000 {
			t.Errorf("paypal/clearing after the sale: %d", got)
		}
		var hold string
		b.must(func(ctx context.Context, tx *store.Tx) (err error) {
			hold, err = b.e.Hold(ctx, tx, pp("pay_2", 500))
			return err
		})
		b.must(func(ctx context.Context, tx *store.Tx) error { return b.e.Capture(ctx, tx, scope, hold, 200, true) })
		b.want("hold, capture", bal{pending: 1200})
		b.must(func(ctx context.Context, tx *store.Tx) error { return b.e.CancelSale(ctx, tx, pp("pay_1", 1000)) })
		spec := cardpay.RefundSpec{Scope: scope, Currency: cur, Reference: "pay_2", Amount: 150, Via: cardpay.ViaPayPal,
			Split: cardpay.Split{FromPending: 150}}
		b.must(func(ctx context.Context, tx *store.Tx) error { return b.e.Refund(ctx, tx, spec) })
		b.want("cancel, refund", bal{pending: 50})
		if got := paypal(); got != -50 {
			t.Errorf("paypal/clearing at the end: %d", got)
		}
	})
}

// TestAccountsAreHot: the accounts every payment posts to — card-scheme and
// PayPal clearing, merchant pending, platform fees — are hot (their
// postings wait unfolded on PostgreSQL: ledger/fold.go); merchant
// available, which only settlement credits, is not.
func TestAccountsAreHot(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := newBooks(t, db)
		var set cardpay.Accounts
		var paypal string
		b.must(func(ctx context.Context, tx *store.Tx) (err error) {
			if set, err = b.e.Accounts(ctx, tx, scope, cur); err != nil {
				return err
			}
			paypal, err = b.e.ViaClearing(ctx, tx, scope, cur, cardpay.ViaPayPal)
			return err
		})
		for id, hot := range map[string]bool{set.Clearing: true, set.Pending: true, set.Fees: true, paypal: true, set.Available: false} {
			if a := b.account(scope, id); a.Hot != hot {
				t.Errorf("%s/%s hot = %t, want %t", a.Owner, a.Purpose, a.Hot, hot)
			}
		}
	})
}
