package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/cashgate/cashgate/internal/app"
	"github.com/cashgate/cashgate/internal/platform"
)

// benchOptions are the load command's settings.
type benchOptions struct {
	target      string
	apiKey      string
	scenario    string
	concurrency int
	duration    time.Duration
	accounts    int
	cpuProfile  string
}

// benchReport is what `cashgate bench` prints on stdout.
type benchReport struct {
	Scenario    string  `json:"scenario"`
	Target      string  `json:"target"`
	Database    string  `json:"database,omitempty"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	Requests    int64   `json:"requests"`
	OK          int64   `json:"ok"`
	Failed      int64   `json:"failed"`
	PerSecond   float64 `json:"perSecond"`
	P50ms       float64 `json:"p50ms"`
	P90ms       float64 `json:"p90ms"`
	P99ms       float64 `json:"p99ms"`
	MaxMs       float64 `json:"maxMs"`
	FirstError  string  `json:"firstError,omitempty"`
}

// benchClient talks to one cashgate with one APP key.
type benchClient struct {
	base string
	key  string
	http *http.Client
}

func (c *benchClient) post(ctx context.Context, path string, body any, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, path, bytes.NewReader(b), out)
}

func (c *benchClient) get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, out)
}

// do sends one request with the APP key and decodes a JSON answer into
// out (when not nil); a status of 300 or more is an error.
func (c *benchClient) do(ctx context.Context, method, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("api-key", c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(rb))
	}
	if out != nil {
		return json.Unmarshal(rb, out)
	}
	return nil
}

// scenario is one kind of load: set up once, then run op from every client.
type scenario interface {
	setup(ctx context.Context, c *benchClient) error
	op(ctx context.Context, c *benchClient, rng *rand.Rand) error
}

// appScenario is a scenario that also needs operator rights on the
// in-process cashgate (opening and funding wallets…); it cannot run against
// --target.
type appScenario interface {
	setupApp(ctx context.Context, a *app.App) error
}

// transfersScenario moves 0.01 EUR between random pairs of funded accounts
// through POST /platform/ledger/transfers: each is one durable ledger entry
// with its overdraft check and its outbox event.
type transfersScenario struct {
	n   int
	ids []string
}

func (s *transfersScenario) setup(ctx context.Context, c *benchClient) error {
	var clearing struct{ ID string }
	if err := c.post(ctx, "/platform/ledger/accounts", map[string]any{"owner": "bench-bank", "purpose": "clearing", "currency": "EUR", "allowOverdraft": true}, &clearing); err != nil {
		return err
	}
	for i := 0; i < s.n; i++ {
		var acc struct{ ID string }
		if err := c.post(ctx, "/platform/ledger/accounts", map[string]any{"owner": fmt.Sprintf("bench-%d", i), "purpose": "wallet", "currency": "EUR"}, &acc); err != nil {
			return err
		}
		if err := c.post(ctx, "/platform/ledger/transfers", map[string]any{"from": clearing.ID, "to": acc.ID, "amount": "1000000.00", "currency": "EUR", "reference": "bench-funding"}, nil); err != nil {
			return err
		}
		s.ids = append(s.ids, acc.ID)
	}
	return nil
}

func (s *transfersScenario) op(ctx context.Context, c *benchClient, rng *rand.Rand) error {
	i := rng.IntN(len(s.ids))
	j := rng.IntN(len(s.ids) - 1)
	if j >= i {
		j++
	}
	return c.post(ctx, "/platform/ledger/transfers", map[string]any{"from": s.ids[i], "to": s.ids[j], "amount": "0.01", "currency": "EUR", "reference": "bench"}, nil)
}

// scenarioFactory makes a scenario from the options.
type scenarioFactory func(o benchOptions) (scenario, error)

// benchScenarios lists every scenario by name: the core's here, each
// product's from its file (gateway.go, wallet.go).
func benchScenarios() map[string]scenarioFactory {
	all := map[string]scenarioFactory{
		"transfers": func(o benchOptions) (scenario, error) {
			if o.accounts < 2 {
				return nil, errors.New("--accounts must be at least 2")
			}
			return &transfersScenario{n: o.accounts}, nil
		},
	}
	maps.Copy(all, gatewayScenarios())
	maps.Copy(all, walletScenarios())
	maps.Copy(all, remoteScenarios())
	return all
}

func newScenario(o benchOptions) (scenario, error) {
	all := benchScenarios()
	if f, ok := all[o.scenario]; ok {
		return f(o)
	}
	return nil, fmt.Errorf("unknown scenario %q (available: %s)", o.scenario, strings.Join(slices.Sorted(maps.Keys(all)), ", "))
}

func (e *env) benchCmd() *cobra.Command {
	o := benchOptions{scenario: "transfers", concurrency: 8, duration: 10 * time.Second, accounts: 8}
	cmd := &cobra.Command{
		Use:   "bench [--scenario transfers|moto|sends|remote] [--concurrency 8] [--duration 10s] [--target URL --api-key KEY]",
		Short: "Load-test cashgate over HTTP and report requests/s and p50/p99 latency",
		Long: `Load-test cashgate over HTTP. Without --target, bench starts cashgate in this
process on a fresh database (a temporary SQLite file, or --database-url), creates
a production tenant and serves on a loopback port; with --target it loads a
running cashgate using --api-key (a production key without a low usage limit).

Scenarios:
  transfers   POST /platform/ledger/transfers of 0.01 EUR between random pairs of
              --accounts funded accounts (durable ledger entry + outbox event each)
  moto        POST /api/gateway/payment-jobs: a MOTO card payment of one tenant,
              paid at once (auto capture), signed with the tenant's key
  sends       POST /wallet/app/v1/send between --accounts Corporate+ wallets,
              with fees and limits
  remote      a remote payment per op: created with the APP key, paid from a
              wallet on the hosted page with the PIN, re-read by id (one
              wallet per client)

Prints one JSON object on stdout; progress goes to stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.bench(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.target, "target", "", "base URL of a running cashgate (default: start one in-process)")
	f.StringVar(&o.apiKey, "api-key", "", "APP key for --target")
	f.StringVar(&o.scenario, "scenario", o.scenario, "load to generate: transfers, moto, sends or remote")
	f.IntVar(&o.concurrency, "concurrency", o.concurrency, "concurrent clients")
	f.DurationVar(&o.duration, "duration", o.duration, "how long to run")
	f.IntVar(&o.accounts, "accounts", o.accounts, "accounts to move money between (transfers, sends)")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured run (client and in-process server) to this file")
	return cmd
}

