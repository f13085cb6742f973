package wallet_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/passhash"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/wallet"
)

var epoch = time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC)

// env is a wallet service on one database with a fake clock and cheap
// argon2 parameters (the hashing is tested in passhash).
type env struct {
	t      *testing.T
	ctx    context.Context
	db     *store.DB
	clk    *clock.Fake
	w      *wallet.Service
	ob     *outbox.Outbox
	runner *outbox.Runner
	plat   *platform.Service
}

func cheapArgon2() passhash.Params {
	return passhash.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(epoch)
	gen := ids.New(rand.NewChaCha8([32]byte{4}))
	plat, err := platform.New(db, clk, gen, nil, platform.Config{Pepper: bytes.Repeat([]byte{7}, 32), Argon2: cheapArgon2()})
	if err != nil {
		t.Fatal(err)
	}
	ob := outbox.New(db, clk, gen)
	cipher, err := outbox.NewAESGCM(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	wh, err := outbox.NewWebhooks(ob, nil, outbox.WebhookOptions{Cipher: cipher, AllowPrivateTargets: true})
	if err != nil {
		t.Fatal(err)
	}
	w, err := wallet.New(ctx, wallet.Deps{DB: db, Clock: clk, IDs: gen, Ledger: ledger.New(db, clk, gen), Outbox: ob, Webhook: wh, Tenants: plat},
		wallet.Config{Pepper: bytes.Repeat([]byte{7}, 32), SecretKey: bytes.Repeat([]byte{5}, 32), Argon2: cheapArgon2()})
	if err != nil {
		t.Fatal(err)
	}
	runner := outbox.NewRunner(db, clk, nil, outbox.RunnerOptions{WorkerID: "test"})
	wh.Register(runner)
	wh.Render(wallet.CallbackPrefix, wallet.RenderCallback)
	wh.Acknowledge(wallet.CallbackPrefix, wallet.AckCallback)
	runner.Handle(wallet.JobExpireRequest, w.ExpireRequest)
	runner.Handle(wallet.JobHousekeeping, w.Housekeeping)
	runner.Handle(wallet.JobProcessBatch, w.ProcessBatch)
	runner.Handle(wallet.JobFetchRates, w.FetchRates)
	e := &env{t: t, ctx: ctx, db: db, clk: clk, w: w, ob: ob, runner: runner, plat: plat}
	t.Cleanup(e.checkLedger)
	return e
}

// checkLedger runs the ledger's invariant checker: after every scenario.
func (e *env) checkLedger() {
	e.t.Helper()
	if err := ledger.CheckInvariants(e.ctx, e.db.Read()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) customer(name string) wallet.WalletUser {
	e.t.Helper()
	u, err := e.w.SignUp(e.ctx, wallet.SignUp{Username: name, Password: "password-" + name, PIN: "1234"})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) corporate(name string, plus bool) wallet.CorporateCreated {
	e.t.Helper()
	c, err := e.w.CreateCorporate(e.ctx, wallet.CorporateSpec{CompanyName: name + " GmbH", Mode: platform.Production, Username: name,
		Password: "password-" + name, PIN: "4321", IBAN: "DE89 3704 0044 0532 0130 00", BIC: "COBADEFFXXX"})
	if err != nil {
		e.t.Fatal(err)
	}
	if plus {
		if _, err := e.w.ApproveUpgrade(e.ctx, c.TenantID, true); err != nil {
			e.t.Fatal(err)
		}
	}
	return c
}

// topUp credits a bank transfer by the operator path; it advances the
// bank reference so each call is a new transfer.
func (e *env) topUp(u wallet.WalletUser, amount string) {
	e.t.Helper()
	_, err := e.w.CreditTopUp(e.ctx, wallet.TopUp{Reference: u.TopUpReference, Amount: amount, BankReference: "BANK-" + u.ID + "-" + amount + "-" + e.clk.Now().Format(time.RFC3339Nano)})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) balance(userID string) string {
	e.t.Helper()
	b, err := e.w.BalanceOf(e.ctx, userID)
	if err != nil {
		e.t.Fatal(err)
	}
	return b.Available
}

func (e *env) feeRevenue() int64 {
	e.t.Helper()
	a, err := ledger.New(e.db, e.clk, ids.New(nil)).Account(e.ctx, e.db.Read(), wallet.LedgerScope, e.w.IssuerAccounts().Fees)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.Balance.Posted
}
