package wallet_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
	"github.com/cashgate/cashgate/internal/walletpay"
)

// TestMovesRememberWalletsOnlyOnCommit: a move whose transaction rolls back
// moves nothing and leaves its wallets unremembered; a committed one
// remembers them, and the next move (by a grouped account number too) uses
// the same wallets.
func TestMovesRememberWalletsOnlyOnCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		alice, bob := e.customer("alice"), e.customer("bob")
		e.topUp(alice, "10.00")
		move := func(from string, fail error) error {
			return db.Transact(e.ctx, func(ctx context.Context, tx *store.Tx) error {
				if _, err := e.w.Move(ctx, tx, walletpay.Transfer{From: from, To: bob.AccountNumber, Currency: "EUR", Amount: 100, Kind: "test", Reference: "r"}); err != nil {
					return err
				}
				return fail
			})
		}
		boom := errors.New("boom")
		if err := move(alice.AccountNumber, boom); !errors.Is(err, boom) {
			t.Fatalf("rolled-back move: %v", err)
		}
		if e.w.PartyCached(alice.AccountNumber) || e.w.PartyCached(bob.AccountNumber) || e.balance(alice.ID) != "10.00" {
			t.Fatalf("after a rollback: cached %v/%v, alice has %s", e.w.PartyCached(alice.AccountNumber), e.w.PartyCached(bob.AccountNumber), e.balance(alice.ID))
		}
		ok(t, move(alice.AccountNumber, nil))
		if !e.w.PartyCached(alice.AccountNumber) || !e.w.PartyCached(bob.AccountNumber) {
			t.Fatal("a committed move did not remember its wallets")
		}
		ok(t, move(wallet.FormatAccountNumber(alice.AccountNumber), nil))
		if a, b := e.balance(alice.ID), e.balance(bob.ID); a != "8.00" || b != "2.00" {
			t.Fatalf("alice %s, bob %s after two moves of 1.00", a, b)
		}
		e.checkLedger()
	})
}

// TestMovesRefuseInactiveRecipients: a payment through the payments core
// (a remote payment's wallet leg) to a suspended or closed merchant wallet
// is refused and moves nothing; a refund still reaches a suspended
// customer.
func TestMovesRefuseInactiveRecipients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		alice := e.customer("alice")
		shop := e.corporate("shop", true)
		e.topUp(alice, "10.00")
		move := func(from, to string) error {
			return db.Transact(e.ctx, func(ctx context.Context, tx *store.Tx) error {
				_, err := e.w.Move(ctx, tx, walletpay.Transfer{From: from, To: to, Currency: "EUR", Amount: 100, Kind: "test", Reference: "r"})
				return err
			})
		}
		ok(t, move(alice.AccountNumber, shop.User.AccountNumber))
		_, err := e.w.SetAccountStatus(e.ctx, "shop", wallet.AccountSuspended, "under review")
		ok(t, err)
		if err := move(alice.AccountNumber, shop.User.AccountNumber); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("a payment to a suspended merchant: %v", err)
		}
		if a, s := e.balance(alice.ID), e.balance(shop.User.ID); a != "9.00" || s != "1.00" {
			t.Fatalf("alice %s, shop %s after the refused payment", a, s)
		}
		_, err = e.w.SetAccountStatus(e.ctx, "shop", wallet.AccountActive, "")
		ok(t, err)
		_, err = e.w.SetAccountStatus(e.ctx, "alice", wallet.AccountSuspended, "card fraud report 7")
		ok(t, err)
		ok(t, move(shop.User.AccountNumber, alice.AccountNumber)) // the refund reaches her
		if a := e.balance(alice.ID); a != "10.00" {
			t.Fatalf("alice %s after the refund", a)
		}
		e.checkLedger()
	})
}
