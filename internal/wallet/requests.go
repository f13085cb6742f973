package wallet

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/walletpay"
)

// RequestStatus is the state of a money request:
//
//	pending → approved (customer, with PIN) → partially_refunded → refunded
//	pending → denied (customer)
//	pending → expired (its time frame ran out)
//
// Any other transition is a Conflict.
type RequestStatus string

// The request states.
const (
	StatusPending           RequestStatus = "pending"
	StatusApproved          RequestStatus = "approved"
	StatusDenied            RequestStatus = "denied"
	StatusExpired           RequestStatus = "expired"
	StatusPartiallyRefunded RequestStatus = "partially_refunded"
	StatusRefunded          RequestStatus = "refunded"
)

// Event types of money requests; the callback to the merchant is a delivery
// of the decision events.
const (
	EventRequestCreated = "wallet.request.created"
	EventRefunded       = "wallet.refund.completed"
	EventTransaction    = "wallet.transaction.completed"
	// CallbackPrefix is the prefix of the decision events
	// (wallet.callback.approved, .denied, .expired), each delivered to the
	// request's callback URL in the CallbackBody format.
	CallbackPrefix = "wallet.callback."
)

// JobExpireRequest is the job that expires a money request at the end of its time frame.
const JobExpireRequest = "wallet.request.expire"

// RequestSpec is a merchant's request for money.
type MoneyRequestSpec struct {
	Username    string `json:"username"`
	Amount      string `json:"amount"`   // decimal in Currency, e.g. "12.50"
	Currency    string `json:"currency"` // EUR, or a currency with a conversion rate
	Description string `json:"description"`
	// CallbackURL receives the decision (approved, denied, expired). It is
	// required, except for a retail request, where it is optional.
	CallbackURL string `json:"callbackUrl,omitempty" doc:"where the decision is sent (approved, denied, expired); required unless retail is true"`
	// TimeFrame is how long the customer has to decide, in seconds
	// (default 900, 60 to 604800; retail: default and at most
	// Config.RetailTimeFrame, 300).
	TimeFrame int    `json:"timeFrame,omitempty" doc:"seconds the customer has to decide: default 900, 60 to 604800; for a retail request default and at most 300"`
	OrderID   string `json:"orderId,omitempty"` // the merchant's reference, echoed in callbacks
	// Retail marks a request made at a shop till for a customer standing
	// there (the guide's "payments in retail outlets by username"): it
	// needs no callbackUrl (the merchant polls GET /requests/{id}) and has
	// a short time frame.
	Retail bool `json:"retail,omitempty" doc:"a request from a shop till: callbackUrl optional (poll GET /wallet/api/v1/requests/{id}), time frame default and at most 300 seconds"`
}

// Request is a money request as the merchant and the customer see it.
type MoneyRequest struct {
	ID               string        `json:"requestId"`
	Status           RequestStatus `json:"status"`
	MerchantAuth     string        `json:"merchant"` // company name
	MerchantID       string        `json:"merchantId"`
	Username         string        `json:"username"`
	OrderID          string        `json:"orderId"`
	Description      string        `json:"description"`
	Amount           string        `json:"amount"` // EUR
	Currency         string        `json:"currency"`
	OriginalAmount   string        `json:"originalAmount"`
	OriginalCurrency string        `json:"originalCurrency"`
	Rate             string        `json:"rate"`
	Fee              string        `json:"fee"`      // receive fee paid by the merchant
	Refunded         string        `json:"refunded"` // EUR refunded so far
	// FeeRefunded is the part of Fee the refunds gave back to the merchant
	// (pro rata: all of it once the whole amount is refunded).
	FeeRefunded   string     `json:"feeRefunded"`
	TransactionID string     `json:"transactionId,omitempty"`
	Retail        bool       `json:"retail" doc:"made at a shop till (no callbackUrl needed; the merchant polls this status)"`
	ExpiresAt     time.Time  `json:"expiresAt"`
	DecidedAt     *time.Time `json:"decidedAt,omitempty"`
	CreatedAt     time.Time  `json:"createdAt"`
}

