// Package ledger is cashgate's double-entry ledger: every movement of money
// is one balanced journal entry, written in the same database transaction as
// the product state change that caused it.
//
// # Model
//
// Amounts are signed int64 minor units (Formance style). An entry has two or
// more postings whose amounts sum to zero per currency; an account's posted
// balance is the sum of its postings, so per tenant and currency all posted
// balances sum to zero. Accounts for the outside world (card scheme, bank,
// PSP clearing) allow overdraft and go negative; customer wallets and
// merchant balances do not, and the ledger refuses with
// apperr.InsufficientFunds any entry or hold that would take their available
// balance (posted - pending_out) below zero. A CHECK constraint in the
// schema is the backstop.
//
// The ledger knows nothing of currency exponents: a currency is an uppercase
// three-letter code and an amount is a count of its minor units.
//
// # Two-phase movements
//
// Hold reserves an amount (authorisation): the source's pending_out and the
// destination's pending_in grow, so the source's available balance drops at
// once. PostHold posts part or all of what remains as an entry (capture);
// VoidHold releases what remains (void, expiry).
//
// # Transactions and errors
//
// Every write takes the caller's *store.Tx, so a product writes its own state
// change and the entry in one transaction; Standalone runs a single ledger
// operation in its own transaction. Within an entry, account rows are
// updated in one order (descending account id, see lockOrder) so concurrent
// transactions do not deadlock on PostgreSQL; postings that cannot be
// refused wait for the commit (deferred.go).
//
// A domain error (*apperr.Error: Invalid, NotFound, Conflict,
// InsufficientFunds) leaves the transaction as it was, so a caller may handle
// it and go on. Any other error means the transaction must be rolled back
// (returning it from the Transact callback does that).
//
// All accounts of an entry or a hold belong to the entry's tenant; one
// tenant's money never moves to another tenant's accounts.
package ledger

import (
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/store"
)

// MaxAmount bounds the absolute value of one posting or hold, in minor
// units, so that sums stay far from int64 overflow.
const MaxAmount int64 = 1_000_000_000_000_000

// MaxBalance bounds the absolute value of an account's posted, pending-out
// and pending-in amounts, in minor units. A posting or hold that would take
// one past it is refused (LimitExceeded) before the database arithmetic could
// overflow int64: with |balance| ≤ MaxBalance and |amount| ≤ MaxAmount, every
// expression the guards evaluate stays well inside int64.
const MaxBalance int64 = 4_000_000_000_000_000_000

// MaxPostings bounds the number of postings in one entry.
const MaxPostings = 200

// Length limits on caller-supplied text, in bytes.
const (
	maxName        = 255  // tenant, owner, purpose, kind, reference, ids
	maxDescription = 1024 // entry description
)

// Ledger posts journal entries and keeps account balances. It is safe for
// concurrent use.
type Ledger struct {
	db    *store.DB
	clk   clock.Clock
	gen   *ids.Gen
	facts *factCache
	// folding keeps the postings of hot accounts that cannot be refused
	// in ledger_unfolded instead of updating the account row (fold.go).
	folding bool
}

// Option changes a Ledger made by New.
type Option func(*Ledger)

// Folding turns the unfolded postings of hot accounts on or off (fold.go).
// By default they are on for PostgreSQL, where concurrent transactions
// queue on a hot account's row lock, and off for SQLite, which runs one
// writer at a time and gains nothing from them.
func Folding(on bool) Option { return func(l *Ledger) { l.folding = on } }

// New returns a ledger over db, stamping rows with clk and naming them with gen.
func New(db *store.DB, clk clock.Clock, gen *ids.Gen, opts ...Option) *Ledger {
	l := &Ledger{db: db, clk: clk, gen: gen, facts: &factCache{}, folding: db != nil && db.Dialect() == store.Postgres}
	for _, o := range opts {
		o(l)
	}
	return l
}

// now returns the current time as stored: Unix microseconds, UTC.
func (l *Ledger) now() int64 { return l.clk.Now().UnixMicro() }

