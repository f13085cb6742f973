package ledger

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
)

const (
	// sqlPost applies one posting of an entry, refusing to take a
	// non-overdraft account's available balance below zero. The guard is
	// evaluated on the latest committed row (PostgreSQL re-checks it after
	// waiting for the row lock), so concurrent entries cannot overdraw
	// together. RETURNING gives the posting its balance_after and
	// account_seq without another statement.
	sqlPost = `UPDATE ledger_accounts SET posted = posted + $1, posting_count = posting_count + 1
WHERE id = $2 AND tenant_id = $3 AND currency = $4 AND (allow_overdraft OR posted + $1 >= pending_out)
AND posted + $1 BETWEEN -` + maxBalanceSQL + ` AND ` + maxBalanceSQL + `
RETURNING posted, posting_count, allow_overdraft, hot`

	// sqlPostPending is sqlPost for a posting that also moves pending
	// amounts ($2 to pending_out, $3 to pending_in): the post of a hold.
	sqlPostPending = `UPDATE ledger_accounts
SET posted = posted + $1, pending_out = pending_out + $2, pending_in = pending_in + $3, posting_count = posting_count + 1
WHERE id = $4 AND tenant_id = $5 AND currency = $6 AND (allow_overdraft OR posted + $1 >= pending_out + $2)
AND posted + $1 BETWEEN -` + maxBalanceSQL + ` AND ` + maxBalanceSQL + `
AND pending_out + $2 BETWEEN -` + maxBalanceSQL + ` AND ` + maxBalanceSQL + `
AND pending_in + $3 BETWEEN -` + maxBalanceSQL + ` AND ` + maxBalanceSQL + `
RETURNING posted, posting_count, allow_overdraft, hot`

	// sqlUnpost reverts sqlPost or sqlPostPending on an account this
	// transaction already updated.
	sqlUnpost = `UPDATE ledger_accounts
SET posted = posted - $1, pending_out = pending_out - $2, pending_in = pending_in - $3, posting_count = posting_count - 1
WHERE id = $4`

	sqlInsertEntry = `INSERT INTO ledger_entries (id, tenant_id, kind, reference, description, hold_id, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`

	sqlAccountState = `SELECT tenant_id, currency, posted, pending_out, pending_in FROM ledger_accounts WHERE id = $1`

	// maxBalanceSQL is MaxBalance as a SQL literal, for the guards.
	maxBalanceSQL = "4000000000000000000"
)

// leg is one account update of an entry or hold being written.
type leg struct {
	seq        int // position of the posting in the entry
	account    string
	currency   string
	amount     int64 // posted delta
	pendingOut int64 // pending_out delta
	pendingIn  int64 // pending_in delta
	unfolded   bool  // waits in ledger_unfolded (fold.go)

	// Filled in when the leg is applied.
	accountSeq   int64
	balanceAfter int64
}

// entryRow is the ledger_entries row of an entry being written.
type entryRow struct {
	id, tenantID, kind, reference, description, holdID string
	createdAt                                          int64
}

// Post validates and writes a balanced entry and returns its id. Validation
// failures are Invalid; an unknown account (or one of another tenant) is
// NotFound; an account whose currency differs from its posting's is Invalid;
// an entry that would take a non-overdraft account's available balance below
// zero is InsufficientFunds naming the account. A refused entry changes
// nothing.
func (l *Ledger) Post(ctx context.Context, tx *store.Tx, e Entry) (string, error) {
	if err := validateEntry(e); err != nil {
		return "", err
	}
	legs := make([]leg, len(e.Postings))
	for i, p := range e.Postings {
		legs[i] = leg{seq: i, account: p.AccountID, currency: p.Currency, amount: p.Amount}
	}
	row := entryRow{
		id: l.gen.ID("ent"), tenantID: e.TenantID, kind: e.Kind, reference: e.Reference,
		description: e.Description, createdAt: l.now(),
	}
	if err := l.write(ctx, tx, row, legs); err != nil {
		return "", err
	}
	return row.id, nil
}

// Transfer posts a two-posting entry moving spec.Amount from spec.From to
// spec.To and returns its id. Errors are those of Post.
func (l *Ledger) Transfer(ctx context.Context, tx *store.Tx, spec TransferSpec) (string, error) {
	if err := checkPositive("amount", spec.Amount); err != nil {
		return "", err
	}
	if spec.From == spec.To {
		return "", apperr.InvalidField("to", "cannot transfer from an account to itself")
	}
	kind := spec.Kind
	if kind == "" {
		kind = "transfer"
	}
	return l.Post(ctx, tx, Entry{
		TenantID: spec.TenantID, Kind: kind, Reference: spec.Reference, Description: spec.Description,
		Postings: []Posting{
			{AccountID: spec.From, Currency: spec.Currency, Amount: -spec.Amount},
			{AccountID: spec.To, Currency: spec.Currency, Amount: spec.Amount},
		},
	})
}