func (e *env) bench(ctx context.Context, o benchOptions) error {
	if o.concurrency < 1 || o.duration <= 0 {
		return errors.New("--concurrency must be ≥ 1 and --duration > 0")
	}
	sc, err := newScenario(o)
	if err != nil {
		return err
	}
	client := &benchClient{base: o.target, key: o.apiKey, http: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: o.concurrency * 2, MaxIdleConnsPerHost: o.concurrency * 2, IdleConnTimeout: time.Minute},
	}}
	report := benchReport{Scenario: o.scenario, Concurrency: o.concurrency}
	if o.target == "" {
		stop, a, base, key, err := e.benchServer(ctx)
		if err != nil {
			return err
		}
		defer stop()
		client.base, client.key, report.Database = base, key, a.DB.String()
		if as, ok := sc.(appScenario); ok {
			if err := as.setupApp(ctx, a); err != nil {
				return fmt.Errorf("bench setup: %w", err)
			}
		}
	} else if o.apiKey == "" {
		return errors.New("--target needs --api-key")
	} else if _, ok := sc.(appScenario); ok {
		return fmt.Errorf("scenario %s prepares its data with operator rights: run it without --target", o.scenario)
	}
	report.Target = client.base

	fmt.Fprintf(e.stderr, "bench: setting up %s on %s\n", o.scenario, client.base)
	if err := sc.setup(ctx, client); err != nil {
		return fmt.Errorf("bench setup: %w", err)
	}
	fmt.Fprintf(e.stderr, "bench: %d clients for %s\n", o.concurrency, o.duration)

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	runCtx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	l := &loadRun{concurrency: o.concurrency}
	start := time.Now()
	progress := time.NewTicker(2 * time.Second)
	defer progress.Stop()
	go func() {
		for {
			select {
			case <-runCtx.Done():
				return
			case <-progress.C:
				fmt.Fprintf(e.stderr, "bench: %.0fs %d ok %d failed\n", time.Since(start).Seconds(), l.ok.Load(), l.failed.Load())
			}
		}
	}()
	l.drive(runCtx, sc, client)
	elapsed := time.Since(start)

	all := slices.Concat(l.lat...)
	slices.Sort(all)
	report.Seconds = elapsed.Seconds()
	report.OK, report.Failed = l.ok.Load(), l.failed.Load()
	report.Requests = report.OK + report.Failed
	report.PerSecond = float64(report.OK) / elapsed.Seconds()
	report.P50ms, report.P90ms, report.P99ms = pct(all, 0.50), pct(all, 0.90), pct(all, 0.99)
	if len(all) > 0 {
		report.MaxMs = ms(all[len(all)-1])
	}
	if v, _ := l.firstErr.Load().(string); v != "" {
		report.FirstError = v
	}
	fmt.Fprintf(e.stderr, "bench: %s: %.0f/s ok, p50 %.2fms p99 %.2fms, %d failed\n", o.scenario, report.PerSecond, report.P50ms, report.P99ms, report.Failed)
	return e.printJSON(report)
}

