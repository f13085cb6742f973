package passhash

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// PINs are hashed differently from passwords. A PIN has 4 to 6 digits: at
// most a million values, so a slow hash stored next to its salt costs an
// attacker who holds the database hours of work whatever its parameters,
// while it costs every honest payment tens of milliseconds of CPU (a PIN
// confirms every wallet payment). What protects a PIN is the server-side
// pepper, kept outside the database (CASHGATE_PEPPER or DataDir/pepper),
// and the online lockout after a few wrong entries. A keyed hash,
// HMAC-SHA256 under a key derived from the pepper, gives exactly that: with
// the database alone no guess can be checked at all; it costs microseconds.
// Passwords keep argon2id, where a slow hash does protect a strong secret.
//
// Encoding: "$hmac-sha256$v=1$<salt>$<mac>" (unpadded standard base64),
// mac = HMAC-SHA256(pinKey, salt || secret), pinKey =
// HMAC-SHA256(pepper, "cashgate pin hash v1"). Without a pepper there is no
// key to keep secret, so HashPIN falls back to argon2id.

const pinPrefix = "$hmac-sha256$v=1$"

// Keyed reports whether encoded is a keyed PIN hash (verified in
// microseconds, no argon2 work).
func Keyed(encoded string) bool { return strings.HasPrefix(encoded, pinPrefix) }

func (h *Hasher) pinMAC(secret string, salt []byte) []byte {
	k := hmac.New(sha256.New, h.pepper)
	k.Write([]byte("cashgate pin hash v1"))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write(salt)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// HashPIN returns the keyed hash of a PIN with the given salt (at least 8
// random bytes); argon2id when the hasher has no pepper.
func (h *Hasher) HashPIN(pin string, salt []byte) (string, error) {
	if len(h.pepper) == 0 {
		return h.Hash(pin, salt)
	}
	if len(salt) < 8 {
		return "", errors.New("passhash: PIN salt too short")
	}
	enc := base64.RawStdEncoding
	return pinPrefix + enc.EncodeToString(salt) + "$" + enc.EncodeToString(h.pinMAC(pin, salt)), nil
}

// verifyKeyed checks a keyed PIN hash in constant time.
func (h *Hasher) verifyKeyed(encoded, secret string) (bool, error) {
	if len(h.pepper) == 0 {
		return false, errors.New("passhash: a keyed PIN hash needs the pepper it was made with")
	}
	salt64, mac64, ok := strings.Cut(strings.TrimPrefix(encoded, pinPrefix), "$")
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(salt64)
	want, err2 := enc.DecodeString(mac64)
	if !ok || err1 != nil || err2 != nil || len(salt) < 8 || len(want) != sha256.Size {
		return false, fmt.Errorf("passhash: malformed keyed PIN hash")
	}
	return hmac.Equal(h.pinMAC(secret, salt), want), nil
}
