package store

import (
	"context"
	"database/sql"
)

// Statements returns how many SQL statements cashgate has run on db:
// every statement of a transaction, of a snapshot and of Read (the
// engine's own BEGIN, SAVEPOINT and COMMIT are not counted). Tests read it
// around one operation to hold its statement count to a budget.
func (db *DB) Statements() int64 { return db.stmts.Load() }

// countingQuerier counts the statements of a snapshot.
type countingQuerier struct {
	db *DB
	q  Querier
}

func (c countingQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c.db.stmts.Add(1)
	return c.q.ExecContext(ctx, query, args...)
}

func (c countingQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c.db.stmts.Add(1)
	return c.q.QueryContext(ctx, query, args...)
}

func (c countingQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	c.db.stmts.Add(1)
	return c.q.QueryRowContext(ctx, query, args...)
}
