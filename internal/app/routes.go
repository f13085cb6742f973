package app

import "github.com/cashgate/cashgate/internal/httpx"

// routes lists the core's routes; each product adds its own in its file
// (gateway.go: /api/gateway/… and the hosted pages; wallet.go: the wallet
// API and app), and internal/server adds /healthz, /readyz, /metrics and
// /openapi.json. The full table, with each route's API,
// is kept in internal/app/testdata/routes.golden.
func routes(a *App, platformErrs httpx.ErrorWriter) []httpx.Route {
	var rs []httpx.Route
	rs = append(rs, a.Platform.Routes(platformErrs)...)         // seed 001: /dummyapi/status, /auth/oauth/token, /platform/tenant, /platform/keys…
	rs = append(rs, a.Ledger.Routes(platformErrs, a.Outbox)...) // /platform/ledger/…
	rs = append(rs, a.Webhooks.Routes(platformErrs)...)         // /platform/webhooks/…, /platform/events
	return rs
}
