package platform

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

// Argon2Params are argon2id parameters for password and PIN hashes.
type Argon2Params struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
	SaltLength  uint32 // bytes
	KeyLength   uint32 // bytes
}

// DefaultArgon2 returns moderate parameters (OWASP's argon2id minimum: 19 MiB,
// 2 iterations, 1 lane): a few tens of milliseconds per hash.
func DefaultArgon2() Argon2Params {
	return Argon2Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
}

func (p Argon2Params) validate() error {
	if p.Iterations < 1 || p.Parallelism < 1 || p.Memory < 8*uint32(p.Parallelism) || p.SaltLength < 8 || p.KeyLength < 16 {
		return fmt.Errorf("platform: argon2 parameters out of range: %+v", p)
	}
	return nil
}

// hasher hashes and verifies passwords and PINs: argon2id over
// HMAC-SHA256(pepper, secret), encoded as a PHC string
// "$argon2id$v=19$m=…,t=…,p=…$salt$hash" (unpadded standard base64).
// A semaphore bounds concurrent hashing so a burst of logins cannot
// allocate memory without limit.
type hasher struct {
	params Argon2Params
	pepper []byte
	sem    chan struct{}
}

func newHasher(p Argon2Params, pepper []byte, concurrency int) *hasher {
	if concurrency < 1 {
		concurrency = 1
	}
	return &hasher{params: p, pepper: pepper, sem: make(chan struct{}, concurrency)}
}

func (h *hasher) peppered(secret string) []byte {
	if len(h.pepper) == 0 {
		return []byte(secret)
	}
	m := hmac.New(sha256.New, h.pepper)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

func (h *hasher) derive(secret string, salt []byte, p Argon2Params) []byte {
	h.sem <- struct{}{}
	defer func() { <-h.sem }()
	return argon2.IDKey(h.peppered(secret), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
}

// hash returns the PHC string of secret with the given salt.
func (h *hasher) hash(secret string, salt []byte) (string, error) {
	if len(salt) < 8 {
		return "", errors.New("platform: argon2 salt too short")
	}
	p := h.params
	key := h.derive(secret, salt, p)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Iterations, p.Parallelism, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// verify reports whether secret matches the PHC string encoded, using the
// parameters stored in it; the comparison is constant time.
func (h *hasher) verify(encoded, secret string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errors.New("platform: not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("platform: unsupported argon2 version %q", parts[2])
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Iterations, &p.Parallelism); err != nil {
		return false, fmt.Errorf("platform: bad argon2 parameters %q", parts[3])
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, errors.New("platform: bad argon2 salt")
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil {
		return false, errors.New("platform: bad argon2 hash")
	}
	p.SaltLength, p.KeyLength = uint32(len(salt)), uint32(len(want))
	if err := p.validate(); err != nil {
		return false, err
	}
	got := h.derive(secret, salt, p)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