type requestRow struct {
	ID, TenantID, CustomerID, MerchantUserID, OrderID, Description string
	Amount, OriginalAmount                                         int64
	OriginalCurrency, Rate, CallbackURL                            string
	Status                                                         RequestStatus
	Fee, Refunded, FeeRefunded                                     int64
	TransactionID                                                  string
	Retail                                                         bool
	ExpiresAt, DecidedAt, CreatedAt, UpdatedAt                     int64
	// joined
	Username, Company, MerchantID string
}

const reqSelect = `SELECT r.id, r.tenant_id, r.customer_id, r.merchant_user_id, r.order_id, r.description, r.amount, r.original_amount,
r.original_currency, r.rate, r.callback_url, r.status, r.fee, r.refunded, r.fee_refunded, r.transaction_id, r.retail, r.expires_at, r.decided_at, r.created_at, r.updated_at,
u.username, c.company_name, c.merchant_id
FROM wallet_requests r JOIN wallet_users u ON u.id = r.customer_id JOIN wallet_corporates c ON c.tenant_id = r.tenant_id `

func scanRequest(r interface{ Scan(...any) error }) (requestRow, error) {
	var x requestRow
	err := r.Scan(&x.ID, &x.TenantID, &x.CustomerID, &x.MerchantUserID, &x.OrderID, &x.Description, &x.Amount, &x.OriginalAmount,
		&x.OriginalCurrency, &x.Rate, &x.CallbackURL, &x.Status, &x.Fee, &x.Refunded, &x.FeeRefunded, &x.TransactionID, &x.Retail, &x.ExpiresAt, &x.DecidedAt,
		&x.CreatedAt, &x.UpdatedAt, &x.Username, &x.Company, &x.MerchantID)
	return x, err
}

func formatMinor(minor int64, code string) string {
	cur, err := money.ParseCurrency(code)
	if err != nil {
		return fmt.Sprint(minor)
	}
	return money.Format(money.New(minor, cur))
}

// cents formats EUR cents as "12.50".
func cents(v int64) string { return formatMinor(v, Currency) }

func (x requestRow) public() MoneyRequest {
	r := MoneyRequest{ID: x.ID, Status: x.Status, MerchantAuth: x.Company, MerchantID: x.MerchantID, Username: x.Username, OrderID: x.OrderID,
		Description: x.Description, Amount: cents(x.Amount), Currency: Currency,
		OriginalAmount: formatMinor(x.OriginalAmount, x.OriginalCurrency), OriginalCurrency: x.OriginalCurrency, Rate: x.Rate,
		Fee: cents(x.Fee), Refunded: cents(x.Refunded), FeeRefunded: cents(x.FeeRefunded), TransactionID: x.TransactionID,
		Retail: x.Retail, ExpiresAt: fromMicros(x.ExpiresAt), CreatedAt: fromMicros(x.CreatedAt)}
	if x.DecidedAt > 0 {
		t := fromMicros(x.DecidedAt)
		r.DecidedAt = &t
	}
	return r
}

func (s *Service) requestRow(ctx context.Context, q store.Querier, where string, args ...any) (requestRow, error) {
	x, err := scanRequest(q.QueryRowContext(ctx, reqSelect+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return requestRow{}, apperr.New(apperr.NotFound, "money request not found")
	}
	if err != nil {
		return requestRow{}, fmt.Errorf("wallet: request: %w", err)
	}
	return x, nil
}

// parseAmount reads a decimal amount of a currency.
func parseAmount(field, amount, currency string) (money.Amount, error) {
	cur, err := money.ParseCurrency(strings.ToUpper(strings.TrimSpace(currency)))
	if err != nil {
		return money.Amount{}, apperr.InvalidField("currency", "%v", err)
	}
	a, err := money.ParseDecimal(strings.TrimSpace(amount), cur)
	if err != nil {
		return money.Amount{}, apperr.InvalidField(field, "%v", err)
	}
	if a.Minor <= 0 {
		return money.Amount{}, apperr.InvalidField(field, "%s must be positive", field)
	}
	return a, nil
}

// ParseEUR reads a positive decimal EUR amount ("12.50") as cents.
func ParseEUR(field, amount string) (int64, error) {
	a, err := parseAmount(field, amount, Currency)
	return a.Minor, err
}

func checkText(field, v string, min, max int) error {
	if n := utf8.RuneCountInString(v); n < min || n > max || !utf8.ValidString(v) {
		if min > 0 {
			return apperr.InvalidField(field, "%s must be %d to %d characters", field, min, max)
		}
		return apperr.InvalidField(field, "%s must be at most %d characters", field, max)
	}
	// The API's edge refuses these already; a bulk upload's rows and the
	// widget's fields come in another way.
	return httpx.CheckText(field, v)
}

// CreateRequest records a merchant's money request to a customer and
// schedules its expiry. Non-EUR amounts are converted to EUR at the
// configured rate; the customer sees and pays the EUR amount.
func (s *Service) CreateRequest(ctx context.Context, tenantID string, spec MoneyRequestSpec) (MoneyRequest, error) {
	p, err := s.prepareRequest(ctx, spec)
	if err != nil {
		return MoneyRequest{}, err
	}
	var out requestRow
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		if out, err = s.insertRequest(ctx, tx, tenantID, p); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusCreated, out.public()) // the answer commits with the request
	})
	if err != nil {
		return MoneyRequest{}, err
	}
	return out.public(), nil
}

