package app

import (
	"context"

	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/server"
	"github.com/cashgate/cashgate/internal/wallet"
)

// WalletProduct is the e-wallet (seed 000, issue 4) as wired into the app.
type WalletProduct struct {
	Service *wallet.Service
}

// buildWallet builds the e-wallet from the core services: its merchant API,
// wallet-app API and pages (API wallet; pages public), the callback format
// and acknowledgement of its decision events, and the money-request expiry
// job.
func (a *App) buildWallet(ctx context.Context, kek []byte) (product, error) {
	pepper, _, err := a.Config.LoadPepper(a.IDs)
	if err != nil {
		return product{}, err
	}
	svc, err := wallet.New(ctx, wallet.Deps{
		DB: a.DB, Clock: a.Clock, IDs: a.IDs, Log: a.Log, Ledger: a.Ledger, Outbox: a.Outbox,
		Webhook: a.Webhooks, Tenants: a.Platform,
	}, wallet.Config{
		Pepper:    pepper,
		SecretKey: subkey(kek, "cashgate wallet merchant secrets"),
	})
	if err != nil {
		return product{}, err
	}
	a.Wallet = WalletProduct{Service: svc}
	a.Webhooks.Render(wallet.CallbackPrefix, wallet.RenderCallback)
	a.Webhooks.Acknowledge(wallet.CallbackPrefix, wallet.AckCallback)
	a.Runner.Handle(wallet.JobExpireRequest, svc.ExpireRequest)

	errw := httpx.WalletErrors(a.Log)
	return product{
		routes: svc.Routes(errw),
		middleware: map[httpx.API]server.APIMiddleware{
			httpx.APIWallet: {Auth: svc.Authenticate(errw), Idempotency: a.Platform.IdempotencyFor(errw, wallet.IdempotencyScope)},
		},
	}, nil
}
