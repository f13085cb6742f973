package outbox

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// crashedAttempt is what a worker that dies mid-delivery leaves behind: it
// claims the delivery job under its own lease, records the attempt in
// flight (as deliver does, before dialling), optionally sends the request,
// and stops there — no outcome, no job result.
func crashedAttempt(t *testing.T, e *env, tenant string, send bool) Job {
	t.Helper()
	ctx := context.Background()
	crashed := NewRunner(e.db, e.clk, testLog(), RunnerOptions{WorkerID: "crashed", Lease: time.Hour})
	e.wh.Register(crashed)
	jobs, err := crashed.claim(ctx, 10, e.clk.Now())
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v %v", jobs, err)
	}
	job := jobs[0]
	d := e.onlyDelivery(t, tenant)
	at := e.wh.ob.now()
	if _, err := e.wh.beginAttempt(ctx, job, d.Delivery, false, at); err != nil {
		t.Fatal(err)
	}
	if send {
		ep, err := e.wh.endpoint(ctx, e.db.Read(), tenant, d.EndpointID, "")
		if err != nil {
			t.Fatal(err)
		}
		ev, err := e.ob.GetEvent(ctx, tenant, d.EventID)
		if err != nil {
			t.Fatal(err)
		}
		body, ctype, err := e.wh.renderer(ev.Type)(ev)
		if err != nil {
			t.Fatal(err)
		}
		if res := e.wh.post(ctx, d.Delivery, &ep, body, ctype, at); res.err != nil || res.status != http.StatusOK {
			t.Fatalf("the crashed worker's request: %+v", res)
		}
	}
	return job
}

// TestWebhookCrashInFlight: a worker dies with an attempt in flight. The
// log shows the attempt at once (not "pending, 0 attempts"); once the
// delivery job's lease (WebhookOptions.Lease, not the runner's 5 minutes)
// runs out, the next claim marks it interrupted and attempts again: two
// attempts counted and logged, and the receiver gets the delivery again
// (at-least-once) when the first request had reached it.
func TestWebhookCrashInFlight(t *testing.T) {
	const lease = 15 * time.Second
	for _, c := range []struct {
		name     string
		sent     bool // the crashed worker's request reached the receiver
		wantHits int
	}{
		{"crash after sending", true, 2},
		{"crash before sending", false, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true, Timeout: 5 * time.Second, Lease: lease})
				rc := newReceiver(t, e, func(int, []byte) (int, string) { return 200, "ok" })
				e.endpoint(t, "ten_a", rc.srv.URL)
				e.emit(t, "ten_a", "payment.status_changed", nil)
				crashedAttempt(t, e, "ten_a", c.sent)

				// While the dead worker's lease lasts: the attempt is logged, in flight.
				d := e.onlyDelivery(t, "ten_a")
				if d.State != DeliveryPending || d.Attempts != 1 || len(d.AttemptLog) != 1 || d.AttemptLog[0].State != AttemptInFlight {
					t.Fatalf("during the crash: %+v, log %+v", d.Delivery, d.AttemptLog)
				}
				e.clk.Advance(lease - time.Second)
				if n := e.runDue(t); n != 0 {
					t.Fatalf("ran %d jobs while the claim was live", n)
				}

				e.clk.Advance(time.Second)
				if n := e.runDue(t); n != 1 {
					t.Fatalf("after the lease ran %d jobs, want the delivery", n)
				}
				d = e.onlyDelivery(t, "ten_a")
				if d.State != DeliverySucceeded || d.Attempts != 2 || len(d.AttemptLog) != 2 {
					t.Fatalf("after the recovery: %+v, log %+v", d.Delivery, d.AttemptLog)
				}
				first, second := d.AttemptLog[0], d.AttemptLog[1]
				if first.Attempt != 1 || first.State != AttemptInterrupted || first.Error != interruptedError || first.Acknowledged {
					t.Fatalf("interrupted attempt: %+v", first)
				}
				if second.Attempt != 2 || second.State != AttemptCompleted || !second.Acknowledged || second.StatusCode != 200 {
					t.Fatalf("new attempt: %+v", second)
				}
				hits := rc.got()
				if len(hits) != c.wantHits {
					t.Fatalf("receiver got %d requests, want %d", len(hits), c.wantHits)
				}
				for _, h := range hits {
					if h.header.Get("webhook-id") != d.ID {
						t.Fatalf("webhook-id %q, want the delivery id %s on every attempt", h.header.Get("webhook-id"), d.ID)
					}
				}
				// The log never under-reports what the receiver got.
				if len(hits) > len(d.AttemptLog) {
					t.Fatalf("receiver got %d requests, the log has %d attempts", len(hits), len(d.AttemptLog))
				}
				if n := e.runDue(t); n != 0 {
					t.Fatalf("ran %d jobs after success", n)
				}
			})
		})
	}
}

