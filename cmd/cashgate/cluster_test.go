package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/redistest"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestClusterOnOnePostgreSQL (issue 14): three `cashgate serve` processes
// share one PostgreSQL database; clients spread writes (transfers, MOTO
// payments, wallet sends, each with an Idempotency-Key) over them and one
// process is killed with SIGKILL mid-run, its clients moving to the others
// with the same keys. Then: every acknowledged write is booked exactly
// once; each recurring job exists once and no job is left claimed past its
// lease; a key's usage limit holds across the processes; every webhook
// delivery ends acknowledged, and the receiver got no
// more requests for a delivery than the attempts the database recorded (no
// attempt sent twice); the ledger's invariants hold.
func TestClusterOnOnePostgreSQL(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	ctx := context.Background()
	const lease = 11 * time.Second // CASHGATE_WEBHOOK_LEASE: the least above the 10 s request timeout
	received := map[string]int{}
	var mu sync.Mutex
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		received[r.Header.Get("webhook-id")]++
		mu.Unlock()
	}))
	defer hook.Close()
	vars := map[string]string{
		"CASHGATE_DATABASE_URL": dbURL, "CASHGATE_DATA_DIR": t.TempDir(), "CASHGATE_LOG_LEVEL": "warn",
		"CASHGATE_PEPPER": "00112233445566778899aabbccddeeff", "CASHGATE_KEK": "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		"CASHGATE_PRODUCTION_RPM": "1000000", "CASHGATE_IDEMPOTENCY_LEASE": "2s", "CASHGATE_WEBHOOK_LEASE": lease.String(),
		"CASHGATE_ALLOW_PRIVATE_WEBHOOKS": "true",
	}
	wd := &crashWorld{transfers: &transfersScenario{n: 4, ids: make([][]string, 1)}, moto: &motoScenario{tenants: make([]motoTenant, 1)}, wallet: &sendsScenario{n: 2}}
	var sandboxKey string
	func() {
		a, err := testEnv(t, vars).open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		ten, err := a.Platform.CreateTenant(ctx, platform.TenantSpec{Name: "cluster", Mode: platform.Production})
		if err != nil {
			t.Fatal(err)
		}
		wd.apiKey = ten.APIKey
		if err := wd.wallet.setupApp(ctx, a); err != nil {
			t.Fatal(err)
		}
		sb, err := a.Platform.CreateTenant(ctx, platform.TenantSpec{Name: "limited", Mode: platform.Sandbox})
		if err != nil {
			t.Fatal(err)
		}
		sandboxKey = sb.APIKey
	}()
	var nodes []*crashChild
	for i := 0; i < 3; i++ {
		v := map[string]string{"CASHGATE_ADDR": freeAddr(t)}
		for k, x := range vars {
			if k != "CASHGATE_ADDR" {
				v[k] = x
			}
		}
		n := newCrashChild(t, v)
		n.start()
		nodes = append(nodes, n)
	}
	setup := &benchClient{base: nodes[0].base, key: wd.apiKey, http: &http.Client{Timeout: 10 * time.Second}}
	if err := wd.transfers.setup(ctx, setup); err != nil {
		t.Fatal(err)
	}
	if err := wd.moto.setup(ctx, setup); err != nil {
		t.Fatal(err)
	}
	if err := setup.post(ctx, "/platform/webhooks/endpoints", map[string]any{"url": hook.URL, "eventTypes": []string{"ledger.*"}}, nil); err != nil {
		t.Fatal(err)
	}

	clusterLimit(ctx, t, dbURL, sandboxKey, nodes[:2])
	reqs, killed := clusterLoad(ctx, t, wd, nodes)
	db, err := store.Open(ctx, dbURL, nil, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	waitDelivered(ctx, t, db, 3*lease)
	count, _ := crashEffects(ctx, t, db)
	for _, r := range reqs {
		if r.first.ok() && count[r.ref] != 1 {
			t.Errorf("%s %s acknowledged, booked %d times", r.kind, r.ref, count[r.ref])
		}
		if count[r.ref] > 1 {
			t.Errorf("%s %s booked %d times", r.kind, r.ref, count[r.ref])
		}
	}
	clusterJobChecks(ctx, t, db)
	mu.Lock()
	clusterDeliveryChecks(ctx, t, db, received)
	mu.Unlock()
	if err := ledger.CheckInvariants(ctx, db.Read()); err != nil {
		t.Error(err)
	}
	t.Logf("%d writes over 3 processes, node %d killed mid-run; %d webhook deliveries", len(reqs), killed, len(received))
}

