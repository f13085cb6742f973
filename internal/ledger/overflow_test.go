package ledger_test

import (
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestBalanceBound pushes an account towards int64 with maximum-size
// entries (100 postings of MaxAmount each): the entry that would take it past
// MaxBalance is refused with LimitExceeded on both engines — never a
// database overflow (a 500) — and changes nothing.
func TestBalanceBound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		world := f.world(t, "EUR")
		sink := f.account(t, "merchant", "available", "EUR", true)
		const legs = ledger.MaxPostings / 2
		entry := func(sign int64) ledger.Entry {
			e := ledger.Entry{TenantID: f.tenant, Kind: "transfer", Reference: "big"}
			for range legs {
				e.Postings = append(e.Postings,
					ledger.Posting{AccountID: world, Currency: "EUR", Amount: -sign * ledger.MaxAmount},
					ledger.Posting{AccountID: sink, Currency: "EUR", Amount: sign * ledger.MaxAmount})
			}
			return e
		}
		perEntry := legs * ledger.MaxAmount
		fit := int(ledger.MaxBalance / perEntry) // entries that fit exactly
		for i := range fit {
			if _, err := f.l.Standalone().Post(f.ctx, entry(1)); err != nil {
				t.Fatalf("entry %d of %d: %v", i+1, fit, err)
			}
		}
		before := f.count(t, "ledger_postings")
		other := f.account(t, "merchant", "other", "EUR", true)
		for _, tc := range []struct {
			name string
			post func() error
		}{
			{"another maximum-size entry", func() error { _, err := f.l.Standalone().Post(f.ctx, entry(1)); return err }},
			{"one minor unit more into the full account", func() error {
				_, err := f.l.Standalone().Transfer(f.ctx, ledger.TransferSpec{TenantID: f.tenant, From: other, To: sink, Currency: "EUR", Amount: 1, Reference: "x"})
				return err
			}},
			{"one minor unit more out of the account at -MaxBalance", func() error {
				_, err := f.l.Standalone().Transfer(f.ctx, ledger.TransferSpec{TenantID: f.tenant, From: world, To: other, Currency: "EUR", Amount: 1, Reference: "x"})
				return err
			}},
		} {
			err := tc.post()
			if apperr.CodeOf(err) != apperr.LimitExceeded {
				t.Fatalf("%s: err = %v, want limit_exceeded", tc.name, err)
			}
			if !strings.Contains(err.Error(), "maximum balance") {
				t.Errorf("%s: message %q does not name the cause", tc.name, err)
			}
		}
		if got := f.balance(t, sink).Posted; got != int64(fit)*perEntry {
			t.Fatalf("sink posted = %d, want %d", got, int64(fit)*perEntry)
		}
		if got := f.balance(t, other).Posted; got != 0 {
			t.Fatalf("other posted = %d, want 0", got)
		}
		if n := f.count(t, "ledger_postings"); n != before {
			t.Fatalf("%d postings after refusals, want %d", n, before)
		}
		f.check(t)
	})
}
