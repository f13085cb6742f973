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

// TestBeforeCommit runs concurrent transactions (sharing group commits on
// SQLite) whose BeforeCommit hooks write, register a further hook, or fail:
// a failing hook rolls back exactly its own transaction, the others' hook
// writes commit with them, and locals do not leak between transactions.
func TestBeforeCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const n = 60
		boom := errors.New("boom")
		type key struct{}
		insert := func(ctx context.Context, tx *store.Tx, name string) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO settings(name, value, created_at) VALUES ($1, 'v', 1)", name)
			return err
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				errs[i] = db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
					if tx.Local(key{}) != nil {
						return fmt.Errorf("transaction %d sees another's local", i)
					}
					tx.SetLocal(key{}, i)
					if err := insert(ctx, tx, fmt.Sprintf("body-%d", i)); err != nil {
						return err
					}
					tx.BeforeCommit(func(ctx context.Context) error {
						if i%5 == 0 {
							return boom
						}
						tx.BeforeCommit(func(ctx context.Context) error {
							return insert(ctx, tx, fmt.Sprintf("late-%d", tx.Local(key{}).(int)))
						})
						return insert(ctx, tx, fmt.Sprintf("hook-%d", i))
					})
					return nil
				})
			})
		}
		wg.Wait()
		for i, err := range errs {
			want := error(nil)
			if i%5 == 0 {
				want = boom
			}
			if !errors.Is(err, want) {
				t.Fatalf("transaction %d: %v, want %v", i, err, want)
			}
			for _, name := range []string{"body-%d", "hook-%d", "late-%d"} {
				var k int
				if err := db.Read().QueryRowContext(ctx, "SELECT COUNT(*) FROM settings WHERE name = $1", fmt.Sprintf(name, i)).Scan(&k); err != nil {
					t.Fatal(err)
				}
				if wantK := map[bool]int{true: 0, false: 1}[i%5 == 0]; k != wantK {
					t.Fatalf("transaction %d: %d rows %q, want %d", i, k, fmt.Sprintf(name, i), wantK)
				}
			}
		}
	})
}
