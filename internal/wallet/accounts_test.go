package wallet_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// burst runs fn n times at once and counts the answers by code ("" for nil).
func burst(n int, fn func(i int) error) map[apperr.Code]int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	got := map[apperr.Code]int{}
	for i := 0; i < n; i++ {
		wg.Go(func() {
			err := fn(i)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				got[""]++
				return
			}
			got[apperr.CodeOf(err)]++
		})
	}
	wg.Wait()
	return got
}

// TestChangePassword: the old password is checked under the login's
// throttle, so a burst of wrong old passwords from one address gets at most
// MaxPINFailures checked and locks that address (the right one is refused
// there too, not elsewhere); a change ends the user's other sessions.
func TestChangePassword(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		alice := e.customer("alice")
		here, other := "203.0.113.7", "198.51.100.2"
		keep, err := e.w.LoginFrom(e.ctx, "alice", "password-alice", other)
		ok(t, err)
		gone, err := e.w.LoginFrom(e.ctx, "alice", "password-alice", other)
		ok(t, err)
		err = e.w.ChangePassword(e.ctx, alice.ID, "wrong-old", "new-password-1", other, keep.Token)
		if ae := apperr.From(err); ae.Code != apperr.Unauthenticated || ae.Field != "oldPassword" {
			t.Fatalf("a wrong old password: %v", err)
		}
		if err := e.w.ChangePassword(e.ctx, alice.ID, "password-alice", "short", other, keep.Token); apperr.From(err).Field != "newPassword" {
			t.Fatalf("a short new password: %v", err)
		}
		got := burst(12, func(i int) error {
			return e.w.ChangePassword(e.ctx, alice.ID, fmt.Sprintf("guess-%d", i), "new-password-1", here, keep.Token)
		})
		// At most 5 checked (4 "wrong password" and the one that locked,
		// Forbidden); the others refused before any hash.
		if got[""] != 0 || got[apperr.Unauthenticated] > 4 || got[apperr.Unauthenticated]+got[apperr.Forbidden]+got[apperr.RateLimited] != 12 {
			t.Fatalf("a burst of wrong old passwords: %v", got)
		}
		if err := e.w.ChangePassword(e.ctx, alice.ID, "password-alice", "new-password-1", here, keep.Token); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("the right old password from the locked address: %v", err)
		}
		if _, err := e.w.LoginFrom(e.ctx, "alice", "password-alice", here); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("a login from the locked address: %v", err)
		}
		// From the owner's own address it goes through.
		ok(t, e.w.ChangePassword(e.ctx, alice.ID, "password-alice", "new-password-1", other, keep.Token))
		if _, err := e.w.Login(e.ctx, "alice", "password-alice"); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("the old password after the change: %v", err)
		}
		_, err = e.w.Login(e.ctx, "alice", "new-password-1")
		ok(t, err)
		if _, err := e.w.AuthenticateSession(e.ctx, keep.Token); err != nil {
			t.Fatalf("the session that changed the password ended: %v", err)
		}
		if _, err := e.w.AuthenticateSession(e.ctx, gone.Token); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("another session survived the change: %v", err)
		}
	})
}

// TestChangePIN: the old PIN is checked as a payment's is: a burst of
// wrong ones at once locks the wallet's PIN after MaxPINFailures, the
// right one is refused while it is locked; the new PIN confirms payments.
func TestChangePIN(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		alice := e.customer("alice")
		if err := e.w.ChangePIN(e.ctx, alice.ID, "1234", "12a4"); apperr.From(err).Field != "newPin" {
			t.Fatalf("a bad new PIN: %v", err)
		}
		got := burst(10, func(i int) error { return e.w.ChangePIN(e.ctx, alice.ID, fmt.Sprintf("9%03d", i), "5678") })
		if got[""] != 0 || got[apperr.Unauthenticated] > 4 || got[apperr.Forbidden] < 1 {
			t.Fatalf("a burst of wrong old PINs: %v", got)
		}
		if err := e.w.ChangePIN(e.ctx, alice.ID, "1234", "5678"); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("the right old PIN while locked: %v", err)
		}
		e.clk.Advance(30 * time.Minute)
		ok(t, e.w.ChangePIN(e.ctx, alice.ID, "1234", "5678"))
		if err := e.w.CheckPIN(e.ctx, alice.ID, "1234"); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("the old PIN after the change: %v", err)
		}
		ok(t, e.w.CheckPIN(e.ctx, alice.ID, "5678"))
	})
}

