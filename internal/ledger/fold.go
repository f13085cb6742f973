package ledger

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/store"
)

// Hot accounts and unfolded postings.
//
// Every payment of a tenant posts to the same few accounts: the card
// scheme's clearing, the merchant's pending balance, the fee account. On
// PostgreSQL the UPDATE of such a row holds its lock until the transaction
// commits, so a tenant's payments commit one at a time however many run.
// Deferring the UPDATE to just before COMMIT (deferred.go) shortens that to
// one WAL flush each, which still caps a hot row at about a thousand
// postings a second.
//
// So a posting to a hot account (AccountSpec.Hot) that cannot be refused —
// a credit, or a debit of an overdraft account — is not applied to the row
// at all: it is inserted into ledger_unfolded, which takes inserts only and
// locks nothing, and is folded into the account later: its posted balance
// and posting_count grow by the batch and each posting gets its
// ledger_postings row with account_seq and balance_after, in the order of
// the fold. Folding happens
//   - in batches, by the folder (RunFolder) every few hundred milliseconds;
//   - in the transaction itself, when a posting or hold that can be refused
//     is refused by a hot account that has unfolded postings (they may be
//     the credits that cover it): it folds and tries once more;
//   - before a statement of the account is read (Statement).
//
// What everything else sees does not change: an account's balance and
// posting count are its row's plus its unfolded postings (readCols), an
// entry's postings include its unfolded ones (EntryByID), and the invariants
// (invariants.go) count them where they belong. A fold takes its rows with
// DELETE … RETURNING, so each unfolded posting is folded exactly once
// whatever runs concurrently, and then updates the row, whose lock orders
// folds and other postings of the account.

// foldBatch bounds the postings one fold takes.
const foldBatch = 2000

const (
	sqlTakeUnfolded = `DELETE FROM ledger_unfolded WHERE account_id = $1 AND (entry_id, seq) IN
(SELECT entry_id, seq FROM ledger_unfolded WHERE account_id = $1 ORDER BY entry_id, seq LIMIT $2)
RETURNING entry_id, seq, currency, amount`

	sqlFoldAccount = `UPDATE ledger_accounts SET posted = posted + $1, posting_count = posting_count + $2
WHERE id = $3 RETURNING posted, posting_count`

	sqlUnfoldedAccounts = `SELECT DISTINCT account_id FROM ledger_unfolded LIMIT 100`
)

// unfoldedRow is one ledger_unfolded row.
type unfoldedRow struct {
	entryID  string
	seq      int
	account  string
	currency string
	amount   int64
}

// closeLockClass is the first key of the PostgreSQL advisory locks that
// order unfolded postings against a closing (cashgate's own key space:
// "cglf"); the second is hashtext of the account id.
const closeLockClass = 0x63676c66

// insertUnfolded writes rows to ledger_unfolded, at most 500 a statement.
// On PostgreSQL its first statement takes a shared advisory lock on each of
// their accounts, held to the commit: unfolded postings take no row lock, so
// this is what a closing (LockOwnerAccounts) waits for before it reads the
// balances. Shared locks do not wait for one another.
func insertUnfolded(ctx context.Context, tx *store.Tx, rows []unfoldedRow) error {
	lock := tx.Dialect() == store.Postgres
	for part := range slices.Chunk(rows, 500) {
		args := make([]any, 0, 5*len(part)+1)
		for _, r := range part {
			args = append(args, r.entryID, r.seq, r.account, r.currency, r.amount)
		}
		query := insertUnfoldedSQL(len(part), lock)
		if lock {
			args = append(args, unfoldedAccounts(rows))
			lock = false // once, for every row's account
		}
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("ledger: insert unfolded postings: %w", err)
		}
	}
	return nil
}

// insertUnfoldedSQL inserts n rows of five parameters; with lock
// (PostgreSQL), the statement first takes the shared advisory lock on each
// account of the array in parameter 5n+1, in its order, in the same round
// trip (an uncorrelated subquery runs once, before the first row).
func insertUnfoldedSQL(n int, lock bool) string {
	var b strings.Builder
	if !lock {
		b.WriteString("INSERT INTO ledger_unfolded (entry_id, seq, account_id, currency, amount) VALUES ")
		writeValues(&b, "", 1, 5, n)
		return b.String()
	}
	b.WriteString("INSERT INTO ledger_unfolded (entry_id, seq, account_id, currency, amount) SELECT v.e, v.s, v.a, v.c, v.m FROM (VALUES ")
	writeTypedValues(&b, "", 1, []string{"::text", "::integer", "::text", "::text", "::bigint"}, n)
	fmt.Fprintf(&b, `) AS v(e, s, a, c, m) WHERE (SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock_shared(%d, hashtext(x))
FROM unnest($%d::text[]) WITH ORDINALITY AS t(x, k) ORDER BY k) AS l) >= 0`, closeLockClass, 5*n+1)
	return b.String()
}

