package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cashgate/cashgate/internal/app"
)

// benchOptions are the load command's settings.
type benchOptions struct {
	target     string
	apiKey     string
	serverPID  int
	scenario   string
	clients    int
	duration   time.Duration
	accounts   int
	tenants    int
	preload    int
	cpuProfile string
}

// validate checks what needs no scenario.
func (o benchOptions) validate() error {
	switch {
	case o.clients < 1 || o.duration <= 0:
		return errors.New("--clients must be ≥ 1 and --duration > 0")
	case o.tenants < 1:
		return errors.New("--tenants must be ≥ 1")
	case o.preload < 0:
		return errors.New("--preload must be ≥ 0")
	case o.target == "" && o.serverPID != 0:
		return errors.New("--server-pid is for --target: without it the server is this process")
	case o.target != "" && o.apiKey == "":
		return errors.New("--target needs --api-key")
	}
	return nil
}

// benchReport is what `cashgate bench` prints on stdout: one JSON line.
type benchReport struct {
	Scenario       string      `json:"scenario"`
	Target         string      `json:"target"`
	Database       string      `json:"database,omitempty"`
	Clients        int         `json:"clients"`
	Concurrency    int         `json:"concurrency"` // = clients (the flag's first name)
	Tenants        int         `json:"tenants"`
	Accounts       int         `json:"accounts"`
	Preload        int         `json:"preload"`
	PreloadSeconds float64     `json:"preloadSeconds,omitempty"`
	Seconds        float64     `json:"seconds"`
	Requests       int64       `json:"requests"`
	OK             int64       `json:"ok"`
	Failed         int64       `json:"failed"`
	PerSecond      float64     `json:"perSecond"`
	P50ms          float64     `json:"p50ms"`
	P90ms          float64     `json:"p90ms"`
	P99ms          float64     `json:"p99ms"`
	MaxMs          float64     `json:"maxMs"`
	RSSMB          float64     `json:"rssMB,omitempty"`
	CPUusPerOp     float64     `json:"cpuUsPerOp,omitempty"`
	MachineCPUus   float64     `json:"machineCpuUsPerOp,omitempty"`
	ListPageMs     *listPageMs `json:"listPageMs,omitempty"`
	GoVersion      string      `json:"goVersion"`
	CPUs           int         `json:"cpus"`
	FirstError     string      `json:"firstError,omitempty"`
}

// scenario is one kind of load: set up once per tenant (c is that
// tenant's client), then run op from every client, each op as a tenant
// picked at random.
type scenario interface {
	setup(ctx context.Context, c *benchClient) error
	op(ctx context.Context, c *benchClient, rng *rand.Rand) error
}

// appScenario is a scenario that also needs operator rights (opening and
// funding wallets…): bench runs setupApp on the in-process cashgate, or
// against --target on the app opened on the target's database.
type appScenario interface {
	setupApp(ctx context.Context, a *app.App) error
}

// scenarioFactory makes a scenario from the options.
type scenarioFactory func(o benchOptions) (scenario, error)

// benchScenarios lists every scenario by name: the core's (benchtransfers.go),
// each product's from its file (gateway.go, wallet.go, remote.go, benchdeposits.go).
func benchScenarios() map[string]scenarioFactory {
	all := map[string]scenarioFactory{"transfers": newTransfersScenario}
	maps.Copy(all, gatewayScenarios())
	maps.Copy(all, walletScenarios())
	maps.Copy(all, remoteScenarios())
	maps.Copy(all, cashierScenarios())
	return all
}

func newScenario(o benchOptions) (scenario, error) {
	all := benchScenarios()
	if f, ok := all[o.scenario]; ok {
		return f(o)
	}
	return nil, fmt.Errorf("unknown scenario %q (available: %s)", o.scenario, strings.Join(slices.Sorted(maps.Keys(all)), ", "))
}

const benchLong = `Load-test cashgate over HTTP. Without --target, bench starts cashgate in this
process on a fresh database (a temporary SQLite file, or --database-url), creates
--tenants production tenants and serves on a loopback port.

With --target URL --api-key KEY it loads a running cashgate; KEY is a production
key of the first tenant; run the target without a low usage limit
(serve --production-rpm -1, or CASHGATE_PRODUCTION_RPM=100000000), or it
refuses the load. What an APP key cannot do over HTTP — more
tenants (--tenants > 1), the wallets of sends and remote, --preload — bench does
by opening cashgate on the target's database (--database-url, or
CASHGATE_DATABASE_URL, as the other operator commands) for the setup only,
without serving. Give bench the target's configuration: the same database and
the same pepper and key-encryption key (CASHGATE_PEPPER and CASHGATE_KEK, or the
same --data-dir), or the target cannot check the wallets' passwords and PINs.
On SQLite both processes then use the one file (WAL).

Scenarios:
  transfers   POST /platform/ledger/transfers of 0.01 EUR between random pairs of
              --accounts funded accounts of a tenant (durable ledger entry +
              outbox event each)
  moto        POST /api/gateway/payment-jobs: a MOTO card payment of a tenant,
              paid at once (auto capture), signed with the tenant's key
  sends       POST /wallet/app/v1/send between --accounts Corporate+ wallets,
              with fees and limits (every corporate wallet is its own tenant:
              --tenants does not apply)
  remote      a remote payment per op: created with a tenant's APP key, paid
              from a wallet on the hosted page with the PIN, re-read by id (one
              wallet per client)
  deposits    POST /cashier/v1/deposits with an Idempotency-Key: a card deposit
              captured at once for one of --accounts cashier customers of a
              tenant (customers' limits checked with their row locked)

--tenants N spreads the load over N tenants, each with its own APP key and its
own accounts, gateway configuration or receiving wallet; each op picks one at
random. --preload N first writes N ledger entries (two postings each) spread
over the tenants, in large transactions, so a full database can be compared to
an empty one; the report then has listPageMs: the median time of 5 reads of a
statement page (?limit=100) of the busiest preloaded account and of the
tenant's account list, after the run.

Prints one JSON line on stdout; progress goes to stderr. rssMB is the peak
resident memory (VmHWM) of the serving process: this one, load generator
included, without --target; the process --server-pid names with --target.
cpuUsPerOp is the CPU time (user and system) this process used per
successful op during the run, and machineCpuUsPerOp that of every process of
the machine (/proc/stat), so a database server on the same machine is
counted too.`

