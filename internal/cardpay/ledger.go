package cardpay

import (
	"context"
	"fmt"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/store"
)

// The kinds of the entries card acceptance posts (KindCapture is also the
// kind of its holds: the entries that post them).
const (
	KindSale       = "card_sale"
	KindCapture    = "card_capture"
	KindCancel     = "card_cancel"
	KindSettlement = "card_settlement"
	KindRefund     = "card_refund"
	KindCredit     = "card_credit" // a credit payment: money from the merchant to a card
)

// Accounts are the ledger accounts of card acceptance in one ledger scope
// and currency.
type Accounts struct {
	Clearing  string // card-scheme/clearing: the outside world, may go negative
	Pending   string // merchant/pending: captured, not yet settled
	Available string // merchant/available: settled
	Fees      string // platform/fees: fee revenue
}

type scopeKey struct{ scope, currency string }

// Accounts returns (creating them in tx when needed) the card accounts of
// the ledger scope in currency. Their ids are remembered once tx has
// committed, never before (a rolled-back transaction created nothing).
func (e *Engine) Accounts(ctx context.Context, tx *store.Tx, scope, currency string) (Accounts, error) {
	k := scopeKey{scope, currency}
	if v, ok := e.sets.Load(k); ok {
		return v.(Accounts), nil
	}
	var set Accounts
	// Every payment posts to clearing and pending, and fees to fees: they
	// are hot (ledger.AccountSpec.Hot).
	for _, a := range []struct {
		owner, purpose string
		overdraft, hot bool
		dst            *string
	}{
		{"card-scheme", "clearing", true, true, &set.Clearing},
		{"merchant", "pending", false, true, &set.Pending},
		{"merchant", "available", false, false, &set.Available},
		{"platform", "fees", false, true, &set.Fees},
	} {
		acc, err := e.ledger.EnsureAccount(ctx, tx, ledger.AccountSpec{TenantID: scope, Owner: a.owner, Purpose: a.purpose,
			Currency: currency, AllowOverdraft: a.overdraft, Hot: a.hot})
		if err != nil {
			return Accounts{}, err
		}
		*a.dst = acc.ID
	}
	tx.OnCommit(func() { e.sets.Store(k, set) })
	return set, nil
}

// Clearing returns (creating it in tx when needed) the card-scheme/clearing
// account of the scope in currency alone: for a scope whose merchant
// accounts are the product's own (a wallet).
func (e *Engine) Clearing(ctx context.Context, tx *store.Tx, scope, currency string) (string, error) {
	k := scopeKey{scope, currency}
	if v, ok := e.sets.Load(k); ok {
		return v.(Accounts).Clearing, nil
	}
	if v, ok := e.clearings.Load(k); ok {
		return v.(string), nil
	}
	acc, err := e.ledger.EnsureAccount(ctx, tx, ledger.AccountSpec{TenantID: scope, Owner: "card-scheme", Purpose: "clearing",
		Currency: currency, AllowOverdraft: true, Hot: true})
	if err != nil {
		return "", err
	}
	tx.OnCommit(func() { e.clearings.Store(k, acc.ID) })
	return acc.ID, nil
}

// SaleSpec is a card payment's money going from the card scheme to its
// destination: a sale, a hold, or the cancellation of a sale.
type SaleSpec struct {
	Scope     string // the ledger scope of the clearing and destination accounts
	Currency  string
	Amount    int64  // > 0, minor units
	To        string // the account credited; "" = merchant/pending of Scope
	Reference string // the payment's reference, on the entry or hold
	// Via is the outside world the money comes from: "" the card scheme
	// (card-scheme/clearing); another name, such as ViaPayPal, is that
	// provider's clearing account in the scope (ViaClearing).
	Via string
}

// ViaPayPal is the Via of a payment taken by PayPal: its money comes from,
// and refunds go back to, paypal/clearing.
const ViaPayPal = "paypal"