// preparedRequest is a money request checked before its transaction: its
// time frame and its amount in EUR at the configured rate.
type preparedRequest struct {
	spec   MoneyRequestSpec
	frame  time.Duration
	orig   money.Amount
	rate   string
	amount int64 // EUR cents
}

// prepareRequest checks a request's fields and converts its amount: every
// rule of a money request that needs no transaction (the single request
// and each row of a bulk upload go through here).
func (s *Service) prepareRequest(ctx context.Context, spec MoneyRequestSpec) (preparedRequest, error) {
	if err := checkText("description", strings.TrimSpace(spec.Description), 1, 255); err != nil {
		return preparedRequest{}, err
	}
	// The orderId is one line of the callback's control message: checkText
	// refuses line breaks and the other control characters.
	if err := checkText("orderId", spec.OrderID, 0, 64); err != nil {
		return preparedRequest{}, err
	}
	if err := s.checkCallbackURL(ctx, spec); err != nil {
		return preparedRequest{}, err
	}
	frame, err := s.timeFrame(spec)
	if err != nil {
		return preparedRequest{}, err
	}
	if spec.Currency == "" {
		return preparedRequest{}, apperr.InvalidField("currency", "currency is required")
	}
	orig, err := parseAmount("amount", spec.Amount, spec.Currency)
	if err != nil {
		return preparedRequest{}, err
	}
	rate, amount := "1", orig.Minor
	if orig.Currency.Code() != Currency {
		if rate, err = s.rateOf(ctx, s.db.Read(), orig.Currency.Code()); err != nil {
			return preparedRequest{}, err
		}
		if amount, err = ToEUR(orig.Minor, orig.Currency, rate); err != nil {
			return preparedRequest{}, err
		}
	}
	return preparedRequest{spec: spec, frame: frame, orig: orig, rate: rate, amount: amount}, nil
}

