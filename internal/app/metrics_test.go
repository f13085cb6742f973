package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestOperatorMetrics: a transfer through the API shows in the request and
// event metrics (a rolled-back event does not), its webhook in the backlog,
// the queue lag grows with the clock, a failed attempt is counted by
// endpoint and result, and the pools and SQLite's batches are reported.
func TestOperatorMetrics(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			reg := prometheus.NewRegistry()
			a, clk := openWithPrivateWebhooks(t, e, reg)
			ten, err := a.Platform.CreateTenant(ctx, platform.TenantSpec{Name: "Acme", Mode: platform.Production})
			if err != nil {
				t.Fatal(err)
			}
			var answer atomic.Int32
			answer.Store(500)
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(int(answer.Load())) }))
			defer hook.Close()
			srv := httptest.NewServer(a.Handler)
			defer srv.Close()
			call := func(path, body string, want int) map[string]any {
				t.Helper()
				req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
				req.Header.Set("api-key", ten.APIKey)
				req.Header.Set("Content-Type", "application/json")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				if res.StatusCode != want {
					t.Fatalf("POST %s: %d %s", path, res.StatusCode, b)
				}
				var m map[string]any
				_ = json.Unmarshal(b, &m)
				return m
			}
			ep := call("/platform/webhooks/endpoints", `{"url":"`+hook.URL+`","eventTypes":["ledger.*"]}`, 201)["id"].(string)
			from := call("/platform/ledger/accounts", `{"owner":"bank","purpose":"clearing","currency":"EUR","allowOverdraft":true}`, 200)["id"].(string)
			to := call("/platform/ledger/accounts", `{"owner":"alice","purpose":"wallet","currency":"EUR"}`, 200)["id"].(string)
			call("/platform/ledger/transfers", `{"from":"`+from+`","to":"`+to+`","amount":"1.00","currency":"EUR"}`, 201)
			errBoom := errors.New("boom")
			if err := a.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
				if _, err := a.Outbox.Emit(ctx, tx, outbox.Event{TenantID: ten.TenantID, Type: "ledger.transfer.posted"}); err != nil {
					return err
				}
				return errBoom
			}); !errors.Is(err, errBoom) {
				t.Fatal(err)
			}
			m := gather(t, reg)
			want(t, m, "cashgate_events_total", map[string]string{"product": "ledger", "type": "ledger.transfer.posted", "outcome": "posted"}, 1)
			want(t, m, "cashgate_http_requests_total", map[string]string{"api": "platform", "route": "POST /platform/ledger/transfers", "code": "201"}, 1)
			want(t, m, "cashgate_webhook_backlog", nil, 1)
			want(t, m, "cashgate_jobs", map[string]string{"kind": outbox.KindWebhookDelivery, "state": "ready"}, 1)
			if e.Name == "sqlite" && m["cashgate_sqlite_batch_callbacks"] == nil {
				t.Error("no SQLite batch sizes reported")
			}
			if len(m["cashgate_db_pool_waits_total"]) == 0 {
				t.Error("no pool metrics")
			}

			clk.Advance(90 * time.Second)
			m = gather(t, reg)
			lagged := m
			want(t, m, "cashgate_job_lag_seconds", map[string]string{"kind": outbox.KindWebhookDelivery}, 90)
			want(t, m, "cashgate_webhook_oldest_pending_seconds", nil, 90)
			if _, err := a.Runner.RunDue(ctx); err != nil {
				t.Fatal(err)
			}
			m = gather(t, reg)
			want(t, m, "cashgate_webhook_attempts_total", map[string]string{"endpoint": ep, "result": "failed"}, 1)
			answer.Store(204)
			clk.Advance(2 * time.Minute)
			if _, err := a.Runner.RunDue(ctx); err != nil {
				t.Fatal(err)
			}
			m = gather(t, reg)
			want(t, m, "cashgate_webhook_attempts_total", map[string]string{"endpoint": ep, "result": "acknowledged"}, 1)
			want(t, m, "cashgate_webhook_backlog", nil, 0)
			want(t, m, "cashgate_webhook_oldest_pending_seconds", nil, 0)
			if e.Name == "sqlite" {
				maps.Copy(m, lagged) // the lag is reported while a job waits
				dashboardNamesOnlyKnownMetrics(t, m)
			}
		})
	}
}

// dashboardNamesOnlyKnownMetrics: every metric the example Grafana
// dashboard (docs/grafana-dashboard.json) queries is one cashgate exports.
func dashboardNamesOnlyKnownMetrics(t *testing.T, m map[string][]*dto.Metric) {
	t.Helper()
	b, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`cashgate_[a-z0-9_]+`).FindAllString(string(b), -1)
	if len(names) < 10 {
		t.Fatalf("the dashboard names only %d metrics", len(names))
	}
	for _, n := range names {
		if n == "cashgate_overview" {
			continue
		}
		base := strings.TrimSuffix(n, "_bucket")
		if _, ok := m[base]; !ok {
			t.Errorf("the dashboard queries %s, which cashgate does not export", n)
		}
	}
}

func openWithPrivateWebhooks(t *testing.T, e storetest.Engine, reg *prometheus.Registry) (*App, *clock.Fake) {
	t.Helper()
	cfg := Defaults()
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL = e.URL(t)
	cfg.Pepper = bytes.Repeat([]byte{7}, 32)
	cfg.KEK = bytes.Repeat([]byte{9}, 32)
	cfg.AllowPrivateWebhooks = true
	clk := clock.NewFake(time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC))
	a, err := Open(context.Background(), cfg, Options{Clock: clk, Rand: rand.NewChaCha8([32]byte{8}), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, clk
}

// gather returns the registry's metrics by name.
func gather(t *testing.T, reg *prometheus.Registry) map[string][]*dto.Metric {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]*dto.Metric{}
	for _, f := range fams {
		m[f.GetName()] = f.GetMetric()
	}
	return m
}

// want checks the value of the metric name with exactly the given labels
// among its label pairs.
func want(t *testing.T, m map[string][]*dto.Metric, name string, labels map[string]string, v float64) {
	t.Helper()
	for _, s := range m[name] {
		match := true
		for k, want := range labels {
			found := false
			for _, l := range s.GetLabel() {
				found = found || (l.GetName() == k && l.GetValue() == want)
			}
			match = match && found
		}
		if !match {
			continue
		}
		var got float64
		switch {
		case s.Counter != nil:
			got = s.Counter.GetValue()
		case s.Gauge != nil:
			got = s.Gauge.GetValue()
		}
		if got != v {
			t.Errorf("%s%v = %v, want %v", name, labels, got, v)
		}
		return
	}
	if v != 0 {
		t.Errorf("%s%v not reported, want %v", name, labels, v)
	}
}