// route returns the clearing and destination accounts of s.
func (e *Engine) route(ctx context.Context, tx *store.Tx, s SaleSpec) (clearing, to string, err error) {
	to = s.To
	if to == "" {
		set, err := e.Accounts(ctx, tx, s.Scope, s.Currency)
		if err != nil || s.Via == "" {
			return set.Clearing, set.Pending, err
		}
		to = set.Pending
	}
	clearing, err = e.ViaClearing(ctx, tx, s.Scope, s.Currency, s.Via)
	return clearing, to, err
}

// ViaClearing returns (creating it in tx when needed) the clearing account
// of the outside world via ("" the card scheme: card-scheme/clearing; else
// via/clearing) in the scope and currency. Like card-scheme/clearing it may
// go negative: it stands for money outside cashgate.
func (e *Engine) ViaClearing(ctx context.Context, tx *store.Tx, scope, currency, via string) (string, error) {
	if via == "" {
		return e.Clearing(ctx, tx, scope, currency)
	}
	k := viaKey{scopeKey{scope, currency}, via}
	if v, ok := e.clearings.Load(k); ok {
		return v.(string), nil
	}
	acc, err := e.ledger.EnsureAccount(ctx, tx, ledger.AccountSpec{TenantID: scope, Owner: via, Purpose: "clearing",
		Currency: currency, AllowOverdraft: true, Hot: true})
	if err != nil {
		return "", err
	}
	tx.OnCommit(func() { e.clearings.Store(k, acc.ID) })
	return acc.ID, nil
}

// viaKey names the clearing account of an outside world other than the
// card scheme.
type viaKey struct {
	scopeKey
	via string
}

// Sale posts a captured card payment: card-scheme/clearing → destination.
func (e *Engine) Sale(ctx context.Context, tx *store.Tx, s SaleSpec) error {
	from, to, err := e.route(ctx, tx, s)
	if err != nil {
		return err
	}
	_, err = e.ledger.Transfer(ctx, tx, ledger.TransferSpec{TenantID: s.Scope, From: from, To: to, Currency: s.Currency,
		Amount: s.Amount, Kind: KindSale, Reference: s.Reference})
	return err
}

// CancelSale takes a sale back in full: destination → card-scheme/clearing.
func (e *Engine) CancelSale(ctx context.Context, tx *store.Tx, s SaleSpec) error {
	clearing, from, err := e.route(ctx, tx, s)
	if err != nil {
		return err
	}
	_, err = e.ledger.Transfer(ctx, tx, ledger.TransferSpec{TenantID: s.Scope, From: from, To: clearing, Currency: s.Currency,
		Amount: s.Amount, Kind: KindCancel, Reference: s.Reference})
	return err
}

// Hold records an authorisation: a ledger hold card-scheme/clearing →
// destination, to be captured (Capture) or released (Void). It returns the
// hold's id.
func (e *Engine) Hold(ctx context.Context, tx *store.Tx, s SaleSpec) (string, error) {
	from, to, err := e.route(ctx, tx, s)
	if err != nil {
		return "", err
	}
	h, err := e.ledger.Hold(ctx, tx, ledger.HoldSpec{TenantID: s.Scope, From: from, To: to, Currency: s.Currency,
		Amount: s.Amount, Kind: KindCapture, Reference: s.Reference})
	return h.ID, err
}

// HoldCredit reserves a credit payment (money to a card) on
// merchant/available of the scope: a hold merchant/available →
// card-scheme/clearing, posted in full (Capture, final) once the acquirer
// paid the card, released (Void) when it refused. Money is never created:
// a hold the available balance (less its other holds) cannot fund is
// apperr InsufficientFunds and changes nothing.
func (e *Engine) HoldCredit(ctx context.Context, tx *store.Tx, s SaleSpec) (string, error) {
	set, err := e.Accounts(ctx, tx, s.Scope, s.Currency)
	if err != nil {
		return "", err
	}
	h, err := e.ledger.Hold(ctx, tx, ledger.HoldSpec{TenantID: s.Scope, From: set.Available, To: set.Clearing, Currency: s.Currency,
		Amount: s.Amount, Kind: KindCredit, Reference: s.Reference})
	return h.ID, err
}

