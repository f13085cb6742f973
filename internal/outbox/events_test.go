package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

func TestMatchesType(t *testing.T) {
	for _, c := range []struct {
		filter []string
		typ    string
		want   bool
	}{
		{[]string{"*"}, "payment.status_changed", true},
		{[]string{"payment.status_changed"}, "payment.status_changed", true},
		{[]string{"payment.*"}, "payment.status_changed", true},
		{[]string{"payment.*"}, "payment", false},
		{[]string{"payment.*"}, "payments.created", false},
		{[]string{"refund.created", "payout.*"}, "payment.status_changed", false},
		{[]string{"refund.created", "payout.*"}, "payout.sent", true},
		{nil, "payment.status_changed", false},
	} {
		if got := matchesType(c.filter, c.typ); got != c.want {
			t.Errorf("matchesType(%v, %q) = %v, want %v", c.filter, c.typ, got, c.want)
		}
	}
}

func TestEmitFanOut(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		ctx := context.Background()
		mk := func(tenant string, types []string, enabled bool) string {
			ep, err := e.wh.CreateEndpoint(ctx, tenant, CreateEndpointRequest{URL: "http://127.0.0.1:9/hook", EventTypes: types, Enabled: &enabled})
			if err != nil {
				t.Fatal(err)
			}
			return ep.ID
		}
		all := mk("ten_a", []string{"*"}, true)
		payments := mk("ten_a", []string{"payment.*"}, true)
		refunds := mk("ten_a", []string{"refund.created"}, true)
		mk("ten_a", []string{"*"}, false) // disabled
		mk("ten_b", []string{"*"}, true)  // another tenant

		ev := e.emit(t, "ten_a", "payment.status_changed", map[string]string{"status": "Paid"})
		if !ev.CreatedAt.Equal(t0) || ev.ID == "" || string(ev.Data.(json.RawMessage)) != `{"status":"Paid"}` {
			t.Fatalf("emitted %+v", ev)
		}
		endpointsOf := func(eventID string) []string {
			p, err := e.wh.ListDeliveries(ctx, "ten_a", DeliveryFilter{EventID: eventID})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, d := range p.Items {
				if d.State != DeliveryPending || d.EventID != eventID || d.Attempts != 0 || d.NextAttemptAt == nil {
					t.Errorf("new delivery %+v", d)
				}
				out = append(out, d.EndpointID)
			}
			slices.Sort(out)
			return out
		}
		want := []string{all, payments}
		slices.Sort(want)
		if got := endpointsOf(ev.ID); !slices.Equal(got, want) {
			t.Fatalf("payment event went to %v, want %v", got, want)
		}
		ev2 := e.emit(t, "ten_a", "refund.created", nil)
		want = []string{all, refunds}
		slices.Sort(want)
		if got := endpointsOf(ev2.ID); !slices.Equal(got, want) {
			t.Fatalf("refund event went to %v, want %v", got, want)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM webhook_deliveries WHERE tenant_id = 'ten_b'"); n != 0 {
			t.Fatalf("tenant b got %d deliveries of tenant a's events", n)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM jobs WHERE kind = $1 AND state = 'ready' AND run_at = $2", KindWebhookDelivery, micros(t0)); n != 4 {
			t.Fatalf("delivery jobs due now = %d, want 4", n)
		}
	})
}

func TestEmitRollbackLeavesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		ctx := context.Background()
		if _, err := e.wh.CreateEndpoint(ctx, "ten_a", CreateEndpointRequest{URL: "http://127.0.0.1:9/", EventTypes: []string{"*"}}); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("state change failed after the event")
		err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			if _, err := e.ob.Emit(ctx, tx, Event{TenantID: "ten_a", Type: "payment.status_changed", Data: json.RawMessage(`{"a":1}`)}); err != nil {
				return err
			}
			if n := countTx(t, tx, "SELECT COUNT(*) FROM webhook_deliveries"); n != 1 {
				t.Errorf("inside the transaction: %d deliveries, want 1", n)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Transact: %v", err)
		}
		for _, table := range []string{"events", "webhook_deliveries", "jobs"} {
			if n := count(t, db, "SELECT COUNT(*) FROM "+table); n != 0 {
				t.Errorf("%s has %d rows after rollback", table, n)
			}
		}
		if n := e.runDue(t); n != 0 {
			t.Fatalf("ran %d jobs after rollback", n)
		}
	})
}