// insertRequest records a prepared request in tx: both wallets active, the
// amount limits of both sides, the request, its expiry job and its
// created event.
func (s *Service) insertRequest(ctx context.Context, tx *store.Tx, tenantID string, p preparedRequest) (requestRow, error) {
	spec := p.spec
	corp, err := s.corporateOf(ctx, tx, "tenant_id", tenantID)
	if err != nil {
		return requestRow{}, err
	}
	cust, err := s.userByName(ctx, tx, "username", spec.Username)
	if err != nil {
		return requestRow{}, err
	}
	if cust.ID == corp.UserID {
		return requestRow{}, apperr.InvalidField("username", "a merchant cannot request money from itself")
	}
	merch, err := s.userByID(ctx, tx, corp.UserID)
	if err != nil {
		return requestRow{}, err
	}
	if err := active("the customer's wallet", cust); err != nil {
		return requestRow{}, err
	}
	if err := active("the merchant's wallet", merch); err != nil {
		return requestRow{}, err
	}
	// The amount limits of both sides are checked now (and again on
	// approval): the customer's on paying it, the merchant's on
	// receiving it.
	if err := s.checkSides(ctx, tx, cust, merch, p.amount); err != nil {
		return requestRow{}, err
	}
	now := s.now()
	id := s.ids.ID("mrq")
	exp := now.Add(p.frame)
	if _, err := tx.ExecContext(ctx, `INSERT INTO wallet_requests (id, tenant_id, customer_id, merchant_user_id, order_id, description, amount,
original_amount, original_currency, rate, callback_url, retail, status, expires_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13, $14, $14)`,
		id, tenantID, cust.ID, corp.UserID, spec.OrderID, strings.TrimSpace(spec.Description), p.amount, p.orig.Minor, p.orig.Currency.Code(), p.rate,
		spec.CallbackURL, spec.Retail, micros(exp), micros(now)); err != nil {
		return requestRow{}, fmt.Errorf("wallet: insert request: %w", err)
	}
	if _, _, err := s.outbox.Enqueue(ctx, tx, outbox.JobSpec{Kind: JobExpireRequest, TenantID: tenantID,
		Payload: expirePayload{RequestID: id}, RunAt: exp, UniqueKey: JobExpireRequest + ":" + id}); err != nil {
		return requestRow{}, err
	}
	out, err := s.requestRow(ctx, tx, `WHERE r.id = $1`, id)
	if err != nil {
		return requestRow{}, err
	}
	if _, err = s.outbox.Emit(ctx, tx, outbox.Event{TenantID: tenantID, Type: EventRequestCreated, Subject: id, Data: out.public()}); err != nil {
		return requestRow{}, err
	}
	return out, nil
}

// checkCallbackURL checks a request's callback URL: required, except for a
// retail request, which may have none (the merchant polls the status).
func (s *Service) checkCallbackURL(ctx context.Context, spec MoneyRequestSpec) error {
	if spec.CallbackURL == "" && spec.Retail {
		return nil
	}
	if spec.CallbackURL == "" {
		return apperr.InvalidField("callbackUrl", "callbackUrl is required (a retail request, \"retail\": true, may have none and is polled instead)")
	}
	if err := validCallbackURL(spec.CallbackURL); err != nil {
		return err
	}
	if err := s.cb.CheckURL(ctx, spec.CallbackURL); err != nil {
		e := apperr.From(err)
		return apperr.InvalidField("callbackUrl", "callbackUrl: %s", e.Message)
	}
	return nil
}

// timeFrame is how long the customer has to decide: the merchant's
// timeFrame, or the default; a retail request's is short
// (Config.RetailTimeFrame at most, and by default).
func (s *Service) timeFrame(spec MoneyRequestSpec) (time.Duration, error) {
	def, max := s.cfg.DefaultTimeFrame, s.cfg.MaxTimeFrame
	if spec.Retail {
		def, max = s.cfg.RetailTimeFrame, s.cfg.RetailTimeFrame
	}
	if spec.TimeFrame == 0 {
		return def, nil
	}
	frame := time.Duration(spec.TimeFrame) * time.Second
	if frame < time.Minute || frame > max {
		what := "timeFrame"
		if spec.Retail {
			what = "a retail request's timeFrame"
		}
		return 0, apperr.InvalidField("timeFrame", "%s must be 60 to %d seconds", what, int(max.Seconds()))
	}
	return frame, nil
}

type expirePayload struct {
	RequestID string `json:"requestId"`
}

// MerchantRequest returns a request of the merchant (the status check).
func (s *Service) MerchantRequest(ctx context.Context, tenantID, id string) (MoneyRequest, error) {
	x, err := s.requestRow(ctx, s.db.Read(), `WHERE r.id = $1 AND r.tenant_id = $2`, id, tenantID)
	if err != nil {
		return MoneyRequest{}, err
	}
	return x.public(), nil
}

// CustomerRequests lists the customer's money requests, pending first.
func (s *Service) CustomerRequests(ctx context.Context, userID string, status RequestStatus, limit int) ([]MoneyRequest, error) {
	q, args := customerRequestsQuery(userID, status, limit)
	rows, err := s.db.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("wallet: requests: %w", err)
	}
	defer rows.Close()
	out := []MoneyRequest{}
	now := micros(s.now())
	for rows.Next() {
		x, err := scanRequest(rows)
		if err != nil {
			return nil, err
		}
		if x.Status == StatusPending && x.ExpiresAt <= now {
			x.Status = StatusExpired // the expiry job is about to record it
		}
		out = append(out, x.public())
	}
	return out, rows.Err()
}

