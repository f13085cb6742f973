package platform

import (
	"testing"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestListQueryPlans checks that GET /platform/keys reads the tenant's keys,
// and GET /platform/keys/{id}/usage the key's days, through an index on both
// engines. (ListTenants, every tenant for the CLI,
// is no API list: it reads the whole table by design.)
func TestListQueryPlans(t *testing.T) {
	cases := []storetest.PlanCase{
		{Name: "keys", SQL: sqlKeysOfTenant, Args: []any{"ten_a"}, Bound: []string{"tenant_id"}},
		{Name: "key usage", SQL: sqlKeyUsage, Args: []any{"key_a", "2026-02-01", "2026-03-02"}, Bound: []string{"key_id"}},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		storetest.CheckPlans(t, db, nil, cases)
	})
}
