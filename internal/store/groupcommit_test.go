package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestConcurrentTransactIsolation runs many concurrent transactions of which
// every third fails after writing and every seventh panics after writing:
// exactly the others' writes remain, on both engines (on SQLite they share
// group commits, so this is what proves one failure does not leak into or
// undo its batch neighbours).
func TestConcurrentTransactIsolation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const n = 300
		boom := errors.New("boom")
		var wg sync.WaitGroup
		errs := make([]error, n)
		panics := make([]any, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				defer func() { panics[i] = recover() }()
				errs[i] = db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
					if _, err := tx.ExecContext(ctx, "INSERT INTO settings(name, value, created_at) VALUES ($1, 'v', $2)", fmt.Sprintf("k%03d", i), i); err != nil {
						return err
					}
					switch {
					case i%7 == 0:
						panic(fmt.Sprintf("panic %d", i))
					case i%3 == 0:
						return boom
					}
					return nil
				})
			}(i)
		}
		wg.Wait()
		want := 0
		for i := 0; i < n; i++ {
			switch {
			case i%7 == 0:
				if panics[i] != fmt.Sprintf("panic %d", i) {
					t.Errorf("tx %d: panic = %v, want it re-raised in the caller", i, panics[i])
				}
			case i%3 == 0:
				if !errors.Is(errs[i], boom) {
					t.Errorf("tx %d: err = %v, want boom", i, errs[i])
				}
			default:
				if errs[i] != nil {
					t.Errorf("tx %d: %v", i, errs[i])
				}
				want++
			}
		}
		var got int
		if err := db.Read().QueryRowContext(ctx, "SELECT COUNT(*) FROM settings").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("rows = %d, want %d (failed transactions leaked or good ones were lost)", got, want)
		}
		rows, err := db.Read().QueryContext(ctx, "SELECT created_at FROM settings")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var i int
			if err := rows.Scan(&i); err != nil {
				t.Fatal(err)
			}
			if i%7 == 0 || i%3 == 0 {
				t.Errorf("row of failed transaction %d committed", i)
			}
		}
	})
}

// TestTransactConstraintErrorKeepsBatch: a statement error inside a callback
// (a unique violation) is that callback's error only.
func TestTransactConstraintErrorKeepsBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		insert := func(name string) error {
			return db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
				_, err := tx.ExecContext(ctx, "INSERT INTO settings(name, value, created_at) VALUES ($1, 'v', 0)", name)
				return err
			})
		}
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := 0; i < 40; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				errs <- insert(fmt.Sprintf("dup-%d", i%20)) // each name twice
			}(i)
		}
		wg.Wait()
		close(errs)
		dups := 0
		for err := range errs {
			if err != nil {
				if !store.IsUniqueViolation(err) {
					t.Fatalf("unexpected error %v", err)
				}
				dups++
			}
		}
		var n int
		if err := db.Read().QueryRowContext(ctx, "SELECT COUNT(*) FROM settings").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if dups != 20 || n != 20 {
			t.Fatalf("duplicates refused = %d, rows = %d, want 20 and 20", dups, n)
		}
	})
}

func TestTransactCancelledContext(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		ran := false
		err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error { ran = true; return nil })
		if !errors.Is(err, context.Canceled) || ran {
			t.Fatalf("cancelled: err = %v, ran = %v", err, ran)
		}
	})
}
