package cashier

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/store"
)

// A cashier session is an order the Platform's backend opens for a
// customer: a deposit or a payout, of a fixed amount or a free one, with
// the Platform's order reference and where to return. Its URL opens the
// hosted cashier; the Payment API pays a fixed deposit against it
// (sessionId). A session is completed by the deposit authorised or
// captured for it, or by the payout requested for it.

// Session intents and statuses.
const (
	IntentDeposit   = "deposit"
	IntentPayout    = "payout"
	SessionOpen     = "open"
	SessionComplete = "completed"
)

// Session lifetimes.
const (
	DefaultSessionTTL = 30 * time.Minute
	MaxSessionTTL     = 24 * time.Hour
)

// SessionRequest is the body of POST /cashier/v1/sessions.
type SessionRequest struct {
	CustomerID string `json:"customerId"`
	Intent     string `json:"intent"` // deposit or payout
	// Amount is the order's fixed amount; absent for a free amount (the
	// tenant's depositAmount / payoutAmount setting decides which).
	Amount         string `json:"amount,omitempty"`
	Currency       string `json:"currency,omitempty"` // default: the customer's
	OrderReference string `json:"orderReference"`
	ReturnURL      string `json:"returnUrl,omitempty"`
	ExpiresIn      int    `json:"expiresIn,omitempty"` // seconds, default 1800, at most 86400
}

// Session is a session on the wire; URL is in the creating answer only.
type Session struct {
	ID             string    `json:"id"`
	URL            string    `json:"url,omitempty"`
	CustomerID     string    `json:"customerId"`
	Intent         string    `json:"intent"`
	Amount         *string   `json:"amount"`
	Currency       string    `json:"currency"`
	OrderReference string    `json:"orderReference"`
	ReturnURL      *string   `json:"returnUrl"`
	Status         string    `json:"status"`
	ObjectID       *string   `json:"objectId"` // the deposit or payout that completed it
	ExpiresAt      time.Time `json:"expiresAt"`
	CreatedAt      time.Time `json:"createdAt"`
}

type session struct {
	ID, TokenHash, TenantID, CustomerID, Intent string
	Amount                                      int64
	Currency, OrderRef, ReturnURL, Status       string
	ObjectID                                    string
	ExpiresAt, CreatedAt                        time.Time
}

const sessionCols = `id, token_hash, tenant_id, customer_id, intent, amount, currency, order_reference, return_url, status, object_id, expires_at, created_at`

func scanSession(row interface{ Scan(...any) error }) (*session, error) {
	var x session
	var exp, created int64
	if err := row.Scan(&x.ID, &x.TokenHash, &x.TenantID, &x.CustomerID, &x.Intent, &x.Amount, &x.Currency, &x.OrderRef, &x.ReturnURL,
		&x.Status, &x.ObjectID, &exp, &created); err != nil {
		return nil, err
	}
	x.ExpiresAt, x.CreatedAt = fromMicros(exp), fromMicros(created)
	return &x, nil
}

func hashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// CreateSession opens a session and answers it (201) from inside its
// transaction, with the hosted cashier's URL when the tenant's
// integration includes the hosted cashier.
func (s *Service) CreateSession(ctx context.Context, tenantID string, in SessionRequest) (Session, error) {
	st, err := s.settings(ctx, s.db.Read(), tenantID)
	if err != nil {
		return Session{}, err
	}
	x, err := s.sessionOf(ctx, tenantID, st, in)
	if err != nil {
		return Session{}, err
	}
	tok := s.ids.Secret(24)
	x.TokenHash = hashToken(tok)
	var out Session
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO cashier_sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT DO NOTHING`, x.ID, x.TokenHash, x.TenantID, x.CustomerID, x.Intent, x.Amount, x.Currency, x.OrderRef, x.ReturnURL,
			x.Status, x.ObjectID, micros(x.ExpiresAt), micros(x.CreatedAt))
		if err != nil {
			return fmt.Errorf("cashier: insert session: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = &apperr.Error{Code: apperr.Conflict, Field: "orderReference", Message: fmt.Sprintf("a %s session for order %q exists already", x.Intent, x.OrderRef)}
			}
			return err
		}
		out = viewSession(x)
		if st.Integration != IntegrationPayment {
			out.URL = s.public + "/cashier/s/" + tok
		}
		return httpx.Reply(ctx, tx, http.StatusCreated, out)
	})
	return out, err
}

// sessionOf checks a session request against the tenant's settings.
func (s *Service) sessionOf(ctx context.Context, tenantID string, st Settings, in SessionRequest) (*session, error) {
	if err := CheckCustomerID("customerId", in.CustomerID); err != nil {
		return nil, err
	}
	c, err := s.payable(ctx, s.db.Read(), tenantID, in.CustomerID, in.Currency, false)
	if err != nil {
		return nil, err
	}
	mode := st.DepositAmount
	switch in.Intent {
	case IntentDeposit:
	case IntentPayout:
		if !st.Payouts {
			return nil, apperr.New(apperr.Forbidden, "payouts are not enabled for this tenant (settings.payouts)")
		}
		mode = st.PayoutAmount
	default:
		return nil, apperr.InvalidField("intent", "intent must be deposit or payout")
	}
	now := s.now()
	x := &session{ID: s.ids.ID("css"), TenantID: tenantID, CustomerID: c.ID, Intent: in.Intent, Currency: c.Currency, Status: SessionOpen, CreatedAt: now}
	if x.Amount, err = sessionAmount(in, mode, c.Currency); err != nil {
		return nil, err
	}
	if n := utf8.RuneCountInString(in.OrderReference); n == 0 || n > 100 {
		return nil, apperr.InvalidField("orderReference", "orderReference is required, at most 100 characters")
	}
	x.OrderRef = in.OrderReference
	if in.ReturnURL != "" {
		if err := checkReturnURL(in.ReturnURL); err != nil {
			return nil, err
		}
		x.ReturnURL = in.ReturnURL
	}
	ttl := DefaultSessionTTL
	if in.ExpiresIn != 0 {
		if ttl = time.Duration(in.ExpiresIn) * time.Second; ttl < time.Minute || ttl > MaxSessionTTL {
			return nil, apperr.InvalidField("expiresIn", "expiresIn must be between 60 and %d seconds", int(MaxSessionTTL/time.Second))
		}
	}
	x.ExpiresAt = now.Add(ttl)
	return x, nil
}

// sessionAmount is the order's amount: required when the tenant's amounts
// are fixed, refused when they are free (the customer enters it).
func sessionAmount(in SessionRequest, mode, currency string) (int64, error) {
	setting := map[string]string{IntentDeposit: "depositAmount", IntentPayout: "payoutAmount"}[in.Intent]
	if mode == AmountFree {
		if in.Amount != "" {
			return 0, apperr.InvalidField("amount", "this tenant's %ss are free (settings.%s): leave amount out, the customer enters it", in.Intent, setting)
		}
		return 0, nil
	}
	if in.Amount == "" {
		return 0, apperr.InvalidField("amount", "this tenant's %ss are fixed (settings.%s): amount is the order's amount", in.Intent, setting)
	}
	return parseAmount("amount", in.Amount, currency)
}

// parseAmount parses a positive decimal amount in currency.
func parseAmount(field, v, currency string) (int64, error) {
	cur, err := money.ParseCurrency(currency)
	if err != nil {
		return 0, apperr.InvalidField("currency", "currency %q is not an ISO 4217 currency code cashgate supports", currency)
	}
	a, err := money.ParseDecimal(v, cur)
	if err != nil || a.Minor <= 0 || a.Minor > MaxAmount {
		return 0, apperr.InvalidField(field, "%s must be a positive amount in %s such as %q", field, currency, format(1000*pow10(cur.Exponent()), currency))
	}
	return a.Minor, nil
}

func pow10(n int) int64 {
	v := int64(1)
	for range n {
		v *= 10
	}
	return v
}

// MaxAmount bounds one deposit or payout (minor units).
const MaxAmount = 1_000_000_000_000_000

func checkReturnURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || u.User != nil || len(raw) > 2048 {
		return apperr.InvalidField("returnUrl", "returnUrl must be an absolute http(s) URL without a fragment or credentials, at most 2048 characters")
	}
	return nil
}

// GetSession returns the tenant's session.
func (s *Service) GetSession(ctx context.Context, tenantID, id string) (Session, error) {
	x, err := s.loadSession(ctx, s.db.Read(), tenantID, id)
	if err != nil {
		return Session{}, err
	}
	return viewSession(x), nil
}

func (s *Service) loadSession(ctx context.Context, q store.Querier, tenantID, id string) (*session, error) {
	x, err := scanSession(q.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM cashier_sessions WHERE id = $1 AND tenant_id = $2`, id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "session %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("cashier: load session: %w", err)
	}
	return x, nil
}

// usableSession is the open session id of the customer for intent.
func (s *Service) usableSession(ctx context.Context, q store.Querier, tenantID, id, intent, customerID string) (*session, error) {
	x, err := s.loadSession(ctx, q, tenantID, id)
	if apperr.Is(err, apperr.NotFound) {
		return nil, apperr.InvalidField("sessionId", "unknown session %q", id)
	}
	switch {
	case err != nil:
		return nil, err
	case x.Intent != intent || x.CustomerID != customerID:
		return nil, apperr.InvalidField("sessionId", "session %s is a %s of customer %s", id, x.Intent, x.CustomerID)
	case x.Status != SessionOpen:
		return nil, apperr.New(apperr.Conflict, "session %s is completed already (by %s)", id, x.ObjectID)
	case !s.now().Before(x.ExpiresAt):
		return nil, apperr.New(apperr.Conflict, "session %s has expired", id)
	}
	return x, nil
}

// completeSession marks the session completed by objectID in tx.
func completeSession(ctx context.Context, tx *store.Tx, id, objectID string) error {
	_, err := tx.ExecContext(ctx, `UPDATE cashier_sessions SET status = 'completed', object_id = $1 WHERE id = $2 AND status = 'open'`, objectID, id)
	return err
}

func viewSession(x *session) Session {
	out := Session{ID: x.ID, CustomerID: x.CustomerID, Intent: x.Intent, Currency: x.Currency, OrderReference: x.OrderRef,
		ReturnURL: opt(x.ReturnURL), Status: x.Status, ObjectID: opt(x.ObjectID), ExpiresAt: x.ExpiresAt, CreatedAt: x.CreatedAt}
	if x.Amount > 0 {
		a := format(x.Amount, x.Currency)
		out.Amount = &a
	}
	return out
}