// TestWebhookLateWorkerNeverSends: a worker that outlived its lease (it
// was claimed again and delivered meanwhile) must not make an attempt: its
// claim is fenced before it records or sends anything.
func TestWebhookLateWorkerNeverSends(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		ctx := context.Background()
		rc := newReceiver(t, e, func(int, []byte) (int, string) { return 200, "ok" })
		e.endpoint(t, "ten_a", rc.srv.URL)
		e.emit(t, "ten_a", "payment.status_changed", nil)
		late := NewRunner(db, e.clk, testLog(), RunnerOptions{WorkerID: "late"})
		e.wh.Register(late)
		jobs, err := late.claim(ctx, 10, e.clk.Now())
		if err != nil || len(jobs) != 1 {
			t.Fatalf("claim: %v %v", jobs, err)
		}
		e.clk.Advance(e.wh.opt.Lease)
		if n := e.runDue(t); n != 1 {
			t.Fatalf("reclaim ran %d", n)
		}
		// The late worker now runs its handler, as if it had been stalled.
		if err := e.wh.deliver(ctx, jobs[0]); err != nil {
			t.Fatal(err)
		}
		d := e.onlyDelivery(t, "ten_a")
		if got := len(rc.got()); got != 1 || d.Attempts != 1 || len(d.AttemptLog) != 1 || d.AttemptLog[0].State != AttemptCompleted {
			t.Fatalf("receiver got %d, delivery %+v, log %+v", got, d.Delivery, d.AttemptLog)
		}
	})
}

