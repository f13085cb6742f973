package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// The metrics a payments operator watches, beside the server's request
// metrics (internal/server) and the ledger check's (ledgercheck.go):
//   - cashgate_events_total{product,type,outcome}: every committed domain
//     event — payments, captures, refunds, payouts, transfers — by the
//     product that wrote it and what happened;
//   - cashgate_webhook_attempts_total{endpoint,result}: delivery attempts
//     by endpoint ("callback" for callback URLs), acknowledged or failed;
//   - cashgate_jobs{kind,state}, cashgate_job_lag_seconds{kind},
//     cashgate_webhook_backlog and cashgate_webhook_oldest_pending_seconds:
//     read from the jobs table when /metrics is scraped (every pending
//     webhook delivery is a ready or running job of kind webhook.deliver);
//   - cashgate_usage_limit_fallbacks_total: requests whose usage limit the
//     process decided alone because Redis (--redis-url) did not answer;
//   - cashgate_sqlite_batch_callbacks: the size of SQLite's group commits;
//   - cashgate_db_pool_*{pool}: connection pool use and waits.

// metrics are the app's own collectors.
type metrics struct {
	events    *prometheus.CounterVec
	attempts  *prometheus.CounterVec
	batches   prometheus.Histogram
	fallbacks prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cashgate_events_total",
			Help: "Committed domain events by product, event type and outcome."}, []string{"product", "type", "outcome"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cashgate_webhook_attempts_total",
			Help: "Webhook delivery attempts by endpoint and result (acknowledged, failed)."}, []string{"endpoint", "result"}),
		batches: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cashgate_sqlite_batch_callbacks",
			Help:    "Transactions per SQLite group commit.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128}}),
		fallbacks: prometheus.NewCounter(prometheus.CounterOpts{Name: "cashgate_usage_limit_fallbacks_total",
			Help: "Requests whose APP key usage limit this process decided alone (its own token bucket) because Redis did not answer."}),
	}
}

// event counts a committed event.
func (m *metrics) event(ev outbox.Event) {
	product, _, _ := strings.Cut(ev.Type, ".")
	outcome := ev.Outcome
	if outcome == "" {
		outcome = ev.Type[strings.LastIndexByte(ev.Type, '.')+1:]
	}
	m.events.WithLabelValues(product, ev.Type, outcome).Inc()
}

func (m *metrics) attempt(endpoint string, acknowledged bool) {
	result := "failed"
	if acknowledged {
		result = "acknowledged"
	}
	m.attempts.WithLabelValues(endpoint, result).Inc()
}

func (m *metrics) batch(n int) { m.batches.Observe(float64(n)) }

func (m *metrics) limitFallback() { m.fallbacks.Inc() }

// register adds the collectors, with those that read the database.
func (m *metrics) register(reg prometheus.Registerer, db *store.DB, now func() time.Time) error {
	for _, c := range []prometheus.Collector{m.events, m.attempts, m.batches, m.fallbacks, jobsCollector{db: db, now: now}, poolCollector{db: db}} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	return nil
}

var (
	jobsDesc    = prometheus.NewDesc("cashgate_jobs", "Jobs waiting (ready) or being run (running), by kind.", []string{"kind", "state"}, nil)
	lagDesc     = prometheus.NewDesc("cashgate_job_lag_seconds", "How long the oldest due job of a kind has waited past its run time.", []string{"kind"}, nil)
	backlogDesc = prometheus.NewDesc("cashgate_webhook_backlog", "Webhook deliveries not yet acknowledged or given up (ready or running delivery jobs).", nil, nil)
	oldestDesc  = prometheus.NewDesc("cashgate_webhook_oldest_pending_seconds", "Age of the oldest webhook delivery still pending.", nil, nil)
)

// scrapeBudget bounds the queries of one scrape.
const scrapeBudget = 2 * time.Second

// sqlJobQueue reads the queue through the partial indexes jobs_ready and
// jobs_running: (kind, state, count, oldest created_at, earliest run_at).
const sqlJobQueue = `SELECT kind, 'ready', COUNT(*), MIN(created_at), MIN(run_at) FROM jobs WHERE state = 'ready' GROUP BY kind
UNION ALL
SELECT kind, 'running', COUNT(*), MIN(created_at), MIN(run_at) FROM jobs WHERE state = 'running' GROUP BY kind`

// jobsCollector reports the job queue and the webhook backlog, read when
// /metrics is scraped.
type jobsCollector struct {
	db  *store.DB
	now func() time.Time
}

func (c jobsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{jobsDesc, lagDesc, backlogDesc, oldestDesc} {
		ch <- d
	}
}

func (c jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeBudget)
	defer cancel()
	rows, err := c.db.Read().QueryContext(ctx, sqlJobQueue)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(jobsDesc, err)
		return
	}
	defer rows.Close()
	now := c.now().UnixMicro()
	var backlog float64
	oldest := int64(-1)
	for rows.Next() {
		var kind, state string
		var n, created, runAt int64
		if err := rows.Scan(&kind, &state, &n, &created, &runAt); err != nil {
			ch <- prometheus.NewInvalidMetric(jobsDesc, err)
			return
		}
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(n), kind, state)
		if state == "ready" {
			ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(max(now-runAt, 0))/1e6, kind)
		}
		if kind == outbox.KindWebhookDelivery {
			backlog += float64(n)
			if oldest < 0 || created < oldest {
				oldest = created
			}
		}
	}
	if err := rows.Err(); err != nil {
		ch <- prometheus.NewInvalidMetric(jobsDesc, err)
		return
	}
	age := 0.0
	if oldest >= 0 {
		age = float64(max(now-oldest, 0)) / 1e6
	}
	ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, backlog)
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age)
}

var (
	poolOpenDesc   = prometheus.NewDesc("cashgate_db_pool_open_connections", "Open connections by pool.", []string{"pool"}, nil)
	poolInUseDesc  = prometheus.NewDesc("cashgate_db_pool_in_use_connections", "Connections in use by pool.", []string{"pool"}, nil)
	poolWaitsDesc  = prometheus.NewDesc("cashgate_db_pool_waits_total", "Times a statement waited for a free connection, by pool.", []string{"pool"}, nil)
	poolWaitedDesc = prometheus.NewDesc("cashgate_db_pool_wait_seconds_total", "Time spent waiting for a free connection, by pool.", []string{"pool"}, nil)
)

// poolCollector reports the database pools (PostgreSQL's, SQLite's write
// and read connections).
type poolCollector struct{ db *store.DB }

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolOpenDesc, poolInUseDesc, poolWaitsDesc, poolWaitedDesc} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for pool, s := range c.db.PoolStats() {
		ch <- prometheus.MustNewConstMetric(poolOpenDesc, prometheus.GaugeValue, float64(s.OpenConnections), pool)
		ch <- prometheus.MustNewConstMetric(poolInUseDesc, prometheus.GaugeValue, float64(s.InUse), pool)
		ch <- prometheus.MustNewConstMetric(poolWaitsDesc, prometheus.CounterValue, float64(s.WaitCount), pool)
		ch <- prometheus.MustNewConstMetric(poolWaitedDesc, prometheus.CounterValue, s.WaitDuration.Seconds(), pool)
	}
}
