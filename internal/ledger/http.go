package ledger

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// The ledger's platform API (/platform/ledger/…): a tenant keeps its own
// accounts and moves money between them. Amounts travel as decimal strings
// in the currency's scale ("10.00" EUR, "1000" JPY).
//
// Accounts created through this API live in their own owner namespace
// (stored as "api/"+owner): the API may read every account of the tenant but
// writes only to API accounts, so no caller can move money held in accounts
// the products (card gateway, wallets…) own.

const apiOwnerPrefix = "api/"

// EventEmitter writes an event in the caller's transaction (outbox.Outbox):
// every write through the API emits one, so webhooks follow the ledger.
type EventEmitter interface {
	Emit(ctx context.Context, tx *store.Tx, ev outbox.Event) (outbox.Event, error)
}

// The event types the ledger API emits; data is the response body.
const (
	EventTransferPosted = "ledger.transfer.posted"
	EventEntryPosted    = "ledger.entry.posted"
	EventHoldCreated    = "ledger.hold.created"
	EventHoldPosted     = "ledger.hold.posted"
	EventHoldVoided     = "ledger.hold.voided"
)

// AccountRequest creates (or returns) an account.
type AccountRequest struct {
	Owner          string `json:"owner"`
	Purpose        string `json:"purpose"`
	Currency       string `json:"currency"`
	AllowOverdraft bool   `json:"allowOverdraft,omitempty"`
}

// BalanceJSON is a balance in decimal strings.
type BalanceJSON struct {
	Posted     string `json:"posted"`
	PendingOut string `json:"pendingOut"`
	PendingIn  string `json:"pendingIn"`
	Available  string `json:"available"`
}

// AccountJSON is an account on the wire.
type AccountJSON struct {
	ID             string      `json:"id"`
	Owner          string      `json:"owner"`
	Purpose        string      `json:"purpose"`
	Currency       string      `json:"currency"`
	AllowOverdraft bool        `json:"allowOverdraft"`
	APIManaged     bool        `json:"apiManaged"`
	Balance        BalanceJSON `json:"balance"`
	CreatedAt      time.Time   `json:"createdAt"`
}

// AccountList is a page of accounts.
type AccountList struct {
	Data []AccountJSON `json:"data"`
	// Next is the cursor for the following page (?after=), absent on the last page.
	Next string `json:"next,omitempty"`
}

// TransferRequest moves money between two API accounts.
type TransferRequest struct {
	From        string `json:"from"`
	To          string `json:"to"`
	Amount      string `json:"amount"`
	Currency    string `json:"currency"`
	Reference   string `json:"reference"`
	Description string `json:"description,omitempty"`
}

// PostingJSON is one leg of an entry; Amount is signed ("-10.00" leaves the account).
type PostingJSON struct {
	AccountID string `json:"accountId"`
	Amount    string `json:"amount"`
}

// EntryRequest posts a multi-leg entry; the postings must sum to zero.
type EntryRequest struct {
	Currency    string        `json:"currency"`
	Reference   string        `json:"reference"`
	Description string        `json:"description,omitempty"`
	Postings    []PostingJSON `json:"postings"`
}

// EntryJSON is a journal entry on the wire.
type EntryJSON struct {
	ID          string        `json:"id"`
	Kind        string        `json:"kind"`
	Reference   string        `json:"reference"`
	Description string        `json:"description,omitempty"`
	Currency    string        `json:"currency"`
	HoldID      string        `json:"holdId,omitempty"`
	Postings    []PostingJSON `json:"postings"`
	CreatedAt   time.Time     `json:"createdAt"`
}

// HoldRequest reserves money on From for a later post to To.
type HoldRequest struct {
	From      string `json:"from"`
	To        string `json:"to"`
	Amount    string `json:"amount"`
	Currency  string `json:"currency"`
	Reference string `json:"reference"`
}

// HoldPostRequest posts part or all of a hold. Amount empty = everything
// remaining; Final releases whatever is left after this post.
type HoldPostRequest struct {
	Amount string `json:"amount,omitempty"`
	Final  bool   `json:"final,omitempty"`
}

