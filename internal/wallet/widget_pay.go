package wallet

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
)

// WidgetTokenSpec is what a shop's backend binds a widget token to.
type WidgetTokenSpec struct {
	Origin      string `json:"origin" doc:"the checkout page's origin, one of the corporate's registered widget origins"`
	Amount      string `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description"`
	OrderID     string `json:"orderId,omitempty" doc:"the shop's reference, echoed in the callback"`
	CallbackURL string `json:"callbackUrl" doc:"where the decision is sent, as for any money request"`
	ExpiresIn   int    `json:"expiresIn,omitempty" doc:"seconds the token may start the payment: default 300, 60 to 900"`
	TimeFrame   int    `json:"timeFrame,omitempty" doc:"seconds the customer has to approve once asked: default 300, 60 to 900"`
}

// WidgetToken is a minted widget token (shown only in this answer).
type WidgetToken struct {
	Token       string    `json:"token" doc:"data-token of the script tag; shown only in this answer"`
	WidgetID    string    `json:"widgetId"`
	Origin      string    `json:"origin"`
	Amount      string    `json:"amount"`
	Currency    string    `json:"currency"`
	Description string    `json:"description"`
	OrderID     string    `json:"orderId"`
	ExpiresAt   time.Time `json:"expiresAt"`
	ScriptURL   string    `json:"scriptUrl"`
	Snippet     string    `json:"snippet" doc:"the script tag to put on the checkout page"`
}

// widgetSeconds reads an optional number of seconds within [min, max].
func widgetSeconds(field string, v int, def, min, max time.Duration) (time.Duration, error) {
	if v == 0 {
		return def, nil
	}
	d := time.Duration(v) * time.Second
	if d < min || d > max {
		return 0, apperr.InvalidField(field, "%s must be %d to %d seconds", field, int(min.Seconds()), int(max.Seconds()))
	}
	return d, nil
}

// MintWidgetToken makes a widget token for the corporate of tenantID (its
// backend calls it with the merchant token): the payment's terms are
// checked as a money request's would be, the origin must be registered.
func (s *Service) MintWidgetToken(ctx context.Context, tenantID string, spec WidgetTokenSpec) (WidgetToken, error) {
	ttl, err := widgetSeconds("expiresIn", spec.ExpiresIn, WidgetTokenTTL, WidgetTokenMinTTL, WidgetTokenMaxTTL)
	if err != nil {
		return WidgetToken{}, err
	}
	frame, err := widgetSeconds("timeFrame", spec.TimeFrame, WidgetTimeFrame, time.Minute, WidgetTokenMaxTTL)
	if err != nil {
		return WidgetToken{}, err
	}
	origin, err := ParseWidgetOrigin(spec.Origin)
	if err != nil {
		return WidgetToken{}, apperr.InvalidField("origin", "%s", apperr.From(err).Message)
	}
	req := MoneyRequestSpec{Amount: spec.Amount, Currency: spec.Currency, Description: spec.Description, OrderID: spec.OrderID,
		CallbackURL: spec.CallbackURL, TimeFrame: int(frame.Seconds())}
	p, err := s.prepareRequest(ctx, req)
	if err != nil {
		return WidgetToken{}, err
	}
	known, err := originRegistered(ctx, s.db.Read(), tenantID, origin)
	if err != nil {
		return WidgetToken{}, err
	}
	if !known {
		return WidgetToken{}, apperr.InvalidField("origin", "%s is not a registered widget origin of this merchant (register it with PUT /platform/wallet/corporate/widget-origins)", origin)
	}
	now := s.now()
	id, secret := s.ids.ID(strings.TrimSuffix(widgetPrefix, "_")), s.ids.Secret(32)
	out := WidgetToken{Token: id + "." + secret, WidgetID: id, Origin: origin, Amount: formatMinor(p.orig.Minor, p.orig.Currency.Code()),
		Currency: p.orig.Currency.Code(), Description: strings.TrimSpace(spec.Description), OrderID: spec.OrderID,
		ExpiresAt: now.Add(ttl), ScriptURL: s.cfg.PublicURL + "/wallet/widget.js"}
	out.Snippet = `<script src="` + html.EscapeString(out.ScriptURL) + `" data-token="` + out.Token + `" async></script>`
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := s.corporateOf(ctx, tx, "tenant_id", tenantID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO wallet_widget_tokens (`+widgetCols+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, '', $11, $12)`, id, tenantID, tokenHash(secret), origin, out.Amount, out.Currency,
			out.Description, out.OrderID, spec.CallbackURL, int(frame.Seconds()), micros(out.ExpiresAt), micros(now)); err != nil {
			return fmt.Errorf("wallet: widget token: %w", err)
		}
		return httpx.Reply(ctx, tx, http.StatusCreated, out) // stored sealed, as every idempotent answer
	})
	if err != nil {
		return WidgetToken{}, err
	}
	return out, nil
}

