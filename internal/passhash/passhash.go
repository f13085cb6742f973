// Package passhash hashes and verifies low-entropy secrets: passwords with
// argon2id over HMAC-SHA256(pepper, secret), encoded as PHC strings that
// carry their own parameters, and PINs with a keyed hash under the pepper
// (pin.go says why). Every product that keeps passwords or PINs (platform
// admin users, wallet customers) uses it.
package passhash

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id parameters for password and PIN hashes.
type Params struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
	SaltLength  uint32 // bytes
	KeyLength   uint32 // bytes
}

// Default returns moderate parameters (OWASP's argon2id minimum: 19 MiB,
// 2 iterations, 1 lane): a few tens of milliseconds per hash.
func Default() Params {
	return Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
}

// Validate refuses parameters too weak or malformed to use.
func (p Params) Validate() error {
	if p.Iterations < 1 || p.Parallelism < 1 || p.Memory < 8*uint32(p.Parallelism) || p.SaltLength < 8 || p.KeyLength < 16 {
		return fmt.Errorf("passhash: argon2 parameters out of range: %+v", p)
	}
	return nil
}

// Hasher hashes and verifies passwords and PINs: argon2id over
// HMAC-SHA256(pepper, secret), encoded as a PHC string
// "$argon2id$v=19$m=…,t=…,p=…$salt$hash" (unpadded standard base64).
// A semaphore bounds concurrent hashing so a burst of logins cannot
// allocate memory without limit.
type Hasher struct {
	params Params
	pepper []byte
	sem    chan struct{}
}

// New returns a hasher with the parameters for new hashes, the server-side
// pepper and the number of hashes that may run at once.
func New(p Params, pepper []byte, concurrency int) *Hasher {
	if concurrency < 1 {
		concurrency = 1
	}
	return &Hasher{params: p, pepper: pepper, sem: make(chan struct{}, concurrency)}
}

func (h *Hasher) peppered(secret string) []byte {
	if len(h.pepper) == 0 {
		return []byte(secret)
	}
	m := hmac.New(sha256.New, h.pepper)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

func (h *Hasher) derive(secret string, salt []byte, p Params) []byte {
	h.sem <- struct{}{}
	defer func() { <-h.sem }()
	return argon2.IDKey(h.peppered(secret), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
}

// Hash returns the PHC string of secret with the given salt (at least 8 random bytes).
func (h *Hasher) Hash(secret string, salt []byte) (string, error) {
	if len(salt) < 8 {
		return "", errors.New("passhash: argon2 salt too short")
	}
	p := h.params
	key := h.derive(secret, salt, p)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Iterations, p.Parallelism, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Verify reports whether secret matches encoded: a PHC string, verified
// with the parameters stored in it, or a keyed PIN hash (HashPIN); the
// comparison is constant time.
func (h *Hasher) Verify(encoded, secret string) (bool, error) {
	if Keyed(encoded) {
		return h.verifyKeyed(encoded, secret)
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errors.New("passhash: not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("passhash: unsupported argon2 version %q", parts[2])
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Iterations, &p.Parallelism); err != nil {
		return false, fmt.Errorf("passhash: bad argon2 parameters %q", parts[3])
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, errors.New("passhash: bad argon2 salt")
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil {
		return false, errors.New("passhash: bad argon2 hash")
	}
	p.SaltLength, p.KeyLength = uint32(len(salt)), uint32(len(want))
	if err := p.Validate(); err != nil {
		return false, err
	}
	got := h.derive(secret, salt, p)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// SaltLength is the salt size new hashes use.
func (h *Hasher) SaltLength() int { return int(h.params.SaltLength) }