// validateEntry checks everything about e that needs no database.
func validateEntry(e Entry) error {
	if err := checkName("tenant_id", e.TenantID); err != nil {
		return err
	}
	if err := checkName("kind", e.Kind); err != nil {
		return err
	}
	if err := checkOptional("reference", e.Reference, maxName); err != nil {
		return err
	}
	if err := checkOptional("description", e.Description, maxDescription); err != nil {
		return err
	}
	if len(e.Postings) < 2 {
		return apperr.InvalidField("postings", "an entry needs at least two postings, got %d", len(e.Postings))
	}
	if len(e.Postings) > MaxPostings {
		return apperr.InvalidField("postings", "an entry has at most %d postings, got %d", MaxPostings, len(e.Postings))
	}
	sums := make(map[string]int64, 1)
	oneAccount := true
	for i, p := range e.Postings {
		field := "postings[" + strconv.Itoa(i) + "]"
		if err := checkName(field+".account_id", p.AccountID); err != nil {
			return err
		}
		if err := checkCurrency(field+".currency", p.Currency); err != nil {
			return err
		}
		if p.Amount == 0 {
			return apperr.InvalidField(field+".amount", "a posting amount must not be zero")
		}
		if p.Amount > MaxAmount || p.Amount < -MaxAmount {
			return apperr.InvalidField(field+".amount", "amount %d exceeds the maximum %d", p.Amount, MaxAmount)
		}
		sums[p.Currency] += p.Amount // |sum| ≤ MaxPostings × MaxAmount: no overflow
		oneAccount = oneAccount && p.AccountID == e.Postings[0].AccountID
	}
	if oneAccount {
		return apperr.InvalidField("postings", "an entry must move money between at least two accounts")
	}
	var unbalanced []string
	for cur, sum := range sums {
		if sum != 0 {
			unbalanced = append(unbalanced, fmt.Sprintf("%s by %d", cur, sum))
		}
	}
	if len(unbalanced) > 0 {
		slices.Sort(unbalanced)
		return apperr.InvalidField("postings", "postings do not sum to zero per currency: off in %s", strings.Join(unbalanced, ", "))
	}
	return nil
}

// lockOrder compares two account ids in the order every transaction locks
// account rows, so that concurrent transactions cannot deadlock within an
// entry: descending. Account ids begin with their creation time, so the
// accounts created first — clearing, fee and merchant accounts, which
// every payment credits — are locked last, after the customer's wallet the
// entry debits, and their credits can wait for the commit (deferred.go).
func lockOrder(a, b string) int { return strings.Compare(b, a) }

// applyOrder returns the indexes of legs in the order their accounts are
// updated: in lockOrder, and within one account credits before debits, so
// that an entry is judged on its net effect.
func applyOrder(legs []leg) []int {
	order := make([]int, len(legs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := lockOrder(legs[a].account, legs[b].account); c != 0 {
			return c
		}
		return cmp.Compare(legs[b].amount, legs[a].amount)
	})
	return order
}

// write applies legs to their accounts and writes the entry and its
// postings; legs that cannot be refused wait for the commit (see
// deferred.go). On a domain error it reverts what it applied, so the
// transaction is left unchanged.
func (l *Ledger) write(ctx context.Context, tx *store.Tx, e entryRow, legs []leg) error {
	later := l.deferrable(e.tenantID, legs)
	if later == nil || slices.Contains(later, false) {
		// A leg applies now: it must see the deferred ones before it.
		if err := l.flush(ctx, tx); err != nil {
			return err
		}
	}
	if err := l.apply(ctx, tx, e.tenantID, legs, later); err != nil {
		return err
	}
	var holdID any
	if e.holdID != "" {
		holdID = e.holdID
	}
	if _, err := tx.ExecContext(ctx, sqlInsertEntry, e.id, e.tenantID, e.kind, e.reference, e.description, holdID, e.createdAt); err != nil {
		return fmt.Errorf("ledger: insert entry: %w", err)
	}
	if later != nil {
		l.deferEntry(tx, pendingEntry{row: e, legs: legs, later: later})
		return nil
	}
	return insertPostings(ctx, tx, e, legs)
}

