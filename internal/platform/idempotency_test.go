package platform_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

func idem(k string) string { return "Idempotency-Key: " + k }

func TestIdempotencyReplayAndMismatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		a := e.tenant(platform.Production, "")
		b := e.tenant(platform.Production, "")
		body := `{"amount": 1000,  "note":"café"}`

		first := e.do("POST", "/remote/orders", body, apiKey(a.APIKey), idem("order-1"))
		if first.status != 201 || first.header.Get("Idempotent-Replayed") != "" || first.header.Get("X-Order") != "yes" {
			t.Fatalf("first: %d %s %v", first.status, first.body, first.header)
		}
		again := e.do("POST", "/remote/orders", body, apiKey(a.APIKey), idem("order-1"))
		if again.status != 201 || again.body != first.body || again.header.Get("Idempotent-Replayed") != "true" ||
			again.header.Get("Content-Type") != "application/json" {
			t.Fatalf("replay: %d %q (first %q) %v", again.status, again.body, first.body, again.header)
		}
		if n := e.orders.Load(); n != 1 {
			t.Fatalf("side effects %d, want 1", n)
		}

		mismatch := fmt.Sprintf(errBody, `Idempotency-Key "order-1" was already used for a different request`)
		cases := []struct {
			name, method, path, body string
		}{
			{"other body", "POST", "/remote/orders", `{"amount": 1001,  "note":"café"}`},
			{"same JSON, other bytes", "POST", "/remote/orders", `{"amount":1000,"note":"café"}`},
			{"other path", "POST", "/remote/flaky", body},
			{"other query", "POST", "/remote/orders?x=1", body},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.do(c.method, c.path, c.body, apiKey(a.APIKey), idem("order-1"))
				if r.status != 422 || r.body != mismatch {
					t.Fatalf("got %d %s", r.status, r.body)
				}
			})
		}

		// Another tenant's identical key is its own.
		other := e.do("POST", "/remote/orders", body, apiKey(b.APIKey), idem("order-1"))
		if other.status != 201 || other.body == first.body || !strings.Contains(other.body, b.TenantID) {
			t.Fatalf("other tenant: %d %s", other.status, other.body)
		}
		if n := e.orders.Load(); n != 2 {
			t.Fatalf("side effects %d, want 2", n)
		}
		// Without the header every request runs; GETs ignore it.
		e.do("POST", "/remote/orders", body, apiKey(a.APIKey))
		e.do("POST", "/remote/orders", body, apiKey(a.APIKey))
		if n := e.orders.Load(); n != 4 {
			t.Fatalf("side effects %d, want 4", n)
		}
		if r := e.do("GET", "/remote/ping", "", apiKey(a.APIKey), idem("order-1")); r.status != 200 {
			t.Fatalf("GET with a key: %d", r.status)
		}
		bad := fmt.Sprintf(errBody, "Idempotency-Key must be one header of 1 to 255 printable ASCII characters")
		for _, k := range []string{strings.Repeat("k", 256), "tab\there", "ключ"} {
			req, _ := http.NewRequest("POST", e.srv.URL+"/remote/orders", strings.NewReader(body))
			req.Header.Set("api-key", a.APIKey)
			req.Header.Set("Content-Type", "application/json")
			req.Header["Idempotency-Key"] = []string{k}
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(res)
			if res.StatusCode != 400 || got != bad {
				t.Fatalf("key %q: %d %s", k, res.StatusCode, got)
			}
		}
		if r := e.do("POST", "/remote/orders", body, apiKey(a.APIKey), idem(strings.Repeat("k", 255))); r.status != 201 {
			t.Fatalf("255-character key: %d %s", r.status, r.body)
		}
		// Idempotency applies to the platform's own writes too.
		r1 := e.do("POST", "/platform/keys", `{"name":"pos"}`, apiKey(a.APIKey), idem("new-key"))
		r2 := e.do("POST", "/platform/keys", `{"name":"pos"}`, apiKey(a.APIKey), idem("new-key"))
		if r1.status != 201 || r2.body != r1.body {
			t.Fatalf("create key twice: %d %s / %s", r1.status, r1.body, r2.body)
		}
		keys, _ := e.svc.ListKeys(context.Background(), a.TenantID)
		if len(keys) != 2 {
			t.Fatalf("%d keys, want 2", len(keys))
		}
	})
}

func readAll(res *http.Response) string {
	defer res.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String()
		}
	}
}

func TestIdempotencyConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		a := e.tenant(platform.Production, "")
		const n = 50
		results := make([]resp, n)
		parallel(n, func(i int) {
			results[i] = e.do("POST", "/remote/orders", `{"amount":5}`, apiKey(a.APIKey), idem("burst"))
		})
		if got := e.orders.Load(); got != 1 {
			t.Fatalf("side effects %d, want exactly 1", got)
		}
		replayed := 0
		for i, r := range results {
			if r.status != 201 || r.body != results[0].body {
				t.Fatalf("response %d: %d %s (first %s)", i, r.status, r.body, results[0].body)
			}
			if r.header.Get("Idempotent-Replayed") == "true" {
				replayed++
			}
		}
		if replayed != n-1 {
			t.Fatalf("%d replays, want %d", replayed, n-1)
		}
	})
}

func TestIdempotencyServerErrorsNotStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		a := e.tenant(platform.Production, "")
		want := []int{503, 503, 201, 201}
		var bodies []string
		for i, st := range want {
			r := e.do("POST", "/remote/flaky", `{}`, apiKey(a.APIKey), idem("retry-me"))
			if r.status != st {
				t.Fatalf("attempt %d: %d %s, want %d", i+1, r.status, r.body, st)
			}
			bodies = append(bodies, r.body)
		}
		if got := e.failures.Load(); got != 3 {
			t.Fatalf("handler ran %d times, want 3 (two failures, one success, one replay)", got)
		}
		if bodies[3] != bodies[2] {
			t.Fatalf("replay %q != %q", bodies[3], bodies[2])
		}
	})
}

func TestIdempotencyInFlight(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		cfg := testConfig()
		cfg.IdempotencyWait = 150 * time.Millisecond
		e := newEnv(t, db, cfg)
		a := e.tenant(platform.Production, "")
		done := make(chan resp)
		go func() { done <- e.do("POST", "/remote/slow", `{}`, apiKey(a.APIKey), idem("slow")) }()
		<-e.started
		r := e.do("POST", "/remote/slow", `{}`, apiKey(a.APIKey), idem("slow"))
		want := fmt.Sprintf(errBody, `A request with Idempotency-Key "slow" is still being processed; retry later`)
		if r.status != 409 || r.body != want || r.header.Get("Retry-After") != "1" {
			t.Fatalf("in flight: %d %s", r.status, r.body)
		}
		// A different request with the key is a mismatch even while in flight.
		if r := e.do("POST", "/remote/slow", `{"x":1}`, apiKey(a.APIKey), idem("slow")); r.status != 422 {
			t.Fatalf("mismatch in flight: %d %s", r.status, r.body)
		}
		close(e.release)
		first := <-done
		if first.status != 201 {
			t.Fatalf("first: %d %s", first.status, first.body)
		}
		if r := e.do("POST", "/remote/slow", `{}`, apiKey(a.APIKey), idem("slow")); r.status != 201 || r.body != first.body ||
			r.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("after completion: %d %s", r.status, r.body)
		}
	})
}

func TestIdempotencyExpiryAndPurge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		ctx := context.Background()
		a := e.tenant(platform.Production, "")
		for _, k := range []string{"k1", "k2", "k3"} {
			e.do("POST", "/remote/orders", `{}`, apiKey(a.APIKey), idem(k))
		}
		e.clk.Advance(23 * time.Hour)
		e.do("POST", "/remote/orders", `{}`, apiKey(a.APIKey), idem("k1")) // still remembered
		if got := e.orders.Load(); got != 3 {
			t.Fatalf("side effects %d, want 3", got)
		}
		// Purging younger than 24 hours is raised to 24 hours.
		if n, err := e.svc.PurgeIdempotencyKeys(ctx, time.Hour); err != nil || n != 0 {
			t.Fatalf("purge at 23h: %d, %v", n, err)
		}
		e.clk.Advance(2 * time.Hour)
		// An expired key may be used again (the record is replaced).
		e.do("POST", "/remote/orders", `{}`, apiKey(a.APIKey), idem("k1"))
		if got := e.orders.Load(); got != 4 {
			t.Fatalf("side effects %d, want 4", got)
		}
		// The replacing record is whole: its answer is replayed.
		e.do("POST", "/remote/orders", `{}`, apiKey(a.APIKey), idem("k1"))
		if got := e.orders.Load(); got != 4 {
			t.Fatalf("side effects %d after the replaced key's retry, want 4", got)
		}
		if n, err := e.svc.PurgeIdempotencyKeys(ctx, 0); err != nil || n != 2 {
			t.Fatalf("purge at 25h: %d, %v (want k2 and k3)", n, err)
		}
	})
}

// TestIdempotencyForCustomTenant mounts the middleware with a tenant
// function (as the gateway does with its ConfigurationId).
func TestIdempotencyForCustomTenant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		errw := httpx.PlatformErrors(slog.New(slog.DiscardHandler))
		calls := 0
		h := e.svc.IdempotencyFor(errw, func(r *http.Request) (string, bool) {
			c := r.Header.Get("ConfigurationId")
			return "ten_cfg_" + c, c != ""
		})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprintf(w, "call %d", calls)
		}))
		srv := httptest.NewServer(h)
		defer srv.Close()
		send := func(conf string) resp {
			return e.on(srv).do("POST", "/gateway/payment-jobs", "x", "ConfigurationId: "+conf, idem("same"))
		}
		r1, r2, r3 := send("1"), send("1"), send("2")
		if r1.body != "call 1" || r2.body != "call 1" || r2.status != 202 || r2.header.Get("Content-Type") != "text/plain; charset=utf-8" || r3.body != "call 2" {
			t.Fatalf("got %q %q %q", r1.body, r2.body, r3.body)
		}
		if r := send(""); r.status != 500 || r.body != fmt.Sprintf(errBody, "internal error") {
			t.Fatalf("no tenant: %d %s", r.status, r.body)
		}
	})
}