// HoldJSON is a hold on the wire.
type HoldJSON struct {
	ID           string    `json:"id"`
	From         string    `json:"from"`
	To           string    `json:"to"`
	Currency     string    `json:"currency"`
	Amount       string    `json:"amount"`
	PostedAmount string    `json:"postedAmount"`
	Remaining    string    `json:"remaining"`
	Status       string    `json:"status"`
	Reference    string    `json:"reference"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// HoldPostResponse is the entry a hold post wrote and the hold after it.
type HoldPostResponse struct {
	Entry EntryJSON `json:"entry"`
	Hold  HoldJSON  `json:"hold"`
}

// LineJSON is one statement line.
type LineJSON struct {
	Seq          int64     `json:"seq"`
	EntryID      string    `json:"entryId"`
	Amount       string    `json:"amount"`
	BalanceAfter string    `json:"balanceAfter"`
	Kind         string    `json:"kind"`
	Reference    string    `json:"reference"`
	Description  string    `json:"description,omitempty"`
	HoldID       string    `json:"holdId,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
}

// StatementJSON is one page of an account statement.
type StatementJSON struct {
	Data []LineJSON `json:"data"`
	// Next is the cursor for the following page (?after=), absent on the last page.
	Next int64 `json:"next,omitempty"`
}

// Routes returns the ledger's platform API routes; writes emit events through events.
func (l *Ledger) Routes(errw httpx.ErrorWriter, events EventEmitter) []httpx.Route {
	h := &ledgerHTTP{l: l, events: events}
	return []httpx.Route{
		{Method: "POST", Path: "/platform/ledger/accounts", API: httpx.APIPlatform, Summary: "Create an account (or return the existing one with the same owner, purpose and currency)",
			Request: AccountRequest{}, Response: AccountJSON{}, Handler: httpx.Handle(errw, http.StatusOK, h.createAccount)},
		{Method: "GET", Path: "/platform/ledger/accounts", API: httpx.APIPlatform, Summary: "List the tenant's accounts",
			Query: []string{"owner", "after", "limit"}, Response: AccountList{}, Handler: httpx.Handle(errw, http.StatusOK, h.listAccounts)},
		{Method: "GET", Path: "/platform/ledger/accounts/{id}", API: httpx.APIPlatform, Summary: "An account and its balance",
			Response: AccountJSON{}, Handler: httpx.Handle(errw, http.StatusOK, h.getAccount)},
		{Method: "GET", Path: "/platform/ledger/accounts/{id}/statement", API: httpx.APIPlatform, Summary: "An account's postings with the balance each left, paged",
			Query: []string{"after", "limit", "order"}, Response: StatementJSON{}, Handler: httpx.Handle(errw, http.StatusOK, h.statement)},
		{Method: "POST", Path: "/platform/ledger/transfers", API: httpx.APIPlatform, Summary: "Move money between two API accounts (refused if it would overdraw)",
			Request: TransferRequest{}, Response: EntryJSON{}, Status: http.StatusCreated, Handler: httpx.Handle(errw, http.StatusCreated, h.transfer)},
		{Method: "POST", Path: "/platform/ledger/entries", API: httpx.APIPlatform, Summary: "Post a balanced multi-leg entry between API accounts",
			Request: EntryRequest{}, Response: EntryJSON{}, Status: http.StatusCreated, Handler: httpx.Handle(errw, http.StatusCreated, h.postEntry)},
		{Method: "GET", Path: "/platform/ledger/entries/{id}", API: httpx.APIPlatform, Summary: "A journal entry",
			Response: EntryJSON{}, Handler: httpx.Handle(errw, http.StatusOK, h.getEntry)},
		{Method: "POST", Path: "/platform/ledger/holds", API: httpx.APIPlatform, Summary: "Reserve money for a later post (two-phase transfer)",
			Request: HoldRequest{}, Response: HoldJSON{}, Status: http.StatusCreated, Handler: httpx.Handle(errw, http.StatusCreated, h.createHold)},
		{Method: "GET", Path: "/platform/ledger/holds/{id}", API: httpx.APIPlatform, Summary: "A hold",
			Response: HoldJSON{}, Handler: httpx.Handle(errw, http.StatusOK, h.getHold)},
		{Method: "POST", Path: "/platform/ledger/holds/{id}/post", API: httpx.APIPlatform, Summary: "Post part or all of a hold (an empty body posts everything remaining)",
			Request: HoldPostRequest{}, Response: HoldPostResponse{}, Handler: httpx.HandleOptionalBody(errw, http.StatusOK, h.postHold)},
		{Method: "POST", Path: "/platform/ledger/holds/{id}/void", API: httpx.APIPlatform, Summary: "Release what remains of a hold",
			Response: HoldJSON{}, Handler: httpx.Handle(errw, http.StatusOK, h.voidHold)},
	}
}

