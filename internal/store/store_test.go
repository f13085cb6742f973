package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

func TestTransact(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// commit
		if err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO settings(name, value, created_at) VALUES ($1, $2, $3)", "a", "1", 1)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		// rollback on error: the second insert must not be visible
		boom := errors.New("boom")
		err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO settings(name, value, created_at) VALUES ($1, $2, $3)", "b", "2", 2); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("want boom, got %v", err)
		}
		var n int
		if err := db.Read().QueryRowContext(ctx, "SELECT COUNT(*) FROM settings").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("rows = %d, want 1 (rollback lost)", n)
		}
		// unique violation is recognised
		err = db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO settings(name, value, created_at) VALUES ($1, $2, $3)", "a", "x", 3)
			return err
		})
		if !store.IsUniqueViolation(err) {
			t.Fatalf("want unique violation, got %v", err)
		}
	})
}

// TestTransactConcurrentIncrements checks that concurrent read-modify-write
// transactions with a guarded update lose no update on either engine.
func TestTransactConcurrentIncrements(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO settings(name, value, created_at) VALUES ('counter', '0', 0)")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		const workers, each = 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
						_, err := tx.ExecContext(ctx, "UPDATE settings SET created_at = created_at + 1 WHERE name = 'counter'")
						return err
					}); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		var got int
		if err := db.Read().QueryRowContext(ctx, "SELECT created_at FROM settings WHERE name = 'counter'").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != workers*each {
			t.Fatalf("counter = %d, want %d", got, workers*each)
		}
	})
}

func TestSchemaVersion(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		cur, latest, err := db.SchemaVersion(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if cur != latest || latest < 1 {
			t.Fatalf("after Migrate: current %d latest %d", cur, latest)
		}
		n, err := db.Migrate(context.Background())
		if err != nil || n != 0 {
			t.Fatalf("second Migrate applied %d, err %v", n, err)
		}
	})
}