// Capture posts amount of the hold (partial captures may follow unless
// final, which releases the rest). The ledger's errors pass through:
// apperr Conflict or Invalid when the hold is closed or holds less.
func (e *Engine) Capture(ctx context.Context, tx *store.Tx, scope, holdID string, amount int64, final bool) error {
	_, err := e.ledger.PostHold(ctx, tx, scope, holdID, amount, final)
	return err
}

// Void releases what remains of the hold (cancellation, expiry); apperr
// Conflict when it is closed already.
func (e *Engine) Void(ctx context.Context, tx *store.Tx, scope, holdID string) error {
	return e.ledger.VoidHold(ctx, tx, scope, holdID)
}

// SettleSpec is the settlement of a payment's pending money.
type SettleSpec struct {
	Scope, Currency, Reference string
	Amount                     int64 // what is pending: captured, not yet settled
	Fee                        int64 // the product's fee on it, 0 ≤ Fee ≤ Amount
}

// Settle moves a payment's pending money to the merchant, less the fee:
// merchant/pending → merchant/available + platform/fees.
func (e *Engine) Settle(ctx context.Context, tx *store.Tx, s SettleSpec) error {
	if s.Fee < 0 || s.Fee > s.Amount {
		return fmt.Errorf("cardpay: settlement of %s: fee %d outside 0..%d", s.Reference, s.Fee, s.Amount)
	}
	set, err := e.Accounts(ctx, tx, s.Scope, s.Currency)
	if err != nil {
		return err
	}
	postings := []ledger.Posting{{AccountID: set.Pending, Currency: s.Currency, Amount: -s.Amount}}
	if s.Amount-s.Fee > 0 {
		postings = append(postings, ledger.Posting{AccountID: set.Available, Currency: s.Currency, Amount: s.Amount - s.Fee})
	}
	if s.Fee > 0 {
		postings = append(postings, ledger.Posting{AccountID: set.Fees, Currency: s.Currency, Amount: s.Fee})
	}
	_, err = e.ledger.Post(ctx, tx, ledger.Entry{TenantID: s.Scope, Kind: KindSettlement, Reference: s.Reference, Postings: postings})
	return err
}

// Paid is what a card payment's money has done so far, as the product
// keeps it.
type Paid struct {
	Captured    int64 // captured in all
	Refunded    int64 // refunded so far
	Pending     int64 // captured, neither settled nor refunded yet
	Settled     int64 // settled in all
	FeeCharged  int64 // the settlement fee taken
	FeeReturned int64 // what refunds returned of it so far
}

// Split is how a refund is paid from the merchant's card accounts.
type Split struct {
	FromPending   int64 // from merchant/pending: not settled, no fee taken on it
	FromAvailable int64 // settled money: merchant/available pays it less FeeBack
	FeeBack       int64 // the fee's share that platform/fees returns (≤ FromAvailable)
}

// Amount is the refund's total.
func (s Split) Amount() int64 { return s.FromPending + s.FromAvailable }

// SplitRefund splits a refund of amount of the payment p: what is not yet
// settled first (no fee was taken from it), then settled money, whose fee
// it returns pro rata: the fee's share of all the settled money refunded
// once this refund is done (round half up), less what earlier refunds
// returned, so refunds of all the settled money return exactly the fee.
// Refunds use settled money only once nothing is pending, and a payment
// that was refunded is never captured again, so the settled amount and its
// fee no longer change by then.
func SplitRefund(p Paid, amount int64) (Split, error) {
	s := Split{FromPending: min(amount, p.Pending)}
	s.FromAvailable = amount - s.FromPending
	if s.FromAvailable == 0 || p.FeeCharged == 0 || p.Settled == 0 {
		return s, nil
	}
	// captured = pending + settled + what refunds took from pending.
	settledRefunded := p.Refunded - (p.Captured - p.Pending - p.Settled)
	cum, err := money.ProRata(p.FeeCharged, settledRefunded+s.FromAvailable, p.Settled, money.RoundHalfUp)
	if err != nil {
		return Split{}, err
	}
	s.FeeBack = min(max(cum-p.FeeReturned, 0), s.FromAvailable)
	return s, nil
}

