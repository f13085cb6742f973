package app

import "context"

// WalletProduct is the e-wallet (seed 000, issue 4) as wired into the app.
type WalletProduct struct{}

// buildWallet builds the e-wallet and returns its routes, middleware and
// recurring jobs. The wallet is not built yet (issue 4): it adds nothing.
func (a *App) buildWallet(ctx context.Context, kek []byte) (product, error) {
	return product{}, nil
}
