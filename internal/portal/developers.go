package portal

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
)

// developer is a developer account: its sandbox (TenantID, with the
// sealed sign-up key) and, after go-live, its production account next to it
// (ProdTenantID, with its sealed first key). Env is the environment its
// pages show.
type developer struct {
	ID, Email, Name, PassHash, TenantID string
	KeyID, KeySealed                    string
	CreatedAt                           time.Time
	ProdTenantID, ProdKeyID, ProdSealed string
	Env                                 string // "sandbox" or "production"
}

const developerCols = `id, email, name, password_hash, tenant_id, app_key_id, app_key_sealed, created_at`

const developerReadCols = developerCols + `, COALESCE(production_tenant_id, ''), production_key_id, production_key_sealed, environment`

func scanDeveloper(row interface{ Scan(...any) error }) (developer, error) {
	var d developer
	var created int64
	err := row.Scan(&d.ID, &d.Email, &d.Name, &d.PassHash, &d.TenantID, &d.KeyID, &d.KeySealed, &created,
		&d.ProdTenantID, &d.ProdKeyID, &d.ProdSealed, &d.Env)
	d.CreatedAt = time.UnixMicro(created).UTC()
	return d, err
}

// production reports whether the developer's pages show its production
// account.
func (d developer) production() bool { return d.Env == envProduction && d.ProdTenantID != "" }

// tenant is the tenant of the environment the pages show.
func (d developer) tenant() string {
	if d.production() {
		return d.ProdTenantID
	}
	return d.TenantID
}

// sealed is the sealed key of the environment shown, with its id.
func (d developer) sealed() (keyID, sealed string) {
	if d.production() {
		return d.ProdKeyID, d.ProdSealed
	}
	return d.KeyID, d.KeySealed
}

// The environments.
const (
	envSandbox    = "sandbox"
	envProduction = "production"
)

// developerBy loads a developer by id or by e-mail; found is false when
// there is none.
func (s *Service) developerBy(ctx context.Context, col, v string) (d developer, found bool, err error) {
	d, err = scanDeveloper(s.db.Reader(ctx).QueryRowContext(ctx, `SELECT `+developerReadCols+` FROM developers WHERE `+col+` = $1`, v))
	if errors.Is(err, sql.ErrNoRows) {
		return developer{}, false, nil
	}
	if err != nil {
		return developer{}, false, fmt.Errorf("portal: load developer: %w", err)
	}
	return d, true, nil
}

// normalEmail checks an e-mail address and returns it in lower case.
func normalEmail(v string) (string, error) {
	v = strings.ToLower(strings.TrimSpace(v))
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || len(v) > 254 {
		return "", apperr.InvalidField("email", "enter an e-mail address such as ada@example.com")
	}
	return v, nil
}

// signupSpec is a validated sign-up.
type signupSpec struct {
	email, name, password string
}

// register creates the developer and its sandbox (tenant, APP key, gateway
// configuration) in one transaction: the platform's CreateTenant, with the
// developer's row written inside it (TenantSpec.InTx).
func (s *Service) register(ctx context.Context, spec signupSpec) (developer, error) {
	pwHash, err := s.hasher.Hash(spec.password, s.gen.Bytes(int(s.cfg.Argon2.SaltLength)))
	if err != nil {
		return developer{}, err
	}
	now := s.clk.Now()
	d := developer{ID: s.gen.ID("dev"), Email: spec.email, Name: spec.name, PassHash: pwHash, CreatedAt: time.UnixMicro(now.UnixMicro()).UTC()}
	tenantName := spec.name
	if tenantName == "" {
		tenantName = spec.email
	}
	if utf8.RuneCountInString(tenantName) > 200 {
		tenantName = string([]rune(tenantName)[:200])
	}
	_, err = s.plat.CreateTenant(ctx, platform.TenantSpec{Name: tenantName, Mode: platform.Sandbox, Timezone: "UTC", AwaitProfile: true,
		InTx: func(ctx context.Context, tx *store.Tx, c platform.TenantCreated) error {
			d.TenantID, d.KeyID, d.KeySealed = c.TenantID, c.KeyID, s.sealKey(d.ID, c.KeyID, c.APIKey)
			res, err := tx.ExecContext(ctx, `INSERT INTO developers (`+developerCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (email) DO NOTHING`, d.ID, d.Email, d.Name, d.PassHash, d.TenantID, d.KeyID, d.KeySealed, now.UnixMicro())
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return apperr.InvalidField("email", "a developer account with this e-mail address exists already: sign in instead")
			}
			return nil
		}})
	if err != nil {
		return developer{}, err
	}
	s.log.InfoContext(ctx, "developer signed up", "developer", d.ID, "tenant", d.TenantID)
	return d, nil
}

// sealKey seals an APP key for its developer (AES-256-GCM, the developer
// and key ids as associated data): base64 of nonce ‖ ciphertext.
func (s *Service) sealKey(devID, keyID, key string) string {
	nonce := s.gen.Bytes(s.seal.NonceSize())
	return base64.StdEncoding.EncodeToString(s.seal.Seal(nonce, nonce, []byte(key), []byte(devID+"|"+keyID)))
}

// openKey returns the developer's APP key of the environment shown.
func (s *Service) openKey(d developer) (string, error) {
	keyID, sealed := d.sealed()
	b, err := base64.StdEncoding.DecodeString(sealed)
	n := s.seal.NonceSize()
	if err != nil || len(b) < n {
		return "", errors.New("portal: sealed APP key is damaged")
	}
	plain, err := s.seal.Open(nil, b[:n], b[n:], []byte(d.ID+"|"+keyID))
	if err != nil {
		return "", fmt.Errorf("portal: open APP key: %w", err)
	}
	return string(plain), nil
}
