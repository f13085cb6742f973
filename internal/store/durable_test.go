package store_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/store"
)

// settle is how long a check waits for something that must not happen; a
// correct store never does it, a broken one does it within microseconds.
const settle = 50 * time.Millisecond

func openSQLite(t *testing.T) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "cashgate.db"), slog.New(slog.NewTextHandler(io.Discard, nil)), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

func insertSetting(db *store.DB, name string) <-chan error {
	res := make(chan error, 1)
	go func() {
		res <- db.Transact(context.Background(), func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO settings(name, value, created_at) VALUES ($1, '1', 0)", name)
			return err
		})
	}()
	return res
}

// mustWait fails unless ch stays silent for settle.
func mustWait[T any](t *testing.T, what string, ch <-chan T) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("%s returned (%v) before the WAL was fsynced", what, v)
	case <-time.After(settle):
	}
}

// TestAnswersWaitForTheWALFsync: a Transact is answered, and a read that saw
// its batch passes its rows on, only after the fsync of the WAL that
// follows the batch's COMMIT — while the batch is already visible.
func TestAnswersWaitForTheWALFsync(t *testing.T) {
	db := openSQLite(t)
	gate := make(chan error)
	store.SetWALSync(db, func() error { return <-gate })
	res := insertSetting(db, "a")

	fenced := db.FenceReads(context.Background())
	for seen := 0; seen == 0; {
		if err := db.Read().QueryRowContext(fenced, "SELECT COUNT(*) FROM settings WHERE name = 'a'").Scan(&seen); err != nil {
			t.Fatal(err)
		}
	}
	mustWait(t, "Transact", res)
	awaited := make(chan error, 1)
	go func() { awaited <- db.AwaitReads(fenced) }()
	mustWait(t, "AwaitReads", awaited)
	unfenced := make(chan error, 1)
	go func() {
		var n int
		unfenced <- db.Read().QueryRowContext(context.Background(), "SELECT COUNT(*) FROM settings").Scan(&n)
	}()
	mustWait(t, "an unfenced read", unfenced)

	gate <- nil
	for what, ch := range map[string]<-chan error{"Transact": res, "AwaitReads": awaited, "unfenced read": unfenced} {
		if err := <-ch; err != nil {
			t.Fatalf("%s after the fsync: %v", what, err)
		}
	}
	if err := db.AwaitReads(db.FenceReads(context.Background())); err != nil {
		t.Fatalf("AwaitReads with nothing read: %v", err)
	}
}

// TestFailedFsyncBreaksTheDatabase: the callers of a batch whose fsync
// failed are told so, and nothing more is written or passed on until the
// process restarts.
func TestFailedFsyncBreaksTheDatabase(t *testing.T) {
	db := openSQLite(t)
	fail := errors.New("disk on fire")
	store.SetWALSync(db, func() error { return fail })
	if err := <-insertSetting(db, "a"); !errors.Is(err, fail) {
		t.Fatalf("Transact whose fsync failed: %v, want %v", err, fail)
	}
	if err := <-insertSetting(db, "b"); !errors.Is(err, fail) {
		t.Fatalf("Transact after a failed fsync: %v, want %v", err, fail)
	}
	if err := db.Ping(context.Background()); !errors.Is(err, fail) {
		t.Fatalf("Ping after a failed fsync: %v", err)
	}
	if err := db.AwaitReads(db.FenceReads(context.Background())); !errors.Is(err, fail) {
		t.Fatalf("AwaitReads after a failed fsync: %v", err)
	}
}