func (e *env) benchCmd() *cobra.Command {
	o := benchOptions{scenario: "transfers", clients: 8, duration: 10 * time.Second, accounts: 8, tenants: 1}
	cmd := &cobra.Command{
		Use:   "bench [--scenario transfers|moto|sends|remote|deposits] [--clients 8] [--duration 10s] [--tenants 1] [--preload N] [--target URL --api-key KEY [--server-pid PID]]",
		Short: "Load-test cashgate over HTTP and report requests/s and p50/p99 latency",
		Long:  benchLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.bench(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.target, "target", "", "base URL of a running cashgate (default: start one in-process)")
	f.StringVar(&o.apiKey, "api-key", "", "production APP key of the first tenant, for --target")
	f.IntVar(&o.serverPID, "server-pid", 0, "process id of the --target server, to report its peak memory (rssMB)")
	f.StringVar(&o.scenario, "scenario", o.scenario, "load to generate: transfers, moto, sends, remote or deposits")
	f.IntVar(&o.clients, "clients", o.clients, "concurrent clients")
	f.IntVar(&o.clients, "concurrency", o.clients, "alias of --clients")
	f.DurationVar(&o.duration, "duration", o.duration, "how long to run")
	f.IntVar(&o.accounts, "accounts", o.accounts, "accounts to move money between, per tenant (transfers); wallets (sends); at least the payer wallets (remote)")
	f.IntVar(&o.tenants, "tenants", o.tenants, "production tenants to spread the load over (transfers, moto, remote)")
	f.IntVar(&o.preload, "preload", 0, "ledger entries to write before the run (e.g. 10000000)")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured run (client and in-process server) to this file")
	return cmd
}

func (e *env) bench(ctx context.Context, o benchOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	sc, err := newScenario(o)
	if err != nil {
		return err
	}
	hc := newBenchHTTP(o.clients)
	tg, err := e.benchTarget(ctx, o, sc, hc)
	if err != nil {
		return err
	}
	defer tg.stop()
	clients := tg.clients(hc)
	fmt.Fprintf(e.stderr, "bench: setting up %s on %s (%d tenants)\n", o.scenario, tg.base, len(clients))
	for _, c := range clients {
		if err := sc.setup(ctx, c); err != nil {
			return fmt.Errorf("bench setup: %w", err)
		}
	}
	report, err := e.measure(ctx, o, sc, clients)
	if err != nil {
		return err
	}
	if err := tg.describe(ctx, &report, clients[0]); err != nil {
		return err
	}
	report.Accounts, report.Preload = o.accounts, o.preload
	return e.printJSON(report)
}

// measure runs the load for o.duration and reports its figures.
func (e *env) measure(ctx context.Context, o benchOptions, sc scenario, clients []*benchClient) (benchReport, error) {
	fmt.Fprintf(e.stderr, "bench: %d clients for %s\n", o.clients, o.duration)
	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return benchReport{}, err
	}
	defer stopProfile()
	runCtx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	l := &loadRun{concurrency: o.clients}
	start, cpu0, busy0 := time.Now(), processCPU(), machineBusy()
	go e.benchProgress(runCtx, l, start)
	l.drive(runCtx, sc, clients)
	r := l.report(time.Since(start))
	if r.OK > 0 {
		r.CPUusPerOp = round1(float64((processCPU() - cpu0).Microseconds()) / float64(r.OK))
		if busy0 > 0 {
			r.MachineCPUus = round1(float64((machineBusy() - busy0).Microseconds()) / float64(r.OK))
		}
	}
	r.Scenario, r.Clients, r.Concurrency = o.scenario, o.clients, o.clients
	r.GoVersion, r.CPUs = runtime.Version(), runtime.NumCPU()
	fmt.Fprintf(e.stderr, "bench: %s: %.0f/s ok, p50 %.2fms p99 %.2fms, %d failed\n", o.scenario, r.PerSecond, r.P50ms, r.P99ms, r.Failed)
	return r, nil
}

// benchProgress prints the counts every 2 s until ctx ends.
func (e *env) benchProgress(ctx context.Context, l *loadRun, start time.Time) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fmt.Fprintf(e.stderr, "bench: %.0fs %d ok %d failed\n", time.Since(start).Seconds(), l.ok.Load(), l.failed.Load())
		}
	}
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineBusy is the CPU time every process of the machine has used
// (/proc/stat: user, nice, system, irq and softirq), 0 when unknown: with a
// database server on the same machine it counts the server's work too.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0
		}
		ticks += n
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ is 100 on Linux
}

// startCPUProfile starts a CPU profile into path (nothing when empty) and
// returns how to stop it.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
