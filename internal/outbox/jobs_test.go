package outbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

func TestDefaultBackoff(t *testing.T) {
	for _, c := range []struct {
		attempt int
		want    time.Duration
	}{{1, 10 * time.Second}, {2, 20 * time.Second}, {3, 40 * time.Second}, {9, 2560 * time.Second}, {10, time.Hour}, {50, time.Hour}} {
		if got := DefaultBackoff(c.attempt); got != c.want {
			t.Errorf("DefaultBackoff(%d) = %v, want %v", c.attempt, got, c.want)
		}
	}
}

func TestEnqueueValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		ctx := context.Background()
		for _, c := range []struct {
			name string
			spec JobSpec
		}{
			{"no kind", JobSpec{Payload: map[string]int{"a": 1}}},
			{"bad raw payload", JobSpec{Kind: "k", Payload: []byte("{nope")}},
			{"unencodable payload", JobSpec{Kind: "k", Payload: func() {}}},
			{"negative max attempts", JobSpec{Kind: "k", MaxAttempts: -1}},
		} {
			if _, _, err := e.ob.Enqueue(ctx, nil, c.spec); !apperr.Is(err, apperr.Invalid) {
				t.Errorf("%s: err = %v, want Invalid", c.name, err)
			}
		}
		if n := count(t, db, "SELECT COUNT(*) FROM jobs"); n != 0 {
			t.Fatalf("jobs = %d after refused enqueues", n)
		}
	})
}

func TestEnqueueUniqueKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		ctx := context.Background()
		spec := JobSpec{Kind: "settle", TenantID: "ten_a", UniqueKey: "settlement:ten_a:2026-11-21", RunAt: t0.Add(14 * time.Hour)}
		id1, created, err := e.ob.Enqueue(ctx, nil, spec)
		if err != nil || !created {
			t.Fatalf("first enqueue: %v created=%v", err, created)
		}
		// Same key inside a caller's transaction that also writes other rows:
		// the duplicate must not abort the transaction (PostgreSQL would).
		err = db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			id2, created, err := e.ob.Enqueue(ctx, tx, spec)
			if err != nil {
				return err
			}
			if created || id2 != id1 {
				return fmt.Errorf("duplicate enqueue: id %s created %v, want %s false", id2, created, id1)
			}
			_, _, err = e.ob.Enqueue(ctx, tx, JobSpec{Kind: "other"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM jobs WHERE kind = 'settle'"); n != 1 {
			t.Fatalf("settle jobs = %d, want 1", n)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM jobs WHERE kind = 'other'"); n != 1 {
			t.Fatalf("other jobs = %d, want 1 (transaction lost)", n)
		}
		// Still deduplicated after the job ran.
		ran := 0
		e.run.Handle("settle", func(ctx context.Context, j Job) error { ran++; return nil })
		e.clk.Set(spec.RunAt)
		e.runDue(t)
		if ran != 1 {
			t.Fatalf("settle ran %d times", ran)
		}
		if _, created, err := e.ob.Enqueue(ctx, nil, spec); err != nil || created {
			t.Fatalf("enqueue after done: created=%v err=%v", created, err)
		}
		// Jobs without a key are never deduplicated.
		for range 2 {
			if _, created, err := e.ob.Enqueue(ctx, nil, JobSpec{Kind: "plain"}); err != nil || !created {
				t.Fatalf("plain enqueue: created=%v err=%v", created, err)
			}
		}
	})
}

