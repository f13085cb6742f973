package card

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/store"
)

// Vault stores PANs encrypted: each card gets a fresh 256-bit data key; the
// PAN is sealed with AES-256-GCM under the data key (additional data: the
// card id), and the data key is sealed with AES-256-GCM under the vault's
// key-encryption key (additional data: "card_vault:" + card id). Neither the
// PAN nor the data key is ever stored in clear; the CVC is never stored.
type Vault struct {
	kek cipher.AEAD
	gen *ids.Gen
}

// NewVault returns a vault whose data keys are wrapped by kek (32 bytes).
func NewVault(kek []byte, gen *ids.Gen) (*Vault, error) {
	if len(kek) != 32 {
		return nil, errors.New("card: the vault key-encryption key must be 32 bytes")
	}
	a, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	return &Vault{kek: a, gen: gen}, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// Stored is a vaulted card without its PAN.
type Stored struct {
	ID          string
	TenantID    string
	Token       string // 16 digits handed to the merchant; "" while the card is not tokenised
	MaskedPAN   string
	ExpiryMonth int
	ExpiryYear  int
	HolderName  string
}

// TokenLen is the length of a card token (the guide's "1000000000030419").
const TokenLen = 16

// untokenised is the token column of a card that was vaulted only to finish
// its payment (3-D Secure, a recurring parent): a value no token lookup can
// match (tokens are 16 digits), unique per card.
func untokenised(id string) string { return "-" + id }

// IsToken reports whether s has the form of a card token: 16 digits.
func IsToken(s string) bool {
	if len(s) != TokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Store seals d's PAN in tx and returns the stored card (never the CVC).
// With tokenise the card also gets its token at once (the card-tokenisation
// call); otherwise Tokenise can give it one later (GenerateToken once the
// payment succeeded).
func (v *Vault) Store(ctx context.Context, tx *store.Tx, tenantID string, d Details, now time.Time, tokenise bool) (Stored, error) {
	s := Stored{ID: v.gen.ID("card"), TenantID: tenantID, MaskedPAN: Mask(d.Number),
		ExpiryMonth: d.ExpiryMonth, ExpiryYear: d.ExpiryYear, HolderName: d.HolderName}
	token := untokenised(s.ID)
	if tokenise {
		var err error
		if s.Token, err = v.newToken(ctx, tx, tenantID); err != nil {
			return Stored{}, err
		}
		token = s.Token
	}
	dk := v.gen.Bytes(32)
	da, err := newGCM(dk)
	if err != nil {
		return Stored{}, err
	}
	n1 := v.gen.Bytes(da.NonceSize())
	sealed := da.Seal(n1, n1, []byte(d.Number), []byte(s.ID))
	n2 := v.gen.Bytes(v.kek.NonceSize())
	wrapped := v.kek.Seal(n2, n2, dk, []byte("card_vault:"+s.ID))
	clear(dk)
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO card_vault (id, tenant_id, token, masked_pan, pan_sealed, key_wrapped, expiry_month, expiry_year, holder_name, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		s.ID, tenantID, token, s.MaskedPAN, sealed, wrapped, s.ExpiryMonth, s.ExpiryYear, s.HolderName, now.UnixMicro()); err != nil {
		return Stored{}, fmt.Errorf("card: vault insert: %w", err)
	}
	return s, nil
}

// newToken draws a 16-digit token not yet used by the tenant. (A clash is
// about one in 10^16 per stored token; checking first keeps a PostgreSQL
// transaction from failing on the unique key.)
func (v *Vault) newToken(ctx context.Context, tx *store.Tx, tenantID string) (string, error) {
	for range 5 {
		t := v.gen.Digits(TokenLen)
		if t[0] == '0' {
			t = "1" + t[1:] // no leading zero: merchants may keep tokens as integers
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM card_vault WHERE tenant_id = $1 AND token = $2`, tenantID, t).Scan(&n); err != nil {
			return "", fmt.Errorf("card: token check: %w", err)
		}
		if n == 0 {
			return t, nil
		}
	}
	return "", errors.New("card: could not draw a free token")
}

// Tokenise gives the tenant's vaulted card id a token, in tx, and returns
// it; a card that has one keeps it.
func (v *Vault) Tokenise(ctx context.Context, tx *store.Tx, tenantID, id string) (string, error) {
	var cur string
	err := tx.QueryRowContext(ctx, `SELECT token FROM card_vault WHERE id = $1 AND tenant_id = $2`, id, tenantID).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return "", apperr.New(apperr.NotFound, "card not found")
	}
	if err != nil {
		return "", fmt.Errorf("card: vault read: %w", err)
	}
	if IsToken(cur) {
		return cur, nil
	}
	t, err := v.newToken(ctx, tx, tenantID)
	if err != nil {
		return "", err
	}
	res, err := tx.ExecContext(ctx, `UPDATE card_vault SET token = $1 WHERE id = $2 AND tenant_id = $3 AND token = $4`, t, id, tenantID, cur)
	if err != nil {
		return "", fmt.Errorf("card: tokenise: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", apperr.New(apperr.Conflict, "card changed meanwhile")
	}
	return t, nil
}

// Untokenise takes the token away from the tenant's vaulted card id, in
// tx: the token no longer finds it (OpenToken), while the card stays for
// the payments that hold its id (a recurring parent's children).
func (v *Vault) Untokenise(ctx context.Context, tx *store.Tx, tenantID, id string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE card_vault SET token = $1 WHERE id = $2 AND tenant_id = $3`, untokenised(id), id, tenantID); err != nil {
		return fmt.Errorf("card: untokenise: %w", err)
	}
	return nil
}

// Forget deletes a stored card of the tenant (its PAN is gone for good).
func (v *Vault) Forget(ctx context.Context, tx *store.Tx, tenantID, id string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM card_vault WHERE id = $1 AND tenant_id = $2`, id, tenantID); err != nil {
		return fmt.Errorf("card: forget: %w", err)
	}
	return nil
}

// Open returns the stored card id of the tenant with its PAN decrypted.
func (v *Vault) Open(ctx context.Context, q store.Querier, tenantID, id string) (Stored, string, error) {
	return v.open(ctx, q, `SELECT id, tenant_id, token, masked_pan, pan_sealed, key_wrapped, expiry_month, expiry_year, holder_name
		FROM card_vault WHERE id = $1 AND tenant_id = $2`, id, tenantID)
}

// OpenToken is Open by the merchant-facing token: only the tenant's own
// tokenised cards are found.
func (v *Vault) OpenToken(ctx context.Context, q store.Querier, tenantID, token string) (Stored, string, error) {
	if !IsToken(token) {
		return Stored{}, "", apperr.New(apperr.NotFound, "card not found")
	}
	return v.open(ctx, q, `SELECT id, tenant_id, token, masked_pan, pan_sealed, key_wrapped, expiry_month, expiry_year, holder_name
		FROM card_vault WHERE token = $1 AND tenant_id = $2`, token, tenantID)
}

func (v *Vault) open(ctx context.Context, q store.Querier, query string, args ...any) (Stored, string, error) {
	var s Stored
	var sealed, wrapped []byte
	err := q.QueryRowContext(ctx, query, args...).Scan(&s.ID, &s.TenantID, &s.Token, &s.MaskedPAN, &sealed, &wrapped,
		&s.ExpiryMonth, &s.ExpiryYear, &s.HolderName)
	if errors.Is(err, sql.ErrNoRows) {
		return Stored{}, "", apperr.New(apperr.NotFound, "card not found")
	}
	if err != nil {
		return Stored{}, "", fmt.Errorf("card: vault read: %w", err)
	}
	if !IsToken(s.Token) {
		s.Token = ""
	}
	ns := v.kek.NonceSize()
	if len(wrapped) < ns {
		return Stored{}, "", errors.New("card: malformed wrapped key")
	}
	dk, err := v.kek.Open(nil, wrapped[:ns], wrapped[ns:], []byte("card_vault:"+s.ID))
	if err != nil {
		return Stored{}, "", fmt.Errorf("card: unwrap data key (wrong key-encryption key?): %w", err)
	}
	da, err := newGCM(dk)
	clear(dk)
	if err != nil {
		return Stored{}, "", err
	}
	if len(sealed) < da.NonceSize() {
		return Stored{}, "", errors.New("card: malformed sealed PAN")
	}
	pan, err := da.Open(nil, sealed[:da.NonceSize()], sealed[da.NonceSize():], []byte(s.ID))
	if err != nil {
		return Stored{}, "", fmt.Errorf("card: open PAN: %w", err)
	}
	return s, string(pan), nil
}
