package ledger_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

func TestEnsureAccount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		spec := ledger.AccountSpec{TenantID: f.tenant, Owner: "customer:1", Purpose: "wallet", Currency: "EUR"}
		first, err := f.l.Standalone().EnsureAccount(f.ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		if first.ID == "" || first.Balance != (ledger.Balance{}) || first.AllowOverdraft || !first.CreatedAt.Equal(f.clk.Now()) {
			t.Fatalf("new account = %+v", first)
		}

		// Idempotent, also when callers race to create the same account.
		var wg sync.WaitGroup
		got := make([]string, 8)
		errs := make([]error, 8)
		for i := range got {
			wg.Go(func() {
				a, err := f.l.Standalone().EnsureAccount(f.ctx, spec)
				got[i], errs[i] = a.ID, err
			})
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil || got[i] != first.ID {
				t.Fatalf("EnsureAccount #%d = %q, %v; want %q", i, got[i], errs[i], first.ID)
			}
		}
		if n := f.count(t, "ledger_accounts"); n != 1 {
			t.Fatalf("%d accounts, want 1", n)
		}

		// Another currency, purpose or tenant is another account.
		for _, s := range []ledger.AccountSpec{
			{TenantID: f.tenant, Owner: "customer:1", Purpose: "wallet", Currency: "USD"},
			{TenantID: f.tenant, Owner: "customer:1", Purpose: "savings", Currency: "EUR"},
			{TenantID: "ten_2", Owner: "customer:1", Purpose: "wallet", Currency: "EUR"},
		} {
			a, err := f.l.Standalone().EnsureAccount(f.ctx, s)
			if err != nil || a.ID == first.ID {
				t.Fatalf("EnsureAccount(%+v) = %q, %v; want a new account", s, a.ID, err)
			}
		}

		tests := []struct {
			name string
			spec ledger.AccountSpec
			want apperr.Code
		}{
			{"overdraft differs", ledger.AccountSpec{TenantID: f.tenant, Owner: "customer:1", Purpose: "wallet", Currency: "EUR", AllowOverdraft: true}, apperr.Conflict},
			{"no tenant", ledger.AccountSpec{Owner: "o", Purpose: "p", Currency: "EUR"}, apperr.Invalid},
			{"no owner", ledger.AccountSpec{TenantID: f.tenant, Purpose: "p", Currency: "EUR"}, apperr.Invalid},
			{"no purpose", ledger.AccountSpec{TenantID: f.tenant, Owner: "o", Currency: "EUR"}, apperr.Invalid},
			{"lowercase currency", ledger.AccountSpec{TenantID: f.tenant, Owner: "o", Purpose: "p", Currency: "eur"}, apperr.Invalid},
			{"long currency", ledger.AccountSpec{TenantID: f.tenant, Owner: "o", Purpose: "p", Currency: "EURO"}, apperr.Invalid},
			{"digit currency", ledger.AccountSpec{TenantID: f.tenant, Owner: "o", Purpose: "p", Currency: "E1R"}, apperr.Invalid},
			{"long owner", ledger.AccountSpec{TenantID: f.tenant, Owner: strings.Repeat("o", 256), Purpose: "p", Currency: "EUR"}, apperr.Invalid},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.l.Standalone().EnsureAccount(f.ctx, tc.spec)
				if got := apperr.CodeOf(err); got != tc.want {
					t.Fatalf("err = %v, want code %s", err, tc.want)
				}
			})
		}
		if n := f.count(t, "ledger_accounts"); n != 4 {
			t.Fatalf("%d accounts, want 4", n)
		}
	})
}

func TestPostValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		world := f.world(t, "EUR")
		a := f.wallet(t, "a", "EUR", 1000)
		b := f.wallet(t, "b", "EUR", 0)
		usd := f.wallet(t, "a", "USD", 0)
		worldUSD := f.world(t, "USD")
		other := newFixture(t, db)
		other.tenant = "ten_2"
		foreign := other.wallet(t, "x", "EUR", 500)

		p := func(acct, cur string, amt int64) ledger.Posting {
			return ledger.Posting{AccountID: acct, Currency: cur, Amount: amt}
		}
		entry := func(ps ...ledger.Posting) ledger.Entry {
			return ledger.Entry{TenantID: f.tenant, Kind: "transfer", Reference: "r", Postings: ps}
		}
		tests := []struct {
			name  string
			entry ledger.Entry
			want  apperr.Code
			field string
		}{
			{"no postings", entry(), apperr.Invalid, "postings"},
			{"one posting", entry(p(a, "EUR", 1)), apperr.Invalid, "postings"},
			{"zero amount", entry(p(a, "EUR", 0), p(b, "EUR", 0)), apperr.Invalid, "postings[0].amount"},
			{"unbalanced", entry(p(a, "EUR", -10), p(b, "EUR", 9)), apperr.Invalid, "postings"},
			{"balanced overall but not per currency", entry(p(a, "EUR", -10), p(usd, "USD", 10)), apperr.Invalid, "postings"},
			{"bad currency", entry(p(a, "eur", -10), p(b, "eur", 10)), apperr.Invalid, "postings[0].currency"},
			{"too large", entry(p(world, "EUR", -ledger.MaxAmount-1), p(b, "EUR", ledger.MaxAmount+1)), apperr.Invalid, "postings[0].amount"},
			{"one account only", entry(p(a, "EUR", -10), p(a, "EUR", 10)), apperr.Invalid, "postings"},
			{"no account id", entry(p("", "EUR", -10), p(b, "EUR", 10)), apperr.Invalid, "postings[0].account_id"},
			{"no kind", ledger.Entry{TenantID: f.tenant, Postings: []ledger.Posting{p(a, "EUR", -1), p(b, "EUR", 1)}}, apperr.Invalid, "kind"},
			{"no tenant", ledger.Entry{Kind: "transfer", Postings: []ledger.Posting{p(a, "EUR", -1), p(b, "EUR", 1)}}, apperr.Invalid, "tenant_id"},
			{"long description", ledger.Entry{TenantID: f.tenant, Kind: "k", Description: strings.Repeat("d", 1025), Postings: []ledger.Posting{p(a, "EUR", -1), p(b, "EUR", 1)}}, apperr.Invalid, "description"},
			{"unknown account", entry(p(a, "EUR", -10), p("acc_nope", "EUR", 10)), apperr.NotFound, ""},
			{"other tenant's account", entry(p(a, "EUR", -10), p(foreign, "EUR", 10)), apperr.NotFound, ""},
			{"debit other tenant's account", entry(p(foreign, "EUR", -10), p(b, "EUR", 10)), apperr.NotFound, ""},
			{"currency differs from account", entry(p(worldUSD, "EUR", -10), p(b, "EUR", 10)), apperr.Invalid, ""},
			{"overdraft", entry(p(a, "EUR", -1001), p(b, "EUR", 1001)), apperr.InsufficientFunds, ""},
			{"overdraft in a later leg", entry(p(world, "EUR", -5), p(b, "EUR", 5), p(a, "EUR", -1001), p(b, "EUR", 1001)), apperr.InsufficientFunds, ""},
		}
		before := map[string]ledger.Balance{}
		for _, id := range []string{world, a, b, usd, worldUSD} {
			before[id] = f.balance(t, id)
		}
		foreignBefore := other.balance(t, foreign)
		entries := f.count(t, "ledger_entries")
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				// The refusal happens inside a transaction the caller then
				// commits: a refused entry must leave it unchanged.
				var perr error
				err := db.Transact(f.ctx, func(ctx context.Context, tx *store.Tx) error {
					_, perr = f.l.Post(f.ctx, tx, tc.entry)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				var ae *apperr.Error
				if !errors.As(perr, &ae) || ae.Code != tc.want || ae.Field != tc.field {
					t.Fatalf("Post = %v, want code %s field %q", perr, tc.want, tc.field)
				}
				for id, want := range before {
					if got := f.balance(t, id); got != want {
						t.Fatalf("refused entry changed %s: %+v, want %+v", id, got, want)
					}
				}
				if got := other.balance(t, foreign); got != foreignBefore {
					t.Fatalf("refused entry changed the other tenant's account: %+v, want %+v", got, foreignBefore)
				}
				if n := f.count(t, "ledger_entries"); n != entries {
					t.Fatalf("%d entries after a refused post, want %d", n, entries)
				}
				f.check(t)
			})
		}
	})
}

