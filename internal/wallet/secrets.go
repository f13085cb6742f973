package wallet

import (
	"context"
	"crypto/hmac"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
)

// MaxSecretGrace is the longest a rotated merchant secret keeps working.
const MaxSecretGrace = 7 * 24 * time.Hour

// MerchantSecretRotation is the answer to a rotation: the new secret,
// shown this once, and until when the previous one still works.
type MerchantSecretRotation struct {
	MerchantID     string `json:"merchantId"`
	MerchantSecret string `json:"merchantSecret"`
	// PreviousValidUntil is when the previous secret stops working (tokens
	// built from it are refused from then on); absent: it stopped at once.
	PreviousValidUntil *time.Time `json:"previousValidUntil,omitempty"`
	RotatedAt          time.Time  `json:"rotatedAt"`
}

// MerchantSecretStatus is a corporate's merchant secret, never its value.
type MerchantSecretStatus struct {
	MerchantID string `json:"merchantId"`
	// RotatedAt is the last rotation (absent: the secret is the first one).
	RotatedAt *time.Time `json:"rotatedAt,omitempty"`
	// PreviousValidUntil is set while a rotated secret still works.
	PreviousValidUntil *time.Time `json:"previousValidUntil,omitempty"`
}

// corpByTenantOrMerchant reads a corporate row by tenant id or merchant id
// in tx, locked.
func (s *Service) corpByTenantOrMerchant(ctx context.Context, tx *store.Tx, id string) (corporate, error) {
	c, err := scanCorp(tx.QueryRowContext(ctx, `SELECT `+corpCols+` FROM wallet_corporates WHERE tenant_id = $1 OR merchant_id = $1`+s.db.ForUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return corporate{}, apperr.New(apperr.NotFound, "no corporate account %q", id)
	}
	if err != nil {
		return corporate{}, fmt.Errorf("wallet: corporate: %w", err)
	}
	return c, nil
}

// RotateMerchantSecret replaces a corporate's merchant secret (tenant id
// or merchant id) by a new one, answered this once. The current secret
// keeps working for grace (0 to MaxSecretGrace; 0: it stops at once, as
// for a secret that leaked), so a merchant deploys the new one without
// refused calls; a secret still in the grace of an earlier rotation stops
// now. Callbacks are signed with the new secret from the rotation on.
func (s *Service) RotateMerchantSecret(ctx context.Context, tenantOrMerchant string, grace time.Duration) (MerchantSecretRotation, error) {
	if grace < 0 || grace > MaxSecretGrace {
		return MerchantSecretRotation{}, apperr.InvalidField("graceSeconds", "the grace period must be 0 to %d seconds (7 days)", int(MaxSecretGrace.Seconds()))
	}
	secret := "cgm_" + s.ids.Secret(32)
	var out MerchantSecretRotation
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		c, err := s.corpByTenantOrMerchant(ctx, tx, tenantOrMerchant)
		if err != nil {
			return err
		}
		now := s.now()
		prev, until := "", int64(0)
		out = MerchantSecretRotation{MerchantID: c.MerchantID, MerchantSecret: secret, RotatedAt: now}
		if grace > 0 {
			u := now.Add(grace)
			prev, until, out.PreviousValidUntil = c.SecretSealed, micros(u), &u
		}
		if _, err := tx.ExecContext(ctx, `UPDATE wallet_corporates SET secret_sealed = $1, prev_secret_sealed = $2, prev_secret_until = $3, secret_rotated_at = $4
WHERE tenant_id = $5`, s.seal(c.TenantID, secret), prev, until, micros(now), c.TenantID); err != nil {
			return err
		}
		// The answer carries the secret: an Idempotency-Key replay returns
		// it, sealed while stored (httpx.Reply).
		return httpx.Reply(ctx, tx, http.StatusCreated, out)
	})
	if err != nil {
		return MerchantSecretRotation{}, err
	}
	return out, nil
}

// RevokePreviousSecret ends the grace of a rotated merchant secret now: a
// token built from it is refused from this moment. Without a previous
// secret in its grace it is a Conflict (to revoke the current secret,
// rotate with no grace).
func (s *Service) RevokePreviousSecret(ctx context.Context, tenantOrMerchant string) (MerchantSecretStatus, error) {
	var out MerchantSecretStatus
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		c, err := s.corpByTenantOrMerchant(ctx, tx, tenantOrMerchant)
		if err != nil {
			return err
		}
		now := micros(s.now())
		res, err := tx.ExecContext(ctx, `UPDATE wallet_corporates SET prev_secret_sealed = '', prev_secret_until = 0
WHERE tenant_id = $1 AND prev_secret_until > $2`, c.TenantID, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return apperr.New(apperr.Conflict, "no previous merchant secret is in its grace period; to revoke the current secret, rotate it with no grace period")
		}
		if out, err = s.secretStatus(ctx, tx, c.TenantID); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusOK, out)
	})
	return out, err
}

// MerchantSecret returns the status of a corporate's merchant secret.
func (s *Service) MerchantSecret(ctx context.Context, tenantID string) (MerchantSecretStatus, error) {
	return s.secretStatus(ctx, s.db.Read(), tenantID)
}

func (s *Service) secretStatus(ctx context.Context, q store.Querier, tenantID string) (MerchantSecretStatus, error) {
	var out MerchantSecretStatus
	var rotated, until int64
	err := q.QueryRowContext(ctx, `SELECT merchant_id, secret_rotated_at, prev_secret_until FROM wallet_corporates WHERE tenant_id = $1`, tenantID).
		Scan(&out.MerchantID, &rotated, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return MerchantSecretStatus{}, apperr.New(apperr.NotFound, "the tenant has no corporate wallet yet: open it with POST /platform/wallet/corporate")
	}
	if err != nil {
		return MerchantSecretStatus{}, fmt.Errorf("wallet: merchant secret: %w", err)
	}
	if rotated > 0 {
		t := fromMicros(rotated)
		out.RotatedAt = &t
	}
	if until > micros(s.now()) {
		t := fromMicros(until)
		out.PreviousValidUntil = &t
	}
	return out, nil
}

// tokenMatches checks a merchant token against the current secret and,
// while its grace runs, the previous one (both compared in constant time).
func (s *Service) tokenMatches(c corporate, salt, token string) (bool, error) {
	secret, err := s.open(c.TenantID, c.SecretSealed)
	if err != nil {
		return false, err
	}
	if hmac.Equal([]byte(MerchantToken(c.MerchantID, secret, salt)), []byte(token)) {
		return true, nil
	}
	if c.PrevSecretSealed == "" || c.PrevSecretUntil <= micros(s.now()) {
		return false, nil
	}
	prev, err := s.open(c.TenantID, c.PrevSecretSealed)
	if err != nil {
		return false, err
	}
	return hmac.Equal([]byte(MerchantToken(c.MerchantID, prev, salt)), []byte(token)), nil
}
