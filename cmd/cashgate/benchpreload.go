package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/app"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
)

// The preload writes entries in bulk, straight into the ledger's tables
// (the ledger's own Post would take one round of account updates per
// entry): each entry moves an amount from the tenant's preload clearing
// account to one of its preloadWallets wallet accounts, as two postings
// whose account_seq and balance_after continue the accounts' own, and
// each transaction ends by setting the accounts' posted balance and
// posting_count to what its postings left — so ledger.CheckInvariants
// holds afterwards.
const (
	preloadWallets   = 100  // wallet accounts per tenant
	sqliteChunk      = 50   // entries per INSERT statement on SQLite, whose driver binds in time quadratic in the parameters (7 per entry)
	postgresChunk    = 500  // entries per INSERT statement on PostgreSQL
	preloadTxEntries = 5000 // entries per transaction
	preloadEvery     = 3 * time.Second
	preloadOwner     = "api/bench-preload" // an API account: the ledger API lists and reads it
)

// preloadResult is what the preload did.
type preloadResult struct {
	seconds float64
	busiest string // the first tenant's clearing account: every entry of that tenant posts to it
}

// preloadAccount is an account's state as the preload left it.
type preloadAccount struct {
	id            string
	posted, count int64
}

// preloadLedger is one tenant's preload accounts.
type preloadLedger struct {
	tenantID string
	clearing preloadAccount
	wallets  []preloadAccount
	next     int64 // entries written in this run: picks the amount
	chunks   int64 // statements written in this run: picks the wallet
}

// preloader writes preloaded entries with a's database, ids and clock.
type preloader struct {
	db    *store.DB
	gen   *ids.Gen
	now   func() int64
	chunk int // entries per statement
}

// preload writes n entries spread evenly over the tenants, printing
// progress on w every few seconds.
func preload(ctx context.Context, a *app.App, tenantIDs []string, n int, w io.Writer) (preloadResult, error) {
	p := preloader{db: a.DB, gen: a.IDs, now: func() int64 { return a.Clock.Now().UnixMicro() }, chunk: sqliteChunk}
	if a.DB.Dialect() == store.Postgres {
		p.chunk = postgresChunk
	}
	prog := newPreloadProgress(w, n)
	var res preloadResult
	for i, t := range tenantIDs {
		l, err := openPreloadLedger(ctx, a, t)
		if err != nil {
			return preloadResult{}, err
		}
		if i == 0 {
			res.busiest = l.clearing.id
		}
		share := n / len(tenantIDs)
		if i < n%len(tenantIDs) {
			share++
		}
		for done := 0; done < share; {
			k := min(preloadTxEntries, share-done)
			if l, err = p.batch(ctx, l, k); err != nil {
				return preloadResult{}, fmt.Errorf("bench: preload: %w", err)
			}
			done += k
			prog.add(k)
		}
	}
	if err := analyze(ctx, a.DB); err != nil {
		return preloadResult{}, err
	}
	res.seconds = prog.finish()
	return res, nil
}

// analyze refreshes PostgreSQL's statistics of the ledger tables after the
// bulk load, as autovacuum would soon after: without them the planner
// expects a few postings per account and reads a statement page by
// sorting all of the account's postings (57 ms for 20,000 instead of
// 0.4 ms). SQLite keeps no statistics unless asked (cashgate never runs its
// ANALYZE), so it is left as it is.
func analyze(ctx context.Context, db *store.DB) error {
	if db.Dialect() != store.Postgres {
		return nil
	}
	return db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, "ANALYZE ledger_accounts, ledger_entries, ledger_postings")
		return err
	})
}

// openPreloadLedger ensures the tenant's preload accounts and reads their state.
func openPreloadLedger(ctx context.Context, a *app.App, tenantID string) (preloadLedger, error) {
	l := preloadLedger{tenantID: tenantID}
	err := a.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		ensure := func(purpose string, overdraft bool) (preloadAccount, error) {
			acc, err := a.Ledger.EnsureAccount(ctx, tx, ledger.AccountSpec{TenantID: tenantID, Owner: preloadOwner,
				Purpose: purpose, Currency: "EUR", AllowOverdraft: overdraft})
			return preloadAccount{id: acc.ID, posted: acc.Balance.Posted, count: acc.PostingCount}, err
		}
		var err error
		if l.clearing, err = ensure("clearing", true); err != nil {
			return err
		}
		l.wallets = make([]preloadAccount, preloadWallets)
		for i := range l.wallets {
			if l.wallets[i], err = ensure(fmt.Sprintf("wallet-%03d", i), false); err != nil {
				return err
			}
		}
		return nil
	})
	return l, err
}

