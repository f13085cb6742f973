package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Tx is a database transaction handed to a Transact callback.
type Tx struct {
	*sql.Tx
	db           *DB
	onCommit     []func()
	beforeCommit []func(ctx context.Context) error
	locals       map[any]any
	// batch is set on the SQLite committer's transactions: the statements
	// bound to the batch's transaction, shared by its callbacks.
	batch *boundStmts
}

// Dialect reports the engine of the transaction.
func (tx *Tx) Dialect() Dialect { return tx.db.dialect }

// DB returns the database the transaction belongs to.
func (tx *Tx) DB() *DB { return tx.db }

// OnCommit registers f to run after this transaction's writes are durably
// committed (never when it rolls back, and never twice for one attempt: a
// retried callback registers again on its new Tx).
func (tx *Tx) OnCommit(f func()) { tx.onCommit = append(tx.onCommit, f) }

// BeforeCommit registers f to run inside the transaction after the
// callback has returned nil, just before the commit (hooks run in the order
// they were registered, and a hook may register more). An error from f fails
// the transaction as if the callback had returned it. The ledger uses it to
// apply balance updates that cannot be refused as late as possible, so the
// locks they take on hot account rows are held only through the commit.
func (tx *Tx) BeforeCommit(f func(ctx context.Context) error) {
	tx.beforeCommit = append(tx.beforeCommit, f)
}

// Local returns the value kept under key for this transaction attempt (nil
// if none): state a package accumulates over one transaction, such as
// writes it defers to BeforeCommit. A retried callback starts empty.
func (tx *Tx) Local(key any) any { return tx.locals[key] }

// SetLocal keeps v under key for this transaction attempt.
func (tx *Tx) SetLocal(key, v any) {
	if tx.locals == nil {
		tx.locals = make(map[any]any, 1)
	}
	tx.locals[key] = v
}

// finish runs the BeforeCommit hooks of a callback that returned nil.
func (tx *Tx) finish(ctx context.Context) error {
	for i := 0; i < len(tx.beforeCommit); i++ {
		if err := tx.beforeCommit[i](ctx); err != nil {
			return err
		}
	}
	return nil
}

func (tx *Tx) committed() {
	for _, f := range tx.onCommit {
		f()
	}
}

type commitWatchKey struct{}

// WatchCommits returns ctx under which every Transact that commits calls
// f once, after its commit (the HTTP layer uses it to catch a write that
// committed without answering from inside its transaction).
func WatchCommits(ctx context.Context, f func()) context.Context {
	return context.WithValue(ctx, commitWatchKey{}, f)
}

// maxAttempts bounds Transact's retries of concurrency failures.
const maxAttempts = 12

// Transact runs fn in one transaction and commits it; any error from fn rolls
// back everything fn wrote. On SQLite, concurrent calls share one commit
// (group commit, see groupcommit.go) without changing that guarantee. When the
// engine reports a concurrency failure (SQLite busy, PostgreSQL serialization
// failure or deadlock), the whole transaction is retried with a growing
// pause, so fn must not have effects outside the transaction. Every
// multi-statement write in cashgate goes through here.
//
// fn receives a context marked with the open transaction: it (and everything
// it calls with that ctx) must use tx, never the pool. Read, Snapshot or
// Transact with that context panic with ErrPoolInTx (see guard.go). Waiting
// for a connection is bounded by the acquire timeout (503, see ErrBusy).
func (db *DB) Transact(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) (err error) {
	db.guard(ctx, "Transact")
	ctx, span := db.tracer.Start(ctx, "db.transaction", trace.WithAttributes(attribute.String("db.system.name", db.dialect.system())))
	defer func() {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "transaction failed")
		}
		span.End()
	}()
	for attempt := 1; ; attempt++ {
		err = db.transactOnce(ctx, fn)
		if err == nil {
			if w, ok := ctx.Value(commitWatchKey{}).(func()); ok {
				w()
			}
			return nil
		}
		if !isRetryable(err) || attempt >= maxAttempts {
			if err != nil && isRetryable(err) {
				db.log.Warn("transaction gave up after retries", "attempts", attempt, "err", err)
			}
			return err
		}
		pause := time.Duration(attempt*attempt) * time.Millisecond
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(pause):
		}
	}
}

func (db *DB) transactOnce(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) (err error) {
	if db.reqs != nil {
		return db.transactBatched(ctx, fn)
	}
	conn, err := db.acquire(ctx, db.write)
	if err != nil {
		return err
	}
	defer conn.Close()
	stx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	tx := &Tx{Tx: stx, db: db}
	defer func() {
		if p := recover(); p != nil {
			_ = stx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = stx.Rollback()
		}
	}()
	txCtx := withOpenTx(ctx, db, tx)
	if err = fn(txCtx, tx); err != nil {
		return err
	}
	if err = tx.finish(txCtx); err != nil {
		return err
	}
	if err = stx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	tx.committed()
	return nil
}
