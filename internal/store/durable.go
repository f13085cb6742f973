package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// Durability pipeline (SQLite). With synchronous=FULL every COMMIT fsyncs
// the WAL while it holds the write lock, so the committer sat idle for the
// whole fsync of each batch (about a third of its time) before it could run
// the next one. Instead the writer commits with synchronous=NORMAL — the
// batch's WAL frames are written, not yet fsynced — and hands the batch to
// the syncer goroutine, which fsyncs the WAL file once for every batch
// committed meanwhile and only then runs their OnCommit hooks and answers
// their callers. The committer runs the next batch during that fsync.
//
// What a caller is told is exactly as durable as before: no Transact returns
// before an fsync of the WAL that began after its batch's COMMIT. WAL
// recovery replays the longest valid prefix of frames, so a crash keeps a
// prefix of the batches and every batch that was answered is in it.
//
// What other requests can see is the one difference: a committed batch is
// visible to readers before its fsync. So a read on the pool (Read,
// Snapshot) does not hand its rows on until every batch whose COMMIT had
// begun when the read ended is durable: without a fence in its context it
// waits at once; under FenceReads (every HTTP request) it records the batch
// and the server waits in AwaitReads before the first byte of the response
// leaves (internal/server). A write that answers from its own transaction
// never waits twice: its batch's fsync covers every batch it could have
// read.
//
// A failed fsync leaves the state of the file unknown (the kernel may have
// dropped the dirty pages), so the database is marked broken: the callers of
// those batches get the error, and every later Transact, AwaitReads and Ping
// fails with it until the process is restarted and SQLite recovers the WAL.

// syncer fsyncs the WAL behind the committer.
type syncer struct {
	walPath    string
	sync       func() error // fsyncs the WAL; the tests replace it
	pending    chan *syncBatch
	committing atomic.Uint64 // seq of the newest batch whose COMMIT has begun
	durable    atomic.Uint64 // seq of the newest batch known durable
	broken     atomic.Pointer[error]
	mu         sync.Mutex
	advanced   chan struct{} // closed (and replaced) when durable or broken changes
	done       chan struct{}
	wal        *os.File // the open WAL file, reopened if SQLite replaced it
}

// syncBatch is one committed (or failed) batch awaiting the fsync.
type syncBatch struct {
	seq       uint64
	committed bool   // false: nothing of it reached the WAL, no fsync needed
	finish    func() // runs its OnCommit hooks and answers its callers
	fail      func(err error)
}

func newSyncer(dbPath string) *syncer {
	s := &syncer{walPath: dbPath + "-wal", pending: make(chan *syncBatch, 2*maxBatch),
		advanced: make(chan struct{}), done: make(chan struct{})}
	s.sync = s.fsyncWAL
	return s
}

// begin returns the seq of a new batch about to COMMIT, and publishes it
// before the COMMIT so a reader that may see the batch waits for it.
func (s *syncer) begin() uint64 { return s.committing.Add(1) }

// loop fsyncs and answers batches in commit order until pending is closed.
func (s *syncer) loop() {
	defer close(s.done)
	for b := range s.pending {
		group := []*syncBatch{b}
	drain:
		for {
			select {
			case nb, ok := <-s.pending:
				if !ok {
					break drain
				}
				group = append(group, nb)
			default:
				break drain
			}
		}
		s.settle(group)
	}
	if s.wal != nil {
		s.wal.Close()
	}
}

func (s *syncer) settle(group []*syncBatch) {
	err := s.err()
	if err == nil && anyCommitted(group) {
		if err = s.sync(); err != nil {
			err = fmt.Errorf("store: fsync of the SQLite WAL failed; the database is marked broken until restart: %w", err)
			s.broken.Store(&err)
		}
	}
	for _, b := range group {
		if err != nil && b.committed {
			b.fail(err)
		} else {
			b.finish()
		}
	}
	s.mu.Lock()
	if err == nil {
		s.durable.Store(group[len(group)-1].seq)
	}
	close(s.advanced)
	s.advanced = make(chan struct{})
	s.mu.Unlock()
}

func anyCommitted(group []*syncBatch) bool {
	for _, b := range group {
		if b.committed {
			return true
		}
	}
	return false
}

func (s *syncer) err() error {
	if p := s.broken.Load(); p != nil {
		return *p
	}
	return nil
}

// await blocks until batch seq is durable (or the database is broken).
func (s *syncer) await(ctx context.Context, seq uint64) error {
	for {
		s.mu.Lock()
		durable, ch := s.durable.Load(), s.advanced
		s.mu.Unlock()
		if err := s.err(); err != nil {
			return err
		}
		if durable >= seq {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// fsyncWAL fsyncs the WAL file SQLite is writing. It keeps the file open
// and reopens it when the path names another file (SQLite deletes the WAL
// when its last connection closes); a WAL that is gone was checkpointed into
// the database file and fsynced by SQLite as it closed.
func (s *syncer) fsyncWAL() error {
	cur, err := os.Stat(s.walPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if s.wal != nil {
		if fi, err := s.wal.Stat(); err != nil || !os.SameFile(fi, cur) {
			s.wal.Close()
			s.wal = nil
		}
	}
	if s.wal == nil {
		if s.wal, err = os.Open(s.walPath); err != nil {
			return err
		}
	}
	return s.wal.Sync()
}

// fenceKey marks a context whose pool reads are awaited later (FenceReads).
type fenceKey struct{}

type readFence struct{ seq atomic.Uint64 }

// FenceReads returns ctx carrying a read fence: pool reads made with it
// record the newest batch they may have seen instead of waiting for it, and
// AwaitReads waits for them all. The server fences every request and awaits
// before the response's first byte. PostgreSQL: ctx unchanged (a commit is
// durable before anyone sees it).
func (db *DB) FenceReads(ctx context.Context) context.Context {
	if db.sync == nil {
		return ctx
	}
	return context.WithValue(ctx, fenceKey{}, &readFence{})
}

// AwaitReads blocks until everything the pool reads made with ctx (under
// FenceReads) may have seen is durable. It fails when the database is broken
// or ctx ends first; the caller must then not pass on what it read.
func (db *DB) AwaitReads(ctx context.Context) error {
	if db.sync == nil {
		return nil
	}
	f, _ := ctx.Value(fenceKey{}).(*readFence)
	if f == nil {
		return db.sync.err()
	}
	return db.sync.await(ctx, f.seq.Load())
}

// readDone is called after a pool read ran its first step (the modernc driver
// steps inside Query, so the read's snapshot is fixed by then): it records or
// awaits the newest batch the read may have seen.
func (db *DB) readDone(ctx context.Context) {
	if db.sync == nil {
		return
	}
	seq := db.sync.committing.Load()
	if f, _ := ctx.Value(fenceKey{}).(*readFence); f != nil {
		for {
			old := f.seq.Load()
			if seq <= old || f.seq.CompareAndSwap(old, seq) {
				return
			}
		}
	}
	// Unfenced (jobs, commands): wait now. A broken database is reported by
	// the next Transact; the rows themselves cannot carry an error here.
	_ = db.sync.await(context.WithoutCancel(ctx), seq)
}
