package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Snapshot runs fn with a Querier that sees one consistent snapshot of the
// database, for reads of several statements that must agree with each other
// (a payment job and its payments, steps and captures): outside a
// transaction each statement sees the latest commit, so rows committed
// between two statements would mix two states. PostgreSQL: a read-only
// REPEATABLE READ transaction. SQLite: a read transaction on the read pool
// (WAL gives it a snapshot from its first read).
//
// Like a Transact callback, fn gets a context marked as holding a connection:
// it must read through q only (Read, Snapshot or Transact with it panic).
func (db *DB) Snapshot(ctx context.Context, fn func(ctx context.Context, q Querier) error) error {
	db.guard(ctx, "Snapshot")
	var opts *sql.TxOptions
	if db.dialect == Postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	conn, err := db.acquire(ctx, db.read)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: begin snapshot: %w", err)
	}
	defer tx.Rollback() // read-only: nothing to commit
	var q Querier = tx
	if db.rstmts != nil {
		q = snapshotQuerier{tx: tx, c: db.rstmts}
	}
	q = countingQuerier{db, q}
	err = fn(withOpenTx(ctx, db, q), q)
	db.readDone(ctx)
	return err
}

// snapshotQuerier runs the statements of a SQLite snapshot through the
// read pool's statement cache.
type snapshotQuerier struct {
	tx *sql.Tx
	c  *stmtCache
}

func (q snapshotQuerier) stmt(ctx context.Context, query string) *sql.Stmt {
	if st := q.c.get(ctx, query); st != nil {
		return q.tx.StmtContext(ctx, st)
	}
	return nil
}

func (q snapshotQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.tx.ExecContext(ctx, query, args...)
}

func (q snapshotQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.tx.QueryContext(ctx, query, args...)
}

func (q snapshotQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.tx.QueryRowContext(ctx, query, args...)
}
