package store_test

import (
	"context"
	"testing"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestSnapshotIsConsistent: a commit that lands between two reads of a
// snapshot is invisible to the second read.
func TestSnapshotIsConsistent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		insert := func(name string) {
			t.Helper()
			if err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
				_, err := tx.ExecContext(ctx, "INSERT INTO settings(name, value, created_at) VALUES ($1, 'v', 0)", name)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		insert("a")
		count := func(q store.Querier) int {
			t.Helper()
			var n int
			if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM settings").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		err := db.Snapshot(ctx, func(ctx context.Context, q store.Querier) error {
			first := count(q)
			insert("b") // committed while the snapshot is open
			if second := count(q); second != first {
				t.Errorf("snapshot saw %d rows, then %d: not one snapshot", first, second)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := count(db.Read()); n != 2 {
			t.Fatalf("after the snapshot: %d rows, want 2", n)
		}
	})
}
