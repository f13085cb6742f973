package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/server"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/telemetry"
)

// Version is reported by /openapi.json; cmd/cashgate sets it.
const Version = "0.1.0"

// Options are the process's world: logger, clock, randomness.
type Options struct {
	Log   *slog.Logger
	Clock clock.Clock // nil: the real clock
	Rand  io.Reader   // nil: crypto/rand
	// Metrics is the Prometheus registry to use; nil makes one with the Go
	// and process collectors.
	Metrics *prometheus.Registry
	// StrictWriteContract answers 500 for a write that committed without
	// answering from inside its transaction (platform.Config); the tests
	// set it, so a handler that breaks the write contract fails them.
	StrictWriteContract bool
	// Tracer makes the spans of requests, transactions and webhook
	// deliveries (nil: none; see internal/telemetry).
	Tracer trace.TracerProvider
	// RedisKeyPrefix starts the Redis keys of the usage limits (with
	// Config.RedisURL; empty: platform.DefaultRedisKeyPrefix). Tests give
	// each test its own, so seeded ids on one Redis do not meet.
	RedisKeyPrefix string
}

// App is an open cashgate: storage, services, HTTP handler and job runner.
type App struct {
	Config Config
	Log    *slog.Logger
	Clock  clock.Clock
	IDs    *ids.Gen
	DB     *store.DB
	// Redis keeps the usage limits when Config.RedisURL is set; else nil.
	Redis   *redis.Client
	Handler http.Handler
	Server  *server.Server

	Platform *platform.Service
	Ledger   *ledger.Ledger
	Outbox   *outbox.Outbox
	Webhooks *outbox.Webhooks
	Runner   *outbox.Runner
	// Cards is the card acceptance every product that takes cards shares.
	Cards CardCore

	// The products built on the core; each is wired in its own file
	// (gateway.go, wallet.go).
	Gateway GatewayProduct
	Wallet  WalletProduct
	Remote  RemoteProduct
	Cashier CashierProduct
	// Portal is the web kit and the developer portal (portal.go).
	Portal PortalProduct
	// Office is the merchant back office on the same kit (office.go).
	Office OfficeProduct

	schedules []func(ctx context.Context) error
	checks    *checkMetrics // the last ledger check (ledgercheck.go)
	metrics   *metrics      // events, webhooks, jobs, pools (metrics.go)
	offset    *clock.Offset // the clock every component reads; moved only on a sandbox (sandbox.go)
	sandbox   *clock.Offset // offset, when this is a sandbox installation; else nil
}

// product is what one product adds to the app: its routes, the middleware of
// its API(s) and the recurring jobs to schedule when the workers start.
type product struct {
	routes     []httpx.Route
	middleware map[httpx.API]server.APIMiddleware
	schedule   func(ctx context.Context) error
}

