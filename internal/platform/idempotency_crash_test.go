package platform_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

func bookings(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM settings WHERE name LIKE 'book-%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestIdempotentAnswerCommitsWithTheEffects: a write's answer is stored in
// the transaction of its effects, so whatever happens after the commit — the
// process dies, a later read fails — the retry replays that answer and the
// effect happens once. (Before, the answer was stored in a third
// transaction: a failure after the commit released the key and the retry
// booked a second time.)
func TestIdempotentAnswerCommitsWithTheEffects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		cfg := testConfig()
		cfg.IdempotencyKEK = bytes.Repeat([]byte{7}, 32)
		e := newEnv(t, db, cfg)
		a := e.tenant(platform.Production, "")

		// The process "dies" (the handler panics) right after the commit.
		req, _ := http.NewRequest("POST", e.srv.URL+"/remote/book?after=panic", strings.NewReader(`"abc"`))
		req.Header.Set("api-key", a.APIKey)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "crash-1")
		if res, err := e.srv.Client().Do(req); err == nil {
			res.Body.Close()
			t.Fatalf("the dying request was answered %d", res.StatusCode)
		}
		retry := e.do("POST", "/remote/book?after=panic", `"abc"`, apiKey(a.APIKey), idem("crash-1"))
		if retry.status != 201 || retry.header.Get("Idempotent-Replayed") != "true" || !strings.Contains(retry.body, `"booking":1`) {
			t.Fatalf("retry after the crash: %d %v %s", retry.status, retry.header, retry.body)
		}
		if n := bookings(t, db); n != 1 {
			t.Fatalf("%d bookings, want 1", n)
		}

		// A failure after the commit answers the committed result, not 500,
		// and the replay is byte for byte.
		first := e.do("POST", "/remote/book?after=error", `"def"`, apiKey(a.APIKey), idem("late-error"))
		if first.status != 201 || !strings.Contains(first.body, `"booking":2`) {
			t.Fatalf("first: %d %s", first.status, first.body)
		}
		again := e.do("POST", "/remote/book?after=error", `"def"`, apiKey(a.APIKey), idem("late-error"))
		if again.status != 201 || again.body != first.body {
			t.Fatalf("replay %d %q, first %q", again.status, again.body, first.body)
		}
		if n := bookings(t, db); n != 2 {
			t.Fatalf("%d bookings, want 2", n)
		}

		// The stored answers carry a secret: they are sealed, not plaintext.
		rows, err := db.Read().QueryContext(context.Background(), `SELECT response_body, sealed FROM idempotency_keys`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var body []byte
			var sealed bool
			if err := rows.Scan(&body, &sealed); err != nil {
				t.Fatal(err)
			}
			if !sealed || bytes.Contains(body, []byte("sk_live_")) {
				t.Fatalf("stored answer in plaintext (sealed=%v): %q", sealed, body)
			}
		}
	})
}