// loadRun is one run of a scenario's op from concurrent clients: bench
// runs it until its context ends, the load tests a fixed number of
// requests per client.
type loadRun struct {
	concurrency int
	perClient   int           // requests per client; 0: until ctx is done
	perRequest  time.Duration // bound on each request; 0: none

	ok, failed atomic.Int64
	firstErr   atomic.Value // string: the first failure
	lat        [][]time.Duration
}

// drive runs the clients until each has made perClient requests or ctx is
// done; a request cut off by the end of ctx is not counted.
func (l *loadRun) drive(ctx context.Context, sc scenario, c *benchClient) {
	l.lat = make([][]time.Duration, l.concurrency)
	var wg sync.WaitGroup
	for w := 0; w < l.concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for n := 0; ctx.Err() == nil && (l.perClient == 0 || n < l.perClient); n++ {
				t0 := time.Now()
				err := l.op(ctx, sc, c, rng)
				if ctx.Err() != nil && err != nil {
					return // cut off by the end of the run
				}
				l.lat[w] = append(l.lat[w], time.Since(t0))
				if err != nil {
					l.failed.Add(1)
					l.firstErr.CompareAndSwap(nil, err.Error())
				} else {
					l.ok.Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
}

func (l *loadRun) op(ctx context.Context, sc scenario, c *benchClient, rng *rand.Rand) error {
	if l.perRequest > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.perRequest)
		defer cancel()
	}
	return sc.op(ctx, c, rng)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pct(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return ms(sorted[int(float64(len(sorted)-1)*p)])
}

// benchServer starts cashgate in-process on a fresh database and returns
// how to stop it, the app, its base URL and a production APP key without
// usage limit.
func (e *env) benchServer(ctx context.Context) (stop func(), a *app.App, base, key string, err error) {
	cfg := e.cfg
	dir, err := os.MkdirTemp("", "cashgate-bench-")
	if err != nil {
		return nil, nil, "", "", err
	}
	cfg.DataDir = dir
	cfg.ProductionRPM = -1 // no usage limit for the load
	log, err := e.logger()
	if err != nil {
		return nil, nil, "", "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, "", "", err
	}
	cfg.PublicURL = "http://" + ln.Addr().String() // links point at this server
	a, err = app.Open(ctx, cfg, app.Options{Log: log})
	if err != nil {
		ln.Close()
		os.RemoveAll(dir)
		return nil, nil, "", "", err
	}
	t, err := a.Platform.CreateTenant(ctx, platform.TenantSpec{Name: "bench", Mode: platform.Production})
	if err != nil {
		ln.Close()
		a.Close()
		os.RemoveAll(dir)
		return nil, nil, "", "", err
	}
	srvCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.Serve(srvCtx, ln)
	}()
	stop = func() {
		cancel()
		<-done
		a.Close()
		os.RemoveAll(dir)
	}
	return stop, a, "http://" + ln.Addr().String(), t.APIKey, nil
}
