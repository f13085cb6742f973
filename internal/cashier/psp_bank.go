package cashier

import (
	"context"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/sepa"
)

// bankPSP is the bank transfer. A deposit gets instructions: the tenant's
// bank account and a reference to quote; it stays pending until the
// operator credits the transfer that arrived with that reference (Agent
// API or `cashgate cashier credit`), which captures it. A payout is
// processing until it is exported in a pain.001 file the tenant's bank
// executes, then marked paid, or returned by the bank.
type bankPSP struct {
	basePSP
	s *Service
}

func (p *bankPSP) Info() Info {
	return Info{Name: PSPBank, Currencies: []string{sepa.Currency}, MinAmount: 1, MaxAmount: 99_999_999_999, Deposits: true, Payouts: true, Selectable: true}
}

// BankReferencePrefix starts every bank-transfer deposit's reference.
const BankReferencePrefix = "CGC"

func (p *bankPSP) Deposit(ctx context.Context, op Op, rec Recorder) error {
	if op.Bank.IBAN == "" {
		return apperr.New(apperr.Conflict, "the tenant has no bank account (settings.bankAccount)")
	}
	ref := BankReferencePrefix + p.s.ids.Digits(12)
	return p.s.record(ctx, rec, Result{Status: DepositPending, PSPRef: ref, Instructions: &Instructions{Beneficiary: op.Bank.Name,
		IBAN: op.Bank.IBAN, BIC: op.Bank.BIC, Reference: ref, Amount: format(op.Amount, op.Currency), Currency: op.Currency}})
}

// Payout waits for the export (ExportPayouts).
func (p *bankPSP) Payout(ctx context.Context, _ Op, rec Recorder) error {
	return p.s.record(ctx, rec, Result{Status: PayoutProcessing})
}

// CheckDestination: a SEPA account (IBAN, optional BIC) and its holder.
func (p *bankPSP) CheckDestination(_ context.Context, d Destination) (Destination, error) {
	iban, err := sepa.ValidateIBAN("destination.iban", d.IBAN)
	if err != nil {
		return Destination{}, err
	}
	bic := ""
	if d.BIC != "" {
		if bic, err = sepa.ValidateBIC("destination.bic", d.BIC); err != nil {
			return Destination{}, err
		}
	}
	name := strings.TrimSpace(d.Name)
	if name == "" || len(name) > 70 {
		return Destination{}, apperr.InvalidField("destination.name", "destination.name is the account holder's name, 1 to 70 characters")
	}
	return Destination{IBAN: iban, BIC: bic, Name: name}, nil
}

// offlinePSP books money an agent received otherwise (cash, a transfer
// seen in the bank statement): captured at once, from the tenant's
// cashier-psp:offline clearing account.
type offlinePSP struct {
	basePSP
	s *Service
}

func (p *offlinePSP) Info() Info {
	return Info{Name: PSPOffline, MinAmount: 1, MaxAmount: MaxAmount, Deposits: true}
}

func (p *offlinePSP) Deposit(ctx context.Context, op Op, rec Recorder) error {
	return p.s.record(ctx, rec, Result{Status: DepositCaptured, Payer: "offline"})
}