// Open opens the database, migrates it (when Config.AutoMigrate) or refuses
// when its schema is behind, and builds every service.
func Open(ctx context.Context, cfg Config, opt Options) (*App, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Clock == nil {
		opt.Clock = clock.Real{}
	}
	if opt.Tracer == nil {
		opt.Tracer = telemetry.Off().Provider
	}
	// Every component gets the clock through an offset (zero unless this
	// is a sandbox installation whose clock was moved: sandbox.go).
	offset := clock.NewOffset(opt.Clock, 0)
	opt.Clock = offset
	if opt.Metrics == nil {
		opt.Metrics = prometheus.NewRegistry()
		opt.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	a := &App{Config: cfg, Log: opt.Log, Clock: opt.Clock, IDs: ids.NewWithClock(opt.Rand, opt.Clock), metrics: newMetrics(), offset: offset}
	if err := a.openRedis(ctx); err != nil { // first: a wrong URL changes nothing
		return nil, err
	}
	db, err := store.Open(ctx, cfg.URL(), opt.Log, store.Options{MaxConns: cfg.DBMaxConns, AcquireTimeout: cfg.DBAcquireTimeout, OnBatch: a.metrics.batch,
		Tracer: opt.Tracer.Tracer("cashgate/store")})
	if err != nil {
		if a.Redis != nil {
			a.Redis.Close()
		}
		return nil, err
	}
	a.DB = db
	if err := a.prepareSchema(ctx); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.openSandboxClock(ctx); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.build(ctx, opt); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// openRedis connects to the Redis of Config.RedisURL, when there is one.
func (a *App) openRedis(ctx context.Context) error {
	if a.Config.RedisURL == "" {
		return nil
	}
	rdb, err := platform.OpenRedis(ctx, a.Config.RedisURL)
	if err != nil {
		return fmt.Errorf("--redis-url (CASHGATE_REDIS_URL): %w", err)
	}
	a.Redis = rdb
	a.Log.Info("usage limits per APP key kept in Redis", "addr", rdb.Options().Addr)
	return nil
}

func (a *App) prepareSchema(ctx context.Context) error {
	cur, latest, err := a.DB.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if cur == latest {
		return nil
	}
	if cur > latest {
		return fmt.Errorf("the database schema (version %d) is newer than this cashgate binary knows (%d): upgrade cashgate", cur, latest)
	}
	if !a.Config.AutoMigrate {
		return fmt.Errorf("the database schema is behind (version %d, this binary needs %d) and auto-migrate is off: run `cashgate migrate` first", cur, latest)
	}
	n, err := a.DB.Migrate(ctx)
	if err != nil {
		return err
	}
	a.Log.Info("database migrated", "applied", n, "version", latest, "database", a.DB.String())
	return nil
}

func (a *App) build(ctx context.Context, opt Options) error {
	pepper, created, err := a.Config.LoadPepper(a.IDs)
	if err != nil {
		return err
	}
	if created {
		a.Log.Warn("generated a new pepper for password and PIN hashes; back it up with the database", "file", a.Config.DataDir+"/pepper")
	}
	kek, created, err := a.Config.LoadKEK(a.IDs)
	if err != nil {
		return err
	}
	if created {
		a.Log.Warn("generated a new key-encryption key for stored secrets; back it up with the database", "file", a.Config.DataDir+"/kek")
	}
	var limits redis.Scripter // nil: the database
	if a.Redis != nil {
		limits = a.Redis
	}
	a.Platform, err = platform.New(a.DB, a.Clock, a.IDs, a.Log, platform.Config{
		Pepper:                      pepper,
		KeyEncryptionKey:            subkey(kek, "cashgate gateway signing keys"),
		IdempotencyKEK:              subkey(kek, "cashgate idempotent answers"),
		IdempotencyLease:            a.Config.IdempotencyLease,
		SandboxRequestsPerMinute:    a.Config.SandboxRPM,
		ProductionRequestsPerMinute: a.Config.ProductionRPM,
		TokenTTL:                    a.Config.TokenTTL,
		BlockedEndpoints:            a.Config.BlockedEndpoints,
		StrictWriteContract:         opt.StrictWriteContract,
		SandboxOnly:                 a.Config.Sandbox,
		Redis:                       limits,
		RedisKeyPrefix:              opt.RedisKeyPrefix,
		OnLimitFallback:             a.metrics.limitFallback,
	})
	if err != nil {
		return err
	}
	a.Ledger = ledger.New(a.DB, a.Clock, a.IDs)
	a.Outbox = outbox.New(a.DB, a.Clock, a.IDs)
	a.Outbox.ObserveCommitted(a.metrics.event)
	if err := a.metrics.register(opt.Metrics, a.DB, a.Clock.Now); err != nil {
		return err
	}
	webhookCipher, err := outbox.NewAESGCM(subkey(kek, "cashgate webhook secrets"))
	if err != nil {
		return err
	}
	a.Webhooks, err = outbox.NewWebhooks(a.Outbox, a.Log, outbox.WebhookOptions{
		AllowPrivateTargets: a.Config.AllowPrivateWebhooks,
		Cipher:              webhookCipher,
		Lease:               a.Config.WebhookLease,
		OnAttempt:           a.metrics.attempt,
		Tracer:              opt.Tracer.Tracer("cashgate/webhooks"),
	})
	if err != nil {
		return err
	}
	a.Runner = outbox.NewRunner(a.DB, a.Clock, a.Log, outbox.RunnerOptions{WorkerID: workerID(a.IDs), Concurrency: a.Config.Workers})
	a.Webhooks.Register(a.Runner)
	a.registerMaintenance()
	if err := a.registerLedgerCheck(ctx, opt.Metrics); err != nil {
		return err
	}

	platformErrs := httpx.PlatformErrors(a.Log)
	middleware := map[httpx.API]server.APIMiddleware{
		httpx.APIPlatform: {Auth: a.Platform.Authenticate(httpx.APIPlatform, platformErrs), Idempotency: a.Platform.Idempotency(platformErrs), Errors: platformErrs},
	}
	rs := append(routes(a, platformErrs), a.sandboxRoutes(platformErrs)...)
	a.schedules = append(a.schedules, a.scheduleMaintenance)
	if err := a.buildCards(kek); err != nil {
		return fmt.Errorf("card core: %w", err)
	}
	gw, err := a.buildGateway(ctx)
	if err != nil {
		return fmt.Errorf("card gateway: %w", err)
	}
	wl, err := a.buildWallet(ctx, kek)
	if err != nil {
		return fmt.Errorf("e-wallet: %w", err)
	}
	rp, err := a.buildRemote(ctx)
	if err != nil {
		return fmt.Errorf("remote payments: %w", err)
	}
	pt, err := a.buildPortal(ctx, kek, pepper)
	if err != nil {
		return fmt.Errorf("portal: %w", err)
	}
	cs, err := a.buildCashier(ctx, kek)
	if err != nil {
		return fmt.Errorf("cashier: %w", err)
	}
	of, err := a.buildOffice(ctx) // after every product with back-office pages
	if err != nil {
		return fmt.Errorf("back office: %w", err)
	}
	for _, p := range []product{gw, wl, rp, pt, of, cs} {
		rs = append(rs, p.routes...)
		for api, mw := range p.middleware {
			if _, dup := middleware[api]; dup {
				return fmt.Errorf("API %q has middleware from two products", api)
			}
			middleware[api] = mw
		}
		if p.schedule != nil {
			a.schedules = append(a.schedules, p.schedule)
		}
	}
	srv, err := server.New(server.Deps{
		Log:        a.Log,
		DB:         a.DB,
		Version:    Version,
		Metrics:    opt.Metrics,
		Routes:     rs,
		Middleware: middleware,
		Fence:      a.DB,
		Tracer:     opt.Tracer.Tracer("cashgate/server"),
		// Request ids come from a generator of their own, so a seeded
		// test's object ids do not depend on how many requests it made.
		RequestID: requestIDs(),
	})
	if err != nil {
		return err
	}
	a.Server = srv
	a.Handler = srv
	return nil
}

// requestIDs names requests: "req_" and 26 random characters.
func requestIDs() func() string {
	gen := ids.New(nil)
	return func() string { return gen.ID("req") }
}

// Close releases the database and Redis.
func (a *App) Close() error {
	var err error
	if a.Redis != nil {
		err = a.Redis.Close()
	}
	return errors.Join(a.DB.Close(), err)
}

// Serve serves HTTP on ln and runs the background workers until ctx is
// cancelled; then it stops accepting, lets in-flight requests finish (up to
// ShutdownTimeout) and waits for running jobs.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	a.startWorkers(workCtx, &wg)
	if a.sandbox != nil {
		wg.Add(1)
		go func() { defer wg.Done(); a.followClock(workCtx) }()
	}

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	a.Log.Info("cashgate serving", "addr", ln.Addr().String(), "database", a.DB.String())

	var serveErr error
	select {
	case err := <-errc:
		serveErr = err
	case <-ctx.Done():
		a.Log.Info("shutting down: finishing in-flight requests", "grace", a.Config.ShutdownTimeout)
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(shutCtx); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("shutdown: %w", err))
	}
	stopWork()
	wg.Wait()
	a.Log.Info("cashgate stopped")
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}

