package platform

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
)

// sealedPrefix marks the version of the sealed signing-key format:
// "v1:" + base64(nonce || AES-256-GCM ciphertext), additional data
// "gateway_configurations:" + configuration id (so a sealed key cannot be
// moved to another configuration).
const sealedPrefix = "v1:"

// newSigningKey returns a random gateway signing key in the UUID layout the
// gateway guide shows ("845c51f6-1cd5-4338-a586-df752e65d690"; 122 random bits).
func (s *Service) newSigningKey() string {
	b := s.gen.Bytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// sealSigningKey returns the values of (signing_key_sealed,
// signing_key_plaintext): sealed with the KEK when one is configured, as is
// otherwise.
func (s *Service) sealSigningKey(configurationID, key string) (sealed, plain any, err error) {
	if s.kek == nil {
		return nil, key, nil
	}
	nonce := s.gen.Bytes(s.kek.NonceSize())
	ct := s.kek.Seal(nonce, nonce, []byte(key), []byte("gateway_configurations:"+configurationID))
	return sealedPrefix + base64.StdEncoding.EncodeToString(ct), nil, nil
}

func (s *Service) openSigningKey(configurationID, sealed string) (string, error) {
	if s.kek == nil {
		return "", errors.New("platform: gateway signing key is sealed but no key-encryption key is configured")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, sealedPrefix))
	if !strings.HasPrefix(sealed, sealedPrefix) || err != nil || len(raw) < s.kek.NonceSize() {
		return "", errors.New("platform: malformed sealed gateway signing key")
	}
	n := s.kek.NonceSize()
	pt, err := s.kek.Open(nil, raw[:n], raw[n:], []byte("gateway_configurations:"+configurationID))
	if err != nil {
		return "", fmt.Errorf("platform: open gateway signing key (wrong key-encryption key?): %w", err)
	}
	return string(pt), nil
}

// GatewayConfigurations looks up card-gateway configurations (seed 003's
// ConfigurationId and the signing key behind its request Hash).
type GatewayConfigurations struct{ s *Service }

// GatewayConfigurations returns the configuration lookup for the gateway.
func (s *Service) GatewayConfigurations() GatewayConfigurations { return GatewayConfigurations{s: s} }

// SigningKey returns the tenant owning the configuration and its signing
// key, with which the gateway verifies Hash = SHA-512(signingKey + body).
// An unknown configuration is apperr.NotFound.
func (g GatewayConfigurations) SigningKey(ctx context.Context, configurationID string) (tenantID, key string, err error) {
	var sealed, plain sql.NullString
	err = g.s.db.Read().QueryRowContext(ctx,
		`SELECT tenant_id, signing_key_sealed, signing_key_plaintext FROM gateway_configurations WHERE id = $1`,
		configurationID).Scan(&tenantID, &sealed, &plain)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", apperr.New(apperr.NotFound, "unknown configuration %q", configurationID)
	}
	if err != nil {
		return "", "", fmt.Errorf("platform: load gateway configuration: %w", err)
	}
	if sealed.Valid {
		key, err = g.s.openSigningKey(configurationID, sealed.String)
		if err != nil {
			return "", "", err
		}
		return tenantID, key, nil
	}
	return tenantID, plain.String, nil
}
