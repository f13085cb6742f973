// Package telemetry is cashgate's tracing: OpenTelemetry spans exported
// over OTLP/HTTP when an endpoint is configured (off otherwise, at the cost
// of a no-op tracer), the W3C trace context propagated from and to HTTP,
// and a request id carried in the context and written into every log line
// logged with that context.
package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Config says where traces go.
type Config struct {
	// Endpoint is the OTLP/HTTP collector: a base URL such as
	// http://collector:4318 (traces go to /v1/traces under it, as with
	// OTEL_EXPORTER_OTLP_ENDPOINT) or a full URL ending in /v1/traces.
	// Empty: tracing is off.
	Endpoint string
	Service  string // service.name (default "cashgate")
	Version  string // service.version
}

// Tracing is the process's tracer provider and its shutdown.
type Tracing struct {
	Provider trace.TracerProvider
	// Shutdown flushes the spans not yet exported (bounded by ctx).
	Shutdown func(ctx context.Context) error
}

// Off is tracing switched off.
func Off() Tracing {
	return Tracing{Provider: noop.NewTracerProvider(), Shutdown: func(context.Context) error { return nil }}
}

// New returns the tracing that cfg asks for.
func New(ctx context.Context, cfg Config) (Tracing, error) {
	if cfg.Endpoint == "" {
		return Off(), nil
	}
	u, err := traceURL(cfg.Endpoint)
	if err != nil {
		return Tracing{}, err
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(u))
	if err != nil {
		return Tracing{}, fmt.Errorf("telemetry: OTLP exporter: %w", err)
	}
	if cfg.Service == "" {
		cfg.Service = "cashgate"
	}
	res := resource.NewSchemaless(attribute.String("service.name", cfg.Service), attribute.String("service.version", cfg.Version))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Second)), sdktrace.WithResource(res))
	return Tracing{Provider: tp, Shutdown: tp.Shutdown}, nil
}

// traceURL is the traces URL of an OTLP/HTTP endpoint.
func traceURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("telemetry: the OTLP endpoint %q must be an http(s) URL such as http://collector:4318", endpoint)
	}
	if !strings.HasSuffix(u.Path, "/v1/traces") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	return u.String(), nil
}

// Propagator reads and writes the W3C trace context (traceparent) headers.
func Propagator() propagation.TextMapPropagator { return propagation.TraceContext{} }

type requestIDKey struct{}

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id ctx carries, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// LogHandler wraps h so that every record logged with a context carrying a
// request id or a recording span gets request_id and trace_id.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if id := RequestID(ctx); id != "" {
			r.AddAttrs(slog.String("request_id", id))
		}
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			r.AddAttrs(slog.String("trace_id", sc.TraceID().String()))
		}
	}
	return l.Handler.Handle(ctx, r)
}

func (l logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{l.Handler.WithAttrs(as)}
}

func (l logHandler) WithGroup(name string) slog.Handler { return logHandler{l.Handler.WithGroup(name)} }
