package remote

import (
	"context"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestListQueryPlans checks that GET /remote/v1/payments walks an index on
// both engines with every filter that changes its plan (status, created
// range, metadata keys, a cursor, and their combinations), and that the
// refunds of a payment (GET …/{id}/refunds) are read through an index.
func TestListQueryPlans(t *testing.T) {
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	cursor := cursorOf(&payment{ID: "4000000000000001", CreatedAt: from.Add(time.Hour)})
	meta := map[string]string{"order": "42"}
	lists := []struct {
		name  string
		f     ListFilter
		bound []string // besides tenant_id
	}{
		{"newest", ListFilter{}, nil},
		{"status", ListFilter{Status: StatusPaid}, []string{"status"}},
		{"created from", ListFilter{CreatedFrom: from}, []string{"created_at"}},
		{"created to", ListFilter{CreatedTo: to}, []string{"created_at"}},
		{"created range", ListFilter{CreatedFrom: from, CreatedTo: to}, []string{"created_at"}},
		// SQLite walks the created range of remote_payments_list and
		// filters the status; PostgreSQL walks remote_payments_status.
		{"status and created range", ListFilter{Status: StatusPending, CreatedFrom: from, CreatedTo: to}, []string{"created_at"}},
		{"cursor", ListFilter{Cursor: cursor}, []string{"created_at"}},
		{"status and cursor", ListFilter{Status: StatusPaid, Cursor: cursor}, []string{"status", "created_at"}},
		{"created range and cursor", ListFilter{CreatedFrom: from, CreatedTo: to, Cursor: cursor}, []string{"created_at"}},
		{"metadata", ListFilter{Metadata: meta}, []string{"key", "value"}},
		{"two metadata keys", ListFilter{Metadata: map[string]string{"order": "42", "shop": "7"}}, []string{"key", "value"}},
		{"metadata and status", ListFilter{Metadata: meta, Status: StatusPaid}, []string{"key", "value"}},
		{"metadata and cursor", ListFilter{Metadata: meta, Cursor: cursor}, []string{"key", "value"}},
	}
	var cases []storetest.PlanCase
	for _, l := range lists {
		if err := l.f.check(); err != nil {
			t.Fatalf("%s: %v", l.name, err)
		}
		q, args := l.f.query("ten_a")
		cases = append(cases, storetest.PlanCase{Name: "payments " + l.name, SQL: q, Args: args, Paged: true,
			Bound: append([]string{"tenant_id"}, l.bound...)})
	}
	cases = append(cases, storetest.PlanCase{Name: "refunds", SQL: sqlRefundsOfPayment, Args: []any{"4000000000000001"},
		Bound: []string{"payment_id"}})
	cases = append(cases, storetest.PlanCase{Name: "expiry sweep", SQL: sqlExpiredPayments, Args: []any{from.UnixMicro()}, Paged: true,
		Bound: []string{"expires_at"}})
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		storetest.CheckPlans(t, db, nil, cases)
	})
}

// TestMetadataCreatedAtBackfill: migration 15 copies each payment's
// created_at into the metadata rows written before it, which the metadata
// filter walks in that order.
func TestMetadataCreatedAtBackfill(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := t.Context()
			db, err := store.Open(ctx, e.URL(t), nil, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if err := db.MigrateTo(ctx, 14); err != nil {
				t.Fatal(err)
			}
			err = db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
				for _, q := range []string{
					`INSERT INTO tenants (id, business_code, name, mode, timezone, created_at) VALUES ('ten_a', 'AAAAAAAA', 'A', 'sandbox', 'UTC', 1)`,
					`INSERT INTO remote_payments (id, tenant_id, amount, currency, status, to_account, expires_at, created_at, updated_at)
VALUES ('4000000000000001', 'ten_a', 100, 'EUR', 'pending', '100000000001', 9, 1767229200000000, 1767229200000000)`,
					`INSERT INTO remote_payment_metadata (payment_id, tenant_id, key, value) VALUES ('4000000000000001', 'ten_a', 'orderId', 'ORD-1')`,
				} {
					if _, err := tx.ExecContext(ctx, q); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			f := ListFilter{Metadata: map[string]string{"orderId": "ORD-1"}}
			if err := f.check(); err != nil {
				t.Fatal(err)
			}
			q, args := f.query("ten_a")
			rows, err := db.Read().QueryContext(ctx, q, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var got []string
			for rows.Next() {
				p, err := scanPayment(rows)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, p.ID)
			}
			if rows.Err() != nil || len(got) != 1 || got[0] != "4000000000000001" {
				t.Fatalf("metadata list after the upgrade: %v %v", got, rows.Err())
			}
		})
	}
}
