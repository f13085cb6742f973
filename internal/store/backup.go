package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
)

// Backup writes a consistent copy of a SQLite database to dest (a file
// that must not exist yet) while others keep reading and writing:
// VACUUM INTO on a connection of its own reads one snapshot and writes it
// compacted, without the WAL. It returns once every batch of this process
// the copy may hold is durable in the live database too, so the copy never
// holds a write of this process that a crash could still take back (a
// write of another process on the file that was committed but not yet
// fsynced is a commit whose answer was lost, which idempotent clients
// already handle). PostgreSQL: an error (back it up with pg_dump).
func (db *DB) Backup(ctx context.Context, dest string) error {
	if db.dialect != SQLite {
		return errors.New("store: online backup is for SQLite; back up PostgreSQL with pg_dump")
	}
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("store: backup: %s exists already", dest)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: backup: %w", err)
	}
	conn, err := sql.Open("sqlite", "file:"+db.path+"?_pragma=busy_timeout(10000)&_pragma=query_only(0)")
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `VACUUM INTO $1`, dest); err != nil {
		os.Remove(dest)
		return fmt.Errorf("store: backup of %s into %s: %w", db.path, dest, err)
	}
	if err := db.sync.await(ctx, db.sync.committing.Load()); err != nil {
		os.Remove(dest)
		return fmt.Errorf("store: backup: the live database did not make its last writes durable: %w", err)
	}
	return syncFile(dest)
}

// syncFile fsyncs the file at path.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
