package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// crashChildEnv, set to "1", makes the test binary the crash test's child:
// TestCrashChildServe runs `cashgate serve` and nothing else.
const crashChildEnv = "CASHGATE_TEST_CRASH_CHILD"

// TestCrashChildServe is the crash test's child process, not a test:
// TestCrashRecovery re-executes this test binary with only this test
// selected and crashChildEnv set, so that it has a real `cashgate serve`
// process to kill with SIGKILL. It exits when its parent goes away.
func TestCrashChildServe(t *testing.T) {
	if os.Getenv(crashChildEnv) != "1" {
		t.Skip("the crash test's child process; runs only when TestCrashRecovery starts it")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	parent := os.Getppid()
	go func() {
		for range time.Tick(200 * time.Millisecond) {
			if os.Getppid() != parent {
				os.Exit(3) // the test that started us died without killing us
			}
		}
	}()
	if err := run(ctx, []string{"serve"}, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "cashgate:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// crashChild is a `cashgate serve` child process that can be killed and
// restarted on the same database and address.
type crashChild struct {
	t      *testing.T
	env    []string
	base   string
	log    *syncBuffer
	cmd    *exec.Cmd
	exited chan struct{}
	starts int
	down   time.Duration // from each kill (or the first start) until /healthz answered
}

func newCrashChild(t *testing.T, vars map[string]string) *crashChild {
	env := append(os.Environ(), crashChildEnv+"=1")
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	c := &crashChild{t: t, env: env, base: "http://" + vars["CASHGATE_ADDR"], log: &syncBuffer{}}
	t.Cleanup(func() {
		if c.cmd != nil {
			c.kill()
		}
		if out := c.log.String(); t.Failed() && out != "" {
			t.Logf("child output (last 8 KiB):\n%s", tail(out, 8<<10))
		}
	})
	return c
}

// start starts the child and waits until it answers /healthz.
func (c *crashChild) start() {
	c.t.Helper()
	t0 := time.Now()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChildServe$", "-test.count=1")
	cmd.Env = c.env
	cmd.Stdout, cmd.Stderr = c.log, c.log
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	c.cmd, c.exited = cmd, exited
	c.starts++
	probe := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := probe.Get(c.base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				c.down += time.Since(t0)
				return
			}
		}
		select {
		case <-exited:
			c.cmd = nil
			c.t.Fatalf("cashgate serve (start %d) exited early:\n%s", c.starts, tail(c.log.String(), 8<<10))
		default:
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("cashgate serve (start %d) did not come up on %s", c.starts, c.base)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL to the child and waits for it to be gone.
func (c *crashChild) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
	c.cmd = nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// crashAnswer is a response as the client received it.
type crashAnswer struct {
	status   int
	body     []byte
	replayed bool // Idempotent-Replayed: true
}

func (a *crashAnswer) ok() bool { return a != nil && a.status >= 200 && a.status < 300 }

func (a *crashAnswer) String() string {
	if a == nil {
		return "no answer"
	}
	return fmt.Sprintf("%d %s", a.status, tail(string(bytes.TrimSpace(a.body)), 160))
}

// crashReq is one write with its Idempotency-Key; ref (the key itself) is
// the reference it books under, so its effects can be counted.
type crashReq struct {
	kind   string // transfer, moto, send
	ref    string
	path   string
	header http.Header
	body   []byte
	first  *crashAnswer // the first answer the client received, if any
	retry  *crashAnswer // the answer to the final retry
}

// do sends the request once. A refused connection (the server is down and
// never saw the request) is reported as errRefused.
func (r *crashReq) do(ctx context.Context, c *http.Client, base string) (*crashAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+r.path, bytes.NewReader(r.body))
	if err != nil {
		return nil, err
	}
	req.Header = r.header.Clone()
	// No GetBody: the transport must not resend it by itself on a broken
	// connection (it would, for a POST with an Idempotency-Key), so that a
	// refused connection means that this request never reached the server.
	req.GetBody = nil
	resp, err := c.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, errRefused
		}
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &crashAnswer{status: resp.StatusCode, body: b, replayed: resp.Header.Get(platform.HeaderIdempotentReplayed) == "true"}, nil
}

var errRefused = errors.New("connection refused")

// crashWorld is what the load writes with: the tenant's APP key and ledger
// accounts, its gateway configuration, two wallet users.
type crashWorld struct {
	apiKey    string
	transfers *transfersScenario
	moto      *motoScenario
	wallet    *sendsScenario
}

// newReq makes the n-th write of client w, of a kind chosen by rng, with a
// unique key that is also its reference.
func (wd *crashWorld) newReq(rng *rand.Rand, w, n int) *crashReq {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	pair := func(k int) (int, int) {
		i := rng.IntN(k)
		j := rng.IntN(k - 1)
		if j >= i {
			j++
		}
		return i, j
	}
	var r *crashReq
	switch rng.IntN(3) {
	case 0:
		ref := fmt.Sprintf("tr-w%02d-%05d", w, n)
		i, j := pair(len(wd.transfers.ids[0]))
		h.Set("api-key", wd.apiKey)
		r = &crashReq{kind: "transfer", ref: ref, path: "/platform/ledger/transfers",
			body: fmt.Appendf(nil, `{"from":%q,"to":%q,"amount":"0.%02d","currency":"EUR","reference":%q}`, wd.transfers.ids[0][i], wd.transfers.ids[0][j], 1+rng.IntN(99), ref)}
	case 1:
		ref := fmt.Sprintf("mo-w%02d-%05d", w, n)
		body := motoBody(fmt.Sprintf("%d.%02d", 1+rng.IntN(99), rng.IntN(100)), ref)
		req, err := wd.moto.tenants[0].newRequest(context.Background(), "", body)
		if err != nil {
			panic(err) // a relative URL and a byte body cannot fail
		}
		r = &crashReq{kind: "moto", ref: ref, path: "/api/gateway/payment-jobs", body: body}
		h = req.Header
	default:
		ref := fmt.Sprintf("se-w%02d-%05d", w, n)
		i, j := pair(len(wd.wallet.names))
		h.Set("Authorization", "Bearer "+wd.wallet.sessions[i])
		r = &crashReq{kind: "send", ref: ref, path: "/wallet/app/v1/send",
			body: fmt.Appendf(nil, `{"to":%q,"amount":"0.%02d","description":%q}`, wd.wallet.names[j], 20+rng.IntN(80), ref)}
	}
	h.Set(platform.HeaderIdempotencyKey, r.ref)
	r.header = h
	return r
}

// crashEffects counts, by reference, what the crash test's writes booked:
// ledger entries of transfers, payment jobs (with those not paid), wallet
// sends.
func crashEffects(ctx context.Context, t *testing.T, db *store.DB) (count map[string]int, unpaid []string) {
	t.Helper()
	count = map[string]int{}
	for _, q := range []string{
		`SELECT reference, COUNT(*) FROM ledger_entries WHERE reference LIKE 'tr-w%' GROUP BY reference`,
		`SELECT order_number, COUNT(*) FROM gateway_jobs WHERE order_number LIKE 'mo-w%' GROUP BY order_number`,
		`SELECT description, COUNT(*) FROM wallet_transactions WHERE kind = 'send' AND description LIKE 'se-w%' GROUP BY description`,
	} {
		rows, err := db.Read().QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var ref string
			var n int
			if err := rows.Scan(&ref, &n); err != nil {
				t.Fatal(err)
			}
			count[ref] += n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	rows, err := db.Read().QueryContext(ctx, `SELECT order_number FROM gateway_jobs WHERE order_number LIKE 'mo-w%' AND status <> 'Paid'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var ref string
		if err := rows.Scan(&ref); err != nil {
			t.Fatal(err)
		}
		unpaid = append(unpaid, ref)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return count, unpaid
}

// TestCrashRecovery is issue 7 §1's crash test, on both engines: a child
// `cashgate serve` under concurrent load (ledger transfers, MOTO payments,
// wallet sends, each with its own Idempotency-Key and reference) is killed
// with SIGKILL at random points and restarted on the same database; then,
// past the idempotency lease, every request ever sent is retried with its
// key and body. It asserts:
//  1. no lost acknowledged write: every key first answered 2xx has its
//     effect in the database (before the retries);
//  2. no duplicate: no reference is booked twice, before or after the
//     retries;
//  3. no answer that differs: the retry of a key first answered 2xx gets
//     the same status and body byte for byte, marked Idempotent-Replayed;
//  4. no 409 on the final retries, and every retry answers 2xx (a replay
//     or a fresh run), so every key ends with exactly one effect;
//  5. the ledger's invariants hold.
func TestCrashRecovery(t *testing.T) {
	for i, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			crashRecovery(t, e.URL(t), uint64(7+i))
		})
	}
}

func crashRecovery(t *testing.T, dbURL string, seed uint64) {
	const (
		clients    = 16
		perRequest = 10 * time.Second
		lease      = 2 * time.Second // CASHGATE_IDEMPOTENCY_LEASE
	)
	began := time.Now()
	ctx := context.Background()
	vars := map[string]string{
		"CASHGATE_DATABASE_URL":      dbURL,
		"CASHGATE_DATA_DIR":          t.TempDir(),
		"CASHGATE_ADDR":              freeAddr(t),
		"CASHGATE_PEPPER":            "00112233445566778899aabbccddeeff",
		"CASHGATE_KEK":               "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		"CASHGATE_LOG_LEVEL":         "warn",
		"CASHGATE_PRODUCTION_RPM":    "1000000",
		"CASHGATE_IDEMPOTENCY_LEASE": lease.String(),
	}

	// The tenant and the wallet users, with operator rights in-process.
	wd := &crashWorld{transfers: &transfersScenario{n: 4, ids: make([][]string, 1)}, moto: &motoScenario{tenants: make([]motoTenant, 1)}, wallet: &sendsScenario{n: 2}}
	func() {
		a, err := testEnv(t, vars).open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		ten, err := a.Platform.CreateTenant(ctx, platform.TenantSpec{Name: "crash", Mode: platform.Production})
		if err != nil {
			t.Fatal(err)
		}
		wd.apiKey = ten.APIKey
		if err := wd.wallet.setupApp(ctx, a); err != nil {
			t.Fatal(err)
		}
	}()
	child := newCrashChild(t, vars)
	child.start()
	setup := &benchClient{base: child.base, key: wd.apiKey, http: &http.Client{Timeout: perRequest}}
	if err := wd.transfers.setup(ctx, setup); err != nil { // clearing + funded accounts
		t.Fatal(err)
	}
	if err := wd.moto.setup(ctx, setup); err != nil { // the gateway configuration
		t.Fatal(err)
	}

	setupTime := time.Since(began)

	// Load, with kills.
	httpc := &http.Client{Timeout: perRequest, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * clients}}
	var (
		mu    sync.Mutex
		reqs  []*crashReq
		quit  atomic.Bool
		wg    sync.WaitGroup
		loadT = time.Now()
	)
	defer quit.Store(true) // should the test stop early
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for n := 0; !quit.Load(); n++ {
				r := wd.newReq(rng, w, n)
				mu.Lock()
				reqs = append(reqs, r)
				mu.Unlock()
				for !quit.Load() {
					a, err := r.do(ctx, httpc, child.base)
					if errors.Is(err, errRefused) { // down: the request never reached it
						time.Sleep(20 * time.Millisecond)
						continue
					}
					r.first = a // nil when the connection broke: no answer
					break
				}
			}
		}(w)
	}
	krng := rand.New(rand.NewPCG(seed, 1<<32))
	kills := 3 + krng.IntN(3)
	for k := 0; k < kills; k++ {
		time.Sleep(time.Duration(200+krng.IntN(601)) * time.Millisecond)
		child.kill()
		child.start()
	}
	time.Sleep(time.Duration(200+krng.IntN(601)) * time.Millisecond)
	quit.Store(true)
	wg.Wait()
	loadTime := time.Since(loadT)

	// Past the lease of every claim a killed process left behind.
	time.Sleep(5 * time.Second)
	db, err := store.Open(ctx, dbURL, nil, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	before, unpaidBefore := crashEffects(ctx, t, db)

	// Retry every request ever sent, with its key and body.
	retryT := time.Now()
	next := atomic.Int64{}
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(len(reqs)); i = next.Add(1) - 1 {
				r := reqs[i]
				r.retry, _ = r.do(ctx, httpc, child.base)
			}
		}()
	}
	wg.Wait()
	retryTime := time.Since(retryT)
	after, unpaidAfter := crashEffects(ctx, t, db)

	// Tally.
	type tally struct {
		n        int
		examples []string
	}
	var (
		firstOK, firstNone, first5xx, first4xx                tally
		lost, dupBefore, dupAfter, missingAfter               tally
		differ, notReplayed, conflict, retryFailed, retryNone tally
		conflictCommitted                                     tally
	)
	add := func(c *tally, r *crashReq, format string, args ...any) {
		c.n++
		if len(c.examples) < 3 {
			c.examples = append(c.examples, r.ref+": "+fmt.Sprintf(format, args...))
		}
	}
	for _, r := range reqs {
		switch {
		case r.first == nil:
			add(&firstNone, r, "")
		case r.first.ok():
			add(&firstOK, r, "")
		case r.first.status >= 500:
			add(&first5xx, r, "%v", r.first)
		default:
			add(&first4xx, r, "%v", r.first)
		}
		if r.first.ok() && before[r.ref] == 0 {
			add(&lost, r, "first answer %v, nothing in the database", r.first)
		}
		if before[r.ref] > 1 {
			add(&dupBefore, r, "booked %d times", before[r.ref])
		}
		if after[r.ref] > 1 {
			add(&dupAfter, r, "booked %d times", after[r.ref])
		}
		if after[r.ref] == 0 {
			add(&missingAfter, r, "first %v, retry %v", r.first, r.retry)
		}
		switch {
		case r.retry == nil:
			add(&retryNone, r, "")
		case r.retry.status == http.StatusConflict:
			add(&conflict, r, "first %v, retry %v", r.first, r.retry)
			if before[r.ref] > 0 {
				add(&conflictCommitted, r, "first %v, booked %d times", r.first, before[r.ref])
			}
		case !r.retry.ok():
			add(&retryFailed, r, "first %v, retry %v", r.first, r.retry)
		}
		if r.first.ok() && r.retry != nil {
			if r.retry.status != r.first.status || !bytes.Equal(r.retry.body, r.first.body) {
				add(&differ, r, "first %v, retry %v", r.first, r.retry)
			} else if !r.retry.replayed {
				add(&notReplayed, r, "")
			}
		}
	}
	t.Logf("seed %d: %d kills in %v of load by %d clients (%v to start %d times); %d requests: first answers %d 2xx, %d 5xx, %d 4xx, %d none",
		seed, kills, loadTime.Round(time.Millisecond), clients, child.down.Round(time.Millisecond), child.starts, len(reqs), firstOK.n, first5xx.n, first4xx.n, firstNone.n)
	check := func(c tally, what string) {
		if c.n > 0 {
			t.Errorf("%s: %d (e.g. %s)", what, c.n, strings.Join(c.examples, "; "))
		}
	}
	check(lost, "(1) acknowledged writes lost")
	check(dupBefore, "(2) references booked more than once before the retries")
	check(dupAfter, "(2) references booked more than once after the retries")
	check(differ, "(3) retries answered differently from a 2xx first answer")
	check(notReplayed, "(3) retries answered the same but not marked Idempotent-Replayed")
	check(conflict, "(4) retries answered 409")
	check(conflictCommitted, "(4) … of which for writes that had committed (the client can never learn the outcome)")
	check(retryFailed, "(4) retries answered neither 2xx nor 409")
	check(retryNone, "(4) retries without an answer")
	check(missingAfter, "(4) keys without an effect after their retry")
	check(first4xx, "first answers 4xx (the load's requests are all valid)")
	sort.Strings(unpaidAfter)
	if len(unpaidBefore)+len(unpaidAfter) > 0 {
		t.Errorf("MOTO payment jobs not paid: %d before the retries, %d after (e.g. %v)", len(unpaidBefore), len(unpaidAfter), unpaidAfter[:min(3, len(unpaidAfter))])
	}
	if err := ledger.CheckInvariants(ctx, db.Read()); err != nil {
		t.Errorf("(5) %v", err)
	}
	t.Logf("runtime %v: setup %v, load %v, wait 5s, %d retries %v", time.Since(began).Round(time.Millisecond),
		setupTime.Round(time.Millisecond), loadTime.Round(time.Millisecond), len(reqs), retryTime.Round(time.Millisecond))
}
