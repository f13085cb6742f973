package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
)

// accountCols are the columns scanAccount reads, as stored (for RETURNING).
const accountCols = `id, tenant_id, owner, purpose, currency, allow_overdraft, posted, pending_out, pending_in, posting_count, created_at, hot, 0, 0`

// readCols are accountCols with a hot account's unfolded postings (fold.go)
// added to its balance: their sum and their number, looked up only for a hot
// account.
const readCols = `id, tenant_id, owner, purpose, currency, allow_overdraft, posted, pending_out, pending_in, posting_count, created_at, hot,
CASE WHEN hot THEN (SELECT COALESCE(SUM(u.amount), 0) FROM ledger_unfolded u WHERE u.account_id = ledger_accounts.id) ELSE 0 END,
CASE WHEN hot THEN (SELECT COUNT(*) FROM ledger_unfolded u WHERE u.account_id = ledger_accounts.id) ELSE 0 END`

const (
	sqlInsertAccount = `INSERT INTO ledger_accounts (id, tenant_id, owner, purpose, currency, allow_overdraft, created_at, hot)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (tenant_id, owner, purpose, currency) DO NOTHING
RETURNING ` + accountCols

	sqlAccountByKey = `SELECT ` + readCols + ` FROM ledger_accounts
WHERE tenant_id = $1 AND owner = $2 AND purpose = $3 AND currency = $4`

	sqlAccountByID = `SELECT ` + readCols + ` FROM ledger_accounts WHERE id = $1 AND tenant_id = $2`

	sqlMarkHot = `UPDATE ledger_accounts SET hot = TRUE WHERE id = $1`

	sqlAccountsOfTenant = `SELECT ` + readCols + ` FROM ledger_accounts
WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`

	sqlAccountsOfOwner = `SELECT ` + readCols + ` FROM ledger_accounts
WHERE tenant_id = $1 AND owner = $2 AND id > $3 ORDER BY id LIMIT $4`
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanAccount(s scanner) (Account, error) {
	var a Account
	var created, unfoldedSum int64
	err := s.Scan(&a.ID, &a.TenantID, &a.Owner, &a.Purpose, &a.Currency, &a.AllowOverdraft,
		&a.Balance.Posted, &a.Balance.PendingOut, &a.Balance.PendingIn, &a.PostingCount, &created,
		&a.Hot, &unfoldedSum, &a.unfolded)
	if err != nil {
		return Account{}, err
	}
	a.Balance.Posted += unfoldedSum
	a.PostingCount += a.unfolded
	a.Balance.Available = a.Balance.Posted - a.Balance.PendingOut
	a.CreatedAt = fromMicros(created)
	return a, nil
}

// EnsureAccount returns the account named by spec's tenant, owner, purpose
// and currency, creating it if it does not exist yet. It is idempotent; an
// existing account whose AllowOverdraft differs from spec is a Conflict.
func (l *Ledger) EnsureAccount(ctx context.Context, tx *store.Tx, spec AccountSpec) (Account, error) {
	for _, c := range []struct{ field, v string }{
		{"tenant_id", spec.TenantID}, {"owner", spec.Owner}, {"purpose", spec.Purpose},
	} {
		if err := checkName(c.field, c.v); err != nil {
			return Account{}, err
		}
	}
	if err := checkCurrency("currency", spec.Currency); err != nil {
		return Account{}, err
	}
	if err := l.flush(ctx, tx); err != nil {
		return Account{}, err
	}
	// Read first: in the steady state the account exists, and the insert
	// (which draws an id) is only for the first time.
	a, err := scanAccount(tx.QueryRowContext(ctx, sqlAccountByKey, spec.TenantID, spec.Owner, spec.Purpose, spec.Currency))
	if errors.Is(err, sql.ErrNoRows) {
		a, err = scanAccount(tx.QueryRowContext(ctx, sqlInsertAccount, l.gen.ID("acc"),
			spec.TenantID, spec.Owner, spec.Purpose, spec.Currency, spec.AllowOverdraft, l.now(), spec.Hot))
		if errors.Is(err, sql.ErrNoRows) { // created meanwhile by a concurrent transaction
			a, err = scanAccount(tx.QueryRowContext(ctx, sqlAccountByKey, spec.TenantID, spec.Owner, spec.Purpose, spec.Currency))
		}
	}
	if err == nil && spec.Hot && !a.Hot {
		a.Hot = true
		err = exec1(ctx, tx, sqlMarkHot, a.ID)
	}
	if err != nil {
		return Account{}, fmt.Errorf("ledger: ensure account: %w", err)
	}
	l.facts.putAccount(a)
	if a.AllowOverdraft != spec.AllowOverdraft {
		return Account{}, apperr.New(apperr.Conflict,
			"account %s (%s/%s/%s) exists with allow_overdraft=%t", a.ID, spec.Owner, spec.Purpose, spec.Currency, a.AllowOverdraft)
	}
	return a, nil
}

// FindAccount returns the account named by spec's tenant, owner, purpose
// and currency with its balance, read through q (NotFound when there is
// none: nothing is created).
func (l *Ledger) FindAccount(ctx context.Context, q store.Querier, spec AccountSpec) (Account, error) {
	if err := l.flushQuerier(ctx, q); err != nil {
		return Account{}, err
	}
	a, err := scanAccount(q.QueryRowContext(ctx, sqlAccountByKey, spec.TenantID, spec.Owner, spec.Purpose, spec.Currency))
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, apperr.New(apperr.NotFound, "no %s/%s account in %s", spec.Owner, spec.Purpose, spec.Currency)
	}
	if err != nil {
		return Account{}, fmt.Errorf("ledger: find account: %w", err)
	}
	l.facts.putAccount(a)
	return a, nil
}

