package backoffice

import (
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestListQueryPlans checks that the audit log's pages walk its index from
// the tenant (and from the cursor), on both engines.
func TestListQueryPlans(t *testing.T) {
	at := time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC).UnixMicro()
	cases := []storetest.PlanCase{
		{Name: "audit newest", SQL: sqlAuditNewest, Args: []any{"ten_a", 51}, Paged: true, Bound: []string{"tenant_id"}},
		{Name: "audit after a cursor", SQL: sqlAuditBefore, Args: []any{"ten_a", at, "aud_1", 51}, Paged: true, Bound: []string{"tenant_id", "created_at"}},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		storetest.CheckPlans(t, db, nil, cases)
	})
}
