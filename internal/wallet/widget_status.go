package wallet

import (
	"context"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
)

// WidgetState is where a widget's payment stands, as the frame and the
// shop's page see it.
type WidgetState string

// The widget states: ready (waiting for a username), pending (the money
// request waits for the customer's approval), approved, denied, expired
// (the token or the request ran out).
const (
	WidgetReady    WidgetState = "ready"
	WidgetPending  WidgetState = "pending"
	WidgetApproved WidgetState = "approved"
	WidgetDenied   WidgetState = "denied"
	WidgetExpired  WidgetState = "expired"
)

// WidgetStatus is what the widget's frame shows.
type WidgetStatus struct {
	WidgetID     string      `json:"widgetId"`
	State        WidgetState `json:"state"`
	Merchant     string      `json:"merchant"`
	Amount       string      `json:"amount"`
	Currency     string      `json:"currency"`
	Description  string      `json:"description"`
	OrderID      string      `json:"orderId"`
	ExpiresAt    time.Time   `json:"expiresAt"`
	AttemptsLeft int         `json:"attemptsLeft"`
	// RequestID, EURAmount and RequestExpiresAt describe the money request
	// once it is made.
	RequestID        string     `json:"requestId,omitempty"`
	EURAmount        string     `json:"eurAmount,omitempty"`
	RequestExpiresAt *time.Time `json:"requestExpiresAt,omitempty"`
}

// widgetStatus builds the status of w with its request x (nil: none yet).
func (s *Service) widgetStatus(w widgetRow, x *requestRow, company string) WidgetStatus {
	now := micros(s.now())
	st := WidgetStatus{WidgetID: w.ID, State: WidgetReady, Merchant: company, Amount: w.Amount, Currency: w.Currency,
		Description: w.Description, OrderID: w.OrderID, ExpiresAt: fromMicros(w.ExpiresAt), AttemptsLeft: max(WidgetMaxAttempts-w.Attempts, 0)}
	if x == nil {
		if w.ExpiresAt <= now || st.AttemptsLeft == 0 {
			st.State = WidgetExpired
		}
		return st
	}
	exp := fromMicros(x.ExpiresAt)
	st.RequestID, st.EURAmount, st.RequestExpiresAt, st.AttemptsLeft = x.ID, cents(x.Amount), &exp, 0
	switch x.Status {
	case StatusPending:
		st.State = WidgetPending
		if x.ExpiresAt <= now {
			st.State = WidgetExpired // the expiry job is about to record it
		}
	case StatusApproved, StatusPartiallyRefunded, StatusRefunded:
		st.State = WidgetApproved
	case StatusDenied:
		st.State = WidgetDenied
	default:
		st.State = WidgetExpired
	}
	return st
}

// WidgetStatusOf returns the state of the widget's payment. It may be read
// until WidgetStatusGrace after the token's expiry or its request's,
// whichever is later; then the token is refused.
func (s *Service) WidgetStatusOf(ctx context.Context, widgetID string) (WidgetStatus, error) {
	w, err := s.widgetByID(ctx, s.db.Read(), widgetID)
	if err != nil {
		return WidgetStatus{}, err
	}
	until := w.ExpiresAt
	var x *requestRow
	if w.RequestID != "" {
		r, err := s.requestRow(ctx, s.db.Read(), `WHERE r.id = $1 AND r.tenant_id = $2`, w.RequestID, w.TenantID)
		if err != nil {
			return WidgetStatus{}, err
		}
		x, until = &r, max(until, r.ExpiresAt)
	}
	if fromMicros(until).Add(WidgetStatusGrace).Compare(s.now()) <= 0 {
		return WidgetStatus{}, apperr.New(apperr.Unauthenticated, "this widget token has expired")
	}
	if x != nil {
		return s.widgetStatus(w, x, x.Company), nil
	}
	c, err := s.corporateOf(ctx, s.db.Read(), "tenant_id", w.TenantID)
	if err != nil {
		return WidgetStatus{}, err
	}
	return s.widgetStatus(w, nil, c.CompanyName), nil
}

// WidgetFrameOrigin is the origin that may frame the widget of widgetID
// now: the token's, while it is registered for its corporate and the token
// may still be read; "" otherwise (the frame is then refused to every
// origin).
func (s *Service) WidgetFrameOrigin(ctx context.Context, widgetID string) (string, error) {
	w, err := s.widgetByID(ctx, s.db.Read(), widgetID)
	if apperr.Is(err, apperr.Unauthenticated) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if fromMicros(w.ExpiresAt).Add(widgetReadable).Compare(s.now()) <= 0 {
		return "", nil
	}
	ok, err := originRegistered(ctx, s.db.Read(), w.TenantID, w.Origin)
	if err != nil || !ok {
		return "", err
	}
	return w.Origin, nil
}
