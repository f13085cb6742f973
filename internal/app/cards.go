package app

import (
	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/cardpay"
)

// CardCore is the card acceptance the products share, built once: the card
// simulator acquirer, the vault of stored cards and the card-acceptance
// engine over the acquirer and the ledger. Every product that takes cards
// (the gateway today, remote payments next) is given these, never builds
// its own.
type CardCore struct {
	Engine    *cardpay.Engine
	Vault     *card.Vault
	Simulator *card.Simulator
}

// buildCards builds the card core from the KEK (the vault's key is derived
// from it) and the app's ledger and ids.
func (a *App) buildCards(kek []byte) error {
	vault, err := card.NewVault(subkey(kek, "cashgate card vault"), a.IDs)
	if err != nil {
		return err
	}
	sim := card.NewSimulator(a.IDs)
	engine, err := cardpay.New(sim, a.Ledger)
	if err != nil {
		return err
	}
	a.Cards = CardCore{Engine: engine, Vault: vault, Simulator: sim}
	return nil
}
