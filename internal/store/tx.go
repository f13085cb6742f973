package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Tx is a database transaction handed to a Transact callback.
type Tx struct {
	*sql.Tx
	db *DB
}

// Dialect reports the engine of the transaction.
func (tx *Tx) Dialect() Dialect { return tx.db.dialect }

// DB returns the database the transaction belongs to.
func (tx *Tx) DB() *DB { return tx.db }

// maxAttempts bounds Transact's retries of concurrency failures.
const maxAttempts = 12

// Transact runs fn in one transaction and commits it; any error from fn rolls
// back everything fn wrote. On SQLite, concurrent calls share one commit
// (group commit, see groupcommit.go) without changing that guarantee; fn must
// not call Transact itself. When the engine reports a concurrency failure (SQLite
// busy, PostgreSQL serialization failure or deadlock), the whole transaction
// is retried with a growing pause, so fn must not have effects outside the
// transaction. Every multi-statement write in cashgate goes through here.
func (db *DB) Transact(ctx context.Context, fn func(tx *Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = db.transactOnce(ctx, fn)
		if err == nil || !isRetryable(err) || attempt >= maxAttempts {
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

func (db *DB) transactOnce(ctx context.Context, fn func(tx *Tx) error) (err error) {
	if db.reqs != nil {
		return db.transactBatched(ctx, fn)
	}
	stx, err := db.write.BeginTx(ctx, nil)
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
	if err = fn(tx); err != nil {
		return err
	}
	if err = stx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}
