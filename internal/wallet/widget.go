package wallet

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
)

// The "Pay with cashgate wallet" widget (the guide's "JavaScript iFrame"
// integration): a shop puts a script tag on its checkout page, the script
// inserts an iframe served by cashgate, the shopper types a username there
// and approves the money request in the wallet app; the frame reports the
// decision to the shop's page by postMessage and the callback goes to the
// shop's backend as for any money request.
//
//   - The corporate registers the origins its checkout pages live on
//     (SetWidgetOrigins: scheme, host and port; https, or http for
//     localhost). Only they may frame the widget (CSP frame-ancestors) and
//     receive its messages.
//   - Its backend mints a widget token with the merchant token
//     (MintWidgetToken): bound to the merchant, the amount, currency,
//     description, reference (orderId), callback URL, one registered origin
//     and an expiry of a few minutes. The token is "<id>.<secret>"; only
//     the SHA-256 of the secret is stored. The merchant secret never
//     reaches the browser.
//   - The token is single use: it creates one money request
//     (WidgetPay). Usernames that name no wallet count: at most
//     WidgetMaxAttempts tries per token, and at most
//     WidgetAddressFailures unknown usernames per client address within
//     WidgetAddressWindow over all widgets.
//   - The frame polls WidgetStatus with the token until the request is
//     decided (or the token ran out).

// Widget limits.
const (
	// WidgetTokenTTL is a token's lifetime by default; the merchant may ask
	// for WidgetTokenMinTTL to WidgetTokenMaxTTL.
	WidgetTokenTTL    = 5 * time.Minute
	WidgetTokenMinTTL = time.Minute
	WidgetTokenMaxTTL = 15 * time.Minute
	// WidgetTimeFrame is the money request's time frame by default (the
	// shopper waits on the checkout page); at most WidgetTokenMaxTTL.
	WidgetTimeFrame = 5 * time.Minute
	// WidgetMaxAttempts is how many usernames one token may try.
	WidgetMaxAttempts = 5
	// WidgetAddressFailures unknown usernames from one client address
	// within WidgetAddressWindow refuse further tries from it (429) until
	// the window ends.
	WidgetAddressFailures = 10
	WidgetAddressWindow   = 15 * time.Minute
	// WidgetStatusGrace is how long after the token's expiry (or its
	// request's) the frame may still read the outcome.
	WidgetStatusGrace = 2 * time.Minute
	// MaxWidgetOrigins bounds a corporate's registered origins.
	MaxWidgetOrigins = 10
)

// widgetReadable is how long after its expiry a token may still matter:
// its request's time frame (at most WidgetTokenMaxTTL, begun before the
// expiry) and the grace to read the outcome. Housekeeping deletes tokens
// older than that.
const widgetReadable = WidgetTokenMaxTTL + WidgetStatusGrace

// widgetPrefix starts every widget token (and its id).
const widgetPrefix = "cgwt_"

// WidgetOrigins are the origins a corporate's checkout pages may embed the
// widget on.
type WidgetOrigins struct {
	Origins []string `json:"origins" doc:"scheme://host[:port], https (http only for localhost, 127.0.0.1, [::1]); at most 10"`
}

// ParseWidgetOrigin validates and normalises an origin: scheme, host and
// optional port only (lower case, default port dropped); https, except
// http for localhost, 127.0.0.1 and [::1].
func ParseWidgetOrigin(raw string) (string, error) {
	bad := func(why string) error {
		return apperr.InvalidField("origins", "%q is not an origin such as https://shop.example (scheme, host and port only): %s", raw, why)
	}
	if len(raw) > 200 || strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", bad("spaces, control characters or over 200 characters")
	}
	u, err := url.Parse(strings.ToLower(strings.TrimSuffix(raw, "/")))
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", bad("no host")
	}
	if u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || strings.ContainsAny(u.Host, "*;,'\"") {
		return "", bad("it has a path, a query, a fragment, credentials or a wildcard")
	}
	host, port := u.Hostname(), u.Port()
	if strings.ContainsFunc(host, func(r rune) bool { return r > 0x7e }) {
		return "", bad("write an international domain name in its xn-- form, as browsers send it")
	}
	local := host == "localhost" || host == "127.0.0.1" || host == "::1"
	switch {
	case u.Scheme == "https" && port == "443", u.Scheme == "http" && port == "80":
		port = ""
	case u.Scheme != "https" && (u.Scheme != "http" || !local):
		return "", bad("https is required (http only for localhost)")
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return u.Scheme + "://" + host, nil
}

