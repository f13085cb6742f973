package main

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/app"
	"github.com/cashgate/cashgate/internal/platform"
)

// benchTenant is a tenant the load runs as.
type benchTenant struct {
	id, key string
}

// benchTarget is the cashgate under load and what bench prepared on it.
type benchTarget struct {
	base      string
	database  string // "" when bench did not open it
	tenants   []benchTenant
	preload   *preloadResult // nil without --preload
	serverPID string         // "self", a process id, or "" (unknown)
	stop      func()
}

// clients returns one client per tenant, sharing hc.
func (tg *benchTarget) clients(hc *http.Client) []*benchClient {
	out := make([]*benchClient, len(tg.tenants))
	for i, t := range tg.tenants {
		out[i] = &benchClient{base: tg.base, key: t.key, tenant: i, http: hc}
	}
	return out
}

// describe adds the target's part to r after the run: where, how many
// tenants, the preload and its list timings (read as c), the server's peak
// memory.
func (tg *benchTarget) describe(ctx context.Context, r *benchReport, c *benchClient) error {
	r.Target, r.Database, r.Tenants = tg.base, tg.database, len(tg.tenants)
	if tg.preload != nil {
		r.PreloadSeconds = round1(tg.preload.seconds)
		lp, err := listPages(ctx, c, tg.preload.busiest)
		if err != nil {
			return fmt.Errorf("bench: list pages after the preload: %w", err)
		}
		r.ListPageMs = &lp
	}
	if tg.serverPID != "" {
		r.RSSMB = round1(peakRSSMB(tg.serverPID))
	}
	return nil
}

// benchTarget starts cashgate in-process, or reaches o.target, and
// prepares the tenants, the preload and the scenario's operator setup.
func (e *env) benchTarget(ctx context.Context, o benchOptions, sc scenario, hc *http.Client) (*benchTarget, error) {
	if o.target == "" {
		return e.inProcessTarget(ctx, o, sc)
	}
	return e.remoteTarget(ctx, o, sc, hc)
}

func (e *env) inProcessTarget(ctx context.Context, o benchOptions, sc scenario) (*benchTarget, error) {
	stop, a, base, ts, err := e.benchServer(ctx, o.tenants)
	if err != nil {
		return nil, err
	}
	tg := &benchTarget{base: base, database: a.DB.String(), tenants: ts, serverPID: "self", stop: stop}
	if err := e.prepare(ctx, a, o, sc, tg); err != nil {
		stop()
		return nil, fmt.Errorf("bench setup: %w", err)
	}
	return tg, nil
}

// remoteTarget is o.target: the first tenant is --api-key's; when more
// is needed, bench opens cashgate on the configured database (the
// target's) for the setup, and closes it before the run.
func (e *env) remoteTarget(ctx context.Context, o benchOptions, sc scenario, hc *http.Client) (*benchTarget, error) {
	tg := &benchTarget{base: strings.TrimSuffix(o.target, "/"), stop: func() {}}
	if o.serverPID != 0 {
		tg.serverPID = strconv.Itoa(o.serverPID)
	}
	first := &benchClient{base: tg.base, key: o.apiKey, http: hc}
	var me platform.TenantResponse
	if err := first.get(ctx, "/platform/tenant", &me); err != nil {
		return nil, fmt.Errorf("bench: the --api-key's tenant: %w", err)
	}
	tg.tenants = []benchTenant{{id: me.TenantID, key: o.apiKey}}
	if _, ok := sc.(appScenario); !ok && o.tenants == 1 && o.preload == 0 {
		return tg, nil
	}
	err := e.withApp(ctx, func(a *app.App) error {
		tg.database = a.DB.String()
		fmt.Fprintf(e.stderr, "bench: preparing on %s for %s\n", tg.database, tg.base)
		more, err := createTenants(ctx, a, 2, o.tenants-1)
		if err != nil {
			return err
		}
		tg.tenants = append(tg.tenants, more...)
		return e.prepare(ctx, a, o, sc, tg)
	})
	if err != nil {
		return nil, fmt.Errorf("bench setup on the target's database: %w", err)
	}
	return tg, nil
}