// TestOverdraft checks that no-overdraft accounts never go below zero,
// that the refusal names the account and changes nothing, in both leg
// orders (the credited account's row may be updated before the refusal).
func TestOverdraft(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		world := f.world(t, "EUR")
		a := f.wallet(t, "a", "EUR", 50)
		b := f.wallet(t, "b", "EUR", 50)

		tests := []struct {
			name     string
			from, to string
			amount   int64
			want     apperr.Code
		}{
			{"a to b beyond balance", a, b, 51, apperr.InsufficientFunds},
			{"b to a beyond balance", b, a, 51, apperr.InsufficientFunds},
			{"world may go negative", world, a, 1_000_000, ""},
			{"back to the world", a, world, 1_000_000, ""},
			{"a to b exactly the balance", a, b, 50, ""},
			{"a is empty", a, b, 1, apperr.InsufficientFunds},
			{"b to a all", b, a, 100, ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := map[string]ledger.Balance{a: f.balance(t, a), b: f.balance(t, b), world: f.balance(t, world)}
				var terr error
				if err := db.Transact(f.ctx, func(ctx context.Context, tx *store.Tx) error {
					_, terr = f.l.Transfer(f.ctx, tx, ledger.TransferSpec{TenantID: f.tenant, From: tc.from, To: tc.to, Currency: "EUR", Amount: tc.amount})
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if got := apperr.CodeOf(terr); got != tc.want {
					t.Fatalf("Transfer = %v, want code %q", terr, tc.want)
				}
				if tc.want != "" {
					if !strings.Contains(terr.Error(), tc.from) {
						t.Fatalf("refusal %q does not name account %s", terr, tc.from)
					}
					for id, want := range before {
						if got := f.balance(t, id); got != want {
							t.Fatalf("refused transfer changed %s: %+v, want %+v", id, got, want)
						}
					}
				} else {
					if got := f.balance(t, tc.to).Posted; got != before[tc.to].Posted+tc.amount {
						t.Fatalf("to: posted %d, want %d", got, before[tc.to].Posted+tc.amount)
					}
				}
				f.check(t)
			})
		}
		if got, want := f.balance(t, a), bal(100, 0, 0); got != want {
			t.Fatalf("a = %+v, want %+v", got, want)
		}
		if got, want := f.balance(t, world), bal(-100, 0, 0); got != want {
			t.Fatalf("world = %+v, want %+v", got, want)
		}
	})
}

// TestMultiLeg posts payment-plus-fee entries, a two-currency entry and an
// entry with two postings on one account, and reads them back.
func TestMultiLeg(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		world := f.world(t, "EUR")
		merchant := f.account(t, "merchant", "available", "EUR", false)
		fees := f.account(t, "platform", "fees", "EUR", false)
		worldUSD := f.world(t, "USD")
		merchantUSD := f.account(t, "merchant", "available", "USD", false)

		tests := []struct {
			name     string
			postings []ledger.Posting
			want     map[string]int64 // posted balances after the entry
		}{
			{
				name: "payment with fee",
				postings: []ledger.Posting{
					{AccountID: world, Currency: "EUR", Amount: -1000},
					{AccountID: merchant, Currency: "EUR", Amount: 970},
					{AccountID: fees, Currency: "EUR", Amount: 30},
				},
				want: map[string]int64{world: -1000, merchant: 970, fees: 30},
			},
			{
				name: "gross credit then fee debit on the same account",
				postings: []ledger.Posting{
					{AccountID: world, Currency: "EUR", Amount: -500},
					{AccountID: merchant, Currency: "EUR", Amount: 500},
					{AccountID: merchant, Currency: "EUR", Amount: -15},
					{AccountID: fees, Currency: "EUR", Amount: 15},
				},
				want: map[string]int64{world: -1500, merchant: 1455, fees: 45},
			},
			{
				// The fees account cannot pay 2000 on its own, but the
				// same entry credits it 2000 first: it is judged on its net.
				name: "debit listed before credit on the same account",
				postings: []ledger.Posting{
					{AccountID: fees, Currency: "EUR", Amount: -2000},
					{AccountID: world, Currency: "EUR", Amount: -2000},
					{AccountID: fees, Currency: "EUR", Amount: 2000},
					{AccountID: merchant, Currency: "EUR", Amount: 2000},
				},
				want: map[string]int64{world: -3500, merchant: 3455, fees: 45},
			},
			{
				name: "two currencies, each balanced",
				postings: []ledger.Posting{
					{AccountID: merchant, Currency: "EUR", Amount: -100},
					{AccountID: world, Currency: "EUR", Amount: 100},
					{AccountID: worldUSD, Currency: "USD", Amount: -108},
					{AccountID: merchantUSD, Currency: "USD", Amount: 108},
				},
				want: map[string]int64{world: -3400, merchant: 3355, worldUSD: -108, merchantUSD: 108},
			},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f.clk.Advance(time.Second)
				e := ledger.Entry{TenantID: f.tenant, Kind: "capture", Reference: "pay_1", Description: tc.name, Postings: tc.postings}
				id, err := f.l.Standalone().Post(f.ctx, e)
				if err != nil {
					t.Fatal(err)
				}
				for acct, want := range tc.want {
					if got := f.balance(t, acct).Posted; got != want {
						t.Errorf("%s posted %d, want %d", acct, got, want)
					}
				}
				got, err := f.l.EntryByID(f.ctx, db.Read(), f.tenant, id)
				if err != nil {
					t.Fatal(err)
				}
				if got.ID != id || got.Kind != e.Kind || got.Reference != e.Reference || got.Description != e.Description ||
					got.TenantID != f.tenant || got.HoldID != "" || !got.CreatedAt.Equal(f.clk.Now()) {
					t.Fatalf("EntryByID = %+v", got)
				}
				if len(got.Postings) != len(e.Postings) {
					t.Fatalf("postings = %+v, want %+v", got.Postings, e.Postings)
				}
				for i := range e.Postings {
					if got.Postings[i] != e.Postings[i] {
						t.Fatalf("posting %d = %+v, want %+v", i, got.Postings[i], e.Postings[i])
					}
				}
				f.check(t)
			})
		}
		if _, err := f.l.EntryByID(f.ctx, db.Read(), "ten_2", "ent_nope"); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("unknown entry: %v", err)
		}
	})
}

