package platform_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
)

// t0 is where every test's fake clock starts.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fastArgon2 keeps password hashing cheap in tests.
func fastArgon2() platform.Argon2Params {
	return platform.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
}

func testConfig() platform.Config {
	return platform.Config{
		Pepper:              []byte("test pepper"),
		Argon2:              fastArgon2(),
		BlockedEndpoints:    []string{"GET /remote/deprecated", "POST /remote/legacy/{id}"},
		StrictWriteContract: true,
	}
}

// env is a platform service behind an httptest server mounted the way the
// server does it: Authenticate on every route, Idempotency on writes.
type env struct {
	t   *testing.T
	db  *store.DB
	clk *clock.Fake
	gen *ids.Gen
	svc *platform.Service
	srv *httptest.Server

	orders   atomic.Int64 // side effects of POST /remote/orders
	failures atomic.Int64 // calls of POST /remote/flaky
	hangs    atomic.Int64 // calls of POST /remote/hang-once
	release  chan struct{}
	started  chan struct{}
}

func newEnv(t *testing.T, db *store.DB, cfg platform.Config) *env {
	t.Helper()
	e := &env{t: t, db: db, clk: clock.NewFake(t0), gen: ids.New(nil), release: make(chan struct{}), started: make(chan struct{}, 1)}
	svc, err := platform.New(db, e.clk, e.gen, slog.New(slog.DiscardHandler), cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	e.srv = httptest.NewServer(e.mux(svc))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) mux(svc *platform.Service) http.Handler {
	errw := httpx.PlatformErrors(slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	mount := func(rt httpx.Route) {
		var h http.Handler = rt.Handler
		if rt.Method == http.MethodPost || rt.Method == http.MethodPatch {
			h = svc.Idempotency(errw)(h)
		}
		mux.Handle(rt.Method+" "+rt.Path, svc.Authenticate(rt.API, errw)(h))
	}
	for _, rt := range svc.Routes(errw) {
		mount(rt)
	}
	ok := func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
	}
	mount(httpx.Route{Method: "GET", Path: "/remote/ping", API: httpx.APIRemote, Handler: ok})
	mount(httpx.Route{Method: "GET", Path: "/remote/deprecated", API: httpx.APIRemote, Handler: ok})
	mount(httpx.Route{Method: "POST", Path: "/remote/legacy/{id}", API: httpx.APIRemote, Handler: ok})
	mount(httpx.Route{Method: "GET", Path: "/test/whoami", API: httpx.APIPlatform, Handler: func(w http.ResponseWriter, r *http.Request) {
		p, _ := httpx.PrincipalFrom(r.Context())
		httpx.WriteJSON(w, http.StatusOK, p)
	}})
	mount(httpx.Route{Method: "GET", Path: "/cashier/ping", API: httpx.APICashier, Handler: ok})
	// A write with a side effect: counts, echoes the body, answers 201.
	mount(httpx.Route{Method: "POST", Path: "/remote/orders", API: httpx.APIRemote, Handler: func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := e.orders.Add(1)
		time.Sleep(20 * time.Millisecond)
		p, _ := httpx.PrincipalFrom(r.Context())
		w.Header().Set("X-Order", "yes")
		httpx.WriteJSON(w, http.StatusCreated, map[string]any{"order": n, "tenant": p.TenantID, "echo": string(body)})
	}})
	// Fails with a 500 twice, then succeeds.
	mount(httpx.Route{Method: "POST", Path: "/remote/flaky", API: httpx.APIRemote, Handler: func(w http.ResponseWriter, r *http.Request) {
		if e.failures.Add(1) <= 2 {
			errw(w, r, apperr.New(apperr.Unavailable, "try again"))
			return
		}
		httpx.WriteJSON(w, http.StatusCreated, map[string]string{"result": "done"})
	}})
	// A write under the write contract: books a row and answers from inside
	// its transaction (httpx.Reply). ?after=panic|error fails after the
	// commit, as a process that dies or a read that fails after it would;
	// ?reply=none answers after the commit instead (breaking the contract).
	mount(httpx.Route{Method: "POST", Path: "/remote/book", API: httpx.APIRemote, Handler: func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var n int64
		err := e.db.Transact(r.Context(), func(ctx context.Context, tx *store.Tx) error {
			n = e.orders.Add(1)
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value, created_at) VALUES ($1, $2, 0)`,
				fmt.Sprintf("book-%d", n), string(body)); err != nil {
				return err
			}
			if r.URL.Query().Get("steal") == "1" {
				// A retry took the key over after the lease (as seen from
				// this transaction): its answer must not be stored.
				if _, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET claim_token = 'a-retry' WHERE state = 'in_progress'`); err != nil {
					return err
				}
			}
			if r.URL.Query().Get("reply") == "none" {
				return nil // breaks the write contract: answers after the commit
			}
			return httpx.Reply(ctx, tx, http.StatusCreated, map[string]any{"booking": n, "secret": "sk_live_" + string(body)})
		})
		switch r.URL.Query().Get("after") {
		case "panic":
			panic("the process died after the commit")
		case "error":
			err = errors.Join(err, errors.New("a read after the commit failed"))
		}
		httpx.Respond(w, r, errw, http.StatusCreated, map[string]any{"booking": n}, err)
	}})
	// The first call waits until its client goes away (499); later ones answer.
	mount(httpx.Route{Method: "POST", Path: "/remote/hang-once", API: httpx.APIRemote, Handler: func(w http.ResponseWriter, r *http.Request) {
		if e.hangs.Add(1) == 1 {
			<-r.Context().Done()
			errw(w, r, r.Context().Err())
			return
		}
		httpx.WriteJSON(w, http.StatusCreated, map[string]string{"result": "ran"})
	}})
	// Blocks until released (for the in-flight case).
	mount(httpx.Route{Method: "POST", Path: "/remote/slow", API: httpx.APIRemote, Handler: func(w http.ResponseWriter, r *http.Request) {
		e.started <- struct{}{}
		<-e.release
		httpx.WriteJSON(w, http.StatusCreated, map[string]string{"result": "slow"})
	}})
	return mux
}