// customerRequestsQuery is the SELECT of CustomerRequests.
func customerRequestsQuery(userID string, status RequestStatus, limit int) (string, []any) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	q := reqSelect + `WHERE r.customer_id = $1`
	args := []any{userID}
	if status != "" {
		q += ` AND r.status = $2`
		args = append(args, status)
	}
	return q + fmt.Sprintf(` ORDER BY r.created_at DESC, r.id DESC LIMIT %d`, limit), args
}

// callback emits a decision event with its callback to the merchant.
func (s *Service) callback(ctx context.Context, tx *store.Tx, x requestRow, status RequestStatus) error {
	corp, err := s.corporateOf(ctx, tx, "tenant_id", x.TenantID)
	if err != nil {
		return err
	}
	secret, err := s.open(corp.TenantID, corp.SecretSealed)
	if err != nil {
		return err
	}
	fee := int64(0)
	if status == StatusApproved {
		fee = x.Fee
	}
	body := CallbackBody{RequestID: x.ID, OrderID: x.OrderID, Status: string(status), Amount: cents(x.Amount), Currency: Currency,
		OriginalAmount: formatMinor(x.OriginalAmount, x.OriginalCurrency), OriginalCurrency: x.OriginalCurrency, Fee: cents(fee),
		Timestamp: s.now().Format(time.RFC3339Nano)}
	body.Control = CallbackControl(secret, body)
	ev := outbox.Event{TenantID: x.TenantID, Type: CallbackPrefix + string(status), Subject: x.ID, Data: body}
	if x.CallbackURL == "" {
		// A retail request without a callback URL: the decision event is
		// kept (and fans out to the tenant's webhook endpoints, if any);
		// the merchant polls the status.
		_, err = s.outbox.Emit(ctx, tx, ev)
		return err
	}
	_, _, err = s.cb.Callback(ctx, tx, ev, x.CallbackURL)
	if apperr.Is(err, apperr.Invalid) {
		// The URL is refused where it points now (SSRF rules): the decision
		// stands, the event is kept, the merchant checks the status.
		s.log.Warn("wallet: callback URL refused; decision recorded without callback", "request", x.ID, "err", err)
		_, err = s.outbox.Emit(ctx, tx, ev)
	}
	return err
}

// RenderCallback is the outbox Renderer of callback events: the body is the
// event's data, the CallbackBody.
func RenderCallback(ev outbox.Event) ([]byte, string, error) {
	var b CallbackBody
	if err := ev.DecodeData(&b); err != nil {
		return nil, "", err
	}
	out, err := json.Marshal(b)
	return out, "application/json", err
}

// AckCallback is the outbox Acknowledger of callbacks: a 2xx answer whose
// body is "OK" (blanks and case ignored).
func AckCallback(_ outbox.Event, status int, body []byte) bool {
	return status >= 200 && status <= 299 && strings.EqualFold(strings.TrimSpace(string(body)), "ok")
}