func TestStatement(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		world := f.world(t, "EUR")
		a := f.account(t, "a", "available", "EUR", false)
		var want []int64 // balance after each posting on a
		var balance int64
		for i := 1; i <= 7; i++ {
			f.clk.Advance(time.Second)
			f.transfer(t, world, a, "EUR", int64(10*i))
			balance += int64(10 * i)
			want = append(want, balance)
		}
		f.transfer(t, a, world, "EUR", 5)
		want = append(want, balance-5)

		tests := []struct {
			name   string
			q      ledger.StatementQuery
			sizes  []int
			first  int64 // AccountSeq of the first line
			stride int64
		}{
			{"oldest first", ledger.StatementQuery{Limit: 3}, []int{3, 3, 2}, 1, 1},
			{"newest first", ledger.StatementQuery{Limit: 3, NewestFirst: true}, []int{3, 3, 2}, 8, -1},
			{"one page", ledger.StatementQuery{}, []int{8}, 1, 1},
			{"exact pages", ledger.StatementQuery{Limit: 4}, []int{4, 4, 0}, 1, 1},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				q := tc.q
				seq := tc.first
				for i, size := range tc.sizes {
					page, err := f.l.Statement(f.ctx, db.Read(), f.tenant, a, q)
					if err != nil {
						t.Fatal(err)
					}
					if len(page.Lines) != size {
						t.Fatalf("page %d has %d lines, want %d", i, len(page.Lines), size)
					}
					for _, ln := range page.Lines {
						if ln.AccountSeq != seq || ln.BalanceAfter != want[seq-1] || ln.Kind != "transfer" || ln.Reference != "test" {
							t.Fatalf("line %+v, want seq %d balance %d", ln, seq, want[seq-1])
						}
						seq += tc.stride
					}
					if last := i == len(tc.sizes)-1; last != (page.Next == 0) {
						t.Fatalf("page %d: Next = %d", i, page.Next)
					}
					q.After = page.Next
				}
			})
		}
		if _, err := f.l.Statement(f.ctx, db.Read(), "ten_2", a, ledger.StatementQuery{}); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("statement of another tenant's account: %v", err)
		}
	})
}

func TestAccounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		world := f.world(t, "EUR")
		want := map[string]bool{world: true}
		for _, owner := range []string{"a", "b", "c"} {
			want[f.account(t, owner, "available", "EUR", false)] = true
			want[f.account(t, owner, "pending", "EUR", false)] = true
		}
		other := newFixture(t, db)
		other.tenant = "ten_2"
		other.account(t, "a", "available", "EUR", false)

		seen := map[string]bool{}
		after := ""
		for pages := 0; ; pages++ {
			accts, err := f.l.Accounts(f.ctx, db.Read(), f.tenant, ledger.AccountFilter{After: after, Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(accts) == 0 {
				if pages != 3 {
					t.Fatalf("%d pages, want 3", pages)
				}
				break
			}
			for _, a := range accts {
				if !want[a.ID] || seen[a.ID] || a.TenantID != f.tenant {
					t.Fatalf("unexpected account %+v", a)
				}
				seen[a.ID] = true
				after = a.ID
			}
		}
		if len(seen) != len(want) {
			t.Fatalf("listed %d accounts, want %d", len(seen), len(want))
		}
		accts, err := f.l.Accounts(f.ctx, db.Read(), f.tenant, ledger.AccountFilter{Owner: "b"})
		if err != nil || len(accts) != 2 || accts[0].Owner != "b" || accts[1].Owner != "b" {
			t.Fatalf("accounts of b = %+v, %v", accts, err)
		}
		if _, err := f.l.Account(f.ctx, db.Read(), "ten_2", world); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("another tenant's account: %v", err)
		}
	})
}
