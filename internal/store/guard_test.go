package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestPoolUseInsideTransactPanics: Read, Snapshot and a nested Transact with
// the context of an open Transact or Snapshot are programming errors that
// deadlock under load; the store refuses them on both engines.
func TestPoolUseInsideTransactPanics(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		uses := []struct {
			name string
			use  func(ctx context.Context)
		}{
			{"Read", func(ctx context.Context) { var n int; _ = db.Read().QueryRowContext(ctx, "SELECT 1").Scan(&n) }},
			{"Snapshot", func(ctx context.Context) {
				_ = db.Snapshot(ctx, func(ctx context.Context, q store.Querier) error { return nil })
			}},
			{"Transact", func(ctx context.Context) {
				_ = db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error { return nil })
			}},
		}
		for _, u := range uses {
			t.Run("in Transact/"+u.name, func(t *testing.T) {
				err := db.Transact(context.Background(), func(ctx context.Context, tx *store.Tx) (err error) {
					defer func() { err = recovered(recover()) }()
					u.use(ctx)
					return nil
				})
				if !errors.Is(err, store.ErrPoolInTx) {
					t.Fatalf("got %v, want ErrPoolInTx", err)
				}
			})
			t.Run("in Snapshot/"+u.name, func(t *testing.T) {
				err := db.Snapshot(context.Background(), func(ctx context.Context, q store.Querier) (err error) {
					defer func() { err = recovered(recover()) }()
					u.use(ctx)
					return nil
				})
				if !errors.Is(err, store.ErrPoolInTx) {
					t.Fatalf("got %v, want ErrPoolInTx", err)
				}
			})
		}
		// Reader inside a transaction reads through it (sees its own write).
		err := db.Transact(context.Background(), func(ctx context.Context, tx *store.Tx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO settings(name, value, created_at) VALUES ('g', '1', 0)"); err != nil {
				return err
			}
			var n int
			if err := db.Reader(ctx).QueryRowContext(ctx, "SELECT COUNT(*) FROM settings WHERE name = 'g'").Scan(&n); err != nil {
				return err
			}
			if n != 1 {
				return fmt.Errorf("Reader in tx saw %d rows, want its own 1", n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func recovered(p any) error {
	if p == nil {
		return nil
	}
	if err, ok := p.(error); ok {
		return err
	}
	return fmt.Errorf("panic: %v", p)
}

// TestAcquireTimeoutIsUnavailable: with every PostgreSQL connection held, a
// Transact waits only for the acquire timeout and answers Unavailable (503).
func TestAcquireTimeoutIsUnavailable(t *testing.T) {
	u := storetest.PostgresURL(t)
	ctx := context.Background()
	db, err := store.Open(ctx, u, nil, store.Options{MaxConns: 1, AcquireTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hold, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			close(hold)
			<-release
			return nil
		})
	}()
	<-hold
	defer close(release)
	err = db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error { return nil })
	if !errors.Is(err, store.ErrBusy) || !apperr.Is(err, apperr.Unavailable) {
		t.Fatalf("got %v, want ErrBusy as Unavailable", err)
	}
}
