package app

import (
	"context"

	"github.com/cashgate/cashgate/internal/cashier"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/server"
)

// CashierProduct is the cashier (seed 002, issue 11) as wired into the app.
type CashierProduct struct {
	Service *cashier.Service
}

// buildCashier builds the cashier on the card core, the e-wallet (paying
// with the PIN, the tenants' receiving wallets), the ledger, the outbox
// and the web kit, and returns its API (/cashier/v1/…: the platform's APP
// key authentication and errors, Idempotency-Key per tenant), its PSP
// notification endpoint and 3-D Secure page, and its jobs. The Platform's
// callbacks go out through the webhooks' SSRF-guarded client; the callback
// secrets are sealed and the simulated PSP's notifications signed under
// keys derived from the KEK. Run after buildWallet and buildPortal.
func (a *App) buildCashier(_ context.Context, kek []byte) (product, error) {
	secrets, err := outbox.NewAESGCM(subkey(kek, "cashgate cashier callback secrets"))
	if err != nil {
		return product{}, err
	}
	svc, err := cashier.New(cashier.Deps{DB: a.DB, Clock: a.Clock, IDs: a.IDs, Log: a.Log, Events: a.Outbox, Tenants: a.Platform,
		Ledger: a.Ledger, Cards: a.Cards.Engine, Vault: a.Cards.Vault, Wallets: a.Wallet.Service, Secrets: secrets,
		CheckURL: a.Webhooks.CheckURL, HTTP: a.Webhooks.Client(), PublicURL: a.Config.PublicBase(),
		Sim: cashier.SimOptions{Seed: uint64(a.Config.CashierSimSeed), Key: subkey(kek, "cashgate cashier sim psp")}})
	if err != nil {
		return product{}, err
	}
	pages, err := cashier.NewPages(a.Portal.Kit)
	if err != nil {
		return product{}, err
	}
	a.Cashier = CashierProduct{Service: svc}
	a.Runner.Handle(cashier.JobSendPayout, svc.SendPayout)
	a.Runner.Handle(cashier.JobStale, svc.Stale)
	a.Runner.Handle(cashier.JobSubmitDeposit, svc.ResubmitDeposit)
	a.Runner.Handle(cashier.JobExpireAuth, svc.ExpireAuthorisation)
	a.Runner.Handle(cashier.JobSimNotify, svc.SimNotify)
	errs := httpx.PlatformErrors(a.Log)
	return product{
		routes: append(svc.Routes(errs), svc.PageRoutes(pages)...),
		middleware: map[httpx.API]server.APIMiddleware{
			httpx.APICashier: {Auth: a.Platform.Authenticate(httpx.APICashier, errs), Idempotency: a.Platform.Idempotency(errs), Errors: errs},
		},
	}, nil
}
