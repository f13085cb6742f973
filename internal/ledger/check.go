package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cashgate/cashgate/internal/store"
)

// CheckReport is the outcome of one run of the invariant checker over a
// live database (Check): what it counted and what it found, all read in
// one snapshot.
type CheckReport struct {
	StartedAt  time.Time `json:"startedAt"`
	Duration   float64   `json:"durationSeconds"`
	Accounts   int64     `json:"accounts"`
	Entries    int64     `json:"entries"`
	Postings   int64     `json:"postings"`
	Holds      int64     `json:"holds"`
	Violations []string  `json:"violations"`
}

// OK reports whether the check found no violation.
func (r CheckReport) OK() bool { return len(r.Violations) == 0 }

// checkSetting is the settings row that keeps the last report.
const checkSetting = "ledger.last_check"

// Check runs the invariant checker (CheckInvariants) and counts what it
// covered, inside one read snapshot of db, so rows written meanwhile are
// neither half-seen nor counted. A violation is a finding in the report,
// not an error; the error is for a check that could not run.
func Check(ctx context.Context, db *store.DB, now func() time.Time) (CheckReport, error) {
	r := CheckReport{StartedAt: now().UTC(), Violations: []string{}}
	err := db.Snapshot(ctx, func(ctx context.Context, q store.Querier) error {
		if err := q.QueryRowContext(ctx, `SELECT
			(SELECT COUNT(*) FROM ledger_accounts), (SELECT COUNT(*) FROM ledger_entries),
			(SELECT COUNT(*) FROM ledger_postings) + (SELECT COUNT(*) FROM ledger_unfolded), (SELECT COUNT(*) FROM ledger_holds)`).
			Scan(&r.Accounts, &r.Entries, &r.Postings, &r.Holds); err != nil {
			return fmt.Errorf("ledger: check: count: %w", err)
		}
		err := CheckInvariants(ctx, q)
		var inv *InvariantError
		if errors.As(err, &inv) {
			r.Violations = inv.Violations
			return nil
		}
		return err
	})
	r.Duration = now().Sub(r.StartedAt).Seconds()
	return r, err
}

// SaveCheck keeps r as the last check's report (LastCheck).
func SaveCheck(ctx context.Context, db *store.DB, r CheckReport) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value, created_at = excluded.created_at`,
			checkSetting, string(b), r.StartedAt.UnixMicro())
		return err
	})
}

// LastCheck returns the report SaveCheck kept last; ok is false when no
// check has run yet.
func LastCheck(ctx context.Context, db *store.DB) (r CheckReport, ok bool, err error) {
	var v string
	switch err = db.Read().QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, checkSetting).Scan(&v); {
	case errors.Is(err, sql.ErrNoRows):
		return CheckReport{}, false, nil
	case err != nil:
		return CheckReport{}, false, fmt.Errorf("ledger: last check: %w", err)
	}
	if err := json.Unmarshal([]byte(v), &r); err != nil {
		return CheckReport{}, false, fmt.Errorf("ledger: last check: %w", err)
	}
	return r, true, nil
}
