package outbox

import (
	"testing"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestListQueryPlans checks that the outbox's lists walk an index on both
// engines: GET /platform/events and GET /platform/webhooks/deliveries with
// each filter and a cursor, a tenant's endpoints (GET
// /platform/webhooks/endpoints) and a delivery's attempt log (GET
// /platform/webhooks/deliveries/{id}).
func TestListQueryPlans(t *testing.T) {
	after := &keyset{at: 1767229200000000, id: "evt_x"}
	var cases []storetest.PlanCase
	for _, e := range []struct {
		name  string
		f     EventFilter
		after *keyset
		bound []string // besides tenant_id
	}{
		{"newest", EventFilter{}, nil, nil},
		{"cursor", EventFilter{}, after, []string{"created_at"}},
		{"type", EventFilter{Type: "payment.paid"}, nil, nil},
		{"subject", EventFilter{Subject: "pay_x"}, nil, []string{"subject"}},
		{"type and subject and cursor", EventFilter{Type: "payment.paid", Subject: "pay_x"}, after, []string{"subject"}},
	} {
		q, args := eventsQuery("ten_a", e.f, DefaultPageSize, e.after)
		cases = append(cases, storetest.PlanCase{Name: "events " + e.name, SQL: q, Args: args, Paged: true,
			Bound: append([]string{"tenant_id"}, e.bound...)})
	}
	for _, d := range []struct {
		name  string
		f     DeliveryFilter
		after *keyset
		bound []string
	}{
		{"newest", DeliveryFilter{}, nil, []string{"tenant_id"}},
		{"cursor", DeliveryFilter{}, after, []string{"tenant_id", "created_at"}},
		{"endpoint", DeliveryFilter{EndpointID: "whe_x"}, nil, []string{"endpoint_id"}},
		{"endpoint and cursor", DeliveryFilter{EndpointID: "whe_x"}, after, []string{"endpoint_id", "created_at"}},
		{"event", DeliveryFilter{EventID: "evt_x"}, nil, []string{"event_id"}},
		{"event and cursor", DeliveryFilter{EventID: "evt_x"}, after, []string{"event_id"}},
		{"state", DeliveryFilter{State: DeliveryFailed}, nil, []string{"tenant_id"}},
		{"endpoint and state and cursor", DeliveryFilter{EndpointID: "whe_x", State: DeliveryPending}, after, []string{"endpoint_id", "created_at"}},
	} {
		q, args := deliveriesQuery("ten_a", d.f, DefaultPageSize, d.after)
		cases = append(cases, storetest.PlanCase{Name: "deliveries " + d.name, SQL: q, Args: args, Paged: true, Bound: d.bound})
	}
	cases = append(cases,
		storetest.PlanCase{Name: "endpoints", SQL: sqlEndpointsOfTenant, Args: []any{"ten_a"}, Bound: []string{"tenant_id"}},
		storetest.PlanCase{Name: "attempt log", SQL: sqlAttemptLog, Args: []any{"whd_x", "ten_a"}, Bound: []string{"delivery_id"}})
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		storetest.CheckPlans(t, db, nil, cases)
	})
}