// Approve pays a pending money request from the customer's wallet after
// checking the PIN: the customer's limits, the merchant's receive fee, one
// ledger entry, the request's new status and the callback, in one
// transaction.
//
// It is the payments core's "pay from a wallet, confirmed with the PIN"
// (walletpay.Pay), with the seed-000 movement: limits and fees.
func (s *Service) Approve(ctx context.Context, userID, requestID, pin string) (MoneyRequest, error) {
	var out requestRow
	var expired bool
	err := walletpay.Pay(ctx, s.db, s, userID, pin, func(ctx context.Context, tx *store.Tx, _ func(walletpay.Transfer) (string, error)) error {
		expired = false
		x, err := s.requestRow(ctx, tx, `WHERE r.id = $1 AND r.customer_id = $2`+s.db.ForUpdateOf("r"), requestID, userID)
		if err != nil {
			return err
		}
		if x.Status != StatusPending {
			return apperr.New(apperr.Conflict, "money request %s is %s, not pending", x.ID, x.Status)
		}
		now := s.now()
		if x.ExpiresAt <= micros(now) {
			expired = true
			out, err = s.decide(ctx, tx, x, StatusExpired)
			return err
		}
		cust, err := s.userByID(ctx, tx, x.CustomerID)
		if err != nil {
			return err
		}
		merch, err := s.userByID(ctx, tx, x.MerchantUserID)
		if err != nil {
			return err
		}
		if err := active("the wallet", cust); err != nil {
			return err
		}
		if err := active("the merchant's wallet", merch); err != nil {
			return err
		}
		if err := s.checkSides(ctx, tx, cust, merch, x.Amount); err != nil {
			return err
		}
		if err := s.useOutgoing(ctx, tx, cust, x.Amount, true, now); err != nil {
			return err
		}
		fee, err := ReceiveFee(merch.Tier, x.Amount)
		if err != nil {
			return err
		}
		txID := s.txID(now)
		if err := s.move(ctx, tx, movement{id: txID, kind: "payment", from: cust, to: merch, amount: x.Amount, recipientFee: fee,
			description: x.Description, requestID: x.ID, tenantID: x.TenantID, now: now}); err != nil {
			return err
		}
		s.receiving(tx, "the merchant's wallet", merch.ID, false, nil)
		if err := exec1(ctx, tx, `UPDATE wallet_requests SET status = 'approved', fee = $1, transaction_id = $2, decided_at = $3, updated_at = $3
WHERE id = $4 AND status = 'pending'`, fee, txID, micros(now), x.ID); err != nil {
			return err
		}
		x.Status, x.Fee, x.TransactionID, x.DecidedAt = StatusApproved, fee, txID, micros(now)
		out = x
		if err := s.callback(ctx, tx, x, StatusApproved); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusOK, x.public()) // the answer commits with the payment
	})
	if err != nil {
		return MoneyRequest{}, err
	}
	if expired {
		return out.public(), apperr.New(apperr.Conflict, "money request %s has expired", requestID)
	}
	return out.public(), nil
}

// Deny refuses a pending money request.
func (s *Service) Deny(ctx context.Context, userID, requestID string) (MoneyRequest, error) {
	var out requestRow
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		x, err := s.requestRow(ctx, tx, `WHERE r.id = $1 AND r.customer_id = $2`+s.db.ForUpdateOf("r"), requestID, userID)
		if err != nil {
			return err
		}
		if x.Status != StatusPending {
			return apperr.New(apperr.Conflict, "money request %s is %s, not pending", x.ID, x.Status)
		}
		st := StatusDenied
		if x.ExpiresAt <= micros(s.now()) {
			st = StatusExpired
		}
		if out, err = s.decide(ctx, tx, x, st); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusOK, out.public()) // the answer commits with the decision
	})
	return out.public(), err
}

// decide moves a pending request to denied or expired, with its callback.
func (s *Service) decide(ctx context.Context, tx *store.Tx, x requestRow, st RequestStatus) (requestRow, error) {
	now := micros(s.now())
	res, err := tx.ExecContext(ctx, `UPDATE wallet_requests SET status = $1, decided_at = $2, updated_at = $2 WHERE id = $3 AND status = 'pending'`, st, now, x.ID)
	if err != nil {
		return x, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return x, apperr.New(apperr.Conflict, "money request %s is no longer pending", x.ID)
	}
	x.Status, x.DecidedAt = st, now
	return x, s.callback(ctx, tx, x, st)
}

// ExpireRequest is the job handler expiring a request whose time frame ran
// out (nothing when it was decided already).
func (s *Service) ExpireRequest(ctx context.Context, job outbox.Job) error {
	var p expirePayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return outbox.Permanent(err)
	}
	var retryAt time.Time
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		retryAt = time.Time{}
		x, err := s.requestRow(ctx, tx, `WHERE r.id = $1`+s.db.ForUpdateOf("r"), p.RequestID)
		if err != nil {
			return err
		}
		if x.Status != StatusPending {
			return nil
		}
		if x.ExpiresAt > micros(s.now()) {
			retryAt = fromMicros(x.ExpiresAt)
			return nil
		}
		_, err = s.decide(ctx, tx, x, StatusExpired)
		return err
	})
	if apperr.Is(err, apperr.NotFound) {
		return outbox.Permanent(err)
	}
	if err == nil && !retryAt.IsZero() {
		return outbox.RetryAt(retryAt)
	}
	return err
}

