package app

import (
	"context"

	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/server"
)

// GatewayProduct is the card gateway (seed 003, issue 3) as wired into the app.
type GatewayProduct struct {
	Service *gateway.Service
}

// buildGateway builds the card gateway and returns its routes (the API under
// /api/gateway/, the hosted pages and logos, /platform/gateway/settings), the
// gateway API's middleware (ConfigurationId + Hash authentication, then
// Idempotency-Key per tenant) and its recurring schedule: the purge of used
// HMAC signatures (the settlement batch, authorisation expiry and job expiry
// are jobs enqueued by the payments themselves). It takes cards with the
// app's card core (a.Cards: engine and vault), shared with other products.
func (a *App) buildGateway(ctx context.Context) (product, error) {
	svc, err := gateway.New(gateway.Deps{
		DB: a.DB, Clock: a.Clock, IDs: a.IDs, Log: a.Log, Outbox: a.Outbox,
		Callbacks: a.Webhooks, Tenants: a.Platform, Keys: a.Platform.GatewayConfigurations(),
		Cards: a.Cards.Engine, Vault: a.Cards.Vault, PublicURL: a.Config.PublicBase(),
	})
	if err != nil {
		return product{}, err
	}
	svc.Register(a.Runner, a.Webhooks)
	a.Gateway = GatewayProduct{Service: svc}
	gatewayErrs := httpx.GatewayErrors(a.Log)
	return product{
		routes: svc.Routes(gatewayErrs, httpx.PlatformErrors(a.Log)),
		middleware: map[httpx.API]server.APIMiddleware{
			httpx.APIGateway: {Auth: svc.Authenticate(gatewayErrs), Idempotency: a.Platform.IdempotencyFor(gatewayErrs, gateway.TenantOf), Errors: gatewayErrs},
		},
		schedule: svc.ScheduleHousekeeping,
	}, nil
}
