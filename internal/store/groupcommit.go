package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Group commit (SQLite). SQLite has one writer at a time and every durable
// commit costs an fsync of the WAL, so committing each Transact on its own
// caps writes at one fsync each. Instead, concurrent Transact calls are handed
// to one committer goroutine, which runs a batch of them in a single SQLite
// transaction — each callback inside its own SAVEPOINT, so a callback that
// fails rolls back only its own writes — and commits the batch once. Every
// caller learns its result only after that COMMIT and an fsync of the WAL, so a
// success is exactly as durable as before (the fsync itself runs beside
// the next batch: durable.go); callbacks run one after another, so the
// outcome is the same as running them serially.

// maxBatch bounds how many callbacks share one commit.
const maxBatch = 128

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
		batch := []*writeReq{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case r := <-db.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		db.runBatch(batch)
	}
}

// runOne runs one callback, turning a panic into a result.
func runOne(r *writeReq, tx *Tx) (res writeResult) {
	defer func() {
		if p := recover(); p != nil {
			res = writeResult{panicked: true, panicVal: p}
		}
	}()
	return writeResult{err: r.fn(withOpenTx(r.ctx, tx.db, tx), tx)}
}

// runBatch runs a batch in one SQLite transaction and hands it to the
// syncer, which answers its callers once the WAL is fsynced (durable.go).
func (db *DB) runBatch(batch []*writeReq) {
	results := make([]writeResult, len(batch))
	ran := make([]bool, len(batch)) // succeeded inside the batch, awaiting COMMIT
	b := &syncBatch{}
	b.committed = db.execBatch(batch, results, ran, b)
	if b.seq == 0 {
		b.seq = db.sync.begin()
	}
	b.finish = func() {
		for i, r := range batch {
			if b.committed && ran[i] && results[i].err == nil {
				r.tx.committed()
			}
			r.done <- results[i]
		}
	}
	b.fail = func(err error) {
		for i, r := range batch {
			if ran[i] {
				results[i] = writeResult{err: err}
			}
			r.done <- results[i]
		}
	}
	db.sync.pending <- b
}

// execBatch runs the callbacks, each in a savepoint, and commits; it
// reports whether the COMMIT succeeded, and numbers b just before it.
func (db *DB) execBatch(batch []*writeReq, results []writeResult, ran []bool, b *syncBatch) bool {
	ctx := context.Background() // the batch outlives any one caller's context
	stx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		for i := range results {
			results[i].err = fmt.Errorf("store: begin: %w", err)
		}
		return false
	}
	abort := func(from int, cause error) {
		_ = stx.Rollback()
		for i := range batch {
			if i == from {
				continue
			}
			if ran[i] || i > from {
				results[i] = writeResult{err: errBatchAborted}
			}
		}
		db.log.Warn("group commit batch rolled back", "size", len(batch), "cause", cause)
	}
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i].err = err
			continue
		}
		if _, err := stx.ExecContext(ctx, "SAVEPOINT cg_one"); err != nil {
			results[i].err = fmt.Errorf("store: savepoint: %w", err)
			abort(i, err)
			return false
		}
		r.tx = &Tx{Tx: stx, db: db}
		res := runOne(r, r.tx)
		if res.err != nil || res.panicked {
			results[i] = res
			if _, err := stx.ExecContext(ctx, "ROLLBACK TO cg_one"); err != nil {
				abort(i, err)
				return false
			}
			if _, err := stx.ExecContext(ctx, "RELEASE cg_one"); err != nil {
				abort(i, err)
				return false
			}
			continue
		}
		if _, err := stx.ExecContext(ctx, "RELEASE cg_one"); err != nil {
			results[i].err = fmt.Errorf("store: release savepoint: %w", err)
			abort(i, err)
			return false
		}
		ran[i] = true
	}
	b.seq = db.sync.begin()
	if err := stx.Commit(); err != nil {
		for i := range batch {
			if ran[i] {
				results[i].err = fmt.Errorf("store: commit: %w", err)
			}
		}
		return false
	}
	db.ckpt.committed()
	return true
}
