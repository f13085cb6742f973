// Package server builds cashgate's HTTP handler: every product's routes
// (listed in routes.go), the authentication each API requires, idempotency on
// writes, health and readiness probes, Prometheus metrics and the OpenAPI
// document generated from the same route list.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/telemetry"
)

// Pinger reports whether the database answers and its schema is current.
type Pinger interface {
	Ping(ctx context.Context) error
	SchemaVersion(ctx context.Context) (current, latest int64, err error)
}

// APIMiddleware wraps the routes of one API: authentication first, then
// idempotency for POST and PATCH.
type APIMiddleware struct {
	Auth        func(http.Handler) http.Handler // nil: no authentication
	Idempotency func(http.Handler) http.Handler // nil: none
	// Errors writes the API's error format; a path or query with a control
	// character is refused through it before authentication (nil: plain 400).
	Errors httpx.ErrorWriter
}

// Deps are what the server needs. Products hand in their routes; the server
// owns nothing else.
type Deps struct {
	Log     *slog.Logger
	DB      Pinger
	Version string
	// Routes are every product route (see routes.go for the list).
	Routes []httpx.Route
	// Middleware per API.
	Middleware map[httpx.API]APIMiddleware
	// Metrics is the registry /metrics serves; the server registers its own
	// HTTP metrics on it. Nil makes a fresh one.
	Metrics *prometheus.Registry
	// Fence holds each response back until what the request read is
	// durable (store.DB on SQLite, whose readers may see a batch before its
	// fsync; see store/durable.go). Nil: no fence.
	Fence ReadFence
	// Tracer makes a server span per request (nil: no spans).
	Tracer trace.Tracer
	// RequestID names a request that came without a usable X-Request-Id
	// (nil: such a request gets none).
	RequestID func() string
}

// ReadFence is store.DB's read fence.
type ReadFence interface {
	FenceReads(ctx context.Context) context.Context
	AwaitReads(ctx context.Context) error
}

// Server is cashgate's HTTP handler.
type Server struct {
	deps    Deps
	mux     *http.ServeMux
	routes  []httpx.Route
	openapi []byte
	reqs    *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

// New builds the handler. It fails if two routes collide or the OpenAPI
// document cannot be generated.
func New(d Deps) (*Server, error) {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Tracer == nil {
		d.Tracer = noop.NewTracerProvider().Tracer("")
	}
	if d.Metrics == nil {
		d.Metrics = prometheus.NewRegistry()
		d.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s := &Server{deps: d, mux: http.NewServeMux()}
	s.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cashgate_http_requests_total", Help: "HTTP requests by API, route and status.",
	}, []string{"api", "route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "cashgate_http_request_duration_seconds", Help: "HTTP request latency by API and route.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"api", "route"})
	if err := d.Metrics.Register(s.reqs); err != nil {
		return nil, fmt.Errorf("server: metrics: %w", err)
	}
	if err := d.Metrics.Register(s.latency); err != nil {
		return nil, fmt.Errorf("server: metrics: %w", err)
	}

	s.routes = append(s.publicRoutes(), d.Routes...)
	for _, rt := range s.routes {
		if err := s.mount(rt); err != nil {
			return nil, err
		}
	}
	doc, err := OpenAPI(s.routes, d.Version)
	if err != nil {
		return nil, fmt.Errorf("server: openapi: %w", err)
	}
	s.openapi = doc
	return s, nil
}

// OpenAPI returns the document /openapi.json serves.
func (s *Server) OpenAPI() []byte { return s.openapi }

// Routes returns every mounted route, public ones included.
func (s *Server) Routes() []httpx.Route { return s.routes }

func (s *Server) mount(rt httpx.Route) (err error) {
	pattern := rt.Method + " " + rt.Path
	var h http.Handler = rt.Handler
	var errw httpx.ErrorWriter
	if mw, ok := s.deps.Middleware[rt.API]; ok {
		errw = mw.Errors
		if mw.Idempotency != nil && httpx.IsWrite(rt.Method) {
			h = mw.Idempotency(h)
		}
		if mw.Auth != nil {
			h = mw.Auth(h)
		}
	} else if rt.API != httpx.APIPublic {
		return fmt.Errorf("server: route %s belongs to API %q which has no middleware configured", pattern, rt.API)
	}
	h = httpx.WithBodyLimit(rt.MaxBody, h)
	h = httpx.RefuseControlInURL(errw, h)
	h = s.observe(rt, h)
	defer func() {
		if p := recover(); p != nil { // ServeMux panics on conflicting patterns
			err = fmt.Errorf("server: route %s: %v", pattern, p)
		}
	}()
	s.mux.Handle(pattern, h)
	return nil
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
	// await, when set, runs before the first byte leaves (the read fence);
	// when it fails the response becomes a 500 and the handler's is dropped.
	await  func() error
	failed bool
}

// start is called before the first WriteHeader or Write.
func (r *statusRecorder) start(code int) {
	r.status, r.wrote = code, true
	if r.await == nil {
		return
	}
	if err := r.await(); err != nil {
		r.failed, r.status = true, http.StatusInternalServerError
		httpx.WriteJSON(r.ResponseWriter, http.StatusInternalServerError, map[string]string{"error": "internal error"})
	}
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.start(code)
	}
	if !r.failed {
		r.ResponseWriter.WriteHeader(code)
	}
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.start(http.StatusOK)
	}
	if r.failed {
		return 0, errResponseDropped
	}
	return r.ResponseWriter.Write(b)
}