// prepare preloads the ledger and runs the scenario's operator setup.
func (e *env) prepare(ctx context.Context, a *app.App, o benchOptions, sc scenario, tg *benchTarget) error {
	if o.preload > 0 {
		ids := make([]string, len(tg.tenants))
		for i, t := range tg.tenants {
			ids[i] = t.id
		}
		res, err := preload(ctx, a, ids, o.preload, e.stderr)
		if err != nil {
			return err
		}
		tg.preload = &res
	}
	if as, ok := sc.(appScenario); ok {
		return as.setupApp(ctx, a)
	}
	return nil
}

// createTenants creates n production tenants named bench-<from>, bench-<from+1>…
func createTenants(ctx context.Context, a *app.App, from, n int) ([]benchTenant, error) {
	out := make([]benchTenant, 0, n)
	for i := range n {
		t, err := a.Platform.CreateTenant(ctx, platform.TenantSpec{Name: fmt.Sprintf("bench-%d", from+i), Mode: platform.Production})
		if err != nil {
			return nil, err
		}
		out = append(out, benchTenant{id: t.TenantID, key: t.APIKey})
	}
	return out, nil
}

// benchServer starts cashgate in-process on a fresh database with n
// production tenants and returns how to stop it, the app, its base URL and
// the tenants (APP keys without usage limit).
func (e *env) benchServer(ctx context.Context, n int) (stop func(), a *app.App, base string, ts []benchTenant, err error) {
	var undo []func()
	defer func() {
		if err != nil {
			for _, f := range slices.Backward(undo) {
				f()
			}
		}
	}()
	cfg := e.cfg
	if cfg.DataDir, err = os.MkdirTemp("", "cashgate-bench-"); err != nil {
		return nil, nil, "", nil, err
	}
	undo = append(undo, func() { os.RemoveAll(cfg.DataDir) })
	cfg.ProductionRPM = -1 // no usage limit for the load
	log, err := e.logger()
	if err != nil {
		return nil, nil, "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, "", nil, err
	}
	undo = append(undo, func() { ln.Close() })
	base = "http://" + ln.Addr().String()
	cfg.PublicURL = base // links point at this server
	if a, err = app.Open(ctx, cfg, app.Options{Log: log}); err != nil {
		return nil, nil, "", nil, err
	}
	undo = append(undo, func() { a.Close() })
	if ts, err = createTenants(ctx, a, 1, n); err != nil {
		return nil, nil, "", nil, err
	}
	return serveBench(ctx, a, ln, undo), a, base, ts, nil
}

// serveBench serves a on ln until the returned stop, which then undoes
// (in reverse) what undo lists.
func serveBench(ctx context.Context, a *app.App, ln net.Listener, undo []func()) (stop func()) {
	srvCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.Serve(srvCtx, ln)
	}()
	return func() {
		cancel()
		<-done
		for _, f := range slices.Backward(undo) {
			f()
		}
	}
}

// listPageMs is how long reading a page of a full ledger takes.
type listPageMs struct {
	Statement float64 `json:"statement"` // GET …/accounts/{busiest}/statement?limit=100
	Accounts  float64 `json:"accounts"`  // GET /platform/ledger/accounts
}

// listPages times the statement of account and the account list as c.
func listPages(ctx context.Context, c *benchClient, account string) (listPageMs, error) {
	st, err := medianGet(ctx, c, "/platform/ledger/accounts/"+account+"/statement?limit=100")
	if err != nil {
		return listPageMs{}, err
	}
	ac, err := medianGet(ctx, c, "/platform/ledger/accounts")
	return listPageMs{Statement: st, Accounts: ac}, err
}

// medianGet is the median time of 5 GETs of path, in milliseconds.
func medianGet(ctx context.Context, c *benchClient, path string) (float64, error) {
	var d [5]time.Duration
	for i := range d {
		t0 := time.Now()
		if err := c.get(ctx, path, nil); err != nil {
			return 0, err
		}
		d[i] = time.Since(t0)
	}
	slices.Sort(d[:])
	return ms(d[2]), nil
}

// peakRSSMB is VmHWM of /proc/<pid>/status in MiB, 0 when unknown.
func peakRSSMB(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				return 0
			}
			return kb / 1024
		}
	}
	return 0
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