// unfoldedAccounts returns the distinct accounts of rows, sorted.
func unfoldedAccounts(rows []unfoldedRow) []string {
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.account)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// lockForClosing takes the advisory lock of each account in order,
// exclusively, in one statement (PostgreSQL only): it waits for the
// transactions whose unfolded postings to them hold it shared
// (insertUnfolded) and keeps new ones out until tx ends.
func lockForClosing(ctx context.Context, tx *store.Tx, accounts []string) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(a)) FROM unnest($2::text[]) WITH ORDINALITY AS t(a, n) ORDER BY n`,
		closeLockClass, accounts); err != nil {
		return fmt.Errorf("ledger: lock accounts %v: %w", accounts, err)
	}
	return nil
}

// refusal is what applyLeg or reserve has done about a posting or hold
// the account's row refused.
type refusal struct {
	folds     int  // folds run for it
	rechecked bool // tried once more after a fold that found nothing
}

// maxRefusalFolds bounds the folds one refused posting or hold runs.
const maxRefusalFolds = 8

// again is called when account's row refused a posting or hold in tx; it
// folds the account when it may be hot and reports whether to try the row
// once more. Its unfolded credits may cover what the row refused. A fold
// that finds nothing may have waited for a concurrent fold (the folder's,
// or another transaction's after its own refusal) that took those postings
// and then committed them into the row: the row, read again by a new
// statement, holds them, so it is tried once more then too (only when
// folding: no one else folds otherwise).
func (l *Ledger) again(ctx context.Context, tx *store.Tx, account string, r *refusal) (bool, error) {
	if f, ok := l.facts.get(account); (ok && !f.hot) || r.folds >= maxRefusalFolds {
		return false, nil
	}
	r.folds++
	n, err := l.fold(ctx, tx, account, foldBatch)
	if err != nil || n > 0 {
		return n > 0, err
	}
	if !l.folding || r.rechecked {
		return false, nil
	}
	r.rechecked = true
	return true, nil
}

// fold folds up to limit unfolded postings of account in tx, oldest entries
// first, and reports how many.
func (l *Ledger) fold(ctx context.Context, tx *store.Tx, account string, limit int) (int, error) {
	taken, err := takeUnfolded(ctx, tx, account, limit)
	if err != nil || len(taken) == 0 {
		return 0, err
	}
	return len(taken), foldTaken(ctx, tx, account, taken)
}

// takeUnfolded deletes up to limit unfolded postings of account in tx,
// oldest entries first, and returns them in entry order.
func takeUnfolded(ctx context.Context, tx *store.Tx, account string, limit int) ([]unfoldedRow, error) {
	rows, err := tx.QueryContext(ctx, sqlTakeUnfolded, account, limit)
	if err != nil {
		return nil, fmt.Errorf("ledger: fold %s: %w", account, err)
	}
	var taken []unfoldedRow
	for rows.Next() {
		r := unfoldedRow{account: account}
		if err := rows.Scan(&r.entryID, &r.seq, &r.currency, &r.amount); err != nil {
			rows.Close()
			return nil, fmt.Errorf("ledger: fold %s: %w", account, err)
		}
		taken = append(taken, r)
	}
	if err := cmp.Or(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("ledger: fold %s: %w", account, err)
	}
	slices.SortFunc(taken, func(a, b unfoldedRow) int {
		return cmp.Or(strings.Compare(a.entryID, b.entryID), cmp.Compare(a.seq, b.seq))
	})
	return taken, nil
}

// foldTaken applies taken (takeUnfolded) to account's row and writes their
// postings.
func foldTaken(ctx context.Context, tx *store.Tx, account string, taken []unfoldedRow) error {
	var sum int64
	for _, r := range taken {
		sum += r.amount
	}
	var posted, count int64
	if err := tx.QueryRowContext(ctx, sqlFoldAccount, sum, len(taken), account).Scan(&posted, &count); err != nil {
		return fmt.Errorf("ledger: fold %s: %w", account, err)
	}
	return insertFolded(ctx, tx, taken, posted-sum, count-int64(len(taken)))
}

// insertFolded writes the postings of rows, folded in their order onto an
// account whose balance and posting count were balance and seq.
func insertFolded(ctx context.Context, tx *store.Tx, rows []unfoldedRow, balance, seq int64) error {
	for part := range slices.Chunk(rows, 500) {
		var b strings.Builder
		b.WriteString("INSERT INTO ledger_postings (entry_id, seq, account_id, account_seq, currency, amount, balance_after) VALUES ")
		writeValues(&b, "", 1, 7, len(part))
		args := make([]any, 0, 7*len(part))
		for _, r := range part {
			seq++
			balance += r.amount
			args = append(args, r.entryID, r.seq, r.account, seq, r.currency, r.amount, balance)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("ledger: insert folded postings: %w", err)
		}
	}
	return nil
}

// Fold folds every unfolded posting of account, a batch a transaction, and
// reports how many it folded.
func (l *Ledger) Fold(ctx context.Context, account string) (int, error) {
	total := 0
	for {
		var n int
		err := l.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) (err error) {
			n, err = l.fold(ctx, tx, account, foldBatch)
			return err
		})
		total += n
		if err != nil || n < foldBatch {
			return total, err
		}
	}
}

// FoldAll folds the unfolded postings of every account and reports how
// many it folded.
func (l *Ledger) FoldAll(ctx context.Context) (int, error) {
	total := 0
	for {
		accounts, err := l.unfoldedAccounts(ctx)
		if err != nil {
			return total, err
		}
		for _, a := range accounts {
			n, err := l.Fold(ctx, a)
			total += n
			if err != nil {
				return total, err
			}
		}
		if len(accounts) < 100 {
			return total, nil
		}
	}
}

// unfoldedAccounts returns up to 100 accounts that have unfolded postings.
func (l *Ledger) unfoldedAccounts(ctx context.Context) ([]string, error) {
	rows, err := l.db.Read().QueryContext(ctx, sqlUnfoldedAccounts)
	if err != nil {
		return nil, fmt.Errorf("ledger: unfolded accounts: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("ledger: unfolded accounts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// RunFolder folds unfolded postings every interval until ctx ends; without
// folding (SQLite's default) it returns at once. A failed round is logged
// and the next one tries again.
func (l *Ledger) RunFolder(ctx context.Context, log *slog.Logger, every time.Duration) {
	if !l.folding {
		return // nothing is ever unfolded (a refused posting or a statement still folds)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := l.FoldAll(ctx); err != nil && ctx.Err() == nil {
			log.Warn("ledger: folding unfolded postings failed; trying again", "err", err)
		}
	}
}