func (e *env) tenant(mode platform.Mode, pin string) platform.TenantCreated {
	e.t.Helper()
	tc, err := e.svc.CreateTenant(context.Background(), platform.TenantSpec{
		Name: "Shop " + string(mode), Mode: mode, Timezone: "Asia/Tokyo", AdminPassword: "correct horse", AdminPIN: pin,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return tc
}

type resp struct {
	status int
	header http.Header
	body   string
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// do sends a request; headers are "Name: value" strings. It may be called
// from several goroutines.
func (e *env) do(method, path, body string, headers ...string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ":")
		req.Header.Set(name, strings.TrimSpace(value))
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Error(err) // not Fatal: do is also called from other goroutines
		return resp{}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: string(b)}
}

func apiKey(k string) string { return "api-key: " + k }
func bearer(t string) string { return "Authorization: Bearer " + t }
func basic(id, secret string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

const (
	form    = "Content-Type: application/x-www-form-urlencoded"
	jsonCT  = "Content-Type: application/json"
	okBody  = `{"status":"OK","message":"Your APP Key is valid"}` + "\n"
	errBody = `{"error":%q}` + "\n"
)

// token gets an access token with a form-encoded request.
func (e *env) token(key, formBody string) string {
	e.t.Helper()
	r := e.do("POST", "/auth/oauth/token", formBody, apiKey(key), form)
	if r.status != 200 {
		e.t.Fatalf("token: %d %s", r.status, r.body)
	}
	return r.json(e.t)["access_token"].(string)
}

// parallel runs fn n times concurrently and waits.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i)
		}()
	}
	wg.Wait()
}

// keyID returns the stored id of a plain APP key.
func keyID(apiKey string) string {
	rest := strings.TrimPrefix(apiKey, "cgk_")
	id, _, _ := strings.Cut(rest, "_")
	return "key_" + id
}

func newFakeClock() *clock.Fake { return clock.NewFake(t0) }
func newGen() *ids.Gen          { return ids.New(nil) }

// whoami returns the principal the server sees for the credentials.
func (e *env) whoami(headers ...string) httpx.Principal {
	e.t.Helper()
	r := e.do("GET", "/test/whoami", "", headers...)
	if r.status != 200 {
		e.t.Fatalf("whoami: %d %s", r.status, r.body)
	}
	var p httpx.Principal
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// on returns an env sending its requests to srv (another process).
func (e *env) on(srv *httptest.Server) *env {
	return &env{t: e.t, db: e.db, clk: e.clk, gen: e.gen, svc: e.svc, srv: srv}
}
