package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Group commit (SQLite). SQLite has one writer at a time and every durable
// commit costs an fsync of the WAL, so committing each Transact on its own
// caps writes at one fsync each. Instead, concurrent Transact calls are handed
// to one committer goroutine, which runs a batch of them in a single SQLite
// transaction — a callback that fails rolls back only its own writes (a
// failure sends the batch round again with a SAVEPOINT per callback:
// execBatch) — and commits the batch once. Every
// caller learns its result only after that COMMIT and an fsync of the WAL, so a
// success is exactly as durable as before (the fsync itself runs beside
// the next batch: durable.go); callbacks run one after another, so the
// outcome is the same as running them serially.

// maxBatch bounds how many callbacks share one commit, and maxBatchTime
// how long a batch keeps taking in callbacks that arrived while it ran.
const (
	maxBatch     = 128
	maxBatchTime = 5 * time.Millisecond
)

// errBatchAborted is returned to callbacks whose batch had to be rolled back
// because of another callback; Transact retries them.
var errBatchAborted = errors.New("store: batch aborted by another transaction; retrying")

// errClosed is returned by Transact after Close.
var errClosed = errors.New("store: database is closed")

type writeReq struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *Tx) error
	done chan writeResult
	tx   *Tx // this callback's view of the batch transaction (its OnCommit hooks)
}

type writeResult struct {
	err      error
	panicked bool
	panicVal any
}

// transactBatched runs fn through the committer and waits for its batch.
func (db *DB) transactBatched(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	if err := db.sync.err(); err != nil {
		return err
	}
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan writeResult, 1)}
	select {
	case db.reqs <- req:
	default:
		t := time.NewTimer(db.acquireTimeout)
		defer t.Stop()
		select {
		case db.reqs <- req:
		case <-ctx.Done():
			return ctx.Err()
		case <-db.quit:
			return errClosed
		case <-t.C:
			return busy(db.acquireTimeout)
		}
	}
	// Wait even if ctx ends now: fn may already be running in the batch.
	res := <-req.done
	if res.panicked {
		panic(res.panicVal)
	}
	return res.err
}

// commitLoop is the committer goroutine of a SQLite DB.
func (db *DB) commitLoop() {
	defer func() {
		close(db.sync.pending)
		<-db.sync.done
		close(db.loopDone)
	}()
	for {
		var first *writeReq
		select {
		case first = <-db.reqs:
		case <-db.quit:
			return
		}
		db.runBatch(first)
	}
}

// runOne runs one callback, turning a panic into a result.
func runOne(r *writeReq, tx *Tx) (res writeResult) {
	defer func() {
		if p := recover(); p != nil {
			res = writeResult{panicked: true, panicVal: p}
		}
	}()
	ctx := withOpenTx(r.ctx, tx.db, tx)
	err := r.fn(ctx, tx)
	if err == nil {
		err = tx.finish(ctx)
	}
	return writeResult{err: err}
}

// batch is the callbacks sharing one SQLite transaction.
type batch struct {
	reqs    []*writeReq
	results []writeResult
	ran     []bool // succeeded inside the batch, awaiting COMMIT
}

// reset forgets the results of an attempt that was rolled back.
func (b *batch) reset() {
	clear(b.results)
	clear(b.ran)
}

func (b *batch) add(r *writeReq) {
	b.reqs = append(b.reqs, r)
	b.results = append(b.results, writeResult{})
	b.ran = append(b.ran, false)
}

// more takes the requests that queued up meanwhile into the batch, so they
// share its COMMIT instead of waiting for the next one; it stops at
// maxBatch or after maxBatchTime, so a steady stream still gets committed.
func (db *DB) more(b *batch, started time.Time) bool {
	added := false
	for len(b.reqs) < maxBatch && time.Since(started) < maxBatchTime {
		select {
		case r := <-db.reqs:
			b.add(r)
			added = true
		default:
			return added
		}
	}
	return added
}

// runBatch runs a batch in one SQLite transaction and hands it to the
// syncer, which answers its callers once the WAL is fsynced (durable.go).
func (db *DB) runBatch(first *writeReq) {
	b := &batch{}
	b.add(first)
	sb := &syncBatch{}
	sb.committed = db.execBatch(b, sb)
	if sb.seq == 0 {
		sb.seq = db.sync.begin()
	}
	sb.finish = func() {
		for i, r := range b.reqs {
			if sb.committed && b.ran[i] && b.results[i].err == nil {
				r.tx.committed()
			}
			r.done <- b.results[i]
		}
	}
	sb.fail = func(err error) {
		for i, r := range b.reqs {
			if b.ran[i] {
				b.results[i] = writeResult{err: err}
			}
			r.done <- b.results[i]
		}
	}
	db.sync.pending <- sb
	if db.onBatch != nil {
		db.onBatch(len(b.reqs))
	}
}