// apply updates the accounts of the legs not marked in later (nil: all), in
// applyOrder; when one refuses, it reverts the others and returns why.
func (l *Ledger) apply(ctx context.Context, tx *store.Tx, tenantID string, legs []leg, later []bool) error {
	order := slices.DeleteFunc(applyOrder(legs), func(i int) bool { return later != nil && later[i] })
	for n, i := range order {
		err := l.applyLeg(ctx, tx, tenantID, &legs[i])
		if errors.Is(err, sql.ErrNoRows) {
			refusal := diagnose(ctx, tx, tenantID, legs[i])
			return undo(refusal, func() error {
				for _, j := range order[:n] {
					u := legs[j]
					if err := exec1(ctx, tx, sqlUnpost, u.amount, u.pendingOut, u.pendingIn, u.account); err != nil {
						return err
					}
				}
				return nil
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// applyLeg updates lg's account, filling in lg's balance and sequence;
// sql.ErrNoRows when the account refuses it. A refusal of a hot account
// folds its unfolded postings and tries again, they may be the credits
// that cover it (Ledger.again).
func (l *Ledger) applyLeg(ctx context.Context, tx *store.Tx, tenantID string, lg *leg) error {
	var r refusal
	for {
		var row *sql.Row
		if lg.pendingOut == 0 && lg.pendingIn == 0 {
			row = tx.QueryRowContext(ctx, sqlPost, lg.amount, lg.account, tenantID, lg.currency)
		} else {
			row = tx.QueryRowContext(ctx, sqlPostPending, lg.amount, lg.pendingOut, lg.pendingIn, lg.account, tenantID, lg.currency)
		}
		var overdraft, hot bool
		err := row.Scan(&lg.balanceAfter, &lg.accountSeq, &overdraft, &hot)
		if err == nil {
			l.facts.put(lg.account, accountFacts{tenantID: tenantID, currency: lg.currency, overdraft: overdraft, hot: hot})
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("ledger: update account %s: %w", lg.account, err)
		}
		if again, ferr := l.again(ctx, tx, lg.account, &r); ferr != nil || !again {
			return cmp.Or(ferr, err)
		}
	}
}

// insertPostings writes the postings of e's legs that are not unfolded.
func insertPostings(ctx context.Context, tx *store.Tx, e entryRow, legs []leg) error {
	if slices.ContainsFunc(legs, func(lg leg) bool { return lg.unfolded }) {
		legs = slices.DeleteFunc(slices.Clone(legs), func(lg leg) bool { return lg.unfolded })
	}
	if len(legs) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, insertPostingsSQL(len(legs)), postingArgs(e, legs)...); err != nil {
		return fmt.Errorf("ledger: insert postings: %w", err)
	}
	return nil
}

// insertPostingsSQL returns a multi-row INSERT for n postings of one entry:
// $1 is the entry id, then six parameters per posting.
func insertPostingsSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ledger_postings (entry_id, seq, account_id, account_seq, currency, amount, balance_after) VALUES ")
	writeValues(&b, "$1, ", 2, 6, n)
	return b.String()
}

// writeValues writes n comma-separated tuples of per placeholders each,
// numbered from $first on, every tuple opening with lead (e.g. a
// placeholder all rows share).
func writeValues(b *strings.Builder, lead string, first, per, n int) {
	writeTypedValues(b, lead, first, make([]string, per), n)
}

// writeTypedValues is writeValues with a cast after each placeholder of a
// tuple (casts[j], e.g. "::bigint", or ""), for VALUES whose types are not
// those of an INSERT's columns.
func writeTypedValues(b *strings.Builder, lead string, first int, casts []string, n int) {
	per := len(casts)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + lead)
		for j, c := range casts {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(b, "$%d%s", first+per*i+j, c)
		}
		b.WriteString(")")
	}
}

func postingArgs(e entryRow, legs []leg) []any {
	args := make([]any, 0, 1+6*len(legs))
	args = append(args, e.id)
	for _, lg := range legs {
		args = append(args, lg.seq, lg.account, lg.accountSeq, lg.currency, lg.amount, lg.balanceAfter)
	}
	return args
}

// diagnose explains why a guarded update of accountID matched no row:
// NotFound (no such account for the tenant), Invalid (another currency) or
// InsufficientFunds. A failing lookup is returned as a non-domain error.
func diagnose(ctx context.Context, tx *store.Tx, tenantID string, lg leg) error {
	var tenant, cur string
	var posted, pendingOut, pendingIn int64
	err := tx.QueryRowContext(ctx, sqlAccountState, lg.account).Scan(&tenant, &cur, &posted, &pendingOut, &pendingIn)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && tenant != tenantID):
		return apperr.New(apperr.NotFound, "account %s not found", lg.account)
	case err != nil:
		return fmt.Errorf("ledger: account %s: %w", lg.account, err)
	case cur != lg.currency:
		return apperr.New(apperr.Invalid, "account %s holds %s, not %s", lg.account, cur, lg.currency)
	case outOfBounds(posted, lg.amount) || outOfBounds(pendingOut, lg.pendingOut) || outOfBounds(pendingIn, lg.pendingIn):
		return apperr.New(apperr.LimitExceeded, "account %s would exceed the maximum balance of %d minor units", lg.account, MaxBalance)
	default:
		return apperr.New(apperr.InsufficientFunds, "account %s has insufficient funds", lg.account)
	}
}

// outOfBounds reports whether v+d leaves [-MaxBalance, MaxBalance] (v is
// within it and |d| ≤ MaxAmount, so the sum cannot overflow).
func outOfBounds(v, d int64) bool {
	s := v + d
	return s > MaxBalance || s < -MaxBalance
}

// undo runs revert to take back this call's earlier updates after refusal
// and returns refusal. If reverting fails, the transaction is in an unknown
// state and the error returned is not a domain error, so the caller rolls
// back.
func undo(refusal error, revert func() error) error {
	if err := revert(); err != nil {
		return fmt.Errorf("ledger: reverting a refused operation (%v): %w", refusal, err)
	}
	return refusal
}

// exec1 runs a statement that must change exactly one row.
func exec1(ctx context.Context, tx *store.Tx, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("ledger: %d rows changed, want 1", n)
	}
	return nil
}