// SetWidgetOrigins replaces the corporate's registered widget origins.
func (s *Service) SetWidgetOrigins(ctx context.Context, tenantID string, origins []string) (WidgetOrigins, error) {
	if len(origins) > MaxWidgetOrigins {
		return WidgetOrigins{}, apperr.InvalidField("origins", "at most %d origins", MaxWidgetOrigins)
	}
	out := WidgetOrigins{Origins: []string{}}
	for _, raw := range origins {
		o, err := ParseWidgetOrigin(raw)
		if err != nil {
			return WidgetOrigins{}, err
		}
		if !slices.Contains(out.Origins, o) {
			out.Origins = append(out.Origins, o)
		}
	}
	slices.Sort(out.Origins)
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := s.corporateOf(ctx, tx, "tenant_id", tenantID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM wallet_widget_origins WHERE tenant_id = $1`, tenantID); err != nil {
			return fmt.Errorf("wallet: widget origins: %w", err)
		}
		now := micros(s.now())
		for _, o := range out.Origins {
			if _, err := tx.ExecContext(ctx, `INSERT INTO wallet_widget_origins (tenant_id, origin, created_at) VALUES ($1, $2, $3)`, tenantID, o, now); err != nil {
				return fmt.Errorf("wallet: widget origins: %w", err)
			}
		}
		return httpx.Reply(ctx, tx, 200, out)
	})
	if err != nil {
		return WidgetOrigins{}, err
	}
	return out, nil
}

// WidgetOriginsOf returns the corporate's registered widget origins.
func (s *Service) WidgetOriginsOf(ctx context.Context, tenantID string) (WidgetOrigins, error) {
	if _, err := s.corporateOf(ctx, s.db.Read(), "tenant_id", tenantID); err != nil {
		return WidgetOrigins{}, err
	}
	rows, err := s.db.Read().QueryContext(ctx, `SELECT origin FROM wallet_widget_origins WHERE tenant_id = $1 ORDER BY origin`, tenantID)
	if err != nil {
		return WidgetOrigins{}, fmt.Errorf("wallet: widget origins: %w", err)
	}
	defer rows.Close()
	out := WidgetOrigins{Origins: []string{}}
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			return WidgetOrigins{}, err
		}
		out.Origins = append(out.Origins, o)
	}
	return out, rows.Err()
}

// originRegistered reports whether origin is one of the tenant's.
func originRegistered(ctx context.Context, q store.Querier, tenantID, origin string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM wallet_widget_origins WHERE tenant_id = $1 AND origin = $2`, tenantID, origin).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("wallet: widget origin: %w", err)
	}
	return n > 0, nil
}

// widgetRow is a stored widget token.
type widgetRow struct {
	ID, TenantID, SecretHash, Origin                 string
	Amount, Currency, Description, OrderID, Callback string
	TimeFrame, Attempts                              int
	RequestID                                        string
	ExpiresAt, CreatedAt                             int64
}

const widgetCols = `id, tenant_id, secret_hash, origin, amount, currency, description, order_id, callback_url, time_frame, attempts, request_id, expires_at, created_at`

func scanWidget(r interface{ Scan(...any) error }) (widgetRow, error) {
	var w widgetRow
	err := r.Scan(&w.ID, &w.TenantID, &w.SecretHash, &w.Origin, &w.Amount, &w.Currency, &w.Description, &w.OrderID, &w.Callback,
		&w.TimeFrame, &w.Attempts, &w.RequestID, &w.ExpiresAt, &w.CreatedAt)
	return w, err
}

func (s *Service) widgetByID(ctx context.Context, q store.Querier, id string) (widgetRow, error) {
	w, err := scanWidget(q.QueryRowContext(ctx, `SELECT `+widgetCols+` FROM wallet_widget_tokens WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return widgetRow{}, apperr.New(apperr.Unauthenticated, "unknown widget token")
	}
	if err != nil {
		return widgetRow{}, fmt.Errorf("wallet: widget: %w", err)
	}
	return w, nil
}

// spec is the money request the token makes for username.
func (w widgetRow) spec(username string) MoneyRequestSpec {
	return MoneyRequestSpec{Username: username, Amount: w.Amount, Currency: w.Currency, Description: w.Description,
		OrderID: w.OrderID, CallbackURL: w.Callback, TimeFrame: w.TimeFrame}
}

// splitWidgetToken splits "<id>.<secret>".
func splitWidgetToken(tok string) (id, secret string, ok bool) {
	id, secret, ok = strings.Cut(tok, ".")
	return id, secret, ok && validWidgetID(id) && len(secret) == 64
}

// validWidgetID tells whether id looks like a widget token's id.
func validWidgetID(id string) bool {
	return strings.HasPrefix(id, widgetPrefix) && len(id) < 64 && !strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r > '~' })
}

// AuthenticateWidget checks a widget token and returns its id and tenant.
// It does not check the expiry: reading the outcome is allowed a little
// longer than paying (WidgetStatus, WidgetPay).
func (s *Service) AuthenticateWidget(ctx context.Context, tok string) (id, tenantID string, err error) {
	id, secret, ok := splitWidgetToken(tok)
	if !ok {
		return "", "", apperr.New(apperr.Unauthenticated, "malformed widget token")
	}
	w, err := s.widgetByID(ctx, s.db.Read(), id)
	if err != nil {
		return "", "", err
	}
	if subtle.ConstantTimeCompare([]byte(tokenHash(secret)), []byte(w.SecretHash)) != 1 {
		return "", "", apperr.New(apperr.Unauthenticated, "unknown widget token")
	}
	return w.ID, w.TenantID, nil
}
