package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/trace"

	"github.com/cashgate/cashgate/internal/app"
	"github.com/cashgate/cashgate/internal/telemetry"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// env carries what every subcommand shares.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	cfg    app.Config
	envErr error
}

func newRootCmd(getenv func(string) string, stdout, stderr io.Writer) (*cobra.Command, error) {
	e := &env{getenv: getenv, stdout: stdout, stderr: stderr, cfg: app.Defaults()}
	// Environment first; flags, when given, override it.
	e.envErr = e.cfg.FromEnv(getenv)

	root := &cobra.Command{
		Use:           "cashgate",
		Short:         "Self-hosted payment platform: card gateway, e-wallet, remote payments, cashier and APP keys on one ledger",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return e.envErr
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&e.cfg.DatabaseURL, "database-url", e.cfg.DatabaseURL, "database URL: postgres://… for PostgreSQL, sqlite:PATH for SQLite (env CASHGATE_DATABASE_URL; default sqlite:<data-dir>/cashgate.db)")
	pf.StringVar(&e.cfg.DataDir, "data-dir", e.cfg.DataDir, "directory for the SQLite file and the generated pepper (env CASHGATE_DATA_DIR)")
	pf.StringVar(&e.cfg.LogLevel, "log-level", e.cfg.LogLevel, "debug, info, warn or error (env CASHGATE_LOG_LEVEL)")
	pf.StringVar(&e.cfg.LogFormat, "log-format", e.cfg.LogFormat, "text or json (env CASHGATE_LOG_FORMAT)")

	root.AddCommand(e.serveCmd(), e.migrateCmd(), e.tenantCmd(), e.keysCmd(), e.benchCmd(), e.ledgerCmd(), e.clockCmd(), e.operatorCmd(), e.openapiCmd())
	root.AddCommand(e.gatewayCmds()...) // gateway.go
	root.AddCommand(e.walletCmds()...)  // wallet.go
	root.AddCommand(e.cashierCmds()...) // cashier.go
	root.AddCommand(e.backupCmds()...)  // backup.go
	return root, nil
}

// logger builds the slog logger from the configuration; logs go to stderr.
func (e *env) logger() (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(e.cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", e.cfg.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(e.cfg.LogFormat) {
	case "json":
		return slog.New(telemetry.LogHandler(slog.NewJSONHandler(e.stderr, opts))), nil
	case "text", "":
		return slog.New(telemetry.LogHandler(slog.NewTextHandler(e.stderr, opts))), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", e.cfg.LogFormat)
}

// open opens cashgate for an administrative command (migrating first when
// auto-migrate is on). It serves no APP key requests, so it leaves Redis
// alone.
func (e *env) open(ctx context.Context) (*app.App, error) {
	cfg := e.cfg
	cfg.RedisURL = ""
	return e.openConfig(ctx, cfg, nil)
}

// openWith opens cashgate to serve, with a tracer provider (nil: no tracing).
func (e *env) openWith(ctx context.Context, tp trace.TracerProvider) (*app.App, error) {
	return e.openConfig(ctx, e.cfg, tp)
}

func (e *env) openConfig(ctx context.Context, cfg app.Config, tp trace.TracerProvider) (*app.App, error) {
	log, err := e.logger()
	if err != nil {
		return nil, err
	}
	return app.Open(ctx, cfg, app.Options{Log: log, Tracer: tp})
}
