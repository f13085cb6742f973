package app

import "context"

// GatewayProduct is the card gateway (seed 003, issue 3) as wired into the app.
type GatewayProduct struct{}

// buildGateway builds the card gateway and returns its routes, middleware and
// recurring jobs. The gateway is not built yet (issue 3): it adds nothing.
func (a *App) buildGateway(ctx context.Context, kek []byte) (product, error) {
	return product{}, nil
}