// clusterLimit: a sandbox key (60 requests a minute) used on two
// processes, 50 requests on the first, then — once they synced — 30 on the
// second: together they admit the limit plus the bucket's refill (one a
// second) while it ran, not 60 each.
func clusterLimit(ctx context.Context, t *testing.T, dbURL, key string, nodes []*crashChild) {
	// One minute window for the whole check: a window that turns over
	// midway would rightly admit more.
	if left := time.Minute - time.Duration(time.Now().UnixNano()%int64(time.Minute)); left < 20*time.Second {
		time.Sleep(left + 100*time.Millisecond)
	}
	start := time.Now()
	admitted := 0
	hit := func(node *crashChild, n int) {
		for i := 0; i < n; i++ {
			req, _ := http.NewRequest("GET", node.base+"/dummyapi/status", nil)
			req.Header.Set("api-key", key)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				admitted++
			}
		}
	}
	hit(nodes[0], 50)
	awaitWindowCount(ctx, t, dbURL, start, 50) // the first process wrote its count
	time.Sleep(2500 * time.Millisecond)        // and the second read it (every second)
	hit(nodes[1], 30)
	if most := 60 + int(time.Since(start).Seconds()) + 2; admitted > most || admitted < 50 {
		t.Errorf("a sandbox key admitted %d requests on two processes in %v, want 50 to %d", admitted, time.Since(start).Round(time.Millisecond), most)
	}
}

// clusterLoad runs 12 clients for 3 s, client w on node w%3; node 2 is
// killed after 1.5 s and its clients carry on, with the same keys, on the
// others. It returns every write with its last answer.
func clusterLoad(ctx context.Context, t *testing.T, wd *crashWorld, nodes []*crashChild) ([]*crashReq, int) {
	const clients, victim = 12, 2
	httpc := &http.Client{Timeout: 10 * time.Second}
	var (
		mu   sync.Mutex
		reqs []*crashReq
		quit atomic.Bool
		dead atomic.Bool
		wg   sync.WaitGroup
	)
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(42, uint64(w)))
			for n := 0; !quit.Load(); n++ {
				r := wd.newReq(rng, w, n)
				mu.Lock()
				reqs = append(reqs, r)
				mu.Unlock()
				for try := 0; try < 50; try++ {
					node := (w + try) % len(nodes)
					if node == victim && dead.Load() {
						continue
					}
					a, err := r.do(ctx, httpc, nodes[node].base)
					if err != nil || a.status >= 500 || a.status == http.StatusConflict {
						time.Sleep(100 * time.Millisecond) // no answer: the same key again, elsewhere
						continue
					}
					r.first = a
					break
				}
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	dead.Store(true)
	nodes[victim].kill()
	time.Sleep(1500 * time.Millisecond)
	quit.Store(true)
	wg.Wait()
	for _, r := range reqs {
		if !r.first.ok() {
			t.Errorf("%s %s: no 2xx from any node (%v)", r.kind, r.ref, r.first)
		}
	}
	return reqs, victim
}

// waitDelivered waits until no webhook delivery is pending (the killed
// node's claims run out after the lease).
func waitDelivered(ctx context.Context, t *testing.T, db *store.DB, within time.Duration) {
	deadline := time.Now().Add(within)
	for {
		var pending int
		if err := db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE state <> 'succeeded'`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d webhook deliveries still not acknowledged after %v", pending, within)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// clusterJobChecks: each recurring job once; none claimed past its lease.
func clusterJobChecks(ctx context.Context, t *testing.T, db *store.DB) {
	var dupKinds, stale int
	if err := db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT kind FROM jobs WHERE unique_key IS NOT NULL AND state IN ('ready', 'running')
		GROUP BY kind, unique_key HAVING COUNT(*) > 1) d`).Scan(&dupKinds); err != nil {
		t.Fatal(err)
	}
	if err := db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE state = 'running' AND locked_until < $1`, time.Now().Add(-time.Second).UnixMicro()).Scan(&stale); err != nil {
		t.Fatal(err)
	}
	if dupKinds > 0 || stale > 0 {
		t.Errorf("jobs: %d recurring jobs twice, %d claimed past their lease", dupKinds, stale)
	}
	var recurring int
	if err := db.Read().QueryRowContext(ctx, `SELECT COUNT(DISTINCT kind) FROM jobs WHERE unique_key IS NOT NULL`).Scan(&recurring); err != nil || recurring < 3 {
		t.Errorf("only %d recurring job kinds scheduled (%v)", recurring, err)
	}
}

// clusterDeliveryChecks: the receiver never got more requests for a
// delivery than the attempts recorded for it, and got every delivery.
func clusterDeliveryChecks(ctx context.Context, t *testing.T, db *store.DB, received map[string]int) {
	rows, err := db.Read().QueryContext(ctx, `SELECT d.id, COUNT(a.attempt) FROM webhook_deliveries d
		LEFT JOIN webhook_attempts a ON a.delivery_id = d.id GROUP BY d.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var problems []string
	n := 0
	for rows.Next() {
		var id string
		var attempts int
		if err := rows.Scan(&id, &attempts); err != nil {
			t.Fatal(err)
		}
		n++
		if got := received[id]; got == 0 || got > attempts {
			problems = append(problems, fmt.Sprintf("%s: %d requests for %d attempts", id, got, attempts))
		}
	}
	if err := errors.Join(rows.Err()); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no webhook deliveries were made")
	}
	if len(problems) > 0 {
		t.Errorf("%d of %d deliveries: %s", len(problems), n, strings.Join(problems[:min(5, len(problems))], "; "))
	}
}