// TestOperatorResetSuspendClose: the operator resets a locked-out user's
// PIN and password (new random ones, locks cleared, sessions ended);
// suspends an account (no login, no payment in or out; top-ups still
// credited) and reactivates it; closes one only with a zero balance, for
// good.
func TestOperatorResetSuspendClose(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		site := newMerchantSite(t, 0)
		alice, _ := e.customer("alice"), e.customer("bob")
		shop := e.corporate("shop", true)
		e.topUp(alice, "50.00")
		sess, err := e.w.Login(e.ctx, "alice", "password-alice")
		ok(t, err)
		for i := 0; i < 5; i++ {
			_ = e.w.CheckPIN(e.ctx, alice.ID, "9999")
		}
		if err := e.w.CheckPIN(e.ctx, alice.ID, "1234"); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("not locked: %v", err)
		}
		if _, err := e.w.ResetCredentials(e.ctx, "alice", false, false); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("a reset of nothing: %v", err)
		}
		reset, err := e.w.ResetCredentials(e.ctx, "Alice", true, true)
		ok(t, err)
		if len(reset.PIN) != 6 || len(reset.Password) < 10 || reset.Username != "alice" {
			t.Fatalf("reset %+v", reset)
		}
		ok(t, e.w.CheckPIN(e.ctx, alice.ID, reset.PIN)) // the lock is gone
		if _, err := e.w.AuthenticateSession(e.ctx, sess.Token); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("a session survived the reset: %v", err)
		}
		sess, err = e.w.Login(e.ctx, "alice", reset.Password)
		ok(t, err)

		// Suspended: no login, no session, nothing paid or received.
		if _, err := e.w.SetAccountStatus(e.ctx, "alice", wallet.AccountSuspended, ""); apperr.From(err).Field != "reason" {
			t.Fatalf("a suspension without reason: %v", err)
		}
		st, err := e.w.SetAccountStatus(e.ctx, "alice", wallet.AccountSuspended, "card fraud report 42")
		ok(t, err)
		if st.Status != wallet.AccountSuspended {
			t.Fatalf("status %+v", st)
		}
		if _, err := e.w.AuthenticateSession(e.ctx, sess.Token); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("the session of a suspended user: %v", err)
		}
		if _, err := e.w.Login(e.ctx, "alice", reset.Password); !apperr.Is(err, apperr.Forbidden) || !strings.Contains(err.Error(), "suspended") {
			t.Fatalf("a suspended user's login: %v", err)
		}
		if _, err := e.w.Send(e.ctx, alice.ID, wallet.WalletSend{To: "bob", Amount: "1.00"}); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("a suspended user's send: %v", err)
		}
		bobID := userID(t, e, "bob")
		e.topUp(wallet.WalletUser{ID: bobID, TopUpReference: topUpRef(t, e, bobID)}, "5.00")
		if _, err := e.w.Send(e.ctx, bobID, wallet.WalletSend{To: "alice", Amount: "1.00"}); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("a send to a suspended user: %v", err)
		}
		_, err = e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: "2.00", Currency: "EUR", Description: "x", CallbackURL: site.srv.URL})
		if !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("a money request to a suspended user: %v", err)
		}
		e.topUp(alice, "1.00") // her bank transfer is still credited
		if got := e.balance(alice.ID); got != "51.00" {
			t.Fatalf("alice has %s", got)
		}
		_, err = e.w.SetAccountStatus(e.ctx, "alice", wallet.AccountActive, "")
		ok(t, err)
		_, err = e.w.Login(e.ctx, "alice", reset.Password)
		ok(t, err)

		// Closing needs a zero balance; closed is for good.
		if _, err := e.w.CloseAccount(e.ctx, "alice", "asked by phone"); apperr.From(err).Field != "balance" || !strings.Contains(err.Error(), "51.00 EUR") {
			t.Fatalf("closing a wallet with money: %v", err)
		}
		_, err = e.w.Send(e.ctx, bobID, wallet.WalletSend{To: "alice", Amount: "4.75"}) // bob empties his wallet (4.75 + 0.25 fee)
		ok(t, err)
		if _, err := e.w.CloseOwnAccount(e.ctx, bobID, "0000"); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("closing with a wrong PIN: %v", err)
		}
		st, err = e.w.CloseOwnAccount(e.ctx, bobID, "1234")
		ok(t, err)
		if st.Status != wallet.AccountClosed {
			t.Fatalf("closed %+v", st)
		}
		if _, err := e.w.Login(e.ctx, "bob", "password-bob"); !apperr.Is(err, apperr.Forbidden) || !strings.Contains(err.Error(), "closed") {
			t.Fatalf("a closed user's login: %v", err)
		}
		if _, err := e.w.Send(e.ctx, alice.ID, wallet.WalletSend{To: "bob", Amount: "1.00"}); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("a send to a closed wallet: %v", err)
		}
		if _, err := e.w.CreditTopUp(e.ctx, wallet.TopUp{Reference: topUpRef(t, e, bobID), Amount: "1.00", BankReference: "LATE-1"}); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("a top-up of a closed wallet: %v", err)
		}
		if _, err := e.w.SetAccountStatus(e.ctx, "bob", wallet.AccountActive, ""); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("reopening a closed wallet: %v", err)
		}
		if _, err := e.w.CloseAccount(e.ctx, "bob", ""); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("closing twice: %v", err)
		}
		if _, err := e.w.ResetCredentials(e.ctx, "bob", true, false); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("resetting a closed wallet: %v", err)
		}
		if _, err := e.w.SignUp(e.ctx, wallet.SignUp{Username: "bob", Password: "password-bob2", PIN: "1234"}); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("a closed wallet's username was given again: %v", err)
		}

		// A suspended corporate's merchant API is refused.
		_, err = e.w.SetAccountStatus(e.ctx, "shop", wallet.AccountSuspended, "documents expired")
		ok(t, err)
		s, err := e.w.NewSalt(e.ctx, shop.MerchantID)
		ok(t, err)
		if _, err := e.w.AuthenticateMerchant(e.ctx, wallet.MerchantToken(shop.MerchantID, shop.MerchantSecret, s.Salt)); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("a suspended merchant's token: %v", err)
		}
	})
}

