package app

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/outbox"
)

// The daily ledger check: the invariant checker over the live database in
// one read snapshot (ledger.Check), its report kept as the last result and
// published as metrics. `cashgate ledger check` runs the same on demand.
//
// The first run is an hour after the workers first start, not at once: a
// check reads every posting, and a process that was just started (a
// deployment, a benchmark on a preloaded database) has better uses for
// its first minutes.
const (
	jobLedgerCheck   = "ledger.check"
	ledgerCheckEvery = 24 * time.Hour
	ledgerCheckFirst = time.Hour
)

// checkMetrics are the gauges of the last ledger check.
type checkMetrics struct {
	violations, lastRun, duration prometheus.Gauge
}

func newCheckMetrics(reg prometheus.Registerer) (*checkMetrics, error) {
	m := &checkMetrics{
		violations: prometheus.NewGauge(prometheus.GaugeOpts{Name: "cashgate_ledger_invariant_violations",
			Help: "Ledger invariant violations the last ledger check found (0: the books balance)."}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{Name: "cashgate_ledger_check_last_run_timestamp_seconds",
			Help: "When the last ledger check started (Unix time; 0: never)."}),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{Name: "cashgate_ledger_check_duration_seconds",
			Help: "How long the last ledger check took."}),
	}
	for _, c := range []prometheus.Collector{m.violations, m.lastRun, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("ledger check metrics: %w", err)
		}
	}
	return m, nil
}

func (m *checkMetrics) set(r ledger.CheckReport) {
	m.violations.Set(float64(len(r.Violations)))
	m.lastRun.Set(float64(r.StartedAt.UnixMilli()) / 1000)
	m.duration.Set(r.Duration)
}

// CheckLedger runs the ledger check now, keeps its report as the last
// result and publishes it; violations are in the report, not the error.
func (a *App) CheckLedger(ctx context.Context) (ledger.CheckReport, error) {
	r, err := ledger.Check(ctx, a.DB, a.Clock.Now)
	if err != nil {
		return r, err
	}
	if err := ledger.SaveCheck(ctx, a.DB, r); err != nil {
		return r, err
	}
	a.checks.set(r)
	return r, nil
}

// registerLedgerCheck sets up the check's metrics from the last result and
// the daily job that runs it.
func (a *App) registerLedgerCheck(ctx context.Context, reg prometheus.Registerer) error {
	m, err := newCheckMetrics(reg)
	if err != nil {
		return err
	}
	a.checks = m
	last, ok, err := ledger.LastCheck(ctx, a.DB)
	if err != nil {
		return err
	}
	if ok {
		m.set(last)
	}
	a.Runner.Handle(jobLedgerCheck, func(ctx context.Context, _ outbox.Job) error {
		r, err := a.CheckLedger(ctx)
		if err != nil {
			return err
		}
		if r.OK() {
			a.Log.Info("ledger check: the books balance", "accounts", r.Accounts, "entries", r.Entries, "seconds", r.Duration)
		} else {
			a.Log.Error("ledger check found invariant violations", "count", len(r.Violations), "violations", r.Violations)
		}
		return outbox.RetryAt(a.Clock.Now().Add(ledgerCheckEvery))
	})
	a.schedules = append(a.schedules, func(ctx context.Context) error {
		_, _, err := a.Outbox.Enqueue(ctx, nil, outbox.JobSpec{Kind: jobLedgerCheck, RunAt: a.Clock.Now().Add(ledgerCheckFirst), UniqueKey: jobLedgerCheck})
		return err
	})
	return nil
}
