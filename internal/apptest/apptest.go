// Package apptest runs the whole of cashgate for end-to-end tests: the real
// app (every product, the server, the job runner) on one storage engine, with
// a fake clock and seeded randomness, served on an httptest server, with a
// tenant ready to use and the ledger invariants checked when the test ends.
// Product tests wrap Do with their API's authentication.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/cashgate/cashgate/internal/app"
	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/telemetry"
)

// Epoch is where the fake clock starts: Saturday 21 November 2026, 09:30
// in London (GMT).
var Epoch = time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC)

// Options tune New.
type Options struct {
	// Seed seeds the randomness (ids, keys), so runs are repeatable.
	Seed byte
	// Config adjusts the configuration before the app opens.
	Config func(*app.Config)
	// Tenant is the tenant to create (default: "Acme Ltd", production, Europe/London).
	Tenant *platform.TenantSpec
	// Tracer, when set, is the app's tracer provider.
	Tracer trace.TracerProvider
	// Log, when set, receives every log line (debug and up, with request
	// ids) instead of the test's log.
	Log io.Writer
	// LogAll, when set, also receives every line the app logs, at every
	// level, as JSON (a test that proves what is never logged reads it).
	LogAll io.Writer
}

// App is a running cashgate under test.
type App struct {
	T      testing.TB
	App    *app.App
	Server *httptest.Server
	Clock  *clock.Fake
	Tenant platform.TenantCreated
	// NoRedirect is an HTTP client that does not follow redirects (hosted pages).
	NoRedirect *http.Client
}

// New opens cashgate on engine e (webhooks to private addresses allowed,
// fixed pepper and key-encryption key), serves it and creates the tenant.
func New(t testing.TB, e storetest.Engine, opt Options) *App {
	t.Helper()
	cfg := app.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL = e.URL(t)
	cfg.AllowPrivateWebhooks = true
	cfg.Pepper = bytes.Repeat([]byte{7}, 32)
	cfg.KEK = bytes.Repeat([]byte{9}, 32)
	// Listen first, so that the public URL links are built on is the test
	// server's own address.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.PublicURL = "http://" + ln.Addr().String()
	if opt.Config != nil {
		opt.Config(&cfg)
	}
	clk := clock.NewFake(Epoch)
	// Warnings and errors of the app go to the test's log, shown when it fails.
	var handler slog.Handler = slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})
	if opt.Log != nil {
		handler = slog.NewTextHandler(opt.Log, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	if opt.LogAll != nil {
		handler = slog.NewMultiHandler(handler, slog.NewJSONHandler(opt.LogAll, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	log := slog.New(telemetry.LogHandler(handler))
	a, err := app.Open(context.Background(), cfg, app.Options{Log: log, Clock: clk, Rand: rand.NewChaCha8([32]byte{opt.Seed}),
		StrictWriteContract: true, Tracer: opt.Tracer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	srv := httptest.NewUnstartedServer(a.Handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	spec := platform.TenantSpec{Name: "Acme Ltd", Mode: platform.Production, Timezone: "Europe/London"}
	if opt.Tenant != nil {
		spec = *opt.Tenant
	}
	ten, err := a.Platform.CreateTenant(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	h := &App{T: t, App: a, Server: srv, Clock: clk, Tenant: ten,
		NoRedirect: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	t.Cleanup(h.CheckInvariants)
	return h
}

// testWriter writes log lines to the test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// CheckInvariants fails the test if the ledger's invariants do not hold.
func (h *App) CheckInvariants() {
	h.T.Helper()
	if err := ledger.CheckInvariants(context.Background(), h.App.DB.Read()); err != nil {
		h.T.Errorf("ledger invariants: %v", err)
	}
}

// RunDue runs every background job due at the fake clock's now.
func (h *App) RunDue() {
	h.T.Helper()
	if _, err := h.App.Runner.RunDue(context.Background()); err != nil {
		h.T.Fatal(err)
	}
}

// Reply is an HTTP response read whole.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as a JSON object or fails the test.
func (r Reply) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %q", r.Body)
	}
	return m
}

// Do sends a request to the app. A non-nil body is sent as JSON unless hdr
// sets Content-Type; a header set to "" in hdr is removed.
func (h *App) Do(method, path string, body []byte, hdr map[string]string) Reply {
	h.T.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, h.Server.URL+path, rd)
	if err != nil {
		h.T.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

var generatedID = regexp.MustCompile(`\b([a-z]{2,5})_[0-9a-hjkmnp-tv-z]{26}\b`)

// NormalizeIDs replaces generated identifiers by ordinal placeholders
// ("acc_#1", "ent_#2"…; the same id always the same placeholder), so golden
// files pin the wire format and which ids repeat, not how much randomness
// the wiring happened to draw before the test.
func NormalizeIDs(b []byte) []byte {
	seen := map[string]string{}
	return generatedID.ReplaceAllFunc(b, func(id []byte) []byte {
		if p, ok := seen[string(id)]; ok {
			return []byte(p)
		}
		p := fmt.Sprintf("%s_#%d", generatedID.FindSubmatch(id)[1], len(seen)+1)
		seen[string(id)] = p
		return []byte(p)
	})
}

// Golden compares got (ids normalized) with testdata/name, or rewrites the
// file when update is set (the test package's -update flag).
func Golden(t testing.TB, update bool, name string, got []byte) {
	t.Helper()
	got = NormalizeIDs(got)
	path := filepath.Join("testdata", name)
	if update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n got: %s\nwant: %s", name, got, want)
	}
}
