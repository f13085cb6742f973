package store

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStatements bounds the statement cache; SQL texts are constants in
// the code, so in practice the cache holds every statement cashgate runs.
const maxCachedStatements = 1024

// stmtCache keeps prepared statements by SQL text. modernc's SQLite driver
// parses and plans a statement on every call otherwise, which costs a quarter
// of the CPU of a ledger transfer. (pgx caches prepared statements itself.)
type stmtCache struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}}
}

// get returns the prepared statement for query, or nil when it cannot be
// cached (the caller then runs the query unprepared). The lock is never held
// while preparing, which waits for a free connection: two goroutines may
// prepare the same text at once, and the loser closes its copy.
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	c.mu.RLock()
	st, full := c.m[query], len(c.m) >= maxCachedStatements
	c.mu.RUnlock()
	if st != nil || full {
		return st
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil // let the unprepared call report the error
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev := c.m[query]; prev != nil {
		st.Close()
		return prev
	}
	c.m[query] = st
	return st
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = map[string]*sql.Stmt{}
}

// cachedQuerier is the read Querier of a SQLite DB: every query goes through
// the statement cache.
type cachedQuerier struct{ c *stmtCache }

func (q cachedQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := q.c.get(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.c.db.ExecContext(ctx, query, args...)
}

func (q cachedQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := q.c.get(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.c.db.QueryContext(ctx, query, args...)
}

func (q cachedQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := q.c.get(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.c.db.QueryRowContext(ctx, query, args...)
}

// ExecContext runs a statement in the transaction, prepared once per connection.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx.db.stmts.Add(1)
	ctx = tx.stmtContext(ctx)
	if st := tx.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.Tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a query in the transaction, prepared once per connection.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	tx.db.stmts.Add(1)
	ctx = tx.stmtContext(ctx)
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a one-row query in the transaction, prepared once per connection.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	tx.db.stmts.Add(1)
	ctx = tx.stmtContext(ctx)
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, query, args...)
}

// stmt returns the cached statement bound to this transaction, or nil.
// Statements bound with Tx.StmtContext are closed by database/sql at commit
// or rollback, but the underlying per-connection prepared statement stays
// cached on the *sql.Stmt for the next transaction.
func (tx *Tx) stmt(ctx context.Context, query string) *sql.Stmt {
	if tx.db.wstmts == nil {
		return nil
	}
	st := tx.db.wstmts.get(ctx, query)
	if st == nil {
		return nil
	}
	if tx.batch != nil {
		return tx.batch.bind(ctx, st)
	}
	return tx.Tx.StmtContext(ctx, st)
}

// stmtContext is the context a statement of tx runs under. The committer's
// statements run to the end whatever happens to the caller (a callback
// whose caller left is skipped before it starts, never cut off midway), so
// they run under a context that is never done: modernc's driver otherwise
// starts a goroutine per statement to watch it (transfers on SQLite: about
// 4 % of all CPU, and goroutines competing with the committer for a core).
func (tx *Tx) stmtContext(ctx context.Context) context.Context {
	if tx.batch != nil {
		return context.Background()
	}
	return ctx
}

// boundStmts are the cached statements bound to one committer transaction:
// binding (Tx.StmtContext) once per batch instead of once per call.
type boundStmts struct {
	tx *sql.Tx
	m  map[*sql.Stmt]*sql.Stmt
}

func (b *boundStmts) bind(ctx context.Context, st *sql.Stmt) *sql.Stmt {
	if s, ok := b.m[st]; ok {
		return s
	}
	if b.m == nil {
		b.m = make(map[*sql.Stmt]*sql.Stmt, 32)
	}
	s := b.tx.StmtContext(ctx, st)
	b.m[st] = s
	return s
}