type ledgerHTTP struct {
	l      *Ledger
	events EventEmitter
	api    apiAccounts
}

// apiAccounts remembers accounts found API-managed. An account's owner
// never changes, so a positive answer holds for good and the write path
// need not read the account again inside its transaction (on SQLite that
// read ran in the single committer). Bounded: past maxRemembered it starts
// over.
type apiAccounts struct {
	mu sync.Mutex
	m  map[string]struct{}
}

const maxRemembered = 1 << 16

func (a *apiAccounts) known(tenantID, id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.m[tenantID+"\x00"+id]
	return ok
}

func (a *apiAccounts) remember(tenantID, id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil || len(a.m) >= maxRemembered {
		a.m = make(map[string]struct{})
	}
	a.m[tenantID+"\x00"+id] = struct{}{}
}

func (h *ledgerHTTP) emit(ctx context.Context, tx *store.Tx, tenantID, typ, subject string, data any) error {
	_, err := h.events.Emit(ctx, tx, outbox.Event{TenantID: tenantID, Type: typ, Subject: subject, Data: data})
	return err
}

func tenantOf(r *http.Request) (string, error) {
	p, ok := httpx.PrincipalFrom(r.Context())
	if !ok || p.TenantID == "" {
		return "", apperr.New(apperr.Unauthenticated, "Authorization field missing")
	}
	return p.TenantID, nil
}

// currencyOf parses an ISO 4217 code for the wire.
func currencyOf(field, code string) (money.Currency, error) {
	c, err := money.ParseCurrency(code)
	if err != nil {
		return money.Currency{}, apperr.InvalidField(field, "%q is not an ISO 4217 currency code", code)
	}
	return c, nil
}

// amountOf parses a positive decimal amount.
func amountOf(field, s string, cur money.Currency) (int64, error) {
	a, err := money.ParseDecimal(s, cur)
	if err != nil {
		return 0, apperr.InvalidField(field, "%s: %s", field, strings.TrimPrefix(err.Error(), "money: "))
	}
	if a.Minor == 0 {
		return 0, apperr.InvalidField(field, "%s must be greater than zero", field)
	}
	return a.Minor, nil
}

// moneyOf parses a currency and a positive amount in it.
func moneyOf(amount, code string) (money.Currency, int64, error) {
	cur, err := currencyOf("currency", code)
	if err != nil {
		return money.Currency{}, 0, err
	}
	amt, err := amountOf("amount", amount, cur)
	return cur, amt, err
}

// signedAmountOf parses a decimal amount that may start with '-'.
func signedAmountOf(field, s string, cur money.Currency) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	v, err := amountOf(field, strings.TrimPrefix(s, "-"), cur)
	if neg {
		v = -v
	}
	return v, err
}

func dec(minor int64, code string) string {
	c, err := money.ParseCurrency(code)
	if err != nil { // accounts only ever hold valid codes
		return strconv.FormatInt(minor, 10)
	}
	return money.Format(money.New(minor, c))
}

func toAccountJSON(a Account) AccountJSON {
	owner, api := strings.CutPrefix(a.Owner, apiOwnerPrefix)
	return AccountJSON{
		ID: a.ID, Owner: owner, Purpose: a.Purpose, Currency: a.Currency, AllowOverdraft: a.AllowOverdraft, APIManaged: api,
		Balance: BalanceJSON{
			Posted: dec(a.Balance.Posted, a.Currency), PendingOut: dec(a.Balance.PendingOut, a.Currency),
			PendingIn: dec(a.Balance.PendingIn, a.Currency), Available: dec(a.Balance.Available, a.Currency),
		},
		CreatedAt: a.CreatedAt,
	}
}

func toHoldJSON(h Hold) HoldJSON {
	return HoldJSON{ID: h.ID, From: h.From, To: h.To, Currency: h.Currency, Amount: dec(h.Amount, h.Currency),
		PostedAmount: dec(h.PostedAmount, h.Currency), Remaining: dec(h.Remaining(), h.Currency), Status: string(h.Status),
		Reference: h.Reference, CreatedAt: h.CreatedAt, UpdatedAt: h.UpdatedAt}
}

