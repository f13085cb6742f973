package store_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestBatchesRunWithoutSavepointsUntilOneFails: a SQLite batch runs its
// callbacks without savepoints; one failure rolls that attempt back and
// runs the batch again with a savepoint per callback (so the others ran
// twice, and only the failed callback's writes are missing); the batches
// after it stay guarded until one runs clean.
func TestBatchesRunWithoutSavepointsUntilOneFails(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	boom := errors.New("boom")
	cases := []struct {
		name        string
		fail        int   // index of the callback that fails; -1: none
		wantRuns    int32 // runs of the batch's first callback, at most those of the others
		wantGuarded bool  // the batch after this one is guarded
	}{
		{"clean batch: one run each", -1, 1, false},
		{"a failure: the batch runs again guarded", 3, 2, true},
		{"guarded and clean: one run each, unguarded next", -1, 1, false},
		{"unguarded again", -1, 1, false},
	}
	for n, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runs, errs := runOneBatch(db, n, 8, c.fail, boom)
			for i := range runs {
				switch {
				case i == c.fail:
					if !errors.Is(errs[i], boom) {
						t.Errorf("callback %d: err %v, want boom", i, errs[i])
					}
				case errs[i] != nil:
					t.Errorf("callback %d: %v", i, errs[i])
				case i == 0 && runs[i].Load() != c.wantRuns:
					t.Errorf("callback 0 (first in the batch) ran %d times, want %d", runs[i].Load(), c.wantRuns)
				case runs[i].Load() < 1 || runs[i].Load() > c.wantRuns:
					// Those queued after the failure did not run in the first attempt.
					t.Errorf("callback %d ran %d times, want 1 to %d", i, runs[i].Load(), c.wantRuns)
				}
			}
			var rows int
			if err := db.Read().QueryRowContext(ctx, "SELECT COUNT(*) FROM settings WHERE name LIKE $1", fmt.Sprintf("b%d-%%", n)).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if want := len(runs) - map[bool]int{true: 1}[c.fail >= 0]; rows != want {
				t.Errorf("rows %d, want %d", rows, want)
			}
			if got := store.Guarded(db); got != c.wantGuarded {
				t.Errorf("next batch guarded = %v, want %v", got, c.wantGuarded)
			}
		})
	}
}

// runOneBatch runs size callbacks in one batch: the first holds the
// committer until the others have queued behind it, so they join its batch.
// Callback fail writes its row and fails.
func runOneBatch(db *store.DB, batch, size, fail int, boom error) ([]atomic.Int32, []error) {
	ctx := context.Background()
	runs := make([]atomic.Int32, size)
	errs := make([]error, size)
	queued := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < size; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
				if runs[i].Add(1) == 1 && i == 0 {
					<-queued
				}
				if _, err := tx.ExecContext(ctx, "INSERT INTO settings(name, value, created_at) VALUES ($1, 'v', 0)", fmt.Sprintf("b%d-%d", batch, i)); err != nil {
					return err
				}
				if i == fail {
					return boom
				}
				return nil
			})
		}(i)
		if i == 0 {
			for runs[0].Load() == 0 { // the committer holds callback 0
				runtime.Gosched()
			}
		}
	}
	for store.Queued(db) < size-1 {
		runtime.Gosched()
	}
	close(queued)
	wg.Wait()
	return runs, errs
}
