package ledger

import (
	"context"
	"fmt"
	"strings"

	"github.com/cashgate/cashgate/internal/store"
)

// sqlInvariants finds every violation of the ledger's invariants in one
// statement, so that both engines check one consistent snapshot. Each row
// is (problem, subject, got, want).
const sqlInvariants = `WITH
allp AS (
    SELECT entry_id, seq, account_id, currency, amount FROM ledger_postings
    UNION ALL
    SELECT entry_id, seq, account_id, currency, amount FROM ledger_unfolded
),
unfolded AS (
    SELECT account_id, SUM(amount) AS amount FROM ledger_unfolded GROUP BY account_id
),
acct AS (
    SELECT a.id, a.posted, a.posting_count,
           COALESCE(SUM(p.amount), 0) AS sum_amount,
           COUNT(p.seq) AS n,
           COALESCE(MAX(p.account_seq), 0) AS max_seq
    FROM ledger_accounts a LEFT JOIN ledger_postings p ON p.account_id = a.id
    GROUP BY a.id, a.posted, a.posting_count
),
held_out AS (
    SELECT a.id, a.pending_out, COALESCE(SUM(h.amount - h.posted_amount), 0) AS held
    FROM ledger_accounts a LEFT JOIN ledger_holds h ON h.from_account = a.id AND h.status = 'pending'
    GROUP BY a.id, a.pending_out
),
held_in AS (
    SELECT a.id, a.pending_in, COALESCE(SUM(h.amount - h.posted_amount), 0) AS held
    FROM ledger_accounts a LEFT JOIN ledger_holds h ON h.to_account = a.id AND h.status = 'pending'
    GROUP BY a.id, a.pending_in
),
hold_posts AS (
    SELECT h.id, h.posted_amount,
           COALESCE(SUM(CASE WHEN p.account_id = h.to_account THEN p.amount ELSE 0 END), 0) AS posted
    FROM ledger_holds h
    LEFT JOIN ledger_entries e ON e.hold_id = h.id
    LEFT JOIN allp p ON p.entry_id = e.id
    GROUP BY h.id, h.posted_amount
)
SELECT 'entry does not balance' AS problem, entry_id || ' ' || currency AS subject,
       CAST(SUM(amount) AS BIGINT) AS got, CAST(0 AS BIGINT) AS want
FROM allp GROUP BY entry_id, currency HAVING SUM(amount) <> 0
UNION ALL
SELECT 'entry has fewer than two postings', e.id, COUNT(p.seq), 2
FROM ledger_entries e LEFT JOIN allp p ON p.entry_id = e.id
GROUP BY e.id HAVING COUNT(p.seq) < 2
UNION ALL
SELECT 'posting currency or tenant differs from its account', p.entry_id || ' #' || CAST(p.seq AS TEXT), 0, 0
FROM allp p
JOIN ledger_accounts a ON a.id = p.account_id
JOIN ledger_entries e ON e.id = p.entry_id
WHERE p.currency <> a.currency OR e.tenant_id <> a.tenant_id
UNION ALL
SELECT 'account posted differs from the sum of its postings', id, posted, CAST(sum_amount AS BIGINT)
FROM acct WHERE posted <> sum_amount
UNION ALL
SELECT 'account posting_count differs from its postings', id, posting_count, n
FROM acct WHERE posting_count <> n OR posting_count <> max_seq
UNION ALL
SELECT 'posting balance_after breaks the running balance', p.account_id || ' #' || CAST(p.account_seq AS TEXT),
       p.balance_after, COALESCE(prev.balance_after, 0) + p.amount
FROM ledger_postings p
LEFT JOIN ledger_postings prev ON prev.account_id = p.account_id AND prev.account_seq = p.account_seq - 1
WHERE p.balance_after <> COALESCE(prev.balance_after, 0) + p.amount
UNION ALL
SELECT 'account posted differs from its last balance_after', a.id, a.posted, p.balance_after
FROM ledger_accounts a JOIN ledger_postings p ON p.account_id = a.id AND p.account_seq = a.posting_count
WHERE p.balance_after <> a.posted
UNION ALL
SELECT 'balances do not sum to zero', a.tenant_id || ' ' || a.currency, CAST(SUM(a.posted + COALESCE(u.amount, 0)) AS BIGINT), 0
FROM ledger_accounts a LEFT JOIN unfolded u ON u.account_id = a.id
GROUP BY a.tenant_id, a.currency HAVING SUM(a.posted + COALESCE(u.amount, 0)) <> 0
UNION ALL
SELECT 'unfolded posting has no hot account or could be refused', u.entry_id || ' #' || CAST(u.seq AS TEXT), u.amount, 0
FROM ledger_unfolded u LEFT JOIN ledger_accounts a ON a.id = u.account_id
WHERE a.id IS NULL OR NOT a.hot OR (u.amount < 0 AND NOT a.allow_overdraft)
UNION ALL
SELECT 'posting is both folded and unfolded', u.entry_id || ' #' || CAST(u.seq AS TEXT), 0, 0
FROM ledger_unfolded u JOIN ledger_postings p ON p.entry_id = u.entry_id AND p.seq = u.seq
UNION ALL
SELECT 'non-overdraft account has posted - pending_out < 0', id, posted - pending_out, 0
FROM ledger_accounts WHERE NOT allow_overdraft AND posted - pending_out < 0
UNION ALL
SELECT 'account pending_out differs from its pending holds', id, pending_out, CAST(held AS BIGINT)
FROM held_out WHERE pending_out <> held
UNION ALL
SELECT 'account pending_in differs from its pending holds', id, pending_in, CAST(held AS BIGINT)
FROM held_in WHERE pending_in <> held
UNION ALL
SELECT 'hold posted_amount differs from its entries', id, posted_amount, CAST(posted AS BIGINT)
FROM hold_posts WHERE posted_amount <> posted
UNION ALL
SELECT 'hold status disagrees with its amounts (' || status || ')', id, posted_amount, amount
FROM ledger_holds
WHERE (status = 'pending' AND posted_amount >= amount) OR (status = 'posted' AND posted_amount = 0)
UNION ALL
SELECT 'hold currency or tenant differs from its accounts', h.id, 0, 0
FROM ledger_holds h
JOIN ledger_accounts f ON f.id = h.from_account
JOIN ledger_accounts t ON t.id = h.to_account
WHERE f.currency <> h.currency OR t.currency <> h.currency OR f.tenant_id <> h.tenant_id OR t.tenant_id <> h.tenant_id
ORDER BY 1, 2`

