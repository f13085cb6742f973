package app

import (
	"context"

	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/remote"
	"github.com/cashgate/cashgate/internal/server"
)

// RemoteProduct is remote payments (seed 004, issue 8) as wired into the app.
type RemoteProduct struct {
	Service *remote.Service
}

// buildRemote builds remote payments on the e-wallet (paying from a wallet
// with the PIN, the merchants' receiving wallets) and the card core (the
// engine and vault the gateway uses too) and returns its API
// (/remote/v1/…: the platform's APP key authentication and errors,
// Idempotency-Key per tenant), the hosted payment page (/pay/{id}) and the
// recurring expiry sweep.
// Run after buildWallet.
func (a *App) buildRemote(_ context.Context) (product, error) {
	svc, err := remote.New(remote.Deps{DB: a.DB, Clock: a.Clock, IDs: a.IDs, Log: a.Log, Events: a.Outbox, Tenants: a.Platform,
		Wallets: a.Wallet.Service, Pay: a.Wallet.Service, Cards: a.Cards.Engine, Vault: a.Cards.Vault, PublicURL: a.Config.PublicBase()})
	if err != nil {
		return product{}, err
	}
	a.Remote = RemoteProduct{Service: svc}
	a.Runner.Handle(remote.JobExpire, svc.Expire)
	errs := httpx.PlatformErrors(a.Log)
	return product{
		routes: append(svc.Routes(errs), svc.PageRoutes()...),
		middleware: map[httpx.API]server.APIMiddleware{
			httpx.APIRemote: {Auth: a.Platform.Authenticate(httpx.APIRemote, errs), Idempotency: a.Platform.Idempotency(errs), Errors: errs},
		},
		schedule: svc.ScheduleExpiry,
	}, nil
}
