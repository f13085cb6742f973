package ledger_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestCheckInvariants corrupts the ledger behind its back, one way per
// case, and expects CheckInvariants to report every resulting violation.
func TestCheckInvariants(t *testing.T) {
	tests := []struct {
		name    string
		corrupt []string // SQL run behind the ledger's back, with {wallet}, {hold} and {entry} (an entry of the wallet) replaced by quoted ids
		want    []string // substrings of the violations, all expected
	}{
		{
			name:    "account balance changed",
			corrupt: []string{`UPDATE ledger_accounts SET posted = posted + 1 WHERE id = {wallet}`},
			want: []string{
				"account posted differs from the sum of its postings",
				"account posted differs from its last balance_after",
				"balances do not sum to zero",
			},
		},
		{
			name:    "money moved between accounts without an entry",
			corrupt: []string{`UPDATE ledger_accounts SET posted = posted + 5 WHERE id = {wallet}`, `UPDATE ledger_accounts SET posted = posted - 5 WHERE id <> {wallet} AND allow_overdraft`},
			want:    []string{"account posted differs from the sum of its postings"},
		},
		{
			name:    "pending changed",
			corrupt: []string{`UPDATE ledger_accounts SET pending_out = pending_out + 3, pending_in = 7 WHERE id = {wallet}`},
			want: []string{
				"account pending_out differs from its pending holds",
				"account pending_in differs from its pending holds",
			},
		},
		{
			name:    "posting amount changed",
			corrupt: []string{`UPDATE ledger_postings SET amount = amount + 1 WHERE account_id = {wallet} AND entry_id = {entry}`},
			want: []string{
				"entry does not balance",
				"account posted differs from the sum of its postings",
				"posting balance_after breaks the running balance",
			},
		},
		{
			name:    "posting deleted",
			corrupt: []string{`DELETE FROM ledger_postings WHERE account_id = {wallet} AND entry_id = {entry}`},
			want: []string{
				"entry does not balance",
				"entry has fewer than two postings",
				"account posting_count differs from its postings",
			},
		},
		{
			name:    "hold amount changed",
			corrupt: []string{`UPDATE ledger_holds SET amount = amount + 10 WHERE id = {hold}`},
			want: []string{
				"account pending_out differs from its pending holds",
				"account pending_in differs from its pending holds",
			},
		},
		{
			name:    "hold posted_amount changed",
			corrupt: []string{`UPDATE ledger_holds SET posted_amount = posted_amount + 1 WHERE id = {hold}`},
			want: []string{
				"hold posted_amount differs from its entries",
				"account pending_out differs from its pending holds",
			},
		},
		{
			name:    "unfolded posting on an account that is not hot",
			corrupt: []string{`INSERT INTO ledger_unfolded (entry_id, seq, account_id, currency, amount) VALUES ({entry}, 9, {wallet}, 'EUR', 5)`},
			want: []string{
				"unfolded posting has no hot account or could be refused",
				"entry does not balance",
				"balances do not sum to zero",
			},
		},
		{
			name: "unfolded debit of a hot account that could have been refused",
			corrupt: []string{`UPDATE ledger_accounts SET hot = TRUE WHERE id = {wallet}`,
				`INSERT INTO ledger_unfolded (entry_id, seq, account_id, currency, amount) VALUES ({entry}, 9, {wallet}, 'EUR', -5)`},
			want: []string{"unfolded posting has no hot account or could be refused", "entry does not balance"},
		},
		{
			name: "posting both folded and unfolded",
			corrupt: []string{`UPDATE ledger_accounts SET hot = TRUE WHERE id = {wallet}`,
				`INSERT INTO ledger_unfolded (entry_id, seq, account_id, currency, amount)
SELECT entry_id, seq, account_id, currency, amount FROM ledger_postings WHERE account_id = {wallet} AND entry_id = {entry}`},
			want: []string{"posting is both folded and unfolded", "entry does not balance"},
		},
		{
			name:    "hold marked posted without posting",
			corrupt: []string{`UPDATE ledger_holds SET status = 'posted' WHERE id = {hold}`},
			want:    []string{"account pending_out differs from its pending holds"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				f := newFixture(t, db)
				wallet := f.wallet(t, "customer", "EUR", 500)
				merchant := f.account(t, "merchant", "available", "EUR", false)
				entry := f.transfer(t, wallet, merchant, "EUR", 100)
				h, err := f.l.Standalone().Hold(f.ctx, ledger.HoldSpec{TenantID: f.tenant, From: wallet, To: merchant, Currency: "EUR", Amount: 50})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.l.Standalone().PostHold(f.ctx, f.tenant, h.ID, 20, false); err != nil {
					t.Fatal(err)
				}
				f.check(t) // clean before the corruption

				if err := db.Transact(f.ctx, func(ctx context.Context, tx *store.Tx) error {
					r := strings.NewReplacer("{wallet}", "'"+wallet+"'", "{hold}", "'"+h.ID+"'", "{entry}", "'"+entry+"'")
					for _, q := range tc.corrupt {
						if _, err := tx.ExecContext(f.ctx, r.Replace(q)); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}

				err = ledger.CheckInvariants(f.ctx, db.Read())
				var ie *ledger.InvariantError
				if !errors.As(err, &ie) {
					t.Fatalf("CheckInvariants = %v, want an *InvariantError", err)
				}
				for _, w := range tc.want {
					found := false
					for _, v := range ie.Violations {
						found = found || strings.Contains(v, w)
					}
					if !found {
						t.Errorf("no violation %q in:\n%v", w, err)
					}
				}
				if len(ie.Violations) < len(tc.want) {
					t.Errorf("%d violations, want at least %d", len(ie.Violations), len(tc.want))
				}
			})
		})
	}
}