// batch writes k entries of l in one transaction and returns l after them.
// A retried transaction starts again from l.
func (p preloader) batch(ctx context.Context, l preloadLedger, k int) (preloadLedger, error) {
	var out preloadLedger
	err := p.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		out = l
		out.wallets = slices.Clone(l.wallets)
		now := p.now()
		for done := 0; done < k; {
			c := min(p.chunk, k-done)
			if err := p.writeChunk(ctx, tx, &out, c, now); err != nil {
				return err
			}
			done += c
		}
		return saveBalances(ctx, tx, l, out)
	})
	return out, err
}

// writeChunk inserts n entries and their postings with one statement each.
// The chunk's entries all credit one wallet (the next in turn): a
// statement then touches a few index pages, not one per wallet.
func (p preloader) writeChunk(ctx context.Context, tx *store.Tx, l *preloadLedger, n int, now int64) error {
	w := &l.wallets[l.chunks%int64(len(l.wallets))]
	l.chunks++
	entries := make([]any, 0, 2+n)
	entries = append(entries, l.tenantID, now)
	postings := make([]any, 0, 2+7*n)
	postings = append(postings, l.clearing.id, w.id)
	for range n {
		id := p.gen.ID("ent")
		amount := 1 + (l.next*7919)%99_999 // 0.01 to 999.99 EUR
		l.next++
		l.clearing.count, l.clearing.posted = l.clearing.count+1, l.clearing.posted-amount
		w.count, w.posted = w.count+1, w.posted+amount
		entries = append(entries, id)
		postings = append(postings, id, l.clearing.count, -amount, l.clearing.posted, w.count, amount, w.posted)
	}
	if _, err := tx.ExecContext(ctx, preloadEntriesSQL(n), entries...); err != nil {
		return fmt.Errorf("insert entries: %w", err)
	}
	if _, err := tx.ExecContext(ctx, preloadPostingsSQL(n), postings...); err != nil {
		return fmt.Errorf("insert postings: %w", err)
	}
	return nil
}

// preloadEntriesSQL inserts n entries: $1 tenant, $2 created_at, then one id each.
func preloadEntriesSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ledger_entries (id, tenant_id, kind, reference, description, created_at) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "($%d, $1, 'preload', 'bench-preload', '', $2)", 3+i)
	}
	return b.String()
}

// preloadPostingsSQL inserts n entries' two postings: $1 the clearing
// account, $2 the wallet, then per entry its id, the clearing posting's
// account_seq, amount and balance_after, the wallet's account_seq, amount
// and balance_after.
func preloadPostingsSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ledger_postings (entry_id, seq, account_id, account_seq, currency, amount, balance_after) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		k := 3 + 7*i
		fmt.Fprintf(&b, "($%d, 0, $1, $%d, 'EUR', $%d, $%d), ($%d, 1, $2, $%d, 'EUR', $%d, $%d)",
			k, k+1, k+2, k+3, k, k+4, k+5, k+6)
	}
	return b.String()
}

// saveBalances sets every account of after to its new balance and count,
// refusing if another writer posted to it since before.
func saveBalances(ctx context.Context, tx *store.Tx, before, after preloadLedger) error {
	olds := append([]preloadAccount{before.clearing}, before.wallets...)
	for i, a := range append([]preloadAccount{after.clearing}, after.wallets...) {
		if a.count == olds[i].count {
			continue
		}
		res, err := tx.ExecContext(ctx, `UPDATE ledger_accounts SET posted = $1, posting_count = $2 WHERE id = $3 AND posting_count = $4`,
			a.posted, a.count, a.id, olds[i].count)
		if err != nil {
			return fmt.Errorf("update account %s: %w", a.id, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("account %s changed during the preload (%d rows, %v)", a.id, n, err)
		}
	}
	return nil
}

// preloadProgress prints the preload's progress.
type preloadProgress struct {
	w           io.Writer
	total, done int
	start, last time.Time
}

func newPreloadProgress(w io.Writer, total int) *preloadProgress {
	now := time.Now()
	return &preloadProgress{w: w, total: total, start: now, last: now}
}

func (p *preloadProgress) add(n int) {
	p.done += n
	if now := time.Now(); now.Sub(p.last) >= preloadEvery {
		p.last = now
		p.print("preload")
	}
}

// finish prints the total and returns the seconds it took.
func (p *preloadProgress) finish() float64 {
	p.print("preloaded")
	return time.Since(p.start).Seconds()
}

// print reports entries and rows (an entry and its two postings) per second.
func (p *preloadProgress) print(what string) {
	s := time.Since(p.start).Seconds()
	fmt.Fprintf(p.w, "bench: %s %d/%d entries in %.0fs: %.0f rows/s (%.0f entries/s)\n",
		what, p.done, p.total, s, 3*float64(p.done)/s, float64(p.done)/s)
}
