package outbox

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/store"
)

// t0 is where fake clocks start.
var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// testLog shows logs with -v and CASHGATE_TEST_LOG=1, and discards them otherwise.
func testLog() *slog.Logger {
	if os.Getenv("CASHGATE_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

type env struct {
	db  *store.DB
	clk *clock.Fake
	gen *ids.Gen
	ob  *Outbox
	wh  *Webhooks
	run *Runner
}

// newEnv wires an Outbox, Webhooks (with opt; AllowPrivateTargets is the
// caller's choice) and a Runner with the delivery handler on db, under a
// fake clock at t0.
func newEnv(t *testing.T, db *store.DB, opt WebhookOptions) *env {
	t.Helper()
	e := &env{db: db, clk: clock.NewFake(t0), gen: ids.New(nil)}
	e.ob = New(db, e.clk, e.gen)
	if opt.Cipher == nil {
		c, err := NewAESGCM(e.gen.Bytes(32))
		if err != nil {
			t.Fatal(err)
		}
		opt.Cipher = c
	}
	wh, err := NewWebhooks(e.ob, testLog(), opt)
	if err != nil {
		t.Fatal(err)
	}
	e.wh = wh
	e.run = NewRunner(db, e.clk, testLog(), RunnerOptions{WorkerID: "test-worker", Concurrency: 4, Lease: time.Minute})
	e.wh.Register(e.run)
	return e
}

// emit emits an event in its own transaction.
func (e *env) emit(t *testing.T, tenant, typ string, data any) Event {
	t.Helper()
	var ev Event
	err := e.db.Transact(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		var err error
		ev, err = e.ob.Emit(context.Background(), tx, Event{TenantID: tenant, Type: typ, Subject: "pay_1", Data: data})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// runDue runs due jobs and returns how many ran.
func (e *env) runDue(t *testing.T) int {
	t.Helper()
	n, err := e.run.RunDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func count(t *testing.T, db *store.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Read().QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
