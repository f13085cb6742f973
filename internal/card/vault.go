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
	Token       string // 16 digits, handed to the merchant
	MaskedPAN   string
	ExpiryMonth int
	ExpiryYear  int
	HolderName  string
}

// Store seals d's PAN in tx and returns the stored card (never the CVC).
func (v *Vault) Store(ctx context.Context, tx *store.Tx, tenantID string, d Details, now time.Time) (Stored, error) {
	s := Stored{ID: v.gen.ID("card"), TenantID: tenantID, Token: v.gen.Digits(16), MaskedPAN: Mask(d.Number),
		ExpiryMonth: d.ExpiryMonth, ExpiryYear: d.ExpiryYear, HolderName: d.HolderName}
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
		s.ID, tenantID, s.Token, s.MaskedPAN, sealed, wrapped, s.ExpiryMonth, s.ExpiryYear, s.HolderName, now.UnixMicro()); err != nil {
		return Stored{}, fmt.Errorf("card: vault insert: %w", err)
	}
	return s, nil
}

// Open returns the stored card id of the tenant with its PAN decrypted.
func (v *Vault) Open(ctx context.Context, q store.Querier, tenantID, id string) (Stored, string, error) {
	return v.open(ctx, q, `SELECT id, tenant_id, token, masked_pan, pan_sealed, key_wrapped, expiry_month, expiry_year, holder_name
		FROM card_vault WHERE id = $1 AND tenant_id = $2`, id, tenantID)
}

// OpenToken is Open by the merchant-facing token.
func (v *Vault) OpenToken(ctx context.Context, q store.Querier, tenantID, token string) (Stored, string, error) {
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