// TestIdempotencyLeaseFreesACrashedClaim: a claim left by a process that
// died holds its key only for the lease; then a retry runs afresh (nothing of
// the first attempt committed) instead of 409 for 24 hours.
func TestIdempotencyLeaseFreesACrashedClaim(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		cfg := testConfig()
		cfg.IdempotencyWait = 50 * time.Millisecond
		cfg.IdempotencyLease = 3 * time.Second
		e := newEnv(t, db, cfg)
		a := e.tenant(platform.Production, "")
		// A request claimed the key, then its process died before committing.
		now := e.clk.Now().UnixMicro()
		if err := db.Transact(context.Background(), func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (tenant_id, key, method, path, request_hash, state, created_at, expires_at, claim_token, lease_until)
				VALUES ($1, 'k-dead', 'POST', '/remote/book', $2, 'in_progress', $3, $4, 'dead-process', $5)`,
				a.TenantID, platform.RequestHashForTest("POST", "/remote/book", []byte(`"x"`)), now, now+int64(24*time.Hour/time.Microsecond), now+int64(3*time.Second/time.Microsecond))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		// Within the lease: still in flight.
		if r := e.do("POST", "/remote/book", `"x"`, apiKey(a.APIKey), idem("k-dead")); r.status != 409 {
			t.Fatalf("within the lease: %d %s", r.status, r.body)
		}
		e.clk.Advance(3 * time.Second)
		r := e.do("POST", "/remote/book", `"x"`, apiKey(a.APIKey), idem("k-dead"))
		if r.status != 201 || r.header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("after the lease: %d %v %s", r.status, r.header, r.body)
		}
		again := e.do("POST", "/remote/book", `"x"`, apiKey(a.APIKey), idem("k-dead"))
		if again.status != 201 || again.body != r.body || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %d %s", again.status, again.body)
		}
		if n := bookings(t, db); n != 1 {
			t.Fatalf("%d bookings, want 1", n)
		}
	})
}

// TestIdempotencyLostClaimRollsBack: a request whose claim was taken over by
// a retry (it outlived its lease) cannot commit: storing its answer fails,
// which rolls its effects back, so the key never gets two effects.
func TestIdempotencyLostClaimRollsBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		a := e.tenant(platform.Production, "")
		r := e.do("POST", "/remote/book?steal=1", `"late"`, apiKey(a.APIKey), idem("overran"))
		if r.status != 409 {
			t.Fatalf("a request that lost its claim: %d %s", r.status, r.body)
		}
		if n := bookings(t, db); n != 0 {
			t.Fatalf("%d bookings committed by a request that lost its claim, want 0", n)
		}
	})
}

// TestIdempotencyClientGoneIsNotStored: a request whose client went away
// (499) stores nothing: the retry runs instead of replaying a 499.
func TestIdempotencyClientGoneIsNotStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		a := e.tenant(platform.Production, "")
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/remote/hang-once", strings.NewReader(`{}`))
		req.Header.Set("api-key", a.APIKey)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "gone")
		if res, err := e.srv.Client().Do(req); err == nil {
			res.Body.Close()
			t.Fatalf("the abandoned request was answered %d", res.StatusCode)
		}
		r := e.do("POST", "/remote/hang-once", `{}`, apiKey(a.APIKey), idem("gone"))
		if r.status != 201 || r.header.Get("Idempotent-Replayed") != "" || e.hangs.Load() != 2 {
			t.Fatalf("retry after the client went away: %d %v %s (calls %d)", r.status, r.header, r.body, e.hangs.Load())
		}
	})
}

// TestWriteContractIsChecked: a write that commits but answers after its
// transaction (not through httpx.Reply) fails under StrictWriteContract (as
// every test runs), with or without an Idempotency-Key, and its answer is
// not stored; without strictness it is answered and logged.
func TestWriteContractIsChecked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, testConfig())
		a := e.tenant(platform.Production, "")
		if r := e.do("POST", "/remote/book?reply=none", `"a"`, apiKey(a.APIKey)); r.status != 500 {
			t.Fatalf("without a key: %d %s, want 500", r.status, r.body)
		}
		if r := e.do("POST", "/remote/book?reply=none", `"b"`, apiKey(a.APIKey), idem("k1")); r.status != 500 {
			t.Fatalf("with a key: %d %s, want 500", r.status, r.body)
		}
		var stored int
		if err := db.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM idempotency_keys`).Scan(&stored); err != nil || stored != 0 {
			t.Fatalf("%d answers stored (%v), want none", stored, err)
		}
		if r := e.do("POST", "/remote/book", `"c"`, apiKey(a.APIKey), idem("k2")); r.status != 201 {
			t.Fatalf("under the contract: %d %s", r.status, r.body)
		}

		cfg := testConfig()
		cfg.StrictWriteContract = false
		lax := newEnv(t, db, cfg)
		lax.orders.Store(100) // its bookings must not collide with the first env's
		b := lax.tenant(platform.Production, "")
		if r := lax.do("POST", "/remote/book?reply=none", `"d"`, apiKey(b.APIKey)); r.status != 201 {
			t.Fatalf("not strict: %d %s, want the handler's 201", r.status, r.body)
		}
	})
}
