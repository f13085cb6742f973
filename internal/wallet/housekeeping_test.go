package wallet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

func (e *env) count(table string) int {
	e.t.Helper()
	var n int
	if err := e.db.Read().QueryRowContext(e.ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestHousekeeping: the recurring job deletes expired login sessions (in
// batches), keeps live ones and reschedules itself, on
// the fake clock.
func TestHousekeeping(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		shop := e.corporate("shop", false)
		e.customer("alice")
		// Scheduling is idempotent: one job however often it is scheduled.
		ok(t, e.w.ScheduleHousekeeping(e.ctx))
		ok(t, e.w.ScheduleHousekeeping(e.ctx))
		var jobs int
		ok(t, db.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM jobs WHERE kind = $1`, wallet.JobHousekeeping).Scan(&jobs))
		if jobs != 1 {
			t.Fatalf("%d housekeeping jobs", jobs)
		}

		live, err := e.w.Login(e.ctx, "alice", "password-alice") // 12 h
		ok(t, err)
		// A backlog of 700 sessions that expire in 30 minutes: more than one batch.
		ok(t, db.Transact(e.ctx, func(ctx context.Context, tx *store.Tx) error {
			for i := 0; i < 700; i++ {
				if _, err := tx.ExecContext(e.ctx, `INSERT INTO wallet_sessions (token_hash, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4)`,
					fmt.Sprintf("old-%04d", i), shop.User.ID, e.clk.Now().Add(30*time.Minute).UnixMicro(), e.clk.Now().UnixMicro()); err != nil {
					return err
				}
			}
			return nil
		}))

		e.runDue() // first run: nothing has expired yet
		if s := e.count("wallet_sessions"); s != 701 {
			t.Fatalf("after the first run: %d sessions", s)
		}
		e.clk.Advance(59 * time.Minute)
		e.runDue() // not due yet: the job runs hourly
		if s := e.count("wallet_sessions"); s != 701 {
			t.Fatalf("the job ran early: %d sessions", s)
		}
		e.clk.Advance(time.Minute)
		e.runDue()
		if s := e.count("wallet_sessions"); s != 1 {
			t.Fatalf("after an hour: %d sessions (want the live one)", s)
		}
		if _, err := e.w.AuthenticateSession(e.ctx, live.Token); err != nil {
			t.Fatalf("the live session was deleted: %v", err)
		}
		e.clk.Advance(11 * time.Hour)
		e.runDue()
		if s := e.count("wallet_sessions"); s != 0 {
			t.Fatalf("after 12 hours: %d sessions", s)
		}
		if _, err := e.w.AuthenticateSession(e.ctx, live.Token); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("expired session: %v", err)
		}
		ok(t, db.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM jobs WHERE kind = $1`, wallet.JobHousekeeping).Scan(&jobs))
		if jobs != 1 {
			t.Fatalf("%d housekeeping jobs after rescheduling", jobs)
		}
	})
}

// TestHousekeepingPurgesStaleLoginThrottles: a per-address login counter is
// deleted once its window and any lock have run out (a new login would
// reset it anyway); a lock that still holds is kept, and holds.
func TestHousekeepingPurgesStaleLoginThrottles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.customer("alice")
		for range 5 { // the default MaxPINFailures
			_, _ = e.w.LoginFrom(e.ctx, "alice", "wrong", "203.0.113.7") // locks this address out
		}
		_, _ = e.w.LoginFrom(e.ctx, "alice", "wrong", "198.51.100.2")
		if n := e.count("wallet_login_throttle"); n != 2 {
			t.Fatalf("%d throttle rows, want 2", n)
		}
		e.clk.Advance(wallet.LoginWindow)
		swept, err := e.w.Sweep(e.ctx, e.clk.Now())
		ok(t, err)
		if swept.LoginThrottles != 1 || e.count("wallet_login_throttle") != 1 {
			t.Fatalf("after the window: swept %+v, %d rows left (want the locked one)", swept, e.count("wallet_login_throttle"))
		}
		if _, err := e.w.LoginFrom(e.ctx, "alice", "password-alice", "203.0.113.7"); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("the locked address logged in: %v", err)
		}
		e.clk.Advance(30*time.Minute - wallet.LoginWindow) // the default PINLock ends
		swept, err = e.w.Sweep(e.ctx, e.clk.Now())
		ok(t, err)
		if swept.LoginThrottles != 1 || e.count("wallet_login_throttle") != 0 {
			t.Fatalf("after the lock: swept %+v", swept)
		}
		if _, err := e.w.LoginFrom(e.ctx, "alice", "password-alice", "203.0.113.7"); err != nil {
			t.Fatalf("login after the purge: %v", err)
		}
	})
}