func TestRunnerRetryBackoffAndDead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		ctx := context.Background()
		var calls atomic.Int32
		e.run.Handle("flaky", func(ctx context.Context, j Job) error {
			n := calls.Add(1)
			if int(n) != j.Attempt {
				return Permanent(fmt.Errorf("attempt %d on call %d", j.Attempt, n))
			}
			if n < 3 {
				return errors.New("upstream down")
			}
			return nil
		})
		id, _, err := e.ob.Enqueue(ctx, nil, JobSpec{Kind: "flaky", Payload: map[string]string{"x": "y"}})
		if err != nil {
			t.Fatal(err)
		}
		if n := e.runDue(t); n != 1 {
			t.Fatalf("first RunDue ran %d", n)
		}
		j, _ := e.ob.GetJob(ctx, id)
		if j.State != JobReady || j.Attempt != 1 || j.LastError != "upstream down" || !j.RunAt.Equal(t0.Add(10*time.Second)) {
			t.Fatalf("after failure 1: %+v", j)
		}
		e.clk.Advance(9 * time.Second)
		if n := e.runDue(t); n != 0 {
			t.Fatalf("ran %d before the backoff elapsed", n)
		}
		e.clk.Advance(time.Second)
		e.runDue(t)
		j, _ = e.ob.GetJob(ctx, id)
		if j.State != JobReady || j.Attempt != 2 || !j.RunAt.Equal(t0.Add(30*time.Second)) {
			t.Fatalf("after failure 2: %+v (want run at +30s: 10s then 20s)", j)
		}
		e.clk.Advance(20 * time.Second)
		e.runDue(t)
		j, _ = e.ob.GetJob(ctx, id)
		if j.State != JobDone || j.Attempt != 3 || calls.Load() != 3 {
			t.Fatalf("after success: %+v calls %d", j, calls.Load())
		}

		// Always failing with MaxAttempts 2: dead after the second attempt.
		e.run.Handle("broken", func(ctx context.Context, j Job) error { return fmt.Errorf("broken %d", j.Attempt) })
		id, _, _ = e.ob.Enqueue(ctx, nil, JobSpec{Kind: "broken", MaxAttempts: 2})
		e.runDue(t)
		e.clk.Advance(time.Hour)
		e.runDue(t)
		e.clk.Advance(time.Hour)
		if n := e.runDue(t); n != 0 {
			t.Fatalf("dead job ran again")
		}
		j, _ = e.ob.GetJob(ctx, id)
		if j.State != JobDead || j.Attempt != 2 || j.LastError != "broken 2" {
			t.Fatalf("broken job: %+v", j)
		}
	})
}

func TestRunnerPermanentAndPanic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		ctx := context.Background()
		e.run.Handle("perm", func(ctx context.Context, j Job) error { return Permanent(errors.New("bad payload")) })
		e.run.Handle("panic", func(ctx context.Context, j Job) error { panic("boom") })
		perm, _, _ := e.ob.Enqueue(ctx, nil, JobSpec{Kind: "perm"})
		pan, _, _ := e.ob.Enqueue(ctx, nil, JobSpec{Kind: "panic", MaxAttempts: 1})
		if n := e.runDue(t); n != 2 {
			t.Fatalf("ran %d", n)
		}
		if j, _ := e.ob.GetJob(ctx, perm); j.State != JobFailed || j.LastError != "bad payload" {
			t.Fatalf("permanent: %+v", j)
		}
		if j, _ := e.ob.GetJob(ctx, pan); j.State != JobDead || j.LastError != "handler panicked: boom" {
			t.Fatalf("panic: %+v", j)
		}
		if _, err := e.ob.GetJob(ctx, "job_nope"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("missing job: %v", err)
		}
	})
}

func TestRunnerRetryAt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		ctx := context.Background()
		var runs []time.Time
		e.run.Handle("poll", func(ctx context.Context, j Job) error {
			runs = append(runs, e.clk.Now())
			switch len(runs) {
			case 1:
				return RetryAt(e.clk.Now().Add(time.Hour))
			case 2:
				// A time in the past is clamped: not run again in this call.
				return &Retry{At: e.clk.Now().Add(-time.Minute), Reason: errors.New("not yet")}
			}
			return nil
		})
		id, _, _ := e.ob.Enqueue(ctx, nil, JobSpec{Kind: "poll", MaxAttempts: 1})
		e.runDue(t)
		j, _ := e.ob.GetJob(ctx, id)
		if j.State != JobReady || !j.RunAt.Equal(t0.Add(time.Hour)) || j.Attempt != 0 {
			t.Fatalf("after RetryAt: %+v (RetryAt resets attempts, so MaxAttempts 1 does not kill it)", j)
		}
		e.clk.Advance(59 * time.Minute)
		if n := e.runDue(t); n != 0 {
			t.Fatalf("ran %d before RetryAt time", n)
		}
		e.clk.Advance(time.Minute)
		if n := e.runDue(t); n != 1 {
			t.Fatalf("ran %d at RetryAt time", n)
		}
		j, _ = e.ob.GetJob(ctx, id)
		if j.State != JobReady || j.LastError != "not yet" {
			t.Fatalf("after past RetryAt: %+v", j)
		}
		e.clk.Advance(time.Second)
		e.runDue(t)
		j, _ = e.ob.GetJob(ctx, id)
		if j.State != JobDone || len(runs) != 3 || !runs[1].Equal(t0.Add(time.Hour)) {
			t.Fatalf("final: %+v runs %v", j, runs)
		}
	})
}

