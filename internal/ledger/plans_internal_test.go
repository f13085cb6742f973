package ledger

import (
	"math"
	"testing"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestListQueryPlans checks that the lists of the ledger API walk an index
// on both engines: GET /platform/ledger/accounts (also the wallet's
// balances, which list one owner's accounts in the issuer's scope of every
// wallet), GET …/accounts/{id}/statement both ways, and an entry's postings
// (GET /platform/ledger/entries/{id}).
func TestListQueryPlans(t *testing.T) {
	cases := []storetest.PlanCase{
		{Name: "accounts", SQL: sqlAccountsOfTenant, Args: []any{"ten_a", "", 101}, Paged: true, Bound: []string{"tenant_id"}},
		{Name: "accounts after cursor", SQL: sqlAccountsOfTenant, Args: []any{"ten_a", "acc_x", 101}, Paged: true, Bound: []string{"tenant_id", "id"}},
		{Name: "accounts of owner", SQL: sqlAccountsOfOwner, Args: []any{"wallet", "user:wus_1", "", 1000}, Paged: true, Bound: []string{"tenant_id", "owner"}},
		{Name: "accounts of owner after cursor", SQL: sqlAccountsOfOwner, Args: []any{"ten_a", "customer:1", "acc_x", 101}, Paged: true,
			Bound: []string{"tenant_id", "owner", "id"}},
		{Name: "statement", SQL: sqlLinesAsc, Args: []any{"acc_x", int64(0), 51}, Paged: true, Bound: []string{"account_id", "account_seq"}},
		{Name: "statement newest first", SQL: sqlLinesDesc, Args: []any{"acc_x", int64(math.MaxInt64), 51}, Paged: true,
			Bound: []string{"account_id", "account_seq"}},
		{Name: "entry postings", SQL: sqlEntryPostings, Args: []any{"ent_x"}, Bound: []string{"entry_id"}},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		storetest.CheckPlans(t, db, nil, cases)
	})
}