// errResponseDropped is what a handler's writes return after the read fence
// failed (the client got a 500 instead).
var errResponseDropped = errors.New("server: response dropped: what it read could not be made durable")

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observe adds panic recovery, a log line and metrics to one route.
func (s *Server) observe(rt httpx.Route, h http.Handler) http.Handler {
	pattern := rt.Method + " " + rt.Path
	labels := prometheus.Labels{"api": string(rt.API), "route": pattern}
	reqs, latency := s.reqs.MustCurryWith(labels), s.latency.With(labels)
	spanAttrs := trace.WithAttributes(attribute.String("http.request.method", rt.Method), attribute.String("http.route", rt.Path),
		attribute.String("cashgate.api", string(rt.API)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx, span := s.deps.Tracer.Start(telemetry.Propagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header)),
			pattern, trace.WithSpanKind(trace.SpanKindServer), spanAttrs)
		if id := s.requestID(r); id != "" {
			ctx = telemetry.WithRequestID(ctx, id)
			w.Header().Set("X-Request-Id", id)
			span.SetAttributes(attribute.String("cashgate.request_id", id))
		}
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		if f := s.deps.Fence; f != nil {
			r = r.WithContext(f.FenceReads(r.Context()))
			ctx := r.Context()
			rec.await = func() error {
				err := f.AwaitReads(ctx)
				if err != nil {
					s.deps.Log.ErrorContext(ctx, "response held back: its reads are not durable", "route", pattern, "err", err)
				}
				return err
			}
		}
		defer func() {
			if p := recover(); p != nil {
				s.deps.Log.ErrorContext(r.Context(), "panic serving request", "route", pattern, "panic", p, "stack", string(debug.Stack()))
				if !rec.wrote {
					httpx.WriteJSON(rec, http.StatusInternalServerError, map[string]string{"error": "internal error"})
				}
			}
			d := time.Since(start)
			span.SetAttributes(attribute.Int("http.response.status_code", rec.status))
			if rec.status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(rec.status))
			}
			span.End()
			reqs.WithLabelValues(strconv.Itoa(rec.status)).Inc()
			latency.Observe(d.Seconds())
			lvl := slog.LevelDebug
			if rec.status >= 500 {
				lvl = slog.LevelError
			}
			s.deps.Log.Log(r.Context(), lvl, "http request", "method", r.Method, "path", r.URL.Path, "route", pattern, "status", rec.status, "duration", d)
		}()
		h.ServeHTTP(rec, r)
	})
}

// requestID is the request's X-Request-Id when it is a plain token (letters,
// digits, '.', '_', '-', up to 64), else a new one.
func (s *Server) requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); requestIDRE.MatchString(id) {
		return id
	}
	if s.deps.RequestID == nil {
		return ""
	}
	return s.deps.RequestID()
}

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

type healthBody struct {
	Status string `json:"status"`
}

type readyBody struct {
	Status        string `json:"status"`
	SchemaVersion int64  `json:"schemaVersion"`
	LatestSchema  int64  `json:"latestSchema"`
	Error         string `json:"error,omitempty"`
}

func (s *Server) publicRoutes() []httpx.Route {
	return []httpx.Route{
		{Method: http.MethodGet, Path: "/healthz", API: httpx.APIPublic, Summary: "Liveness: the process is serving", Response: healthBody{},
			Handler: func(w http.ResponseWriter, r *http.Request) {
				httpx.WriteJSON(w, http.StatusOK, healthBody{Status: "ok"})
			}},
		{Method: http.MethodGet, Path: "/readyz", API: httpx.APIPublic, Summary: "Readiness: the database answers and the schema is current", Response: readyBody{},
			Handler: s.readyz},
		{Method: http.MethodGet, Path: "/metrics", API: httpx.APIPublic, Summary: "Prometheus metrics (text exposition format)",
			Handler: promhttp.HandlerFor(s.deps.Metrics, promhttp.HandlerOpts{}).ServeHTTP},
		{Method: http.MethodGet, Path: "/openapi.json", API: httpx.APIPublic, Summary: "This OpenAPI document",
			Handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(s.openapi)
			}},
	}
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	body := readyBody{Status: "ready"}
	status := http.StatusOK
	if s.deps.DB == nil {
		body.Status, body.Error, status = "unavailable", "no database", http.StatusServiceUnavailable
	} else if err := s.deps.DB.Ping(ctx); err != nil {
		body.Status, body.Error, status = "unavailable", "database: "+err.Error(), http.StatusServiceUnavailable
	} else if cur, latest, err := s.deps.DB.SchemaVersion(ctx); err != nil {
		body.Status, body.Error, status = "unavailable", "schema: "+err.Error(), http.StatusServiceUnavailable
	} else {
		body.SchemaVersion, body.LatestSchema = cur, latest
		if cur != latest {
			body.Status, body.Error, status = "unavailable", "schema is behind: run cashgate migrate", http.StatusServiceUnavailable
		}
	}
	httpx.WriteJSON(w, status, body)
}