// TestCloseRacesPayment: a payment into a wallet and its closing at once
// never leave money in a closed wallet.
func TestCloseRacesPayment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		// The recipient's wallet opened after the sender's, and before it:
		// its credit is then applied at once, or waits for the commit
		// (accounts lock newest first, see ledger/deferred.go).
		for _, recipientFirst := range []bool{false, true} {
			var alice, bob wallet.WalletUser
			if recipientFirst {
				bob = e.customer(fmt.Sprintf("bob-%t", recipientFirst))
				alice = e.customer(fmt.Sprintf("alice-%t", recipientFirst))
			} else {
				alice = e.customer(fmt.Sprintf("alice-%t", recipientFirst))
				bob = e.customer(fmt.Sprintf("bob-%t", recipientFirst))
			}
			e.topUp(alice, "20.00")
			for i := 0; i < 8; i++ {
				burst(2, func(j int) error {
					if j == 0 {
						_, err := e.w.CloseAccount(e.ctx, bob.Username, "")
						return err
					}
					_, err := e.w.Send(e.ctx, alice.ID, wallet.WalletSend{To: bob.Username, Amount: "1.00"})
					return err
				})
			}
			var status string
			ok(t, db.Read().QueryRowContext(e.ctx, `SELECT status FROM wallet_users WHERE id = $1`, bob.ID).Scan(&status))
			if b := e.balance(bob.ID); status == wallet.AccountClosed && b != "0.00" {
				t.Fatalf("recipient first %t: bob's closed wallet holds %s", recipientFirst, b)
			}
		}
	})
}

func userID(t *testing.T, e *env, username string) string {
	t.Helper()
	var id string
	ok(t, e.db.Read().QueryRowContext(e.ctx, `SELECT id FROM wallet_users WHERE username = $1`, username).Scan(&id))
	return id
}

func topUpRef(t *testing.T, e *env, id string) string {
	t.Helper()
	var ref string
	ok(t, e.db.Read().QueryRowContext(e.ctx, `SELECT topup_ref FROM wallet_users WHERE id = $1`, id).Scan(&ref))
	return ref
}

// TestAccountRoutes: the wallet app's own routes change the PIN and the
// password and close the wallet, in the wallet's error format.
func TestAccountRoutes(t *testing.T) {
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			s := newStack(t, eng)
			var u wallet.WalletUser
			s.must(t, 201, "POST", "/wallet/app/v1/signup", "", wallet.WalletSignUp{Username: "carol", Password: "carol-password", PIN: "1234"}, &u)
			if u.Status != wallet.AccountActive {
				t.Fatalf("signed up %+v", u)
			}
			var sess wallet.WalletSession
			s.must(t, 200, "POST", "/wallet/app/v1/login", "", wallet.WalletLogin{Username: "carol", Password: "carol-password"}, &sess)
			if r := s.call(t, "POST", "/wallet/app/v1/pin", sess.Token, wallet.WalletPINChange{OldPIN: "4321", NewPIN: "2468"}); r.status != 401 ||
				!strings.Contains(string(r.body), `"field":"pin"`) {
				t.Fatalf("a wrong old PIN: %d %s", r.status, r.body)
			}
			s.must(t, 200, "POST", "/wallet/app/v1/pin", sess.Token, wallet.WalletPINChange{OldPIN: "1234", NewPIN: "2468"}, nil)
			if r := s.call(t, "POST", "/wallet/app/v1/password", sess.Token, wallet.WalletPasswordChange{OldPassword: "nope", NewPassword: "carol-password-2"}); r.status != 401 ||
				!strings.Contains(string(r.body), `"field":"oldPassword"`) {
				t.Fatalf("a wrong old password: %d %s", r.status, r.body)
			}
			s.must(t, 200, "POST", "/wallet/app/v1/password", sess.Token, wallet.WalletPasswordChange{OldPassword: "carol-password", NewPassword: "carol-password-2"}, nil)
			var st wallet.AccountState
			s.must(t, 200, "POST", "/wallet/app/v1/close", sess.Token, wallet.WalletPIN{PIN: "2468"}, &st)
			if st.Status != wallet.AccountClosed {
				t.Fatalf("closed %+v", st)
			}
			if r := s.call(t, "GET", "/wallet/app/v1/me", sess.Token, nil); r.status != 401 {
				t.Fatalf("the closed wallet's session: %d %s", r.status, r.body)
			}
			if r := s.call(t, "POST", "/wallet/app/v1/login", "", wallet.WalletLogin{Username: "carol", Password: "carol-password-2"}); r.status != 403 ||
				!strings.Contains(string(r.body), "closed") {
				t.Fatalf("a closed wallet's login: %d %s", r.status, r.body)
			}
		})
	}
}
