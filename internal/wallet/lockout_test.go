package wallet_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// loginBurst sends n wrong passwords for username at once, the i-th from
// addr(i), and returns how many were checked (answered "wrong username or
// password", or the lock that the last checked one took) and how many were
// refused unchecked (Forbidden or RateLimited before the check).
func loginBurst(t *testing.T, e *env, username string, n int, addr func(int) string) (checked, refused int) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := e.w.LoginFrom(e.ctx, username, fmt.Sprintf("guess-%d", i), addr(i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case apperr.Is(err, apperr.Unauthenticated), apperr.Is(err, apperr.Forbidden) && strings.Contains(err.Error(), "wrong password; "):
				checked++
			case apperr.Is(err, apperr.Forbidden), apperr.Is(err, apperr.RateLimited):
				refused++
			default:
				t.Errorf("guess %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	return checked, refused
}

// TestLoginThrottle: wrong passwords are counted before they are checked,
// per (user, address) and per user: a burst from one address gets at most
// MaxPINFailures (5) checked and locks only that address; a burst from
// many addresses gets at most LoginGlobalLimit checked and then only slows
// the user down by a short back-off. The owner from another address still
// logs in.
func TestLoginThrottle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		for i, tc := range []struct {
			name       string
			n          int
			addr       func(int) string
			maxChecked int
			ownerWaits time.Duration // before the owner's login from elsewhere succeeds
		}{
			{"50 from one address", 50, func(int) string { return "192.0.2.1" }, 5, 0},
			{"300 from one address", 300, func(int) string { return "192.0.2.1" }, 5, 0},
			{"300 from 300 addresses", 300, func(i int) string { return fmt.Sprintf("10.0.%d.%d", i/256, i%256) }, wallet.LoginGlobalLimit, time.Second},
		} {
			name := fmt.Sprintf("user%d", i)
			e.customer(name)
			checked, refused := loginBurst(t, e, name, tc.n, tc.addr)
			t.Logf("%s: %d checked, %d refused", tc.name, checked, refused)
			if checked > tc.maxChecked || checked == 0 || checked+refused != tc.n {
				t.Errorf("%s: %d checked, %d refused; want 1..%d checked", tc.name, checked, refused, tc.maxChecked)
			}
			if tc.maxChecked == 5 {
				// The attacker's address stays locked, even with the right password.
				if _, err := e.w.LoginFrom(e.ctx, name, "password-"+name, tc.addr(0)); !apperr.Is(err, apperr.Forbidden) {
					t.Errorf("%s: right password from the locked address: %v", tc.name, err)
				}
			}
			e.clk.Advance(tc.ownerWaits)
			if _, err := e.w.LoginFrom(e.ctx, name, "password-"+name, "198.51.100.7"); err != nil {
				t.Errorf("%s: the owner from another address: %v", tc.name, err)
			}
		}
	})
}

// TestLoginThrottleSequential: five wrong passwords from address A lock A
// for the user (PINLock) and not the owner at B; a right password from A
// resets A's count; the user's global window is not reset by successes.
func TestLoginThrottleSequential(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.customer("alice")
		login := func(password, addr string) error {
			_, err := e.w.LoginFrom(e.ctx, "alice", password, addr)
			return err
		}
		// Four wrong then a right one from A: A's count starts again.
		for i := 0; i < 4; i++ {
			if err := login("wrong", "192.0.2.1"); !apperr.Is(err, apperr.Unauthenticated) {
				t.Fatalf("wrong %d: %v", i, err)
			}
		}
		ok(t, login("password-alice", "192.0.2.1"))
		for i := 1; i <= 5; i++ {
			err := login("wrong", "192.0.2.1")
			if want := apperr.Unauthenticated; i == 5 {
				if !apperr.Is(err, apperr.Forbidden) {
					t.Fatalf("fifth wrong: %v, want the lock", err)
				}
			} else if !apperr.Is(err, want) {
				t.Fatalf("wrong %d: %v", i, err)
			}
		}
		if err := login("password-alice", "192.0.2.1"); !apperr.Is(err, apperr.Forbidden) {
			t.Errorf("right password from the locked address: %v", err)
		}
		ok(t, login("password-alice", "198.51.100.7")) // the owner elsewhere
		// 9 wrong so far in the window (4 + 5); a wrong one from a third
		// address reaches the user's limit and starts the back-off, which
		// the owner's success before did not reset.
		if err := login("wrong", "203.0.113.9"); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("tenth wrong: %v", err)
		}
		if err := login("password-alice", "198.51.100.7"); !apperr.Is(err, apperr.RateLimited) {
			t.Errorf("during the back-off: %v, want RateLimited", err)
		}
		e.clk.Advance(time.Second)
		ok(t, login("password-alice", "198.51.100.7"))
		e.clk.Advance(30 * time.Minute)
		ok(t, login("password-alice", "192.0.2.1")) // A's lock ran out
	})
}

// TestLoginThrottleHTTP: the HTTP login throttles by the connection's
// address (RemoteAddr), not by a forgeable X-Forwarded-For.
func TestLoginThrottleHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.customer("alice")
		var route http.HandlerFunc
		for _, r := range e.w.Routes(httpx.WalletErrors(nil), httpx.PlatformErrors(nil)) {
			if r.Method == "POST" && r.Path == "/wallet/app/v1/login" {
				route = r.Handler
			}
		}
		post := func(password, remote, xff string) int {
			req := httptest.NewRequest("POST", "/wallet/app/v1/login", strings.NewReader(`{"username":"alice","password":"`+password+`"}`))
			req.Header.Set("Content-Type", "application/json")
			req.RemoteAddr = remote
			if xff != "" {
				req.Header.Set("X-Forwarded-For", xff)
			}
			rec := httptest.NewRecorder()
			route(rec, req)
			return rec.Code
		}
		for i := 0; i < 5; i++ {
			post("wrong", "192.0.2.1:4000", fmt.Sprintf("198.51.100.%d", i))
		}
		if c := post("password-alice", "192.0.2.1:5000", "198.51.100.99"); c != 403 {
			t.Errorf("right password from the locked address with a forged X-Forwarded-For: %d, want 403", c)
		}
		if c := post("password-alice", "198.51.100.7:4000", ""); c != 200 {
			t.Errorf("the owner from another address: %d, want 200", c)
		}
	})
}
