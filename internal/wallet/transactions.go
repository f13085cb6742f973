package wallet

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
)

// Transaction is a wallet movement as one of its parties sees it: Amount is
// what moved between the parties, Fee what this party paid for it, and Net
// the change of this party's balance (negative when money left).
type WalletTransaction struct {
	ID           string `json:"id"`
	Type         string `json:"type"`   // topup, send, payment, refund, withdrawal, verification
	Status       string `json:"status"` // completed; payouts: requested, exported, paid, returned (PayoutStatus)
	Direction    string `json:"direction"`
	Counterparty string `json:"counterparty"` // username, or the bank / IBAN
	Amount       string `json:"amount"`
	Fee          string `json:"fee"`
	Net          string `json:"net"`
	Currency     string `json:"currency"`
	Description  string `json:"description"`
	RequestID    string `json:"requestId,omitempty"`
	Reference    string `json:"reference,omitempty"`
	IBAN         string `json:"iban,omitempty"`
	// ReturnReason is the bank's reason for returning a payout (status returned).
	ReturnReason string    `json:"returnReason,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
	// The whole movement, for overviews: what the sender paid in fees and
	// what was deducted from what the recipient received.
	SenderFee    string `json:"senderFee"`
	RecipientFee string `json:"recipientFee"`
	// FeeReturned (refunds) is the part of Amount the issuer paid from its
	// fee revenue: the receive fee's pro-rata share, returned to the
	// merchant, whose wallet paid only Amount − FeeReturned.
	FeeReturned string `json:"feeReturned,omitempty"`

	amountCents int64
}

const txSelect = `SELECT t.id, t.kind, t.status, t.from_user, t.to_user, t.amount, t.sender_fee, t.recipient_fee, t.fee_returned, t.description, t.request_id,
t.reference, t.iban, t.return_reason, t.created_at, t.updated_at, COALESCE(f.username, ''), COALESCE(r.username, ''), t.currency
FROM wallet_transactions t LEFT JOIN wallet_users f ON f.id = t.from_user LEFT JOIN wallet_users r ON r.id = t.to_user `

func scanTx(rs interface{ Scan(...any) error }, viewer string) (WalletTransaction, error) {
	var t WalletTransaction
	var from, to, fromName, toName string
	var amount, sf, rf, fr, created, updated int64
	if err := rs.Scan(&t.ID, &t.Type, &t.Status, &from, &to, &amount, &sf, &rf, &fr, &t.Description, &t.RequestID, &t.Reference, &t.IBAN,
		&t.ReturnReason, &created, &updated, &fromName, &toName, &t.Currency); err != nil {
		return WalletTransaction{}, err
	}
	if t.Type == "verification" {
		// The stored description is the transfer's remittance text, which
		// carries the verification code: only the bank statement shows it.
		t.Description = verificationDescription
	}
	// Amounts are minor units of the movement's currency (EUR but for
	// sandbox top-ups in another one).
	f := func(v int64) string { return formatMinor(v, t.Currency) }
	t.Amount, t.SenderFee, t.RecipientFee = f(amount), f(sf), f(rf)
	t.amountCents = amount
	if fr > 0 {
		t.FeeReturned = f(fr)
	}
	t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
	// Net is the change of the viewer's wallet balance: none for a payout
	// the bank returned (the amount and the fee came back) nor for a
	// verification transfer (the issuer pays it, to the bank account).
	if t.Status == PayoutReturned || t.Type == "verification" {
		amount, sf, rf, fr = 0, 0, 0, 0
	}
	if from == viewer {
		t.Direction, t.Fee, t.Net = "out", f(sf), f(-(amount + sf - fr))
		t.Counterparty = toName
		if to == "" {
			t.Counterparty = "bank " + t.IBAN
		}
	} else {
		t.Direction, t.Fee, t.Net = "in", f(rf), f(amount-rf)
		t.Counterparty = fromName
		if from == "" {
			t.Counterparty = "bank transfer"
		}
	}
	return t, nil
}

func (s *Service) transaction(ctx context.Context, q store.Querier, viewer, id string) (WalletTransaction, error) {
	t, err := scanTx(q.QueryRowContext(ctx, txSelect+`WHERE t.id = $1 AND (t.from_user = $2 OR t.to_user = $2)`, id, viewer), viewer)
	if errors.Is(err, sql.ErrNoRows) {
		return WalletTransaction{}, apperr.New(apperr.NotFound, "transaction %s not found", id)
	}
	return t, err
}

// TxFilter selects and pages a wallet's transactions, newest first.
type TxFilter struct {
	From, To  *time.Time // created at From ≤ t < To
	Type      string
	Status    string
	MinAmount int64 // EUR cents of Amount; 0 = none. Either selects EUR movements only.
	MaxAmount int64
	Limit     int    // default 50, at most 200
	Cursor    string // NextCursor of the previous page
}

// TxPage is one page of transactions.
type WalletTransactionPage struct {
	Transactions []WalletTransaction `json:"transactions"`
	NextCursor   string              `json:"nextCursor,omitempty"`
}

var txTypes = map[string]bool{"topup": true, "send": true, "payment": true, "refund": true, "withdrawal": true, "verification": true}
var txStatuses = map[string]bool{"completed": true, "requested": true, "exported": true, "paid": true, "returned": true}

// verificationDescription is what users see of a verification transfer.
const verificationDescription = "Bank account verification (the code is in the transfer's reference)"

// Transactions lists a user's transactions.
func (s *Service) Transactions(ctx context.Context, userID string, f TxFilter) (WalletTransactionPage, error) {
	limit, err := f.check()
	if err != nil {
		return WalletTransactionPage{}, err
	}
	q, args, err := f.query(userID, limit)
	if err != nil {
		return WalletTransactionPage{}, err
	}
	rows, err := s.db.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return WalletTransactionPage{}, fmt.Errorf("wallet: transactions: %w", err)
	}
	defer rows.Close()
	page := WalletTransactionPage{Transactions: []WalletTransaction{}}
	for rows.Next() {
		t, err := scanTx(rows, userID)
		if err != nil {
			return WalletTransactionPage{}, err
		}
		page.Transactions = append(page.Transactions, t)
	}
	if err := rows.Err(); err != nil {
		return WalletTransactionPage{}, err
	}
	if len(page.Transactions) > limit {
		page.Transactions = page.Transactions[:limit]
		last := page.Transactions[limit-1]
		page.NextCursor = strconv.FormatInt(micros(last.CreatedAt), 10) + "_" + last.ID
	}
	return page, nil
}

// check validates f and returns its page size.
func (f TxFilter) check() (int, error) {
	if f.Type != "" && !txTypes[f.Type] {
		return 0, apperr.InvalidField("type", "type must be one of topup, send, payment, refund, withdrawal, verification")
	}
	if f.Status != "" && !txStatuses[f.Status] {
		return 0, apperr.InvalidField("status", "status must be one of completed, requested, exported, paid, returned")
	}
	if f.MinAmount > 0 && f.MaxAmount > 0 && f.MinAmount > f.MaxAmount {
		return 0, apperr.InvalidField("minAmount", "minAmount is more than maxAmount")
	}
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		return 0, apperr.InvalidField("from", "from must be before to")
	}
	limit := f.Limit
	switch {
	case limit == 0:
		limit = 50
	case limit < 0 || limit > 200:
		return 0, apperr.InvalidField("limit", "limit must be 1 to 200")
	}
	return limit, nil
}

// query is the SELECT of one page of userID's transactions (one row more
// than limit, to know whether another page follows): the movements from
// the user and those to the user (and not from it), each a walk of its
// index newest first from the cursor for one page, merged.
func (f TxFilter) query(userID string, limit int) (string, []any, error) {
	var cond strings.Builder
	args := []any{userID}
	and := func(expr string, v ...any) {
		for _, a := range v {
			args = append(args, a)
			expr = strings.Replace(expr, "?", "$"+strconv.Itoa(len(args)), 1)
		}
		cond.WriteString(" AND " + expr)
	}
	if f.From != nil {
		and("t.created_at >= ?", micros(*f.From))
	}
	if f.To != nil {
		and("t.created_at < ?", micros(*f.To))
	}
	if f.Type != "" {
		and("t.kind = ?", f.Type)
	}
	if f.Status != "" {
		and("t.status = ?", f.Status)
	}
	if f.MinAmount > 0 || f.MaxAmount > 0 {
		and("t.currency = ?", Currency) // the bounds are EUR cents
	}
	if f.MinAmount > 0 {
		and("t.amount >= ?", f.MinAmount)
	}
	if f.MaxAmount > 0 {
		and("t.amount <= ?", f.MaxAmount)
	}
	if f.Cursor != "" {
		at, id, ok := strings.Cut(f.Cursor, "_")
		n, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil || id == "" {
			return "", nil, apperr.InvalidField("cursor", "cursor is not one this API returned")
		}
		and("(t.created_at, t.id) < (?, ?)", n, id)
	}
	page := fmt.Sprintf(" ORDER BY t.created_at DESC, t.id DESC LIMIT %d", limit+1)
	q := "SELECT * FROM (" + txSelect + "WHERE t.from_user = $1" + cond.String() + page + ") a UNION ALL " +
		"SELECT * FROM (" + txSelect + "WHERE t.to_user = $1 AND t.from_user <> $1" + cond.String() + page + ") b" +
		fmt.Sprintf(" ORDER BY created_at DESC, id DESC LIMIT %d", limit+1)
	return q, args, nil
}

// Balance is a wallet's balance.
type WalletBalance struct {
	Available string `json:"available"`
	Posted    string `json:"posted"`
	Currency  string `json:"currency"`
}

// BalanceOf returns a user's wallet balance.
func (s *Service) BalanceOf(ctx context.Context, userID string) (WalletBalance, error) {
	u, err := s.userByID(ctx, s.db.Read(), userID)
	if err != nil {
		return WalletBalance{}, err
	}
	a, err := s.ledger.Account(ctx, s.db.Read(), LedgerScope, u.AccountID)
	if err != nil {
		return WalletBalance{}, err
	}
	return WalletBalance{Available: cents(a.Balance.Available), Posted: cents(a.Balance.Posted), Currency: Currency}, nil
}

// TenantUser returns the wallet user id of a corporate tenant.
func (s *Service) TenantUser(ctx context.Context, tenantID string) (string, error) {
	c, err := s.corporateOf(ctx, s.db.Read(), "tenant_id", tenantID)
	if err != nil {
		return "", err
	}
	return c.UserID, nil
}