func TestRunDueRunsFollowUpJobsDueNow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		ctx := context.Background()
		var second atomic.Int32
		e.run.Handle("first", func(ctx context.Context, j Job) error {
			_, _, err := e.ob.Enqueue(ctx, nil, JobSpec{Kind: "second"})
			return err
		})
		e.run.Handle("second", func(ctx context.Context, j Job) error { second.Add(1); return nil })
		if _, _, err := e.ob.Enqueue(ctx, nil, JobSpec{Kind: "first"}); err != nil {
			t.Fatal(err)
		}
		if n := e.runDue(t); n != 2 || second.Load() != 1 {
			t.Fatalf("ran %d, second %d", n, second.Load())
		}
		// A Runner only claims kinds it handles.
		if _, _, err := e.ob.Enqueue(ctx, nil, JobSpec{Kind: "unhandled"}); err != nil {
			t.Fatal(err)
		}
		if n := e.runDue(t); n != 0 {
			t.Fatalf("claimed an unhandled kind")
		}
	})
}

// TestRunnerLeaseExpiryReclaim: a worker claims a job and dies; once the
// lease expires another worker runs it, and the first worker's late result
// is dropped.
func TestRunnerLeaseExpiryReclaim(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		ctx := context.Background()
		crashed := NewRunner(db, e.clk, testLog(), RunnerOptions{WorkerID: "crashed", Lease: time.Minute})
		crashed.Handle("work", func(ctx context.Context, j Job) error { return nil })
		var ran atomic.Int32
		e.run.Handle("work", func(ctx context.Context, j Job) error { ran.Add(1); return nil })
		id, _, _ := e.ob.Enqueue(ctx, nil, JobSpec{Kind: "work", MaxAttempts: 2})
		jobs, err := crashed.claim(ctx, 10, e.clk.Now())
		if err != nil || len(jobs) != 1 {
			t.Fatalf("claim: %v %v", jobs, err)
		}
		j, _ := e.ob.GetJob(ctx, id)
		if j.State != JobRunning || j.Attempt != 1 {
			t.Fatalf("claimed: %+v", j)
		}
		e.clk.Advance(59 * time.Second)
		if n := e.runDue(t); n != 0 {
			t.Fatalf("reclaimed a job with a live lease")
		}
		e.clk.Advance(time.Second)
		if n := e.runDue(t); n != 1 || ran.Load() != 1 {
			t.Fatalf("after lease expiry ran %d (handler %d)", n, ran.Load())
		}
		j, _ = e.ob.GetJob(ctx, id)
		if j.State != JobDone || j.Attempt != 2 {
			t.Fatalf("after reclaim: %+v", j)
		}
		// The crashed worker wakes up and reports failure: ignored.
		crashed.finish(ctx, jobs[0], errors.New("late"), 0)
		if j2, _ := e.ob.GetJob(ctx, id); j2.State != JobDone || j2.LastError != "" {
			t.Fatalf("late result was recorded: %+v", j2)
		}

		// A job whose last allowed attempt's worker died is dead, not rerun.
		id, _, _ = e.ob.Enqueue(ctx, nil, JobSpec{Kind: "work", MaxAttempts: 1})
		if jobs, _ := crashed.claim(ctx, 10, e.clk.Now()); len(jobs) != 1 {
			t.Fatalf("claim: %v", jobs)
		}
		e.clk.Advance(2 * time.Minute)
		if n := e.runDue(t); n != 0 {
			t.Fatalf("ran a job past its attempts")
		}
		if j, _ := e.ob.GetJob(ctx, id); j.State != JobDead || j.LastError != leaseExpired {
			t.Fatalf("expired last attempt: %+v", j)
		}
	})
}