// Account returns the tenant's account id with its balance. q is a *store.Tx
// for a balance consistent with the transaction's writes, or db.Read().
func (l *Ledger) Account(ctx context.Context, q store.Querier, tenantID, id string) (Account, error) {
	if err := l.flushQuerier(ctx, q); err != nil {
		return Account{}, err
	}
	a, err := scanAccount(q.QueryRowContext(ctx, sqlAccountByID, id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, apperr.New(apperr.NotFound, "account %s not found", id)
	}
	if err != nil {
		return Account{}, fmt.Errorf("ledger: account %s: %w", id, err)
	}
	l.facts.putAccount(a)
	return a, nil
}

// AccountFilter selects and pages accounts of a tenant.
type AccountFilter struct {
	Owner string // only this owner's accounts; "" for all
	After string // keyset cursor: accounts whose id sorts after this one
	Limit int    // page size; default 100, at most 1000
}

// Accounts lists a tenant's accounts in id order, one page at a time: pass
// the last id of a page as the next page's After.
func (l *Ledger) Accounts(ctx context.Context, q store.Querier, tenantID string, f AccountFilter) ([]Account, error) {
	if err := l.flushQuerier(ctx, q); err != nil {
		return nil, err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	var rows *sql.Rows
	var err error
	if f.Owner == "" {
		rows, err = q.QueryContext(ctx, sqlAccountsOfTenant, tenantID, f.After, limit)
	} else {
		rows, err = q.QueryContext(ctx, sqlAccountsOfOwner, tenantID, f.Owner, f.After, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: list accounts: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("ledger: list accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: list accounts: %w", err)
	}
	return out, nil
}

// LockOwnerAccounts returns all of an owner's accounts in tx, each row
// locked for update until tx ends (PostgreSQL; SQLite runs one writer at a
// time): a posting to any of them waits for tx, so tx can judge their
// balances (e.g. all zero before an account is closed) knowing that no
// posting lands in between.
func (l *Ledger) LockOwnerAccounts(ctx context.Context, tx *store.Tx, tenantID, owner string) ([]Account, error) {
	if err := l.flush(ctx, tx); err != nil {
		return nil, err
	}
	out, err := l.ownerAccounts(ctx, tx, tenantID, owner, l.db.ForUpdate())
	if err != nil || tx.Dialect() != store.Postgres {
		return out, err
	}
	var hot []string
	for _, a := range out {
		if a.Hot {
			hot = append(hot, a.ID)
		}
	}
	if len(hot) == 0 {
		return out, nil
	}
	// Postings to a hot account may be unfolded, which locks no row: wait
	// for those in flight (insertUnfolded's shared lock), keep new ones out
	// until the commit, and read the balances again.
	if err := lockForClosing(ctx, tx, hot); err != nil {
		return nil, err
	}
	return l.ownerAccounts(ctx, tx, tenantID, owner, "")
}

// ownerAccounts reads an owner's accounts in id order, with suffix (a
// locking clause or "").
func (l *Ledger) ownerAccounts(ctx context.Context, tx *store.Tx, tenantID, owner, suffix string) ([]Account, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+readCols+` FROM ledger_accounts WHERE tenant_id = $1 AND owner = $2 ORDER BY id`+suffix, tenantID, owner)
	if err != nil {
		return nil, fmt.Errorf("ledger: lock accounts: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("ledger: lock accounts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