func countTx(t *testing.T, tx *store.Tx, q string) int {
	t.Helper()
	var n int
	if err := tx.QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEmitValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		ctx := context.Background()
		for _, ev := range []Event{
			{Type: "payment.created"},
			{TenantID: "ten_a"},
			{TenantID: "ten_a", Type: "Payment Created"},
			{TenantID: "ten_a", Type: "payment.created", Data: json.RawMessage(`{"unterminated`)},
			{TenantID: "ten_a", Type: "payment.created", Data: make(chan int)},
		} {
			err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error { _, err := e.ob.Emit(ctx, tx, ev); return err })
			if !apperr.Is(err, apperr.Invalid) {
				t.Errorf("Emit(%+v) = %v, want Invalid", ev, err)
			}
		}
	})
}

func TestListEventsPagingAndTenantScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		ctx := context.Background()
		var ids []string
		for i := range 5 {
			typ := "payment.created"
			if i%2 == 1 {
				typ = "refund.created"
			}
			ids = append(ids, e.emit(t, "ten_a", typ, map[string]int{"i": i}).ID)
			if i != 2 { // two events share a timestamp: the id breaks the tie
				e.clk.Advance(time.Second)
			}
		}
		other := e.emit(t, "ten_b", "payment.created", nil)

		var got []string
		after := ""
		for pages := 0; ; pages++ {
			p, err := e.ob.ListEvents(ctx, "ten_a", EventFilter{PageRequest: PageRequest{Limit: 2, After: after}})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range p.Items {
				if ev.TenantID != "ten_a" {
					t.Fatalf("tenant a listed %+v", ev)
				}
				got = append(got, ev.ID)
			}
			if p.NextCursor == "" {
				break
			}
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			after = p.NextCursor
		}
		if len(got) != 5 || got[0] != ids[4] || got[4] != ids[0] {
			t.Fatalf("paged %v, want newest first of %v", got, ids)
		}
		seen := map[string]bool{}
		for _, id := range got {
			if seen[id] {
				t.Fatalf("event %s listed twice", id)
			}
			seen[id] = true
		}
		p, _ := e.ob.ListEvents(ctx, "ten_a", EventFilter{Type: "refund.created"})
		if len(p.Items) != 2 {
			t.Fatalf("refund events = %d", len(p.Items))
		}
		p, _ = e.ob.ListEvents(ctx, "ten_a", EventFilter{Subject: "pay_1"})
		if len(p.Items) != 5 {
			t.Fatalf("subject filter = %d", len(p.Items))
		}
		if _, err := e.ob.ListEvents(ctx, "ten_a", EventFilter{PageRequest: PageRequest{After: other.ID}}); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("another tenant's id as cursor: %v", err)
		}
		if _, err := e.ob.ListEvents(ctx, "ten_a", EventFilter{PageRequest: PageRequest{Limit: 1000}}); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("limit 1000: %v", err)
		}
		if _, err := e.ob.GetEvent(ctx, "ten_a", other.ID); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("tenant a read tenant b's event: %v", err)
		}
		ev, err := e.ob.GetEvent(ctx, "ten_b", other.ID)
		if err != nil || ev.Type != "payment.created" || string(ev.Data.(json.RawMessage)) != "{}" {
			t.Fatalf("GetEvent: %+v %v", ev, err)
		}
		var data map[string]int
		if ev, _ := e.ob.GetEvent(ctx, "ten_a", ids[3]); ev.DecodeData(&data) != nil || data["i"] != 3 {
			t.Fatalf("DecodeData: %v", data)
		}
	})
}
