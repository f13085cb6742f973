package app

import (
	"context"

	"github.com/cashgate/cashgate/internal/operator"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/portal"
	"github.com/cashgate/cashgate/internal/webkit"
)

// PortalProduct is the web kit and the developer portal (seed 001, issue
// 10) as wired into the app.
type PortalProduct struct {
	Kit     *webkit.Kit
	Service *portal.Service
	// Console is the operator console (/operator); the portal adds its
	// go-live requests to it, the e-wallet its operations.
	Console *operator.Console
}

// The session cookies of the page sets: the developer portal keeps the
// kit's (webkit.SessionCookie, path /), the operator console and the back
// office have their own, sent only to their paths.
const (
	OperatorSessionCookie = "cg_operator"
	OfficeSessionCookie   = "cg_office"
)

// jobPurgeWeb deletes expired browser sessions and stale login-throttle
// rows, hourly.
const jobPurgeWeb = "webkit.purge"

// buildPortal builds the web kit (sessions, CSRF, throttling, assets) and
// the developer portal on the platform: the start page /, sign-up, sign-in,
// the dashboard, its keys, settings and go-live request, the operator
// console at /operator with the portal's go-live section and the e-wallet's
// operations (built before: buildWallet runs first), and the kit's
// /web/assets/{file}. The kit's
// key and the portal's APP-key seal are derived from the KEK.
func (a *App) buildPortal(_ context.Context, kek, pepper []byte) (product, error) {
	kit, err := webkit.New(a.DB, a.Clock, a.IDs, a.Log, webkit.Config{
		PublicURL: a.Config.PublicBase(), SecureCookies: a.Config.SecureCookies, Key: subkey(kek, "cashgate web kit"),
	})
	if err != nil {
		return product{}, err
	}
	svc, err := portal.New(portal.Deps{DB: a.DB, Clock: a.Clock, IDs: a.IDs, Log: a.Log, Kit: kit, Platform: a.Platform},
		portal.Config{Pepper: pepper, SealKey: subkey(kek, "cashgate portal app keys"), SandboxRPM: a.Config.SandboxRPM})
	if err != nil {
		return product{}, err
	}
	// The console's sessions are its own (cookie cg_operator, sent to
	// /operator only): an operator and a developer stay signed in side by
	// side in one browser, and neither's forms are accepted by the other.
	opKit, err := kit.Sessions(OperatorSessionCookie, "/operator")
	if err != nil {
		return product{}, err
	}
	console, err := operator.New(operator.Deps{DB: a.DB, Clock: a.Clock, IDs: a.IDs, Log: a.Log, Kit: opKit, Tenants: a.Platform},
		operator.Config{Pepper: pepper})
	if err != nil {
		return product{}, err
	}
	walletSection, err := a.Wallet.Service.ConsoleSection(opKit)
	if err != nil {
		return product{}, err
	}
	ledgerSection, err := a.ledgerSection(opKit)
	if err != nil {
		return product{}, err
	}
	for _, sec := range []operator.Section{svc.ConsoleSection(), walletSection, ledgerSection} {
		if err := console.Register(sec); err != nil {
			return product{}, err
		}
	}
	a.Portal = PortalProduct{Kit: kit, Service: svc, Console: console}
	a.Runner.Handle(jobPurgeWeb, func(ctx context.Context, job outbox.Job) error {
		n, err := kit.Purge(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			a.Log.Info("purged expired web sessions and throttle rows", "count", n)
		}
		return outbox.RetryAt(a.Clock.Now().Add(purgeEvery))
	})
	return product{
		routes: append(append(svc.Routes(), console.Routes()...), webkit.AssetRoute()),
		schedule: func(ctx context.Context) error {
			_, _, err := a.Outbox.Enqueue(ctx, nil, outbox.JobSpec{Kind: jobPurgeWeb, RunAt: a.Clock.Now(), UniqueKey: jobPurgeWeb})
			return err
		},
	}, nil
}
