package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/cashgate/cashgate/internal/telemetry"
)

func (e *env) serveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve every API, the hosted pages and the background workers",
		Long: `Serve every API on --addr. The database is migrated on start unless
--auto-migrate=false, in which case serve refuses to start while the schema is
behind. SIGTERM or SIGINT stops accepting requests, lets in-flight ones finish
and stops the workers cleanly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			tracing, err := telemetry.New(ctx, telemetry.Config{Endpoint: e.cfg.OTLPEndpoint, Version: version})
			if err != nil {
				return err
			}
			defer func() {
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				_ = tracing.Shutdown(sctx)
			}()
			a, err := e.openWith(ctx, tracing.Provider)
			if err != nil {
				return err
			}
			defer a.Close()
			ln, err := net.Listen("tcp", e.cfg.Addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", e.cfg.Addr, err)
			}
			return a.Serve(ctx, ln)
		},
	}
	f := cmd.Flags()
	f.StringVar(&e.cfg.Addr, "addr", e.cfg.Addr, "listen address (env CASHGATE_ADDR)")
	f.StringVar(&e.cfg.PublicURL, "public-url", e.cfg.PublicURL, "the address clients reach cashgate at, e.g. https://pay.example.com; links and hosted-page addresses are built on it, never on the Host header (env CASHGATE_PUBLIC_URL; default http://<addr>)")
	f.BoolVar(&e.cfg.AutoMigrate, "auto-migrate", e.cfg.AutoMigrate, "migrate the database on start (env CASHGATE_AUTO_MIGRATE)")
	f.BoolVar(&e.cfg.AllowPrivateWebhooks, "allow-private-webhooks", e.cfg.AllowPrivateWebhooks, "allow webhook URLs on loopback/private/link-local addresses, for tests and local demos (env CASHGATE_ALLOW_PRIVATE_WEBHOOKS)")
	f.BoolVar(&e.cfg.SecureCookies, "secure-cookies", e.cfg.SecureCookies, "mark session cookies Secure even on plain-HTTP requests, when an https proxy serves the installation (env CASHGATE_SECURE_COOKIES)")
	f.IntVar(&e.cfg.SandboxRPM, "sandbox-rpm", e.cfg.SandboxRPM, "requests per minute allowed per sandbox APP key (env CASHGATE_SANDBOX_RPM)")
	f.IntVar(&e.cfg.ProductionRPM, "production-rpm", e.cfg.ProductionRPM, "requests per minute allowed per production APP key (env CASHGATE_PRODUCTION_RPM)")
	f.BoolVar(&e.cfg.Sandbox, "sandbox", e.cfg.Sandbox, "a sandbox installation: no production tenants, and a clock that cashgate clock advance or POST /platform/sandbox/clock moves forward (env CASHGATE_SANDBOX)")
	f.StringVar(&e.cfg.RedisURL, "redis-url", e.cfg.RedisURL, "keep the usage limits per APP key in this Redis, e.g. redis://:password@redis:6379/0, exact across processes (default: in the database, within a second) (env CASHGATE_REDIS_URL)")
	f.StringVar(&e.cfg.OTLPEndpoint, "otlp-endpoint", e.cfg.OTLPEndpoint, "send OpenTelemetry traces over OTLP/HTTP to this collector, e.g. http://collector:4318 (env OTEL_EXPORTER_OTLP_ENDPOINT; default: tracing off)")
	f.IntVar(&e.cfg.Workers, "workers", e.cfg.Workers, "concurrent background jobs (env CASHGATE_WORKERS)")
	f.DurationVar(&e.cfg.UsageFlush, "usage-flush-interval", e.cfg.UsageFlush, "how often the requests counted per APP key and day are written to the database; a crash loses at most that much of them (env CASHGATE_USAGE_FLUSH)")
	f.DurationVar(&e.cfg.WebhookLease, "webhook-lease", e.cfg.WebhookLease, "how long a worker's claim of a webhook delivery lasts; a delivery whose worker died is attempted again after it (default request timeout + 30s) (env CASHGATE_WEBHOOK_LEASE)")
	f.IntVar(&e.cfg.DBMaxConns, "db-max-conns", e.cfg.DBMaxConns, "PostgreSQL connection pool size; SQLite: read connections (default 16; SQLite 4) (env CASHGATE_DB_MAX_CONNS)")
	f.DurationVar(&e.cfg.DBAcquireTimeout, "db-acquire-timeout", e.cfg.DBAcquireTimeout, "longest wait of a write for a database connection (PostgreSQL) or commit slot (SQLite) before it answers 503 with Retry-After (default 5s) (env CASHGATE_DB_ACQUIRE_TIMEOUT)")
	f.DurationVar(&e.cfg.ShutdownTimeout, "shutdown-timeout", e.cfg.ShutdownTimeout, "grace period for in-flight requests on shutdown (env CASHGATE_SHUTDOWN_TIMEOUT)")
	f.StringSliceVar(&e.cfg.BlockedEndpoints, "blocked-endpoint", e.cfg.BlockedEndpoints, `refuse "METHOD /path" with 403 Requested endpoint is forbidden; repeatable (env CASHGATE_BLOCKED_ENDPOINTS, comma-separated)`)
	return cmd
}