// fromMicros converts a stored timestamp to time.Time in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// AccountSpec names an account: one per tenant, owner, purpose and currency.
type AccountSpec struct {
	TenantID string
	// Owner is who the money belongs to, e.g. "merchant", "customer:cus_123",
	// "world", "psp:acme".
	Owner string
	// Purpose tells the owner's accounts apart, e.g. "available", "pending",
	// "fees", "clearing".
	Purpose  string
	Currency string // uppercase ISO 4217-style code, e.g. "EUR"
	// AllowOverdraft lets the posted balance go negative (clearing accounts
	// for the outside world). Wallets and merchant balances leave it false.
	AllowOverdraft bool
	// Hot marks an account that most payments of a tenant post to (a
	// clearing, merchant or fee account), so its postings that cannot be
	// refused are kept unfolded (fold.go). EnsureAccount marks an existing
	// account hot; it never unmarks one. Unfolded postings take no row
	// lock; on PostgreSQL they take a shared advisory lock on the account,
	// which LockOwnerAccounts (a closing) waits for before it reads.
	Hot bool
}

// Balance is an account's balance in minor units.
type Balance struct {
	Posted     int64 // sum of all postings
	PendingOut int64 // reserved by pending holds from the account
	PendingIn  int64 // expected from pending holds to the account
	Available  int64 // Posted - PendingOut: what may still be spent or held
}

// Account is a ledger account and its balance.
type Account struct {
	ID             string
	TenantID       string
	Owner          string
	Purpose        string
	Currency       string
	AllowOverdraft bool
	Balance        Balance
	// PostingCount is the number of postings to the account so far, which is
	// also the AccountSeq of the latest one once all are folded (fold.go).
	PostingCount int64
	Hot          bool
	CreatedAt    time.Time
	unfolded     int64 // postings not folded yet
}

// Posting moves Amount (signed minor units) into (positive) or out of
// (negative) an account.
type Posting struct {
	AccountID string
	Currency  string
	Amount    int64
}

// Entry is a journal entry to post.
type Entry struct {
	TenantID    string
	Kind        string // what caused it: "transfer", "capture", "fee", "refund"…
	Reference   string // the caller's reference, e.g. a payment id
	Description string
	Postings    []Posting // at least two; they sum to zero per currency
}

// PostedEntry is an entry as stored.
type PostedEntry struct {
	Entry
	ID        string
	HoldID    string // set when the entry posts (part of) a hold
	CreatedAt time.Time
}

// TransferSpec moves Amount from one account to another in one entry.
type TransferSpec struct {
	TenantID    string
	From        string // account id debited
	To          string // account id credited
	Currency    string
	Amount      int64  // > 0
	Kind        string // default "transfer"
	Reference   string
	Description string
}

// HoldSpec reserves Amount on From for a later post to To.
type HoldSpec struct {
	TenantID  string
	From      string
	To        string
	Currency  string
	Amount    int64  // > 0
	Kind      string // kind of the entries that post the hold; default "capture"
	Reference string
}

// HoldStatus is the state of a hold.
type HoldStatus string

// Hold states: pending → posted (fully or finally posted) or voided
// (remaining released without posting).
const (
	HoldPending HoldStatus = "pending"
	HoldPosted  HoldStatus = "posted"
	HoldVoided  HoldStatus = "voided"
)

// Hold is a reservation of money moving from one account to another.
type Hold struct {
	ID           string
	TenantID     string
	Kind         string
	From         string
	To           string
	Currency     string
	Amount       int64 // reserved at first
	PostedAmount int64 // posted so far
	Status       HoldStatus
	Reference    string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Remaining is what is still reserved: Amount - PostedAmount while pending,
// zero once posted or voided.
func (h Hold) Remaining() int64 {
	if h.Status != HoldPending {
		return 0
	}
	return h.Amount - h.PostedAmount
}

// validCurrency reports whether s is three uppercase ASCII letters.
func validCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// checkName validates a required short text field.
func checkName(field, v string) error {
	if v == "" {
		return apperr.InvalidField(field, "%s is required", field)
	}
	if len(v) > maxName {
		return apperr.InvalidField(field, "%s is longer than %d bytes", field, maxName)
	}
	return nil
}

// checkOptional validates an optional text field.
func checkOptional(field, v string, max int) error {
	if len(v) > max {
		return apperr.InvalidField(field, "%s is longer than %d bytes", field, max)
	}
	return nil
}

// checkCurrency validates a currency code.
func checkCurrency(field, v string) error {
	if !validCurrency(v) {
		return apperr.InvalidField(field, "currency %q is not three uppercase letters", v)
	}
	return nil
}

// checkPositive validates a hold or transfer amount.
func checkPositive(field string, v int64) error {
	if v <= 0 {
		return apperr.InvalidField(field, "amount must be positive, got %d", v)
	}
	if v > MaxAmount {
		return apperr.InvalidField(field, "amount %d exceeds the maximum %d", v, MaxAmount)
	}
	return nil
}
