package gateway

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
)

// Customers and their stored cards (the guide's "Stored card details": a
// card stored "for a customer's online account"):
//
//   - customerReference (a payment job's, or card-tokenisation's) names the
//     merchant's customer: 1 to 64 letters, digits and . _ - @ +, else the
//     guide's "Invalid customer reference provided.";
//   - a token made for a customer (card-tokenisation, or GenerateToken once
//     the payment succeeded) is stored for them, up to the tenant's
//     maxStoredTokensPerCustomer (default 10): beyond it the token is made
//     and works, but is not stored for the customer, and the answer carries
//     the guide's warning "The maximum number of stored tokens for a
//     customer has been reached.";
//   - GET supported-payment-methods?customerReference= lists the
//     customer's stored cards in tokenizedCards (token, masked number,
//     expiry);
//   - a token stored for a customer pays only in a job naming that customer
//     or none; another customer's reference is "Invalid customer reference
//     provided.";
//   - DELETE /api/gateway/customers/{customerReference}/tokens/{token}
//     removes the token: it no longer pays (the vaulted card stays for the
//     payments and recurring children made with it).

// Limits of customers' stored cards.
const (
	DefaultMaxCustomerTokens = 10
	MaxCustomerTokensLimit   = 100
	maxCustomerRefLen        = 64
)

// MsgMaxStoredTokens is the guide's warning when a customer already has as
// many stored tokens as the tenant allows.
var MsgMaxStoredTokens = GuideMsg{Code: "MaximumStoredTokensReached", Message: "The maximum number of stored tokens for a customer has been reached."}

// warning is m as a Warning of an answer, naming field.
func (m GuideMsg) warning(field string) Warning {
	return Warning{Code: m.Code, Message: m.Message, Field: field}
}

// parseCustomerRef validates a customer reference ("" is none).
func parseCustomerRef(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > maxCustomerRefLen {
		return "", MsgInvalidCustomerRef.Invalid("customerReference")
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@+", r)
		if !ok {
			return "", MsgInvalidCustomerRef.Invalid("customerReference")
		}
	}
	return s, nil
}

// parseEmail validates the guide's customerEmail ("" is none): one @ with
// text on both sides, no spaces, at most 254 characters.
func parseEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	at := strings.LastIndexByte(s, '@')
	if len(s) > 254 || at < 1 || at == len(s)-1 || strings.ContainsAny(s, " <>,;\"") || !strings.Contains(s[at:], ".") {
		return "", apperr.InvalidField("customerEmail", "customerEmail must be an email address such as jon.snow@example.com.")
	}
	return s, nil
}

// maxCustomerTokens is the tenant's maxStoredTokensPerCustomer.
func maxCustomerTokens(ctx context.Context, q store.Querier, tenantID string) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT max_customer_tokens FROM gateway_settings WHERE tenant_id = $1`, tenantID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) || err == nil && n <= 0 {
		return DefaultMaxCustomerTokens, nil
	}
	if err != nil {
		return 0, fmt.Errorf("gateway: max customer tokens: %w", err)
	}
	return n, nil
}

// putMaxCustomerTokens sets the tenant's maxStoredTokensPerCustomer in tx
// (after its settings row was written); 0 leaves it unchanged.
func putMaxCustomerTokens(ctx context.Context, tx *store.Tx, tenantID string, n int64) error {
	if n == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE gateway_settings SET max_customer_tokens = $1 WHERE tenant_id = $2`, n, tenantID); err != nil {
		return fmt.Errorf("gateway: max customer tokens: %w", err)
	}
	return nil
}

// storeForCustomer stores token (of the vaulted card cardID) for the
// tenant's customer in tx. It reports false, storing nothing, when the
// customer has the maximum number of tokens already; a token stored for
// them already counts once.
func storeForCustomer(ctx context.Context, tx *store.Tx, tenantID, customer, token, cardID string, now time.Time) (bool, error) {
	var owner string
	err := tx.QueryRowContext(ctx, `SELECT customer_reference FROM gateway_customer_tokens WHERE tenant_id = $1 AND token = $2`, tenantID, token).Scan(&owner)
	switch {
	case err == nil:
		return owner == customer, nil
	case !errors.Is(err, sql.ErrNoRows):
		return false, fmt.Errorf("gateway: customer token: %w", err)
	}
	limit, err := maxCustomerTokens(ctx, tx, tenantID)
	if err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO gateway_customers (tenant_id, customer_reference, tokens, created_at) VALUES ($1, $2, 0, $3)
		ON CONFLICT (tenant_id, customer_reference) DO NOTHING`, tenantID, customer, now.UnixMicro()); err != nil {
		return false, fmt.Errorf("gateway: customer: %w", err)
	}
	// The guarded update waits for a concurrent one on the same customer
	// (PostgreSQL re-reads the row), so the count never passes the limit.
	res, err := tx.ExecContext(ctx, `UPDATE gateway_customers SET tokens = tokens + 1 WHERE tenant_id = $1 AND customer_reference = $2 AND tokens < $3`,
		tenantID, customer, limit)
	if err != nil {
		return false, fmt.Errorf("gateway: customer count: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO gateway_customer_tokens (tenant_id, customer_reference, token, card_id, created_at)
		VALUES ($1, $2, $3, $4, $5)`, tenantID, customer, token, cardID, now.UnixMicro()); err != nil {
		return false, fmt.Errorf("gateway: customer token: %w", err)
	}
	return true, nil
}