func toEntryJSON(e PostedEntry) EntryJSON {
	out := EntryJSON{ID: e.ID, Kind: e.Kind, Reference: e.Reference, Description: e.Description, HoldID: e.HoldID, CreatedAt: e.CreatedAt}
	for _, p := range e.Postings {
		out.Currency = p.Currency
		out.Postings = append(out.Postings, PostingJSON{AccountID: p.AccountID, Amount: dec(p.Amount, p.Currency)})
	}
	return out
}

// twoLegs is the entry of a transfer or hold post of amt from one account to another.
func (h *ledgerHTTP) twoLegs(id, holdID, tenantID, kind, reference, description, from, to, currency string, amt int64) PostedEntry {
	return PostedEntry{ID: id, HoldID: holdID, CreatedAt: h.l.clk.Now(), Entry: Entry{TenantID: tenantID, Kind: kind, Reference: reference,
		Description: description, Postings: []Posting{{AccountID: from, Currency: currency, Amount: -amt}, {AccountID: to, Currency: currency, Amount: amt}}}}
}

// requireAPIAccounts refuses writes touching accounts the API does not manage.
func (h *ledgerHTTP) requireAPIAccounts(r *http.Request, tx *store.Tx, tenantID string, fields map[string]string) error {
	for field, id := range fields {
		if h.api.known(tenantID, id) {
			continue
		}
		a, err := h.l.Account(r.Context(), tx, tenantID, id)
		if err != nil {
			if apperr.Is(err, apperr.NotFound) {
				return apperr.InvalidField(field, "account %q does not exist", id)
			}
			return err
		}
		if !strings.HasPrefix(a.Owner, apiOwnerPrefix) {
			return apperr.InvalidField(field, "account %q is owned by a cashgate product and cannot be moved through the ledger API", id)
		}
		tx.OnCommit(func() { h.api.remember(tenantID, id) })
	}
	return nil
}

// write runs fn in one transaction for the calling tenant and answers *out
// with status from inside it (httpx.Reply: the answer commits with the
// effects).
func (h *ledgerHTTP) write(r *http.Request, status int, out any, fn func(tx *store.Tx, tenantID string) error) error {
	tenantID, err := tenantOf(r)
	if err != nil {
		return err
	}
	return h.l.db.Transact(r.Context(), func(ctx context.Context, tx *store.Tx) error {
		if err := fn(tx, tenantID); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, status, out)
	})
}

func (h *ledgerHTTP) createAccount(r *http.Request, req AccountRequest) (AccountJSON, error) {
	if _, err := currencyOf("currency", req.Currency); err != nil {
		return AccountJSON{}, err
	}
	if strings.TrimSpace(req.Owner) == "" {
		return AccountJSON{}, apperr.InvalidField("owner", "owner is required")
	}
	if strings.TrimSpace(req.Purpose) == "" {
		return AccountJSON{}, apperr.InvalidField("purpose", "purpose is required")
	}
	var out AccountJSON
	err := h.write(r, http.StatusOK, &out, func(tx *store.Tx, tenantID string) error {
		acc, err := h.l.EnsureAccount(r.Context(), tx, AccountSpec{TenantID: tenantID, Owner: apiOwnerPrefix + req.Owner,
			Purpose: req.Purpose, Currency: req.Currency, AllowOverdraft: req.AllowOverdraft})
		out = toAccountJSON(acc)
		return err
	})
	return out, err
}

func (h *ledgerHTTP) listAccounts(r *http.Request, _ httpx.NoBody) (AccountList, error) {
	tenantID, err := tenantOf(r)
	if err != nil {
		return AccountList{}, err
	}
	q := r.URL.Query()
	f := AccountFilter{After: q.Get("after"), Limit: 100}
	if o := q.Get("owner"); o != "" {
		f.Owner = apiOwnerPrefix + o
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 1000 {
			return AccountList{}, apperr.InvalidField("limit", "limit must be between 1 and 1000")
		}
	}
	accs, err := h.l.Accounts(r.Context(), h.l.db.Read(), tenantID, f)
	if err != nil {
		return AccountList{}, err
	}
	out := AccountList{Data: make([]AccountJSON, 0, len(accs))}
	for _, a := range accs {
		out.Data = append(out.Data, toAccountJSON(a))
	}
	if len(accs) == f.Limit {
		out.Next = accs[len(accs)-1].ID
	}
	return out, nil
}

func (h *ledgerHTTP) getAccount(r *http.Request, _ httpx.NoBody) (AccountJSON, error) {
	tenantID, err := tenantOf(r)
	if err != nil {
		return AccountJSON{}, err
	}
	a, err := h.l.Account(r.Context(), h.l.db.Read(), tenantID, r.PathValue("id"))
	return toAccountJSON(a), err
}

