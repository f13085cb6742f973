package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/store"
)

// TestCheckpointsBesideTheCommitter shows the WAL is copied back into the
// database file while the database stays open and the committer never
// checkpoints in its COMMIT: its connection has wal_autocheckpoint 0, yet
// the pages of a few MB of commits reach the database file within seconds.
func TestCheckpointsBesideTheCommitter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cashgate.db")
	db, err := store.Open(ctx, "sqlite:"+path, slog.New(slog.NewTextHandler(io.Discard, nil)), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var auto int
	if err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto)
	}); err != nil {
		t.Fatal(err)
	}
	if auto != 0 {
		t.Fatalf("committer's wal_autocheckpoint = %d, want 0", auto)
	}
	before := fileSize(t, path)
	value := strings.Repeat("x", 4000)
	for i := 0; i < 40; i++ {
		if err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			for j := 0; j < 25; j++ {
				if _, err := tx.ExecContext(ctx, "INSERT INTO settings(name, value, created_at) VALUES ($1, $2, $3)",
					fmt.Sprintf("k-%d-%d", i, j), value, i); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	const grown = 3 << 20 // 1,000 rows of 4 kB
	deadline := time.Now().Add(10 * time.Second)
	for fileSize(t, path)-before < grown {
		if time.Now().After(deadline) {
			t.Fatalf("database file grew %d bytes in 10 s, want ≥ %d: the WAL is not being checkpointed", fileSize(t, path)-before, grown)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
