package portal

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
)

// A new APP key's secret is shown once, after a redirect (POST-redirect-GET):
// the post that makes (or rotates) a key keeps its secret in
// portal_key_reveals, in the key's own transaction, sealed with AES-GCM
// under the portal's key (derived from the KEK), bound to the developer
// and to the browser's session, and found by the hash of a random id the
// redirect carries (?reveal=). The page that shows it deletes the row as it
// reads it, so a reload shows no secret and, being a GET, makes no key; a
// reveal left unread is worthless after RevealTTL (and purged by the next
// key made).

// RevealTTL is how long a new key's secret waits for its page.
const RevealTTL = 10 * time.Minute

// revealParam is the query parameter of the page that shows a new key.
const revealParam = "reveal"

func revealHash(id string) string {
	h := sha256.Sum256([]byte("portal key reveal\x00" + id))
	return hex.EncodeToString(h[:])
}

func revealAAD(devID, keyID, idHash string) []byte {
	return []byte("reveal|" + devID + "|" + keyID + "|" + idHash)
}

// stashReveal keeps k's secret for the next page of this browser's
// session, in tx (the key's transaction), and returns the id of the reveal.
func (s *Service) stashReveal(ctx context.Context, tx *store.Tx, r *http.Request, d developer, k platform.KeyCreated) (string, error) {
	session := s.kit.SessionHash(r)
	if session == "" {
		return "", errors.New("portal: a key made without a session")
	}
	now := s.clk.Now()
	id := s.gen.Secret(32)
	h := revealHash(id)
	nonce := s.gen.Bytes(s.seal.NonceSize())
	sealed := base64.StdEncoding.EncodeToString(s.seal.Seal(nonce, nonce, []byte(k.APIKey), revealAAD(d.ID, k.ID, h)))
	if _, err := tx.ExecContext(ctx, `DELETE FROM portal_key_reveals WHERE expires_at <= $1`, now.UnixMicro()); err != nil {
		return "", fmt.Errorf("portal: purge reveals: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO portal_key_reveals (id_hash, session_hash, developer_id, key_id, sealed, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, h, session, d.ID, k.ID, sealed, now.Add(RevealTTL).UnixMicro()); err != nil {
		return "", fmt.Errorf("portal: keep reveal: %w", err)
	}
	return id, nil
}

// takeReveal returns, once, the secret of the reveal id for this browser's
// session and developer (ok false when there is none: shown already,
// expired, another session's or made up). The row is deleted as it is read.
// forKey ("" for any) is the key whose page asks.
func (s *Service) takeReveal(ctx context.Context, r *http.Request, d developer, id, forKey string) (keyID, secret string, ok bool, err error) {
	session := s.kit.SessionHash(r)
	if id == "" || session == "" || len(id) > 128 {
		return "", "", false, nil
	}
	h := revealHash(id)
	q := `DELETE FROM portal_key_reveals WHERE id_hash = $1 AND session_hash = $2 AND developer_id = $3 AND expires_at > $4`
	args := []any{h, session, d.ID, s.clk.Now().UnixMicro()}
	if forKey != "" {
		q += ` AND key_id = $5`
		args = append(args, forKey)
	}
	var sealed string
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.QueryRowContext(ctx, q+` RETURNING key_id, sealed`, args...).Scan(&keyID, &sealed)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("portal: take reveal: %w", err)
	}
	b, err := base64.StdEncoding.DecodeString(sealed)
	n := s.seal.NonceSize()
	if err != nil || len(b) < n {
		return "", "", false, errors.New("portal: sealed reveal is damaged")
	}
	plain, err := s.seal.Open(nil, b[:n], b[n:], revealAAD(d.ID, keyID, h))
	if err != nil {
		return "", "", false, fmt.Errorf("portal: open reveal: %w", err)
	}
	return keyID, string(plain), true, nil
}

// revealOf reads the ?reveal= of a key page: the new key's secret when it
// is key keyID's ("" for any key of keys), else gone (the page then says
// that the secret was shown once already).
func (s *Service) revealOf(r *http.Request, d developer, keys []platform.Key, keyID string) (*platform.KeyCreated, bool, error) {
	id := r.URL.Query().Get(revealParam)
	if id == "" {
		return nil, false, nil
	}
	got, secret, ok, err := s.takeReveal(r.Context(), r, d, id, keyID)
	if err != nil || !ok {
		return nil, err == nil, err
	}
	for _, k := range keys {
		if k.ID == got {
			return &platform.KeyCreated{Key: k, APIKey: secret}, false, nil
		}
	}
	return nil, true, nil
}