func (h *ledgerHTTP) statement(r *http.Request, _ httpx.NoBody) (StatementJSON, error) {
	tenantID, err := tenantOf(r)
	if err != nil {
		return StatementJSON{}, err
	}
	q := r.URL.Query()
	sq := StatementQuery{}
	if v := q.Get("after"); v != "" {
		if sq.After, err = strconv.ParseInt(v, 10, 64); err != nil || sq.After < 0 {
			return StatementJSON{}, apperr.InvalidField("after", "after must be a cursor from a previous page")
		}
	}
	if v := q.Get("limit"); v != "" {
		if sq.Limit, err = strconv.Atoi(v); err != nil || sq.Limit < 1 || sq.Limit > 1000 {
			return StatementJSON{}, apperr.InvalidField("limit", "limit must be between 1 and 1000")
		}
	}
	switch q.Get("order") {
	case "", "asc":
	case "desc":
		sq.NewestFirst = true
	default:
		return StatementJSON{}, apperr.InvalidField("order", "order must be asc or desc")
	}
	id := r.PathValue("id")
	acc, err := h.l.Account(r.Context(), h.l.db.Read(), tenantID, id)
	if err != nil {
		return StatementJSON{}, err
	}
	page, err := h.l.Statement(r.Context(), h.l.db.Read(), tenantID, id, sq)
	if err != nil {
		return StatementJSON{}, err
	}
	out := StatementJSON{Data: make([]LineJSON, 0, len(page.Lines)), Next: page.Next}
	for _, ln := range page.Lines {
		out.Data = append(out.Data, LineJSON{Seq: ln.AccountSeq, EntryID: ln.EntryID, Amount: dec(ln.Amount, acc.Currency),
			BalanceAfter: dec(ln.BalanceAfter, acc.Currency), Kind: ln.Kind, Reference: ln.Reference, Description: ln.Description,
			HoldID: ln.HoldID, CreatedAt: ln.CreatedAt})
	}
	return out, nil
}

func (h *ledgerHTTP) transfer(r *http.Request, req TransferRequest) (EntryJSON, error) {
	cur, amt, err := moneyOf(req.Amount, req.Currency)
	if err != nil {
		return EntryJSON{}, err
	}
	var out EntryJSON
	err = h.write(r, http.StatusCreated, &out, func(tx *store.Tx, tenantID string) error {
		if err := h.requireAPIAccounts(r, tx, tenantID, map[string]string{"from": req.From, "to": req.To}); err != nil {
			return err
		}
		id, err := h.l.Transfer(r.Context(), tx, TransferSpec{TenantID: tenantID, From: req.From, To: req.To, Currency: cur.Code(), Amount: amt,
			Kind: "transfer", Reference: req.Reference, Description: req.Description})
		if err != nil {
			return err
		}
		out = toEntryJSON(h.twoLegs(id, "", tenantID, "transfer", req.Reference, req.Description, req.From, req.To, cur.Code(), amt))
		return h.emit(r.Context(), tx, tenantID, EventTransferPosted, id, out)
	})
	return out, err
}

func (h *ledgerHTTP) postEntry(r *http.Request, req EntryRequest) (EntryJSON, error) {
	cur, err := currencyOf("currency", req.Currency)
	if err != nil {
		return EntryJSON{}, err
	}
	e := Entry{Kind: "entry", Reference: req.Reference, Description: req.Description}
	accounts := map[string]string{}
	for i, p := range req.Postings {
		v, err := signedAmountOf("postings["+strconv.Itoa(i)+"].amount", p.Amount, cur)
		if err != nil {
			return EntryJSON{}, err
		}
		e.Postings = append(e.Postings, Posting{AccountID: p.AccountID, Currency: cur.Code(), Amount: v})
		accounts["postings["+strconv.Itoa(i)+"].accountId"] = p.AccountID
	}
	var out EntryJSON
	err = h.write(r, http.StatusCreated, &out, func(tx *store.Tx, tenantID string) error {
		if err := h.requireAPIAccounts(r, tx, tenantID, accounts); err != nil {
			return err
		}
		e.TenantID = tenantID
		id, err := h.l.Post(r.Context(), tx, e)
		if err != nil {
			return err
		}
		out = toEntryJSON(PostedEntry{ID: id, Entry: e, CreatedAt: h.l.clk.Now()})
		return h.emit(r.Context(), tx, tenantID, EventEntryPosted, id, out)
	})
	return out, err
}

