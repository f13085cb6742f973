package gateway

import (
	"testing"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestListQueryPlans checks that GET /api/gateway/payment-jobs/{ref} reads
// the job's payments and their steps, captures and refunds through indexes
// on both engines (the gateway API has no list of jobs or payments).
func TestListQueryPlans(t *testing.T) {
	const ref = "745018700000000001"
	var cases []storetest.PlanCase
	for _, c := range []struct{ name, sql string }{
		{"job payments", sqlJobPayments}, {"job steps", sqlJobSteps}, {"job captures", sqlJobCaptures}, {"job refunds", sqlJobRefunds},
	} {
		cases = append(cases, storetest.PlanCase{Name: c.name, SQL: c.sql, Args: []any{ref}, Bound: []string{"job_reference"}})
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		storetest.CheckPlans(t, db, nil, cases)
	})
}
