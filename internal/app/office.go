package app

import (
	"context"

	"github.com/cashgate/cashgate/internal/backoffice"
)

// OfficeProduct is the merchant back office (issue 10) as wired into the app.
type OfficeProduct struct {
	Office *backoffice.Office
}

// officeModules returns the back-office modules of the products, each
// built by its product package on the office (pages, actions, payment and
// balance sources).
func (a *App) officeModules(o *backoffice.Office) ([]backoffice.Module, error) {
	var mods []backoffice.Module
	for _, build := range []func(*backoffice.Office) (backoffice.Module, error){
		a.Gateway.Service.OfficeModule,
		a.Wallet.Service.OfficeModule,
		a.Remote.Service.OfficeModule,
		a.Cashier.Service.OfficeModule,
	} {
		m, err := build(o)
		if err != nil {
			return nil, err
		}
		mods = append(mods, m)
	}
	return mods, nil
}

// buildOffice builds the back office on the web kit (buildPortal's, which
// comes first) and registers the products' modules: /office/login, the
// kit's pages and every module's routes. Its sessions are its own (cookie
// cg_office, sent to /office only).
func (a *App) buildOffice(_ context.Context) (product, error) {
	kit, err := a.Portal.Kit.Sessions(OfficeSessionCookie, "/office")
	if err != nil {
		return product{}, err
	}
	o, err := backoffice.New(backoffice.Deps{DB: a.DB, Clock: a.Clock, IDs: a.IDs, Log: a.Log, Kit: kit,
		Platform: a.Platform, Ledger: a.Ledger, Webhooks: a.Webhooks, Events: a.Outbox})
	if err != nil {
		return product{}, err
	}
	mods, err := a.officeModules(o)
	if err != nil {
		return product{}, err
	}
	for _, m := range mods {
		if err := o.Register(m); err != nil {
			return product{}, err
		}
	}
	a.Office = OfficeProduct{Office: o}
	return product{routes: o.Routes()}, nil
}
