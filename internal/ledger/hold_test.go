package ledger_test

import (
	"context"
	"sync"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// holdStep is one operation on a hold and its expected outcome ("" = success).
type holdStep struct {
	op     string // "post" or "void"
	amount int64
	final  bool
	want   apperr.Code
}

func post(amount int64) holdStep  { return holdStep{op: "post", amount: amount} }
func final(amount int64) holdStep { return holdStep{op: "post", amount: amount, final: true} }
func void() holdStep              { return holdStep{op: "void"} }
func (s holdStep) refused(c apperr.Code) holdStep {
	s.want = c
	return s
}

func TestHoldLifecycle(t *testing.T) {
	tests := []struct {
		name       string
		amount     int64
		steps      []holdStep
		wantStatus ledger.HoldStatus
		wantPosted int64
	}{
		{
			name:   "partial, partial, final releases the rest",
			amount: 100,
			steps: []holdStep{post(30), post(20), final(10),
				post(1).refused(apperr.Conflict), void().refused(apperr.Conflict)},
			wantStatus: ledger.HoldPosted, wantPosted: 60,
		},
		{
			name:       "partial posts up to the amount close the hold",
			amount:     100,
			steps:      []holdStep{post(60), post(40), post(1).refused(apperr.Conflict)},
			wantStatus: ledger.HoldPosted, wantPosted: 100,
		},
		{
			name:       "whole amount at once",
			amount:     100,
			steps:      []holdStep{final(100)},
			wantStatus: ledger.HoldPosted, wantPosted: 100,
		},
		{
			name:   "void",
			amount: 100,
			steps: []holdStep{void(), post(1).refused(apperr.Conflict), final(1).refused(apperr.Conflict),
				void().refused(apperr.Conflict)},
			wantStatus: ledger.HoldVoided, wantPosted: 0,
		},
		{
			name:       "partial post then void releases the rest",
			amount:     100,
			steps:      []holdStep{post(25), void(), post(1).refused(apperr.Conflict)},
			wantStatus: ledger.HoldVoided, wantPosted: 25,
		},
		{
			name:   "never more than remains",
			amount: 100,
			steps: []holdStep{post(70), post(31).refused(apperr.Conflict), final(31).refused(apperr.Conflict),
				post(101).refused(apperr.Invalid), post(0).refused(apperr.Invalid), post(-5).refused(apperr.Invalid),
				final(30)},
			wantStatus: ledger.HoldPosted, wantPosted: 100,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				f := newFixture(t, db)
				const funds = 1000
				wallet := f.wallet(t, "customer", "EUR", funds)
				merchant := f.account(t, "merchant", "available", "EUR", false)
				h, err := f.l.Standalone().Hold(f.ctx, ledger.HoldSpec{
					TenantID: f.tenant, From: wallet, To: merchant, Currency: "EUR", Amount: tc.amount, Reference: "pay_1",
				})
				if err != nil {
					t.Fatal(err)
				}
				if h.Status != ledger.HoldPending || h.Kind != "capture" || h.Remaining() != tc.amount {
					t.Fatalf("new hold = %+v", h)
				}
				if got, want := f.balance(t, wallet), bal(funds, tc.amount, 0); got != want {
					t.Fatalf("wallet after hold = %+v, want %+v", got, want)
				}
				if got, want := f.balance(t, merchant), bal(0, 0, tc.amount); got != want {
					t.Fatalf("merchant after hold = %+v, want %+v", got, want)
				}
				f.check(t)

				var posted int64
				for i, s := range tc.steps {
					var opErr error
					var entryID string
					// Commit even when the step is refused: a refusal must
					// leave the transaction unchanged.
					if err := db.Transact(f.ctx, func(ctx context.Context, tx *store.Tx) error {
						if s.op == "void" {
							opErr = f.l.VoidHold(f.ctx, tx, f.tenant, h.ID)
						} else {
							entryID, opErr = f.l.PostHold(f.ctx, tx, f.tenant, h.ID, s.amount, s.final)
						}
						return nil
					}); err != nil {
						t.Fatal(err)
					}
					if got := apperr.CodeOf(opErr); got != s.want {
						t.Fatalf("step %d %+v: err = %v, want code %q", i, s, opErr, s.want)
					}
					if s.op == "post" && s.want == "" {
						posted += s.amount
						e, err := f.l.EntryByID(f.ctx, db.Read(), f.tenant, entryID)
						if err != nil {
							t.Fatal(err)
						}
						if e.HoldID != h.ID || e.Kind != "capture" || e.Reference != "pay_1" || len(e.Postings) != 2 ||
							e.Postings[0] != (ledger.Posting{AccountID: wallet, Currency: "EUR", Amount: -s.amount}) ||
							e.Postings[1] != (ledger.Posting{AccountID: merchant, Currency: "EUR", Amount: s.amount}) {
							t.Fatalf("step %d: entry %+v", i, e)
						}
					}
					got, err := f.l.HoldByID(f.ctx, db.Read(), f.tenant, h.ID)
					if err != nil {
						t.Fatal(err)
					}
					if got.PostedAmount != posted {
						t.Fatalf("step %d: hold posted_amount %d, want %d", i, got.PostedAmount, posted)
					}
					rest := got.Remaining()
					if w, want := f.balance(t, wallet), bal(funds-posted, rest, 0); w != want {
						t.Fatalf("step %d: wallet = %+v, want %+v", i, w, want)
					}
					if m, want := f.balance(t, merchant), bal(posted, 0, rest); m != want {
						t.Fatalf("step %d: merchant = %+v, want %+v", i, m, want)
					}
					f.check(t)
				}
				got, err := f.l.HoldByID(f.ctx, db.Read(), f.tenant, h.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != tc.wantStatus || got.PostedAmount != tc.wantPosted || got.Remaining() != 0 {
					t.Fatalf("final hold = %+v, want status %s posted %d", got, tc.wantStatus, tc.wantPosted)
				}
			})
		})
	}
}

func TestHoldRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		world := f.world(t, "EUR")
		wallet := f.wallet(t, "customer", "EUR", 100)
		merchant := f.account(t, "merchant", "available", "EUR", false)
		usd := f.account(t, "merchant", "available", "USD", false)
		other := newFixture(t, db)
		other.tenant = "ten_2"
		foreign := other.wallet(t, "x", "EUR", 100)
		foreignHold, err := other.l.Standalone().Hold(f.ctx, ledger.HoldSpec{TenantID: other.tenant, From: foreign, To: other.world(t, "EUR"), Currency: "EUR", Amount: 10})
		if err != nil {
			t.Fatal(err)
		}
		// 60 of the wallet's 100 is held: 40 remain available.
		if _, err := f.l.Standalone().Hold(f.ctx, ledger.HoldSpec{TenantID: f.tenant, From: wallet, To: merchant, Currency: "EUR", Amount: 60}); err != nil {
			t.Fatal(err)
		}

		spec := func(from, to, cur string, amount int64) ledger.HoldSpec {
			return ledger.HoldSpec{TenantID: f.tenant, From: from, To: to, Currency: cur, Amount: amount, Reference: "r"}
		}
		tests := []struct {
			name string
			op   func(ctx context.Context, tx *store.Tx) error
			want apperr.Code
		}{
			{"hold beyond available", func(ctx context.Context, tx *store.Tx) error {
				_, err := f.l.Hold(f.ctx, tx, spec(wallet, merchant, "EUR", 41))
				return err
			}, apperr.InsufficientFunds},
			{"hold reversed direction beyond available", func(ctx context.Context, tx *store.Tx) error {
				_, err := f.l.Hold(f.ctx, tx, spec(merchant, wallet, "EUR", 1))
				return err
			}, apperr.InsufficientFunds},
			{"transfer beyond available", func(ctx context.Context, tx *store.Tx) error {
				_, err := f.l.Transfer(f.ctx, tx, ledger.TransferSpec{TenantID: f.tenant, From: wallet, To: merchant, Currency: "EUR", Amount: 41})
				return err
			}, apperr.InsufficientFunds},
			{"hold to the same account", func(ctx context.Context, tx *store.Tx) error {
				_, err := f.l.Hold(f.ctx, tx, spec(wallet, wallet, "EUR", 1))
				return err
			}, apperr.Invalid},
			{"zero amount", func(ctx context.Context, tx *store.Tx) error {
				_, err := f.l.Hold(f.ctx, tx, spec(wallet, merchant, "EUR", 0))
				return err
			}, apperr.Invalid},
			{"bad currency", func(ctx context.Context, tx *store.Tx) error {
				_, err := f.l.Hold(f.ctx, tx, spec(wallet, merchant, "Eur", 1))
				return err
			}, apperr.Invalid},
			{"currency differs from account", func(ctx context.Context, tx *store.Tx) error {
				_, err := f.l.Hold(f.ctx, tx, spec(world, usd, "EUR", 1))
				return err
			}, apperr.Invalid},
			{"unknown account", func(ctx context.Context, tx *store.Tx) error {
				_, err := f.l.Hold(f.ctx, tx, spec(world, "acc_nope", "EUR", 1))
				return err
			}, apperr.NotFound},
			{"other tenant's account", func(ctx context.Context, tx *store.Tx) error {
				_, err := f.l.Hold(f.ctx, tx, spec(world, foreign, "EUR", 1))
				return err
			}, apperr.NotFound},
			{"post unknown hold", func(ctx context.Context, tx *store.Tx) error {
				_, err := f.l.PostHold(f.ctx, tx, f.tenant, "hold_nope", 1, false)
				return err
			}, apperr.NotFound},
			{"post other tenant's hold", func(ctx context.Context, tx *store.Tx) error {
				_, err := f.l.PostHold(f.ctx, tx, f.tenant, foreignHold.ID, 1, false)
				return err
			}, apperr.NotFound},
			{"void other tenant's hold", func(ctx context.Context, tx *store.Tx) error {
				return f.l.VoidHold(f.ctx, tx, f.tenant, foreignHold.ID)
			}, apperr.NotFound},
			{"hold within available", func(ctx context.Context, tx *store.Tx) error {
				_, err := f.l.Hold(f.ctx, tx, spec(wallet, merchant, "EUR", 40))
				return err
			}, ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := map[string]ledger.Balance{}
				for _, id := range []string{world, wallet, merchant, usd} {
					before[id] = f.balance(t, id)
				}
				holds := f.count(t, "ledger_holds")
				var opErr error
				if err := db.Transact(f.ctx, func(ctx context.Context, tx *store.Tx) error {
					opErr = tc.op(ctx, tx)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if got := apperr.CodeOf(opErr); got != tc.want {
					t.Fatalf("err = %v, want code %q", opErr, tc.want)
				}
				if tc.want != "" {
					for id, want := range before {
						if got := f.balance(t, id); got != want {
							t.Fatalf("refused operation changed %s: %+v, want %+v", id, got, want)
						}
					}
					if n := f.count(t, "ledger_holds"); n != holds {
						t.Fatalf("%d holds after a refusal, want %d", n, holds)
					}
				}
				f.check(t)
			})
		}
		if got, want := f.balance(t, wallet), bal(100, 100, 0); got != want {
			t.Fatalf("wallet = %+v, want %+v", got, want)
		}
	})
}