// InvariantError lists every invariant violation CheckInvariants found.
type InvariantError struct {
	Violations []string
}

func (e *InvariantError) Error() string {
	return fmt.Sprintf("ledger: %d invariant violation(s):\n\t%s", len(e.Violations), strings.Join(e.Violations, "\n\t"))
}

// CheckInvariants checks the whole ledger and returns an *InvariantError
// listing every violation, or nil:
//   - every entry has at least two postings and balances per currency, and
//     each posting matches its account's currency and tenant;
//   - every account's posted balance equals the sum of its postings, its
//     posting_count their number, and each posting's balance_after the
//     running balance;
//   - per tenant and currency, posted balances (with unfolded postings,
//     fold.go) sum to zero; an unfolded posting is on a hot account, could
//     not have been refused, and is not also folded;
//   - no non-overdraft account has posted - pending_out < 0;
//   - every account's pending_out and pending_in equal the remaining
//     amounts of its pending holds, and every hold's posted_amount the sum
//     its entries posted.
//
// It runs one statement, so it sees one consistent snapshot even while
// others write. Every product's tests call it after their scenarios:
//
//	if err := ledger.CheckInvariants(ctx, db.Read()); err != nil { t.Fatal(err) }
func CheckInvariants(ctx context.Context, q store.Querier) error {
	rows, err := q.QueryContext(ctx, sqlInvariants)
	if err != nil {
		return fmt.Errorf("ledger: check invariants: %w", err)
	}
	defer rows.Close()
	var v []string
	for rows.Next() {
		var problem, subject string
		var got, want int64
		if err := rows.Scan(&problem, &subject, &got, &want); err != nil {
			return fmt.Errorf("ledger: check invariants: %w", err)
		}
		v = append(v, fmt.Sprintf("%s: %s (got %d, want %d)", problem, subject, got, want))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ledger: check invariants: %w", err)
	}
	if len(v) > 0 {
		return &InvariantError{Violations: v}
	}
	return nil
}
