package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
)

// The open-transaction guard. A Transact callback receives a context marked
// with its open transaction; any use of the same database's pool with that
// context — Read, Snapshot or another Transact — panics with ErrPoolInTx.
//
// Why a panic: such a call deadlocks in production (on PostgreSQL the
// transaction holds row locks while it waits for a second pooled connection,
// which other requests hold while they wait for those locks; on SQLite a
// nested Transact waits for the committer that is running its caller), and an
// error would too easily be swallowed by a fallback. A panic fails every test
// that takes such a path and is answered 500 by the server's recovery.
//
// Callbacks are written func(ctx context.Context, tx *store.Tx) error, so the
// marked ctx shadows the caller's and every helper called with ctx inherits it.

// ErrPoolInTx is the panic value (wrapped) of a pool use inside an open transaction.
var ErrPoolInTx = errors.New("store: the connection pool was used while a Transact or Snapshot is open on the same context (use its tx or querier)")

type openTxKey struct{}

type openTx struct {
	db *DB
	q  Querier // the transaction's (or snapshot's) querier
}

// withOpenTx marks ctx as running inside a transaction or snapshot of db.
func withOpenTx(ctx context.Context, db *DB, q Querier) context.Context {
	return context.WithValue(ctx, openTxKey{}, openTx{db: db, q: q})
}

// InTx reports whether ctx belongs to an open Transact or Snapshot of db.
func (db *DB) InTx(ctx context.Context) bool {
	open, _ := ctx.Value(openTxKey{}).(openTx)
	return open.db == db
}

// Reader returns the querier for reads made with ctx: the open transaction's
// or snapshot's when ctx belongs to one of db (so a helper called from inside
// a Transact reads what the transaction sees, on its connection), else Read().
// Code that runs both inside and outside transactions reads through it.
func (db *DB) Reader(ctx context.Context) Querier {
	if open, _ := ctx.Value(openTxKey{}).(openTx); open.db == db {
		return open.q
	}
	return db.Read()
}

// guard panics when ctx belongs to an open Transact of db.
func (db *DB) guard(ctx context.Context, op string) {
	if db.InTx(ctx) {
		panic(fmt.Errorf("%w: %s", ErrPoolInTx, op))
	}
}

// guardedQuerier is the Querier Read returns: it refuses to run with the
// context of an open transaction.
type guardedQuerier struct {
	db *DB
	q  Querier
}

func (g guardedQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	g.db.guard(ctx, "Read().ExecContext")
	g.db.stmts.Add(1)
	return g.q.ExecContext(ctx, query, args...)
}

func (g guardedQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	g.db.guard(ctx, "Read().QueryContext")
	g.db.stmts.Add(1)
	rows, err := g.q.QueryContext(ctx, query, args...)
	g.db.readDone(ctx)
	return rows, err
}

func (g guardedQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	g.db.guard(ctx, "Read().QueryRowContext")
	g.db.stmts.Add(1)
	row := g.q.QueryRowContext(ctx, query, args...)
	g.db.readDone(ctx)
	return row
}

// DefaultAcquireTimeout bounds how long Transact and Snapshot wait for a
// pooled connection (PostgreSQL) or a place in the commit queue (SQLite)
// before answering ErrBusy.
const DefaultAcquireTimeout = 5 * time.Second

// ErrBusy is returned (wrapped in an apperr.Unavailable, so every API answers
// 503 with Retry-After) when no connection became free within the acquire
// timeout.
var ErrBusy = errors.New("store: no database connection became free in time")

func busy(waited time.Duration) error {
	return &apperr.Error{Code: apperr.Unavailable, RetryAfterSeconds: 1, Err: ErrBusy,
		Message: fmt.Sprintf("The service is busy (no database connection free after %s); retry shortly", waited)}
}

// acquire takes a connection from pool, waiting at most the acquire timeout.
// A caller whose own context ended gets that error instead.
func (db *DB) acquire(ctx context.Context, pool *sql.DB) (*sql.Conn, error) {
	actx, cancel := context.WithTimeout(ctx, db.acquireTimeout)
	defer cancel()
	c, err := pool.Conn(actx)
	if err == nil {
		return c, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, busy(db.acquireTimeout)
	}
	return nil, fmt.Errorf("store: acquire connection: %w", err)
}