// TestConcurrentHoldPosts runs 50 parallel partial posts of 7 against one
// hold of 100: exactly 14 fit, the rest are refused, nothing is lost.
func TestConcurrentHoldPosts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		wallet := f.wallet(t, "customer", "EUR", 1000)
		merchant := f.account(t, "merchant", "available", "EUR", false)
		h, err := f.l.Standalone().Hold(f.ctx, ledger.HoldSpec{TenantID: f.tenant, From: wallet, To: merchant, Currency: "EUR", Amount: 100})
		if err != nil {
			t.Fatal(err)
		}
		const workers, each = 50, 7
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for i := range workers {
			wg.Go(func() {
				_, errs[i] = f.l.Standalone().PostHold(f.ctx, f.tenant, h.ID, each, false)
			})
		}
		wg.Wait()
		ok, conflicts := 0, 0
		for _, err := range errs {
			switch apperr.CodeOf(err) {
			case "":
				ok++
			case apperr.Conflict:
				conflicts++
			default:
				t.Fatalf("unexpected error: %v", err)
			}
		}
		if ok != 100/each || conflicts != workers-100/each {
			t.Fatalf("%d posts succeeded and %d conflicted, want %d and %d", ok, conflicts, 100/each, workers-100/each)
		}
		got, err := f.l.HoldByID(f.ctx, db.Read(), f.tenant, h.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.PostedAmount != 98 || got.Status != ledger.HoldPending {
			t.Fatalf("hold = %+v", got)
		}
		if w, want := f.balance(t, wallet), bal(1000-98, 2, 0); w != want {
			t.Fatalf("wallet = %+v, want %+v", w, want)
		}
		f.check(t)
	})
}
