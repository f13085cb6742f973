package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestDailyLedgerCheck: the check is scheduled once however many workers
// start, runs an hour later and then every day, keeps its report and sets the
// metrics; a corrupted balance shows as a violation in both, and a new
// process starts its metrics from the last report.
func TestDailyLedgerCheck(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			reg := prometheus.NewRegistry()
			a, clk, count := openForTestWith(t, e, 6, reg)
			for i := 0; i < 2; i++ {
				for _, schedule := range a.schedules {
					if err := schedule(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			if n := count(`SELECT COUNT(*) FROM jobs WHERE kind = $1`, jobLedgerCheck); n != 1 {
				t.Fatalf("%d ledger check jobs, want 1", n)
			}
			from, err := a.Ledger.Standalone().EnsureAccount(ctx, ledger.AccountSpec{TenantID: "ten_x", Owner: "world", Purpose: "clearing", Currency: "EUR", AllowOverdraft: true})
			if err != nil {
				t.Fatal(err)
			}
			to, err := a.Ledger.Standalone().EnsureAccount(ctx, ledger.AccountSpec{TenantID: "ten_x", Owner: "alice", Purpose: "wallet", Currency: "EUR"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Ledger.Standalone().Transfer(ctx, ledger.TransferSpec{TenantID: "ten_x", From: from.ID, To: to.ID, Currency: "EUR", Amount: 100, Reference: "r"}); err != nil {
				t.Fatal(err)
			}
			runDue(t, a)
			if v := testutil.ToFloat64(a.checks.lastRun); v != 0 {
				t.Fatalf("the check ran as the workers started (last run %v); its first run is an hour later", v)
			}
			clk.Advance(ledgerCheckFirst)
			runDue(t, a)
			if v := testutil.ToFloat64(a.checks.violations); v != 0 {
				t.Fatalf("violations metric %v after a clean check, want 0", v)
			}
			if v := testutil.ToFloat64(a.checks.lastRun); v != float64(clk.Now().Unix()) {
				t.Fatalf("last run metric %v, want %v", v, clk.Now().Unix())
			}
			if err := a.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
				_, err := tx.ExecContext(ctx, `UPDATE ledger_accounts SET posted = posted + 1 WHERE id = $1`, to.ID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			clk.Advance(23 * time.Hour)
			runDue(t, a)
			if v := testutil.ToFloat64(a.checks.violations); v != 0 {
				t.Fatalf("the check ran again before a day passed (violations %v)", v)
			}
			clk.Advance(time.Hour)
			runDue(t, a)
			if v := testutil.ToFloat64(a.checks.violations); v < 1 {
				t.Fatalf("violations metric %v after corrupting a balance, want at least 1", v)
			}
			last, ok, err := ledger.LastCheck(ctx, a.DB)
			if err != nil || !ok || !strings.Contains(strings.Join(last.Violations, "\n"), to.ID) {
				t.Fatalf("last check %+v (ok %v, err %v), want the violation of %s", last, ok, err, to.ID)
			}
			m, err := newCheckMetrics(prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			m.set(last)
			if testutil.ToFloat64(m.violations) != float64(len(last.Violations)) {
				t.Fatal("metrics built from the last report disagree with it")
			}
		})
	}
}

func runDue(t *testing.T, a *App) {
	t.Helper()
	if _, err := a.Runner.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
}