// WidgetPay makes the token's money request to username, tried from the
// client address addr: the token must be unexpired and unused, within its
// attempts, and the address within its budget of unknown usernames. A
// username that names no wallet is counted (and answered NotFound).
func (s *Service) WidgetPay(ctx context.Context, widgetID, username, addr string) (WidgetStatus, error) {
	w, err := s.widgetByID(ctx, s.db.Read(), widgetID)
	if err != nil {
		return WidgetStatus{}, err
	}
	if err := httpx.CheckText("username", username); err != nil {
		return WidgetStatus{}, err
	}
	if strings.TrimSpace(username) == "" || len(username) > 64 {
		return WidgetStatus{}, apperr.InvalidField("username", "type the username of your cashgate wallet")
	}
	p, err := s.prepareRequest(ctx, w.spec(username))
	if err != nil {
		return WidgetStatus{}, err
	}
	var unknown error
	var out WidgetStatus
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		unknown = nil
		if err := s.reserveWidgetAttempt(ctx, tx, w.ID); err != nil {
			return err
		}
		if err := s.checkWidgetAddress(ctx, tx, addr); err != nil {
			return err
		}
		x, err := s.insertRequest(ctx, tx, w.TenantID, p)
		if e := apperr.From(err); err != nil && e.Code == apperr.NotFound && e.Field == "username" {
			unknown = err
			return s.countWidgetFailure(ctx, tx, addr) // the attempt counts; nothing else is written
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE wallet_widget_tokens SET request_id = $1 WHERE id = $2`, x.ID, w.ID); err != nil {
			return fmt.Errorf("wallet: widget token: %w", err)
		}
		w.RequestID, w.Attempts = x.ID, w.Attempts+1
		out = s.widgetStatus(w, &x, x.Company)
		return httpx.Reply(ctx, tx, http.StatusCreated, out)
	})
	if err == nil && unknown != nil {
		err = unknown
	}
	if err != nil {
		return WidgetStatus{}, err
	}
	return out, nil
}

// reserveWidgetAttempt counts one try of the token, refusing it when the
// token expired, made its request already or used up its attempts. The
// guarded update makes concurrent tries queue on the token's row.
func (s *Service) reserveWidgetAttempt(ctx context.Context, tx *store.Tx, id string) error {
	now := micros(s.now())
	res, err := tx.ExecContext(ctx, `UPDATE wallet_widget_tokens SET attempts = attempts + 1
WHERE id = $1 AND request_id = '' AND attempts < $2 AND expires_at > $3`, id, WidgetMaxAttempts, now)
	if err != nil {
		return fmt.Errorf("wallet: widget attempt: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	w, err := s.widgetByID(ctx, tx, id)
	switch {
	case err != nil:
		return err
	case w.RequestID != "":
		return apperr.New(apperr.Conflict, "this payment was started already; the shop starts a new one for another try")
	case w.ExpiresAt <= now:
		return apperr.New(apperr.Conflict, "this payment window expired; the shop starts a new one")
	}
	return apperr.New(apperr.Forbidden, "too many usernames tried for this payment (%d); the shop starts a new one", WidgetMaxAttempts)
}

// checkWidgetAddress locks the address's throttle row (created if new) and
// refuses the try when the address used up its unknown usernames in the
// current window. The lock is held to the end of the transaction, so tries
// from one address are counted one after the other.
func (s *Service) checkWidgetAddress(ctx context.Context, tx *store.Tx, addr string) error {
	now := s.now()
	var failures int
	var start int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO wallet_widget_throttle (address, failures, window_start) VALUES ($1, 0, $2)
ON CONFLICT (address) DO UPDATE SET failures = wallet_widget_throttle.failures RETURNING failures, window_start`, addr, micros(now)).
		Scan(&failures, &start); err != nil {
		return fmt.Errorf("wallet: widget throttle: %w", err)
	}
	end := fromMicros(start).Add(WidgetAddressWindow)
	if failures >= WidgetAddressFailures && end.After(now) {
		return &apperr.Error{Code: apperr.RateLimited, RetryAfterSeconds: int(end.Sub(now).Seconds()) + 1,
			Message: fmt.Sprintf("too many unknown usernames from this address; try again after %s", end.Format(time.RFC3339))}
	}
	return nil
}

// countWidgetFailure counts an unknown username for the address: the
// window starts with its first failure and a new one when it ended.
func (s *Service) countWidgetFailure(ctx context.Context, tx *store.Tx, addr string) error {
	now := micros(s.now())
	_, err := tx.ExecContext(ctx, `UPDATE wallet_widget_throttle SET
failures = CASE WHEN window_start <= $1 OR failures = 0 THEN 1 ELSE failures + 1 END,
window_start = CASE WHEN window_start <= $1 OR failures = 0 THEN $2 ELSE window_start END WHERE address = $3`,
		now-WidgetAddressWindow.Microseconds(), now, addr)
	if err != nil {
		return fmt.Errorf("wallet: widget throttle: %w", err)
	}
	return nil
}