func (h *ledgerHTTP) getEntry(r *http.Request, _ httpx.NoBody) (EntryJSON, error) {
	tenantID, err := tenantOf(r)
	if err != nil {
		return EntryJSON{}, err
	}
	e, err := h.l.EntryByID(r.Context(), h.l.db.Read(), tenantID, r.PathValue("id"))
	return toEntryJSON(e), err
}

func (h *ledgerHTTP) createHold(r *http.Request, req HoldRequest) (HoldJSON, error) {
	cur, amt, err := moneyOf(req.Amount, req.Currency)
	if err != nil {
		return HoldJSON{}, err
	}
	var out HoldJSON
	err = h.write(r, http.StatusCreated, &out, func(tx *store.Tx, tenantID string) error {
		if err := h.requireAPIAccounts(r, tx, tenantID, map[string]string{"from": req.From, "to": req.To}); err != nil {
			return err
		}
		hold, err := h.l.Hold(r.Context(), tx, HoldSpec{TenantID: tenantID, From: req.From, To: req.To, Currency: cur.Code(),
			Amount: amt, Kind: "transfer", Reference: req.Reference})
		if err != nil {
			return err
		}
		out = toHoldJSON(hold)
		return h.emit(r.Context(), tx, tenantID, EventHoldCreated, hold.ID, out)
	})
	return out, err
}

func (h *ledgerHTTP) getHold(r *http.Request, _ httpx.NoBody) (HoldJSON, error) {
	tenantID, err := tenantOf(r)
	if err != nil {
		return HoldJSON{}, err
	}
	hold, err := h.l.HoldByID(r.Context(), h.l.db.Read(), tenantID, r.PathValue("id"))
	return toHoldJSON(hold), err
}

// apiHold loads a hold inside tx and refuses holds the API does not manage.
func (h *ledgerHTTP) apiHold(r *http.Request, tx *store.Tx, tenantID, id string) (Hold, error) {
	hold, err := h.l.HoldByID(r.Context(), tx, tenantID, id)
	if err != nil {
		return Hold{}, err
	}
	return hold, h.requireAPIAccounts(r, tx, tenantID, map[string]string{"from": hold.From, "to": hold.To})
}

func (h *ledgerHTTP) postHold(r *http.Request, req HoldPostRequest) (HoldPostResponse, error) {
	id := r.PathValue("id")
	var out HoldPostResponse
	err := h.write(r, http.StatusOK, &out, func(tx *store.Tx, tenantID string) error {
		hold, err := h.apiHold(r, tx, tenantID, id)
		if err != nil {
			return err
		}
		amt := hold.Remaining()
		if req.Amount != "" {
			cur, err := currencyOf("currency", hold.Currency)
			if err != nil {
				return err
			}
			if amt, err = amountOf("amount", req.Amount, cur); err != nil {
				return err
			}
		}
		entryID, err := h.l.PostHold(r.Context(), tx, tenantID, id, amt, req.Final)
		if err != nil {
			return err
		}
		if hold, err = h.l.HoldByID(r.Context(), tx, tenantID, id); err != nil {
			return err
		}
		out = HoldPostResponse{Hold: toHoldJSON(hold),
			Entry: toEntryJSON(h.twoLegs(entryID, id, tenantID, hold.Kind, hold.Reference, "", hold.From, hold.To, hold.Currency, amt))}
		return h.emit(r.Context(), tx, tenantID, EventHoldPosted, id, out)
	})
	return out, err
}

func (h *ledgerHTTP) voidHold(r *http.Request, _ httpx.NoBody) (HoldJSON, error) {
	id := r.PathValue("id")
	var out HoldJSON
	err := h.write(r, http.StatusOK, &out, func(tx *store.Tx, tenantID string) error {
		if _, err := h.apiHold(r, tx, tenantID, id); err != nil {
			return err
		}
		if err := h.l.VoidHold(r.Context(), tx, tenantID, id); err != nil {
			return err
		}
		hold, err := h.l.HoldByID(r.Context(), tx, tenantID, id)
		if err != nil {
			return err
		}
		out = toHoldJSON(hold)
		return h.emit(r.Context(), tx, tenantID, EventHoldVoided, id, out)
	})
	return out, err
}