// execBatch runs the callbacks and commits; it reports whether the COMMIT
// succeeded, and numbers sb just before it.
//
// A batch first runs without savepoints: most callbacks succeed, and a
// savepoint costs two statements and a copy of every page it touches again
// (the sub-journal), about a tenth of the committer's time. When a callback
// fails, that attempt is rolled back whole and the batch runs again with
// each callback in its own savepoint, as do the batches after it until one
// runs without a failure. Callbacks may run more than once — Transact
// already retries them — and only the last run's effects are kept.
func (db *DB) execBatch(b *batch, sb *syncBatch) bool {
	started := time.Now()
	db.more(b, started)
	if !db.guarded {
		if committed, clean := db.tryBatch(b, sb, started, false); clean {
			return committed
		}
		b.reset()
	}
	committed, clean := db.tryBatch(b, sb, started, true)
	db.guarded = !clean
	return committed
}

// tryBatch runs the batch in one transaction, taking in callbacks that
// arrive meanwhile, each in a savepoint when guard is set. Unguarded, it
// stops at the first callback that fails, rolls back and reports clean
// false; guarded, clean says whether every callback succeeded.
func (db *DB) tryBatch(b *batch, sb *syncBatch, started time.Time, guard bool) (committed, clean bool) {
	ctx := context.Background() // the batch outlives any one caller's context
	stx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		for i := range b.results {
			b.results[i].err = fmt.Errorf("store: begin: %w", err)
		}
		return false, true
	}
	clean = true
	bound := &boundStmts{tx: stx}
	for i := 0; i < len(b.reqs) || db.more(b, started); i++ {
		r := b.reqs[i]
		if err := r.ctx.Err(); err != nil {
			b.results[i].err = err
			continue
		}
		if !guard {
			r.tx = &Tx{Tx: stx, db: db, batch: bound}
			if b.results[i] = runOne(r, r.tx); b.results[i].err != nil || b.results[i].panicked {
				_ = stx.Rollback()
				return false, false
			}
			b.ran[i] = true
			continue
		}
		if err := db.runSaved(ctx, stx, bound, r, &b.results[i]); err != nil {
			db.abort(b, stx, i, err)
			return false, false
		}
		b.ran[i] = b.results[i].err == nil && !b.results[i].panicked
		clean = clean && b.ran[i]
	}
	sb.seq = db.sync.begin()
	if err := stx.Commit(); err != nil {
		for i := range b.reqs {
			if b.ran[i] {
				b.results[i].err = fmt.Errorf("store: commit: %w", err)
			}
		}
		return false, clean
	}
	db.ckpt.committed()
	return true, clean
}

// abort rolls back a guarded batch whose savepoint failed at callback from:
// the others are told to retry (from itself keeps its cause).
func (db *DB) abort(b *batch, stx *sql.Tx, from int, cause error) {
	_ = stx.Rollback()
	for i := range b.reqs {
		if i == from {
			continue
		}
		if b.ran[i] || i > from {
			b.results[i] = writeResult{err: errBatchAborted}
		}
	}
	db.log.Warn("group commit batch rolled back", "size", len(b.reqs), "cause", cause)
}

// runSaved runs one callback inside a savepoint, rolling back to it when
// the callback fails; it returns an error only when the savepoint itself
// failed, which aborts the batch (*res then holds the callback's cause).
func (db *DB) runSaved(ctx context.Context, stx *sql.Tx, bound *boundStmts, r *writeReq, res *writeResult) error {
	if _, err := stx.ExecContext(ctx, "SAVEPOINT cg_one"); err != nil {
		*res = writeResult{err: fmt.Errorf("store: savepoint: %w", err)}
		return err
	}
	r.tx = &Tx{Tx: stx, db: db, batch: bound}
	*res = runOne(r, r.tx)
	if res.err != nil || res.panicked {
		if _, err := stx.ExecContext(ctx, "ROLLBACK TO cg_one"); err != nil {
			return err
		}
		if _, err := stx.ExecContext(ctx, "RELEASE cg_one"); err != nil {
			return err
		}
		return nil
	}
	if _, err := stx.ExecContext(ctx, "RELEASE cg_one"); err != nil {
		*res = writeResult{err: fmt.Errorf("store: release savepoint: %w", err)}
		return err
	}
	return nil
}