// Refund gives back part or all of an approved request's amount to the
// customer's wallet (amount 0: all that is left). The total refunded never
// exceeds what was paid. The receive fee is returned pro rata: refunding X
// of a request of amount A whose receive fee was F takes F·X/A from the
// issuer's fee account and the rest of X from the merchant's wallet, so a
// merchant can always refund at once what the customer paid. The share is
// computed on the cumulative amount refunded (round half up of
// F·refunded/A, less what earlier refunds returned), so refunds that add up
// to A return exactly F. A refund the merchant's wallet cannot fund (its
// balance was withdrawn or spent) is InsufficientFunds naming the amounts.
func (s *Service) Refund(ctx context.Context, tenantID, requestID string, amount int64, reason string) (WalletTransaction, error) {
	if amount < 0 {
		return WalletTransaction{}, apperr.InvalidField("amount", "amount must be positive")
	}
	if err := checkText("reason", reason, 0, 255); err != nil {
		return WalletTransaction{}, err
	}
	var out WalletTransaction
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		x, err := s.requestRow(ctx, tx, `WHERE r.id = $1 AND r.tenant_id = $2`+s.db.ForUpdateOf("r"), requestID, tenantID)
		if err != nil {
			return err
		}
		if x.Status != StatusApproved && x.Status != StatusPartiallyRefunded {
			return apperr.New(apperr.Conflict, "money request %s is %s: only approved requests can be refunded", x.ID, x.Status)
		}
		left := x.Amount - x.Refunded
		amt := amount
		if amt == 0 {
			amt = left
		}
		if amt > left {
			return apperr.InvalidField("amount", "refund of %s is more than the %s left to refund of %s paid", cents(amt), cents(left), cents(x.Amount))
		}
		st := StatusPartiallyRefunded
		if amt == left {
			st = StatusRefunded
		}
		feeBack, err := refundFeeShare(x, amt)
		if err != nil {
			return err
		}
		now := s.now()
		// Guarded: the total refunded can never pass the amount paid, nor
		// the fee returned the fee charged.
		if err := exec1(ctx, tx, `UPDATE wallet_requests SET refunded = refunded + $1, fee_refunded = fee_refunded + $2, status = $3, updated_at = $4
WHERE id = $5 AND refunded + $1 <= amount AND fee_refunded + $2 <= fee`, amt, feeBack, st, micros(now), x.ID); err != nil {
			return err
		}
		merch, err := s.userByID(ctx, tx, x.MerchantUserID)
		if err != nil {
			return err
		}
		cust, err := s.userByID(ctx, tx, x.CustomerID)
		if err != nil {
			return err
		}
		if cust.Status == AccountClosed {
			return apperr.New(apperr.Conflict, "the customer's wallet %s is closed: refund the customer another way", cust.Username)
		}
		desc := "Refund: " + x.Description
		if reason != "" {
			desc = "Refund: " + reason
		}
		txID := s.txID(now)
		if err := s.move(ctx, tx, movement{id: txID, kind: "refund", from: merch, to: cust, amount: amt, feeReturned: feeBack, description: desc,
			requestID: x.ID, tenantID: x.TenantID, now: now}); err != nil {
			return err
		}
		s.receiving(tx, "the customer's wallet", cust.ID, true, func(err error) error {
			if apperr.Is(err, apperr.Forbidden) {
				return apperr.New(apperr.Conflict, "%s: refund the customer another way", apperr.From(err).Message)
			}
			return err
		})
		out, err = s.transaction(ctx, tx, merch.ID, txID)
		if err != nil {
			return err
		}
		if _, err = s.outbox.Emit(ctx, tx, outbox.Event{TenantID: x.TenantID, Type: EventRefunded, Subject: x.ID, Data: out}); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusCreated, out) // the answer commits with the refund
	})
	return out, err
}

// refundFeeShare is the part of x's receive fee a refund of amt returns:
// the fee's share of everything refunded once this refund is done, less
// what earlier refunds returned (FeeRounding, so refunds adding up to the
// amount return exactly the fee).
func refundFeeShare(x requestRow, amt int64) (int64, error) {
	if x.Fee <= 0 {
		return 0, nil
	}
	cum, err := money.ProRata(x.Fee, x.Refunded+amt, x.Amount, FeeRounding)
	if err != nil {
		return 0, fmt.Errorf("wallet: refund fee share: %w", err)
	}
	return min(max(cum-x.FeeRefunded, 0), amt), nil
}