// foldEvery is how often the ledger folds hot accounts' postings into their
// rows (ledger.RunFolder).
const foldEvery = 250 * time.Millisecond

// startWorkers schedules the recurring maintenance jobs and starts the job
// runner, the ledger's folder and the APP key usage flusher; wg is done when the runner has
// finished its in-flight jobs and the usage counted is flushed (Serve stops
// them after the last request was answered).
func (a *App) startWorkers(ctx context.Context, wg *sync.WaitGroup) {
	for _, schedule := range a.schedules {
		if err := schedule(ctx); err != nil {
			a.Log.Error("could not schedule recurring jobs", "err", err)
		}
	}
	wg.Add(4)
	go func() {
		defer wg.Done()
		a.Ledger.RunFolder(ctx, a.Log, foldEvery) // hot accounts' unfolded postings
	}()
	go func() {
		defer wg.Done()
		a.Platform.RunUsageFlusher(ctx, a.Config.UsageFlush) // flushes once more when ctx ends
	}()
	go func() {
		defer wg.Done()
		a.Platform.RunLimitSync(ctx, 0) // the usage limits across processes
	}()
	go func() {
		defer wg.Done()
		if err := a.Runner.Run(ctx); err != nil {
			a.Log.Error("job runner stopped with an error", "err", err)
		}
	}()
}