// TestClusterLimitOnRedis (issue 14): two `cashgate serve` processes on one
// PostgreSQL with CASHGATE_REDIS_URL keep a sandbox key's limit (60 a
// minute) in Redis: 100 concurrent requests spread over both admit exactly
// 60, the rest answer 429 with a Retry-After within the minute, and nothing
// goes through app_key_windows.
func TestClusterLimitOnRedis(t *testing.T) {
	dbURL, redisURL := storetest.PostgresURL(t), redistest.URL(t)
	ctx := context.Background()
	vars := map[string]string{
		"CASHGATE_DATABASE_URL": dbURL, "CASHGATE_DATA_DIR": t.TempDir(), "CASHGATE_LOG_LEVEL": "warn",
		"CASHGATE_PEPPER": "00112233445566778899aabbccddeeff", "CASHGATE_KEK": "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		"CASHGATE_REDIS_URL": redisURL,
	}
	a, err := testEnv(t, vars).open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := a.Platform.CreateTenant(ctx, platform.TenantSpec{Name: "limited", Mode: platform.Sandbox})
	a.Close()
	if err != nil {
		t.Fatal(err)
	}
	var nodes []*crashChild
	for i := 0; i < 2; i++ {
		v := map[string]string{"CASHGATE_ADDR": freeAddr(t)}
		maps.Copy(v, vars)
		n := newCrashChild(t, v)
		n.start()
		nodes = append(nodes, n)
	}
	// The count is per minute of the clock: start well inside one.
	if now := time.Now(); now.Second() >= 50 {
		time.Sleep(now.Truncate(time.Minute).Add(time.Minute + 100*time.Millisecond).Sub(now))
	}
	start := time.Now()
	var admitted, refused atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 10; w++ {
		wg.Go(func() {
			for i := 0; i < 10; i++ {
				req, _ := http.NewRequest("GET", nodes[(w+i)%2].base+"/dummyapi/status", nil)
				req.Header.Set("api-key", sb.APIKey)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				retry, _ := strconv.Atoi(res.Header.Get("Retry-After"))
				switch {
				case res.StatusCode == http.StatusOK:
					admitted.Add(1)
				case res.StatusCode == http.StatusTooManyRequests && retry >= 1 && retry <= 60:
					refused.Add(1)
				default:
					t.Errorf("%d (Retry-After %q)", res.StatusCode, res.Header.Get("Retry-After"))
				}
			}
		})
	}
	wg.Wait()
	if start.Truncate(time.Minute) != time.Now().Truncate(time.Minute) {
		t.Fatalf("the requests took %v and crossed a minute", time.Since(start))
	}
	if admitted.Load() != 60 || refused.Load() != 40 {
		t.Errorf("two processes admitted %d and refused %d of 100 requests, want exactly the limit (60) and 40", admitted.Load(), refused.Load())
	}
	db, err := store.Open(ctx, dbURL, nil, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows int
	if err := db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM app_key_windows`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("%d app_key_windows rows (%v), want none: the limit is in Redis", rows, err)
	}
}

// awaitWindowCount waits (up to 15 s, the machine may be loaded) until the
// processes have written at least n admitted requests for the minute of at.
func awaitWindowCount(ctx context.Context, t *testing.T, dbURL string, at time.Time, n int64) {
	t.Helper()
	db, err := store.Open(ctx, dbURL, nil, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	window := at.UTC().Truncate(time.Minute).UnixMicro()
	var got int64
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := db.Read().QueryRowContext(ctx, `SELECT COALESCE(SUM(requests), 0) FROM app_key_windows WHERE window_start = $1`, window).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got >= n {
			return
		}
	}
	t.Fatalf("after 15 s the processes recorded %d requests of the window, want %d", got, n)
}
