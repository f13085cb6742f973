package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
)

// fixture is a ledger on a fresh database with a tenant and a world
// (clearing, overdraft) account per currency on demand.
type fixture struct {
	ctx    context.Context
	db     *store.DB
	clk    *clock.Fake
	l      *ledger.Ledger
	tenant string
}

func newFixture(t testing.TB, db *store.DB) *fixture {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	return &fixture{ctx: context.Background(), db: db, clk: clk, l: ledger.New(db, clk, ids.New(nil)), tenant: "ten_1"}
}

// account ensures an account of the fixture's tenant and returns its id.
func (f *fixture) account(t testing.TB, owner, purpose, currency string, overdraft bool) string {
	t.Helper()
	a, err := f.l.Standalone().EnsureAccount(f.ctx, ledger.AccountSpec{
		TenantID: f.tenant, Owner: owner, Purpose: purpose, Currency: currency, AllowOverdraft: overdraft,
	})
	if err != nil {
		t.Fatalf("ensure account %s/%s/%s: %v", owner, purpose, currency, err)
	}
	return a.ID
}

// world returns the tenant's clearing account in currency.
func (f *fixture) world(t testing.TB, currency string) string {
	t.Helper()
	return f.account(t, "world", "clearing", currency, true)
}

// wallet returns a new no-overdraft account funded from the world with amount.
func (f *fixture) wallet(t testing.TB, owner, currency string, amount int64) string {
	t.Helper()
	id := f.account(t, owner, "available", currency, false)
	if amount > 0 {
		f.transfer(t, f.world(t, currency), id, currency, amount)
	}
	return id
}

// transfer moves amount and fails the test on error.
func (f *fixture) transfer(t testing.TB, from, to, currency string, amount int64) string {
	t.Helper()
	id, err := f.l.Standalone().Transfer(f.ctx, ledger.TransferSpec{
		TenantID: f.tenant, From: from, To: to, Currency: currency, Amount: amount, Reference: "test",
	})
	if err != nil {
		t.Fatalf("transfer %d %s from %s to %s: %v", amount, currency, from, to, err)
	}
	return id
}

// balance returns an account's balance, read outside any transaction.
func (f *fixture) balance(t testing.TB, id string) ledger.Balance {
	t.Helper()
	a, err := f.l.Account(f.ctx, f.db.Read(), f.tenant, id)
	if err != nil {
		t.Fatalf("account %s: %v", id, err)
	}
	return a.Balance
}

// count returns the number of rows in a ledger table.
func (f *fixture) count(t testing.TB, table string) int {
	t.Helper()
	var n int
	if err := f.db.Read().QueryRowContext(f.ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// check fails the test if any ledger invariant is violated.
func (f *fixture) check(t testing.TB) {
	t.Helper()
	if err := ledger.CheckInvariants(f.ctx, f.db.Read()); err != nil {
		t.Fatal(err)
	}
}

// bal builds an expected balance.
func bal(posted, pendingOut, pendingIn int64) ledger.Balance {
	return ledger.Balance{Posted: posted, PendingOut: pendingOut, PendingIn: pendingIn, Available: posted - pendingOut}
}
