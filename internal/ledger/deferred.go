package ledger

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/cashgate/cashgate/internal/store"
)

// Deferred postings.
//
// A posting that the ledger cannot refuse — a credit, or a debit of an
// account that allows overdraft, to an account whose tenant and currency
// are known to match — is not applied where Post is called but just before
// the transaction commits (store.Tx.BeforeCommit). The row lock its UPDATE
// takes is then held only through the commit instead of through everything
// the product writes after the entry. That matters on PostgreSQL, where
// every payment of a tenant credits the same merchant and fee accounts and
// debits the same clearing account: those rows are taken one transaction
// at a time.
//
// Nothing can observe the difference: before any posting that can be
// refused, any read of balances, postings or holds through the
// transaction, and any hold operation, the deferred postings are applied
// first, so every statement sees the state it would have seen. Only a
// refusal that cannot happen for such a posting short of the maximum
// balance (LimitExceeded at 4×10^18 minor units) would surface at commit,
// where it fails the transaction as a whole.

// accountFacts are the properties of an account that never change after it
// is created and that decide whether a posting can be refused.
type accountFacts struct {
	tenantID, currency string
	overdraft          bool
	// hot is the one fact that changes, once, from false to true: a stale
	// false only makes a posting update the row instead of waiting unfolded.
	hot bool
}

// maxKnownAccounts bounds the facts cache; when full it starts over.
const maxKnownAccounts = 1 << 17

// factCache remembers the facts of accounts this process has seen. The
// facts are immutable, so entries are never stale, in any process.
type factCache struct {
	mu sync.Mutex
	m  map[string]accountFacts
}

func (c *factCache) get(id string) (accountFacts, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.m[id]
	return f, ok
}

func (c *factCache) put(id string, f accountFacts) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxKnownAccounts {
		c.m = make(map[string]accountFacts, 1024)
	}
	c.m[id] = f
}

func (c *factCache) putAccount(a Account) {
	c.put(a.ID, accountFacts{tenantID: a.TenantID, currency: a.Currency, overdraft: a.AllowOverdraft, hot: a.Hot})
}

// pendingEntry is an entry whose row is written and some of whose legs
// (those marked in later) wait for the commit, as do all its postings.
type pendingEntry struct {
	row   entryRow
	legs  []leg
	later []bool
}

// deferredWrites is the ledger's state in one transaction attempt.
type deferredWrites struct {
	entries []pendingEntry
}

// deferrable reports, per leg, whether it can wait for the commit: nil when
// none can. A leg waits only on an account that comes after every account
// the entry updates now in lockOrder: accounts are then still locked in
// that order within each entry, as without deferral, so deferral adds no
// deadlock. (A leg on an account the entry updates now is updated now too,
// so the entry is judged on its net effect per account.) A leg that will
// stay unfolded (fold.go) takes no lock, so it waits whatever the order;
// deferrable marks those legs unfolded.
func (l *Ledger) deferrable(tenantID string, legs []leg) []bool {
	can := make([]bool, len(legs))
	last := "" // the account updated now that comes last in lockOrder
	now := map[string]bool{}
	for i, lg := range legs {
		f, ok := l.facts.get(lg.account)
		can[i] = ok && lg.pendingOut == 0 && lg.pendingIn == 0 && f.tenantID == tenantID &&
			f.currency == lg.currency && (lg.amount > 0 || f.overdraft)
		legs[i].unfolded = can[i] && l.folding && f.hot
		if !can[i] {
			now[lg.account] = true
			if last == "" || lockOrder(lg.account, last) > 0 {
				last = lg.account
			}
		}
	}
	some := false
	for i, lg := range legs {
		legs[i].unfolded = lg.unfolded && !now[lg.account] // judged with the account's legs applied now
		can[i] = can[i] && (legs[i].unfolded || last == "" || lockOrder(lg.account, last) > 0)
		some = some || can[i]
	}
	if !some {
		return nil
	}
	return can
}

// deferEntry keeps e for the commit, registering the flush once per
// transaction attempt.
func (l *Ledger) deferEntry(tx *store.Tx, e pendingEntry) {
	d, _ := tx.Local(l).(*deferredWrites)
	if d == nil {
		d = &deferredWrites{}
		tx.SetLocal(l, d)
		tx.BeforeCommit(func(ctx context.Context) error { return l.flush(ctx, tx) })
	}
	d.entries = append(d.entries, e)
}

// Apply applies now the transaction's postings that wait for the commit,
// taking their rows' locks: for a check that must come after every posting
// of the transaction has locked its account (run it in a
// store.Tx.BeforeCommit hook, so the postings still wait until then).
func (l *Ledger) Apply(ctx context.Context, tx *store.Tx) error { return l.flush(ctx, tx) }

// flushQuerier applies the deferred postings when q is a transaction, before
// a read through it.
func (l *Ledger) flushQuerier(ctx context.Context, q store.Querier) error {
	if tx, ok := q.(*store.Tx); ok {
		return l.flush(ctx, tx)
	}
	return nil
}

// flush applies the transaction's deferred legs, in account order (credits
// first) as write does, and writes the postings of their entries.
func (l *Ledger) flush(ctx context.Context, tx *store.Tx) error {
	d, _ := tx.Local(l).(*deferredWrites)
	if d == nil || len(d.entries) == 0 {
		return nil
	}
	entries := d.entries
	d.entries = nil
	type ref struct{ e, i int }
	var refs []ref
	for e, pe := range entries {
		for i := range pe.legs {
			if pe.later[i] {
				refs = append(refs, ref{e, i})
			}
		}
	}
	slices.SortStableFunc(refs, func(a, b ref) int {
		la, lb := entries[a.e].legs[a.i], entries[b.e].legs[b.i]
		if c := lockOrder(la.account, lb.account); c != 0 {
			return c
		}
		return cmp.Compare(lb.amount, la.amount)
	})
	var unfolded []unfoldedRow
	for _, r := range refs {
		pe := &entries[r.e]
		lg := &pe.legs[r.i]
		if lg.unfolded {
			unfolded = append(unfolded, unfoldedRow{entryID: pe.row.id, seq: lg.seq, account: lg.account, currency: lg.currency, amount: lg.amount})
			continue
		}
		var overdraft, hot bool
		err := tx.QueryRowContext(ctx, sqlPost, lg.amount, lg.account, pe.row.tenantID, lg.currency).
			Scan(&lg.balanceAfter, &lg.accountSeq, &overdraft, &hot)
		if errors.Is(err, sql.ErrNoRows) {
			return diagnose(ctx, tx, pe.row.tenantID, *lg)
		}
		if err != nil {
			return fmt.Errorf("ledger: update account %s: %w", lg.account, err)
		}
	}
	if err := insertUnfolded(ctx, tx, unfolded); err != nil {
		return err
	}
	for _, pe := range entries {
		if err := insertPostings(ctx, tx, pe.row, pe.legs); err != nil {
			return err
		}
	}
	return nil
}