// refundShortfall is the error of a refund the merchant's wallet cannot
// fund: it names what the refund takes from the wallet and what the wallet
// has (the rest of what the customer paid was withdrawn or spent).
func (s *Service) refundShortfall(ctx context.Context, tx *store.Tx, m movement) error {
	need := m.amount - m.feeReturned
	a, err := s.ledger.Account(ctx, tx, LedgerScope, m.from.AccountID)
	if err != nil {
		return err
	}
	if a.Balance.Available >= need {
		// The merchant could pay its part: the issuer's fee account could not
		// return the fee's share, which is the issuer's fault, not the caller's.
		return fmt.Errorf("wallet: refund %s: the fee account cannot return %s", m.id, cents(m.feeReturned))
	}
	return &apperr.Error{Code: apperr.InsufficientFunds, Field: "amount", Message: fmt.Sprintf(
		"insufficient funds in the merchant's wallet: refunding %s EUR takes %s EUR from it (%s EUR of the receive fee is returned by the issuer) and its available balance is %s EUR; money received was withdrawn or spent",
		cents(m.amount), cents(need), cents(m.feeReturned), cents(a.Balance.Available))}
}

// exec1 runs a statement that must change exactly one row; zero rows is a Conflict.
func exec1(ctx context.Context, tx *store.Tx, q string, args ...any) error {
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return apperr.New(apperr.Conflict, "the state changed meanwhile; try again")
	}
	return nil
}

// movement is one money movement between wallets (or a wallet and the
// issuer's accounts), with its fees.
type movement struct {
	id           string // the wallet transaction's id (txID)
	kind         string // send, payment, refund
	from, to     user
	amount       int64
	senderFee    int64 // paid by from on top of amount
	recipientFee int64 // deducted from what to receives
	feeReturned  int64 // refunds: the part of amount the fee account pays instead of from
	description  string
	requestID    string
	tenantID     string // corporate tenant involved
	now          time.Time
}

// move posts a movement as one ledger entry and records its wallet
// transaction m.id.
func (s *Service) move(ctx context.Context, tx *store.Tx, m movement) error {
	id := m.id
	var postings []ledger.Posting
	// A zero amount leaves its posting out (a fee eating everything, a
	// refund whose fee share is all of it).
	for _, p := range []ledger.Posting{
		{AccountID: m.from.AccountID, Currency: Currency, Amount: -(m.amount + m.senderFee - m.feeReturned)},
		{AccountID: m.to.AccountID, Currency: Currency, Amount: m.amount - m.recipientFee},
		{AccountID: s.acct.fees, Currency: Currency, Amount: m.senderFee + m.recipientFee - m.feeReturned},
	} {
		if p.Amount != 0 {
			postings = append(postings, p)
		}
	}
	entryID, err := s.ledger.Post(ctx, tx, ledger.Entry{TenantID: LedgerScope, Kind: "wallet." + m.kind, Reference: id, Description: m.description, Postings: postings})
	if apperr.Is(err, apperr.InsufficientFunds) {
		if m.kind == "refund" {
			return s.refundShortfall(ctx, tx, m)
		}
		return apperr.New(apperr.InsufficientFunds, "insufficient funds: %s plus %s fee is more than the wallet's available balance", cents(m.amount), cents(m.senderFee))
	}
	if err != nil {
		return err
	}
	t := micros(m.now)
	if _, err := tx.ExecContext(ctx, `INSERT INTO wallet_transactions (id, kind, status, tenant_id, from_user, to_user, amount, sender_fee, recipient_fee,
fee_returned, description, request_id, entry_id, created_at, updated_at) VALUES ($1, $2, 'completed', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)`,
		id, m.kind, m.tenantID, m.from.ID, m.to.ID, m.amount, m.senderFee, m.recipientFee, m.feeReturned, m.description, m.requestID, entryID, t); err != nil {
		return fmt.Errorf("wallet: insert transaction: %w", err)
	}
	return nil
}
