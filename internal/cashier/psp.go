package cashier

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/store"
)

// The built-in PSPs.
const (
	PSPCard    = "card"    // the payments core's card engine, 3-D Secure
	PSPWallet  = "wallet"  // cashgate wallets, paid with the PIN
	PSPBank    = "bank"    // bank transfers, credited by the operator; payouts by pain.001
	PSPSim     = "sim"     // a simulated external PSP with asynchronous notifications
	PSPOffline = "offline" // an agent's manual deposit (the back office's only)
)

// Connector is a PSP. Each method asks the PSP (outside any transaction)
// and then records its answer by calling rec inside a transaction, in
// which a PSP whose money moves in cashgate's own database (the wallet)
// moves it too, so the money and the state change commit together. rec
// may refuse (the deposit or payout changed meanwhile); the connector
// returns its error. A PSP that cannot be reached is apperr Unavailable
// (nothing recorded).
type Connector interface {
	Info() Info
	// Deposit takes money in at once (a sale), or starts a deposit the PSP
	// completes later (Result.Status pending: a challenge, instructions or
	// a notification to come).
	Deposit(ctx context.Context, op Op, rec Recorder) error
	// Authorise reserves money to capture later (Info.AuthCapture).
	Authorise(ctx context.Context, op Op, rec Recorder) error
	Capture(ctx context.Context, op Op, rec Recorder) error
	Void(ctx context.Context, op Op, rec Recorder) error
	// Refund gives a captured deposit back (Result.Status refunded).
	Refund(ctx context.Context, op Op, rec Recorder) error
	// Payout sends money to the customer (Result.Status processing until
	// the PSP says paid or failed, or paid at once).
	Payout(ctx context.Context, op Op, rec Recorder) error
	// CheckDestination validates where a payout goes (the customer's
	// account at the PSP) and returns it normalised.
	CheckDestination(ctx context.Context, d Destination) (Destination, error)
	// Status asks the PSP where an operation stands.
	Status(ctx context.Context, op Op) (Result, error)
	// ParseNotification authenticates and reads a notification the PSP
	// sent (apperr Unauthenticated when its signature does not hold).
	ParseNotification(ctx context.Context, h http.Header, body []byte) (Notification, error)
}

// Info is what a PSP declares.
type Info struct {
	Name       string
	Currencies []string // nil: every currency
	MinAmount  int64    // minor units
	MaxAmount  int64
	Deposits   bool
	Payouts    bool
	// AuthCapture: deposits can be authorised and captured later.
	AuthCapture bool
	// AuthExpiry is how long an authorisation lives before it is voided.
	AuthExpiry time.Duration
	// Selectable: a tenant may enable it for its customers.
	Selectable bool
}

// takes reports whether the PSP takes amount in currency, with the reason
// when it does not.
func (i Info) takes(amount int64, currency string) error {
	if i.Currencies != nil && !slices.Contains(i.Currencies, currency) {
		return apperr.InvalidField("currency", "PSP %s does not take %s (it takes %v)", i.Name, currency, i.Currencies)
	}
	if amount < i.MinAmount || (i.MaxAmount > 0 && amount > i.MaxAmount) {
		return apperr.InvalidField("amount", "PSP %s takes amounts from %s to %s %s", i.Name, format(i.MinAmount, currency), format(i.MaxAmount, currency), currency)
	}
	return nil
}

// Op is one operation asked of a PSP.
type Op struct {
	TenantID   string
	ID         string // the deposit's or payout's id: the PSP's merchant reference
	CustomerID string
	Amount     int64 // minor units
	Currency   string
	PSPRef     string // the PSP's id, once it gave one
	MOTO       bool   // a card entered by an agent: no 3-D Secure
	Card       *card.Details
	Wallet     *WalletLogin
	// Destination is a payout's; Bank the tenant's bank account.
	Destination Destination
	Bank        BankAccount
	ClientAddr  string // the customer's address (wallet login throttling)
	Description string
}

// WalletLogin is a cashgate wallet's credentials, entered by the customer.
type WalletLogin struct {
	Username string `json:"username"`
	Password string `json:"password"`
	PIN      string `json:"pin"`
}

// Destination is where a payout goes: a bank account (iban, bic, name) or
// an account at the PSP (a wallet's account number, a sim account).
type Destination struct {
	IBAN    string `json:"iban,omitempty"`
	BIC     string `json:"bic,omitempty"`
	Name    string `json:"name,omitempty"`
	Account string `json:"account,omitempty"`
}

// Result is a PSP's answer.
type Result struct {
	Status string // the state it puts the deposit or payout in
	Amount int64  // what a capture took (0: the whole amount)
	PSPRef string
	Reason string // of a decline or failure
	Payer  string // masked card, wallet account, bank reference
	// Action is where the customer must go next (a 3-D Secure challenge).
	Action       string
	Instructions *Instructions
	RefundRef    string // the PSP's id of a refund
}

// Instructions tell the customer how to pay a bank-transfer deposit.
type Instructions struct {
	Beneficiary string `json:"beneficiary"`
	IBAN        string `json:"iban"`
	BIC         string `json:"bic,omitempty"`
	Reference   string `json:"reference"` // to quote on the transfer
	Amount      string `json:"amount"`
	Currency    string `json:"currency"`
}

// Recorder records a PSP's answer in tx.
type Recorder func(ctx context.Context, tx *store.Tx, res Result) error

// Notification is what a PSP said asynchronously.
type Notification struct {
	ID       string // unique per PSP: a duplicate is ignored
	TenantID string
	Kind     string // deposit or payout
	ObjectID string // the deposit's or payout's id
	PSPRef   string
	Status   string
	Seq      int64 // the PSP's order of the operation's notifications
	Reason   string
}

// record runs rec with res in a transaction of its own.
func (s *Service) record(ctx context.Context, rec Recorder, res Result) error {
	return s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error { return rec(ctx, tx, res) })
}

// basePSP answers "not supported" for what a PSP does not do.
type basePSP struct{ name string }

func (b basePSP) unsupported(what string) error {
	return apperr.New(apperr.Conflict, "PSP %s does not support %s", b.name, what)
}

func (b basePSP) Authorise(context.Context, Op, Recorder) error {
	return b.unsupported("authorisation and capture")
}
func (b basePSP) Capture(context.Context, Op, Recorder) error {
	return b.unsupported("authorisation and capture")
}
func (b basePSP) Void(context.Context, Op, Recorder) error {
	return b.unsupported("authorisation and capture")
}
func (b basePSP) Refund(context.Context, Op, Recorder) error { return b.unsupported("refunds") }
func (b basePSP) Payout(context.Context, Op, Recorder) error { return b.unsupported("payouts") }
func (b basePSP) CheckDestination(context.Context, Destination) (Destination, error) {
	return Destination{}, b.unsupported("payouts")
}
func (b basePSP) Status(context.Context, Op) (Result, error) {
	return Result{}, b.unsupported("status queries")
}
func (b basePSP) ParseNotification(context.Context, http.Header, []byte) (Notification, error) {
	return Notification{}, apperr.New(apperr.NotFound, "PSP %s sends no notifications", b.name)
}

// psp returns the named connector.
func (s *Service) psp(field, name string) (Connector, error) {
	c, ok := s.psps[name]
	if !ok {
		return nil, apperr.InvalidField(field, "unknown PSP %q", name)
	}
	return c, nil
}