// RefundSpec is a refund to the card: Amount leaves the merchant for the
// scope's card-scheme/clearing.
type RefundSpec struct {
	Scope, Currency, Reference string
	Amount                     int64
	// From, when set, is the one account that pays the refund (remote
	// payments: the merchant's wallet). Else the card accounts of Scope pay
	// it as Split says (Split.Amount() must be Amount).
	From  string
	Split Split
	// Via is the outside world the refund goes back to, as the payment's
	// SaleSpec.Via said ("" the card scheme).
	Via string
}

// ShortfallError says merchant/available cannot fund the settled part of a
// refund (the money was paid out).
type ShortfallError struct {
	Available int64 // the available balance of merchant/available
	Need      int64 // what the refund takes from it: settled money less the fee returned
}

func (e *ShortfallError) Error() string {
	return fmt.Sprintf("cardpay: merchant/available holds %d, the refund takes %d", e.Available, e.Need)
}

// Refund posts a refund. From a single account, the ledger's refusal of an
// overdraft passes through (apperr InsufficientFunds). From the card
// accounts, a merchant/available that cannot fund its part is apperr
// InsufficientFunds wrapping a *ShortfallError; a platform/fees that cannot
// return its share is an internal error.
func (e *Engine) Refund(ctx context.Context, tx *store.Tx, s RefundSpec) error {
	if s.From != "" {
		clearing, err := e.ViaClearing(ctx, tx, s.Scope, s.Currency, s.Via)
		if err != nil {
			return err
		}
		_, err = e.ledger.Transfer(ctx, tx, ledger.TransferSpec{TenantID: s.Scope, From: s.From, To: clearing, Currency: s.Currency,
			Amount: s.Amount, Kind: KindRefund, Reference: s.Reference})
		return err
	}
	if s.Split.Amount() != s.Amount || s.Split.FeeBack < 0 || s.Split.FeeBack > s.Split.FromAvailable {
		return fmt.Errorf("cardpay: refund of %s: split %+v does not pay %d", s.Reference, s.Split, s.Amount)
	}
	set, err := e.Accounts(ctx, tx, s.Scope, s.Currency)
	if err != nil {
		return err
	}
	if s.Via != "" {
		if set.Clearing, err = e.ViaClearing(ctx, tx, s.Scope, s.Currency, s.Via); err != nil {
			return err
		}
	}
	_, err = e.ledger.Post(ctx, tx, ledger.Entry{TenantID: s.Scope, Kind: KindRefund, Reference: s.Reference, Postings: refundPostings(set, s)})
	if apperr.Is(err, apperr.InsufficientFunds) {
		return e.shortfall(ctx, tx, set, s)
	}
	return err
}

// refundPostings are the postings of a refund from the card accounts.
func refundPostings(set Accounts, s RefundSpec) []ledger.Posting {
	sp, cur := s.Split, s.Currency
	postings := []ledger.Posting{{AccountID: set.Clearing, Currency: cur, Amount: s.Amount}}
	if sp.FromPending > 0 {
		postings = append(postings, ledger.Posting{AccountID: set.Pending, Currency: cur, Amount: -sp.FromPending})
	}
	if sp.FromAvailable > sp.FeeBack {
		postings = append(postings, ledger.Posting{AccountID: set.Available, Currency: cur, Amount: -(sp.FromAvailable - sp.FeeBack)})
	}
	if sp.FeeBack > 0 {
		postings = append(postings, ledger.Posting{AccountID: set.Fees, Currency: cur, Amount: -sp.FeeBack})
	}
	return postings
}

// shortfall is the refusal of a refund from the card accounts that the
// ledger refused for lack of funds.
func (e *Engine) shortfall(ctx context.Context, tx *store.Tx, set Accounts, s RefundSpec) error {
	need := s.Split.FromAvailable - s.Split.FeeBack
	a, err := e.ledger.Account(ctx, tx, s.Scope, set.Available)
	if err != nil {
		return err
	}
	if a.Balance.Available >= need {
		return fmt.Errorf("cardpay: refund of %s: platform/fees cannot return %d", s.Reference, s.Split.FeeBack)
	}
	return &apperr.Error{Code: apperr.InsufficientFunds, Message: "The merchant's available balance cannot fund this refund.",
		Err: &ShortfallError{Available: a.Balance.Available, Need: need}}
}