// TestRunnersExactlyOnce: four Runners on four separate opens of one
// database (as four server processes) run 500 jobs, each exactly once.
func TestRunnersExactlyOnce(t *testing.T) {
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			ctx := context.Background()
			url := eng.URL(t)
			var dbs []*store.DB
			for range 4 {
				db, err := store.Open(ctx, url, nil, store.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				dbs = append(dbs, db)
			}
			if _, err := dbs[0].Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			clk := clock.Real{}
			ob := New(dbs[0], clk, ids.New(nil))
			const jobs = 500
			err := dbs[0].Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
				for i := range jobs {
					if _, _, err := ob.Enqueue(ctx, tx, JobSpec{Kind: "count", Payload: map[string]int{"i": i}}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			runs := map[string]int{}
			byWorker := map[string]int{}
			var done atomic.Int32
			allDone := make(chan struct{})
			rctx, cancel := context.WithCancel(ctx)
			var wg sync.WaitGroup
			for i, db := range dbs {
				r := NewRunner(db, clk, testLog(), RunnerOptions{
					WorkerID: fmt.Sprintf("proc-%d", i), Concurrency: 4, PollInterval: 5 * time.Millisecond, Lease: time.Minute})
				r.Handle("count", func(ctx context.Context, j Job) error {
					mu.Lock()
					runs[j.ID]++
					byWorker[r.WorkerID()]++
					mu.Unlock()
					if done.Add(1) == jobs {
						close(allDone)
					}
					return nil
				})
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := r.Run(rctx); err != nil {
						t.Error(err)
					}
				}()
			}
			select {
			case <-allDone:
			case <-time.After(2 * time.Minute):
				t.Error("timed out waiting for the jobs")
			}
			cancel()
			wg.Wait()
			if len(runs) != jobs {
				t.Fatalf("%d distinct jobs ran, want %d", len(runs), jobs)
			}
			for id, n := range runs {
				if n != 1 {
					t.Errorf("job %s ran %d times", id, n)
				}
			}
			if n := count(t, dbs[0], "SELECT COUNT(*) FROM jobs WHERE state = 'done' AND attempts = 1"); n != jobs {
				t.Fatalf("done jobs with one attempt = %d, want %d", n, jobs)
			}
			t.Logf("jobs per worker: %v", byWorker)
		})
	}
}

// TestRunGracefulStop: cancelling Run's context stops claiming, but Run
// returns only after the in-flight handler finished and its result is saved.
func TestRunGracefulStop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ob := New(db, clock.Real{}, ids.New(nil))
		r := NewRunner(db, clock.Real{}, testLog(), RunnerOptions{PollInterval: 5 * time.Millisecond})
		started, release := make(chan struct{}), make(chan struct{})
		var handlerCtxErr error
		r.Handle("slow", func(hctx context.Context, j Job) error {
			close(started)
			<-release
			handlerCtxErr = hctx.Err()
			return nil
		})
		r.Handle("later", func(context.Context, Job) error { t.Error("claimed a job after the stop"); return nil })
		id, _, _ := ob.Enqueue(ctx, nil, JobSpec{Kind: "slow"})
		rctx, cancel := context.WithCancel(ctx)
		stopped := make(chan error, 1)
		go func() { stopped <- r.Run(rctx) }()
		<-started
		cancel()
		if _, _, err := ob.Enqueue(ctx, nil, JobSpec{Kind: "later"}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-stopped:
			t.Fatal("Run returned while a handler was in flight")
		case <-time.After(100 * time.Millisecond):
		}
		close(release)
		select {
		case err := <-stopped:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after the handler finished")
		}
		if handlerCtxErr != nil {
			t.Fatalf("handler context was cancelled by the shutdown: %v", handlerCtxErr)
		}
		if j, _ := ob.GetJob(ctx, id); j.State != JobDone {
			t.Fatalf("in-flight job after shutdown: %+v", j)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM jobs WHERE kind = 'later' AND state = 'ready'"); n != 1 {
			t.Fatalf("job enqueued after stop was touched")
		}
	})
}

func TestHandleDuplicatePanics(t *testing.T) {
	r := NewRunner(nil, clock.Real{}, nil, RunnerOptions{})
	r.Handle("k", func(context.Context, Job) error { return nil })
	defer func() {
		if recover() == nil {
			t.Fatal("second Handle for a kind did not panic")
		}
	}()
	r.Handle("k", func(context.Context, Job) error { return nil })
}