// TestWebhookAttemptNumbersUnique: concurrent attempts of one delivery (the
// scheduled one and manual resends, run at once) each get their own
// attempt number, and there is exactly one logged attempt per request the
// receiver got: never two requests for one attempt number, never a request
// the log misses.
func TestWebhookAttemptNumbersUnique(t *testing.T) {
	const resends = 7
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		ctx := context.Background()
		rc := newReceiver(t, e, func(int, []byte) (int, string) { return 500, "no" })
		e.endpoint(t, "ten_a", rc.srv.URL)
		e.emit(t, "ten_a", "payment.status_changed", nil)
		id := e.onlyDelivery(t, "ten_a").ID
		for range resends {
			if _, err := e.wh.Resend(ctx, "ten_a", id); err != nil {
				t.Fatal(err)
			}
		}
		if n := e.runDue(t); n != resends+1 {
			t.Fatalf("ran %d jobs, want %d", n, resends+1)
		}
		d := e.onlyDelivery(t, "ten_a")
		hits := len(rc.got())
		if hits != resends+1 || d.Attempts != hits || len(d.AttemptLog) != hits {
			t.Fatalf("receiver got %d requests; delivery counts %d attempts, logs %d", hits, d.Attempts, len(d.AttemptLog))
		}
		manual := 0
		for i, a := range d.AttemptLog {
			if a.Attempt != i+1 || a.State != AttemptCompleted || a.StatusCode != 500 {
				t.Fatalf("attempt %d: %+v", i+1, a)
			}
			if a.Manual {
				manual++
			}
		}
		if manual != resends {
			t.Fatalf("%d manual attempts logged, want %d", manual, resends)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM webhook_attempts WHERE delivery_id = $1 AND state = 'in_flight'`, id); n != 0 {
			t.Fatalf("%d attempts left in flight", n)
		}
	})
}

// TestWebhookLease: delivery jobs are claimed for WebhookOptions.Lease
// (default Timeout + 30s), other jobs for the runner's lease; a lease
// shorter than the request timeout is refused.
func TestWebhookLease(t *testing.T) {
	for _, c := range []struct {
		name      string
		opt       WebhookOptions
		wantLease time.Duration
		wantErr   bool
	}{
		{"default", WebhookOptions{}, 10*time.Second + DefaultLeaseMargin, false},
		{"from the timeout", WebhookOptions{Timeout: 2 * time.Second}, 2*time.Second + DefaultLeaseMargin, false},
		{"configured", WebhookOptions{Lease: 3 * time.Minute}, 3 * time.Minute, false},
		{"shorter than the timeout", WebhookOptions{Timeout: time.Minute, Lease: 30 * time.Second}, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				if c.wantErr {
					e := newEnv(t, db, WebhookOptions{})
					c.opt.Cipher = e.wh.opt.Cipher
					if _, err := NewWebhooks(e.ob, nil, c.opt); err == nil {
						t.Fatal("accepted")
					}
					return
				}
				c.opt.AllowPrivateTargets = true
				e := newEnv(t, db, c.opt)
				ctx := context.Background()
				e.run.Handle("work", func(context.Context, Job) error { return nil })
				e.endpoint(t, "ten_a", "http://127.0.0.1:1/hook")
				e.emit(t, "ten_a", "payment.status_changed", nil)
				if _, _, err := e.ob.Enqueue(ctx, nil, JobSpec{Kind: "work"}); err != nil {
					t.Fatal(err)
				}
				jobs, err := e.run.claim(ctx, 10, e.clk.Now())
				if err != nil || len(jobs) != 2 {
					t.Fatalf("claim: %v %v", jobs, err)
				}
				for _, j := range jobs {
					want := c.wantLease
					if j.Kind == "work" {
						want = time.Minute // the runner's
					}
					var until int64
					if err := db.Read().QueryRowContext(ctx, `SELECT locked_until FROM jobs WHERE id = $1`, j.ID).Scan(&until); err != nil {
						t.Fatal(err)
					}
					if got := fromMicros(until).Sub(e.clk.Now()); got != want || !j.lockedUntil.Equal(fromMicros(until)) {
						t.Fatalf("%s job claimed for %v (job says %v), want %v", j.Kind, got, j.lockedUntil, want)
					}
				}
			})
		})
	}
}

// TestWebhookLiveAttemptNotInterrupted: an attempt in flight under a live
// claim (a manual resend running on another worker) is left alone by the
// delivery's other jobs; it is marked interrupted only once its claim has
// run out, by the next claim of its job.
func TestWebhookLiveAttemptNotInterrupted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		ctx := context.Background()
		rc := newReceiver(t, e, func(int, []byte) (int, string) { return 500, "no" })
		e.endpoint(t, "ten_a", rc.srv.URL)
		e.emit(t, "ten_a", "payment.status_changed", nil)
		d := e.onlyDelivery(t, "ten_a")
		if _, err := e.wh.Resend(ctx, "ten_a", d.ID); err != nil {
			t.Fatal(err)
		}
		// Another worker claims one of the two jobs and is mid-attempt.
		other := NewRunner(db, e.clk, testLog(), RunnerOptions{WorkerID: "other"})
		e.wh.Register(other)
		jobs, err := other.claim(ctx, 1, e.clk.Now())
		if err != nil || len(jobs) != 1 {
			t.Fatalf("claim: %v %v", jobs, err)
		}
		if _, err := e.wh.beginAttempt(ctx, jobs[0], d.Delivery, false, e.wh.ob.now()); err != nil {
			t.Fatal(err)
		}
		if n := e.runDue(t); n != 1 {
			t.Fatalf("ran %d jobs, want the other one", n)
		}
		states := func() []AttemptState {
			var out []AttemptState
			for _, a := range e.onlyDelivery(t, "ten_a").AttemptLog {
				out = append(out, a.State)
			}
			return out
		}
		if got := states(); len(got) != 2 || got[0] != AttemptInFlight || got[1] != AttemptCompleted {
			t.Fatalf("with a live claim in flight: %v", got)
		}
		e.clk.Advance(e.wh.opt.Lease)
		if n := e.runDue(t); n < 1 {
			t.Fatalf("after the lease ran %d jobs", n)
		}
		got := states()
		if len(got) < 3 || got[0] != AttemptInterrupted {
			t.Fatalf("after the claim ran out: %v", got)
		}
		for _, s := range got[1:] {
			if s != AttemptCompleted {
				t.Fatalf("after the claim ran out: %v", got)
			}
		}
		if dd := e.onlyDelivery(t, "ten_a"); dd.Attempts != len(got) || len(rc.got()) != len(got)-1 {
			t.Fatalf("%d attempts counted, %d logged, receiver got %d", dd.Attempts, len(got), len(rc.got()))
		}
	})
}
