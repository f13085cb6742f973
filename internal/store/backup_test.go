package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestBackupUnderLoad copies a SQLite database while writers keep
// committing: the copy opens, passes SQLite's integrity check, and holds
// every write that was acknowledged before the backup began.
func TestBackupUnderLoad(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	var stop atomic.Bool
	var acked sync.Map // names acknowledged
	var n atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				name := fmt.Sprintf("w%d-%d", w, i)
				if err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
					_, err := tx.ExecContext(ctx, "INSERT INTO settings(name, value, created_at) VALUES ($1, 'v', 0)", name)
					return err
				}); err != nil {
					t.Errorf("write %s: %v", name, err)
					return
				}
				acked.Store(name, true)
				n.Add(1)
			}
		}(w)
	}
	for n.Load() < 200 {
		runtime.Gosched()
	}
	var before []string
	acked.Range(func(k, _ any) bool { before = append(before, k.(string)); return true })
	dest := filepath.Join(t.TempDir(), "copy.db")
	err := db.Backup(ctx, dest)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(ctx, dest); err == nil {
		t.Fatal("a backup over an existing file was allowed")
	}
	cp, err := store.Open(ctx, "sqlite:"+dest, slog.New(slog.DiscardHandler), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	var check string
	if err := cp.Read().QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity check of the copy: %q %v", check, err)
	}
	for _, name := range before {
		var v string
		if err := cp.Read().QueryRowContext(ctx, "SELECT value FROM settings WHERE name = $1", name).Scan(&v); err != nil {
			t.Fatalf("write %s acknowledged before the backup is missing from it: %v", name, err)
		}
	}
	t.Logf("%d writes acknowledged before the backup, %d in all", len(before), n.Load())
}