// tokenOwner is the customer the tenant's token is stored for ("" if none).
func tokenOwner(ctx context.Context, q store.Querier, tenantID, token string) (string, error) {
	var owner string
	err := q.QueryRowContext(ctx, `SELECT customer_reference FROM gateway_customer_tokens WHERE tenant_id = $1 AND token = $2`, tenantID, token).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("gateway: token owner: %w", err)
	}
	return owner, nil
}

// sqlCustomerCards lists a customer's stored cards, oldest first (at most
// the tenant's maximum of them); each card by its id (a token row names a
// card of its own tenant: storeForCustomer is given the tenant's card).
const sqlCustomerCards = `SELECT t.token, v.masked_pan, v.expiry_month, v.expiry_year FROM gateway_customer_tokens t
	JOIN card_vault v ON v.id = t.card_id
	WHERE t.tenant_id = $1 AND t.customer_reference = $2 ORDER BY t.created_at, t.token`

// CustomerCards are the tenant's customer's stored cards.
func (s *Service) CustomerCards(ctx context.Context, tenantID, customer string) ([]TokenizedCard, error) {
	out := []TokenizedCard{}
	rows, err := s.DB.Read().QueryContext(ctx, sqlCustomerCards, tenantID, customer)
	if err != nil {
		return nil, fmt.Errorf("gateway: customer cards: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c TokenizedCard
		var m, y int
		if err := rows.Scan(&c.Token, &c.TruncatedCardNumber, &m, &y); err != nil {
			return nil, err
		}
		c.CardExpiryMonth, c.CardExpiryYear = fmt.Sprintf("%02d", m), fmt.Sprintf("%02d", y%100)
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteToken removes the token stored for the tenant's customer: it no
// longer pays. A token that is not the customer's is not found.
func (s *Service) DeleteToken(ctx context.Context, tenantID, customer, token string) (CardToken, error) {
	customer, err := parseCustomerRef(customer)
	if err != nil {
		return CardToken{}, err
	}
	notFound := apperr.New(apperr.NotFound, "The card token is not known.")
	if customer == "" {
		return CardToken{}, MsgInvalidCustomerRef.Invalid("customerReference")
	}
	var out CardToken
	err = s.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		var cardID, masked string
		var month, year int
		err := tx.QueryRowContext(ctx, `SELECT t.card_id, v.masked_pan, v.expiry_month, v.expiry_year FROM gateway_customer_tokens t
			JOIN card_vault v ON v.id = t.card_id WHERE t.tenant_id = $1 AND t.customer_reference = $2 AND t.token = $3`+s.DB.ForUpdateOf("t"),
			tenantID, customer, token).Scan(&cardID, &masked, &month, &year)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM gateway_customer_tokens WHERE tenant_id = $1 AND token = $2`, tenantID, token); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE gateway_customers SET tokens = tokens - 1 WHERE tenant_id = $1 AND customer_reference = $2 AND tokens > 0`,
			tenantID, customer); err != nil {
			return err
		}
		if err := s.Vault.Untokenise(ctx, tx, tenantID, cardID); err != nil {
			return err
		}
		out = CardToken{Token: token, CardExpiryMonth: fmt.Sprintf("%02d", month), CardExpiryYear: fmt.Sprintf("%02d", year%100),
			TruncatedCardNumber: masked, CustomerReference: customer}
		return httpx.Answer(ctx, tx, out)
	})
	return out, err
}

func (h handlers) deleteToken(r *http.Request, p httpx.Principal, _ cancelBody) (DeleteCardTokenResponse, error) {
	var out DeleteCardTokenResponse
	ctx := httpx.Answering(r.Context(), http.StatusOK, &out, func(_ context.Context, t CardToken) (DeleteCardTokenResponse, error) {
		return DeleteCardTokenResponse{Data: t}, nil
	})
	_, err := h.s.DeleteToken(ctx, p.TenantID, r.PathValue("customerReference"), r.PathValue("token"))
	return out, err
}
