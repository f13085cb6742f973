package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
)

const (
	lineCols = `p.account_seq, p.entry_id, p.seq, p.amount, p.balance_after, e.created_at,
e.kind, e.reference, e.description, COALESCE(e.hold_id, '')`

	sqlLinesAsc = `SELECT ` + lineCols + `
FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id
WHERE p.account_id = $1 AND p.account_seq > $2
ORDER BY p.account_seq LIMIT $3`

	sqlLinesDesc = `SELECT ` + lineCols + `
FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id
WHERE p.account_id = $1 AND p.account_seq < $2
ORDER BY p.account_seq DESC LIMIT $3`

	sqlEntryByID = `SELECT kind, reference, description, COALESCE(hold_id, ''), created_at
FROM ledger_entries WHERE id = $1 AND tenant_id = $2`

	// sqlEntryPostings includes the entry's unfolded postings (fold.go).
	sqlEntryPostings = `SELECT account_id, currency, amount, seq FROM ledger_postings WHERE entry_id = $1
UNION ALL SELECT account_id, currency, amount, seq FROM ledger_unfolded WHERE entry_id = $1 ORDER BY 4`
)

// Line is one posting on an account statement.
type Line struct {
	// AccountSeq numbers the account's postings 1, 2, 3… in the order they
	// were applied; it orders statements and is their page cursor.
	AccountSeq   int64
	EntryID      string
	Seq          int // the posting's position in its entry
	Amount       int64
	BalanceAfter int64 // the account's posted balance after this posting
	Kind         string
	Reference    string
	Description  string
	HoldID       string
	CreatedAt    time.Time
}

// StatementQuery pages an account's statement.
type StatementQuery struct {
	// After is the cursor: the Next of the previous page, 0 for the first.
	After int64
	// Limit is the page size; default 50, at most 1000.
	Limit int
	// NewestFirst lists the latest postings first.
	NewestFirst bool
}

// StatementPage is one page of a statement.
type StatementPage struct {
	Lines []Line
	// Next is the cursor of the following page (StatementQuery.After), 0
	// when this page is the last.
	Next int64
}

// Statement lists the postings of the tenant's account accountID, keyset
// paged on AccountSeq, each with the balance it left. An unknown account is
// NotFound.
func (l *Ledger) Statement(ctx context.Context, q store.Querier, tenantID, accountID string, sq StatementQuery) (StatementPage, error) {
	a, err := l.Account(ctx, q, tenantID, accountID)
	if err != nil {
		return StatementPage{}, err
	}
	if a.unfolded > 0 {
		if err := l.foldFor(ctx, q, accountID); err != nil {
			return StatementPage{}, err
		}
	}
	limit := sq.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	query, after := sqlLinesAsc, sq.After
	if sq.NewestFirst {
		query = sqlLinesDesc
		if after <= 0 {
			after = math.MaxInt64
		}
	}
	rows, err := q.QueryContext(ctx, query, accountID, after, limit)
	if err != nil {
		return StatementPage{}, fmt.Errorf("ledger: statement of %s: %w", accountID, err)
	}
	defer rows.Close()
	var page StatementPage
	for rows.Next() {
		var ln Line
		var created int64
		if err := rows.Scan(&ln.AccountSeq, &ln.EntryID, &ln.Seq, &ln.Amount, &ln.BalanceAfter, &created,
			&ln.Kind, &ln.Reference, &ln.Description, &ln.HoldID); err != nil {
			return StatementPage{}, fmt.Errorf("ledger: statement of %s: %w", accountID, err)
		}
		ln.CreatedAt = fromMicros(created)
		page.Lines = append(page.Lines, ln)
	}
	if err := rows.Err(); err != nil {
		return StatementPage{}, fmt.Errorf("ledger: statement of %s: %w", accountID, err)
	}
	if len(page.Lines) == limit {
		page.Next = page.Lines[len(page.Lines)-1].AccountSeq
	}
	return page, nil
}

// foldFor folds the unfolded postings of account before a statement is read
// through q: in q when it is a transaction, else in transactions of its own
// (the read through the pool that follows sees them).
func (l *Ledger) foldFor(ctx context.Context, q store.Querier, account string) error {
	if tx, ok := q.(*store.Tx); ok {
		for {
			n, err := l.fold(ctx, tx, account, foldBatch)
			if err != nil || n < foldBatch {
				return err
			}
		}
	}
	_, err := l.Fold(ctx, account)
	return err
}

// EntryByID returns the tenant's entry id with its postings in their order.
func (l *Ledger) EntryByID(ctx context.Context, q store.Querier, tenantID, id string) (PostedEntry, error) {
	if err := l.flushQuerier(ctx, q); err != nil {
		return PostedEntry{}, err
	}
	e := PostedEntry{ID: id, Entry: Entry{TenantID: tenantID}}
	var created int64
	err := q.QueryRowContext(ctx, sqlEntryByID, id, tenantID).Scan(&e.Kind, &e.Reference, &e.Description, &e.HoldID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return PostedEntry{}, apperr.New(apperr.NotFound, "entry %s not found", id)
	}
	if err != nil {
		return PostedEntry{}, fmt.Errorf("ledger: entry %s: %w", id, err)
	}
	e.CreatedAt = fromMicros(created)
	rows, err := q.QueryContext(ctx, sqlEntryPostings, id)
	if err != nil {
		return PostedEntry{}, fmt.Errorf("ledger: entry %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var p Posting
		var seq int
		if err := rows.Scan(&p.AccountID, &p.Currency, &p.Amount, &seq); err != nil {
			return PostedEntry{}, fmt.Errorf("ledger: entry %s: %w", id, err)
		}
		e.Postings = append(e.Postings, p)
	}
	if err := rows.Err(); err != nil {
		return PostedEntry{}, fmt.Errorf("ledger: entry %s: %w", id, err)
	}
	return e, nil
}
