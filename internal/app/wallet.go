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
// wallet-app API and pages (API wallet; pages public), the tenant's
// corporate wallet on the platform API (/platform/wallet/…), the callback
// format and acknowledgement of its decision events, the money-request
// expiry job, the bulk upload job, the recurring housekeeping job (expired sessions)
// and the daily fetch of the rates from the stored URL,
// scheduled when the workers start. Merchant salts are stateless,
// authenticated with a key derived from the KEK for that purpose.
func (a *App) buildWallet(ctx context.Context, kek []byte) (product, error) {
	pepper, _, err := a.Config.LoadPepper(a.IDs)
	if err != nil {
		return product{}, err
	}
	svc, err := wallet.New(ctx, wallet.Deps{
		DB: a.DB, Clock: a.Clock, IDs: a.IDs, Log: a.Log, Ledger: a.Ledger, Outbox: a.Outbox,
		Webhook: a.Webhooks, Tenants: a.Platform,
	}, wallet.Config{
		Pepper:        pepper,
		SecretKey:     subkey(kek, "cashgate wallet merchant secrets"),
		SaltKey:       subkey(kek, "cashgate wallet merchant salts"),
		SecureCookies: a.Config.SecureCookies,
		PublicURL:     a.Config.PublicBase(),
	})
	if err != nil {
		return product{}, err
	}
	a.Wallet = WalletProduct{Service: svc}
	a.Webhooks.Render(wallet.CallbackPrefix, wallet.RenderCallback)
	a.Webhooks.Acknowledge(wallet.CallbackPrefix, wallet.AckCallback)
	a.Runner.Handle(wallet.JobExpireRequest, svc.ExpireRequest)
	a.Runner.Handle(wallet.JobHousekeeping, svc.Housekeeping)
	a.Runner.Handle(wallet.JobProcessBatch, svc.ProcessBatch)
	a.Runner.Handle(wallet.JobFetchRates, svc.FetchRates)

	errw := httpx.WalletErrors(a.Log)
	return product{
		routes: svc.Routes(errw, httpx.PlatformErrors(a.Log)),
		middleware: map[httpx.API]server.APIMiddleware{
			httpx.APIWallet: {Auth: svc.Authenticate(errw), Idempotency: a.Platform.IdempotencyFor(errw, wallet.IdempotencyScope), Errors: errw},
		},
		schedule: func(ctx context.Context) error {
			if err := svc.ScheduleHousekeeping(ctx); err != nil {
				return err
			}
			return svc.ScheduleRates(ctx)
		},
	}, nil
}
