package store_test

import (
	"context"
	"testing"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestOrderScopeMigration upgrades a database with gateway jobs and their
// payments from the schema before migration 18: every job and payment
// survives, foreign keys still hold, a live job's order number stays taken
// while a cancelled one's is free, and children of two parents may share one.
func TestOrderScopeMigration(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, e.URL(t), nil, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if err := db.MigrateTo(ctx, 17); err != nil {
				t.Fatal(err)
			}
			exec := func(q string, args ...any) error {
				return db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
					_, err := tx.ExecContext(ctx, q, args...)
					return err
				})
			}
			job := func(ref, order, status, parent string) error {
				return exec(`INSERT INTO gateway_jobs (reference, tenant_id, configuration_id, trace_reference, type, locale, order_number,
					order_json, methods, options, flags, params_json, currency, amount, status, parent_reference, expires_at, due_at,
					created_at, updated_at) VALUES ($1, 'ten_1', 'c', 't', 'Payment', 'en_GB', $2, '{}', '[]', '[]', '{}', '{}', 'GBP', 100,
					$3, $4, 1, 1, 1, 1)`, ref, order, status, parent)
			}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(exec(`INSERT INTO tenants (id, business_code, name, mode, timezone, created_at) VALUES ('ten_1', 'ABCD1234', 'Shop', 'sandbox', 'UTC', 1)`))
			must(job("1", "live", "Paid", ""))
			must(job("2", "over", "Cancelled", ""))
			must(exec(`INSERT INTO gateway_payments (reference, job_reference, tenant_id, status, currency, amount, moto, created_at, updated_at)
				VALUES ('p1', '1', 'ten_1', 'Paid', 'GBP', 100, FALSE, 1, 1)`))
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			var jobs, pays int
			must(db.Read().QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM gateway_jobs), (SELECT COUNT(*) FROM gateway_payments WHERE job_reference = '1')`).Scan(&jobs, &pays))
			if jobs != 2 || pays != 1 {
				t.Fatalf("after the migration: %d jobs, %d payments; want 2, 1", jobs, pays)
			}
			for _, c := range []struct {
				ref, order, status, parent string
				unique                     bool
			}{
				{"3", "live", "Pending", "", false},   // held by the paid job
				{"4", "over", "Pending", "", true},    // freed by the cancelled one
				{"5", "Payment 2", "Paid", "1", true}, // a child of job 1
				{"6", "Payment 2", "Paid", "2", true}, // another parent's child
				{"7", "Payment 2", "Paid", "1", false},
				{"8", "over", "Expired", "", true}, // over jobs do not count
			} {
				err := job(c.ref, c.order, c.status, c.parent)
				if got := err == nil; got != c.unique || (err != nil && !store.IsUniqueViolation(err)) {
					t.Errorf("job %s (%q, %s, parent %q): err %v, want unique=%v", c.ref, c.order, c.status, c.parent, err, c.unique)
				}
			}
			err = exec(`INSERT INTO gateway_payments (reference, job_reference, tenant_id, status, currency, amount, moto, created_at, updated_at)
				VALUES ('p2', 'nope', 'ten_1', 'Paid', 'GBP', 100, FALSE, 1, 1)`)
			if err == nil {
				t.Error("a payment of no job was accepted: foreign keys are off after the migration")
			}
		})
	}
}
