package wallet_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/passhash"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// pinHashOf reads a user's stored PIN hash.
func pinHashOf(t *testing.T, e *env, userID string) string {
	t.Helper()
	var h string
	ok(t, e.db.Read().QueryRowContext(e.ctx, `SELECT pin_hash FROM wallet_users WHERE id = $1`, userID).Scan(&h))
	return h
}

// TestPINsAreKeyedAndOldHashesRekeyed: a new wallet's PIN is stored as a
// keyed hash (never the PIN itself); a wallet whose PIN hash predates that
// (argon2id) keeps it through a wrong PIN and gets the keyed hash of the
// same PIN after the first right one, which still pays.
func TestPINsAreKeyedAndOldHashesRekeyed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		shop := e.corporate("shop", false)
		alice := e.customer("alice")
		e.topUp(alice, "10.00")
		if h := pinHashOf(t, e, alice.ID); !passhash.Keyed(h) || strings.Contains(h, "1234") {
			t.Fatalf("new PIN stored as %q", h)
		}
		legacy, err := passhash.New(cheapArgon2(), bytes.Repeat([]byte{7}, 32), 1).Hash("1234", []byte("0123456789abcdef"))
		ok(t, err)
		ok(t, db.Transact(e.ctx, func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE wallet_users SET pin_hash = $1 WHERE id = $2`, legacy, alice.ID)
			return err
		}))
		r, err := e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: "1.00", Currency: "EUR",
			Description: "x", CallbackURL: "http://127.0.0.1:9/cb", TimeFrame: 7200})
		ok(t, err)
		if _, err := e.w.Approve(e.ctx, alice.ID, r.ID, "0000"); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("wrong PIN against the old hash: %v", err)
		}
		if h := pinHashOf(t, e, alice.ID); h != legacy {
			t.Fatalf("a wrong PIN changed the hash to %q", h)
		}
		_, err = e.w.Approve(e.ctx, alice.ID, r.ID, "1234")
		ok(t, err)
		h := pinHashOf(t, e, alice.ID)
		if !passhash.Keyed(h) {
			t.Fatalf("after a right PIN the hash is %q, want keyed", h)
		}
		if got := e.balance(alice.ID); got != "9.00" {
			t.Fatalf("alice has %s after paying 1.00", got)
		}
		ok(t, e.w.CheckPIN(e.ctx, alice.ID, "1234"))
		if err := e.w.CheckPIN(e.ctx, alice.ID, "4321"); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("wrong PIN against the keyed hash: %v", err)
		}
	})
}

// TestKeyedPINLockHoldsUnderConcurrentGuesses: 50 guesses at once, one of
// them right, against a keyed hash: exactly four wrong ones are answered
// as wrong before the fifth locks the wallet, and every later guess, the
// right one included, is refused as locked; the right PIN can only have
// passed if it was judged before the lock.
func TestKeyedPINLockHoldsUnderConcurrentGuesses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		alice := e.customer("alice")
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[apperr.Code]int{}
		rightPassed := false
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pin := "0000"
				if i == 25 {
					pin = "1234"
				}
				err := e.w.CheckPIN(e.ctx, alice.ID, pin)
				mu.Lock()
				defer mu.Unlock()
				if pin == "1234" && err == nil {
					rightPassed = true
					return
				}
				codes[apperr.CodeOf(err)]++
			}()
		}
		wg.Wait()
		wrong, locked := codes[apperr.Unauthenticated], codes[apperr.Forbidden]
		// A right PIN judged before the lock resets the count, allowing at
		// most four more wrong answers after it.
		maxWrong := 4
		if rightPassed {
			maxWrong = 8
		}
		if wrong > maxWrong || wrong+locked != 50-btoi(rightPassed) || locked == 0 {
			t.Fatalf("answers: %v, right PIN passed %v", codes, rightPassed)
		}
		if err := e.w.CheckPIN(e.ctx, alice.ID, "1234"); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("right PIN after the lock: %v", err)
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
