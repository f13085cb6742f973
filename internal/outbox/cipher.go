package outbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// SecretCipher encrypts endpoint signing secrets at rest (DESIGN: secrets
// are hashed or encrypted; a signing secret must be recovered to sign, so it
// is encrypted). aad binds a ciphertext to its row (the endpoint id).
// The card vault's key-encryption scheme can satisfy it; NewAESGCM is a
// self-contained implementation with one 256-bit key.
type SecretCipher interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ciphertext, aad []byte) ([]byte, error)
}

type aesGCM struct{ aead cipher.AEAD }

// NewAESGCM returns a SecretCipher using AES-256-GCM with key (32 bytes) and
// a random 96-bit nonce per ciphertext (stored in front of it).
func NewAESGCM(key []byte) (SecretCipher, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("outbox: secret key must be 32 bytes, not %d", len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	return aesGCM{a}, nil
}

func (c aesGCM) Seal(plaintext, aad []byte) ([]byte, error) {
	nonce := make([]byte, c.aead.NonceSize(), c.aead.NonceSize()+len(plaintext)+c.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return c.aead.Seal(nonce, nonce, plaintext, aad), nil
}

func (c aesGCM) Open(ciphertext, aad []byte) ([]byte, error) {
	n := c.aead.NonceSize()
	if len(ciphertext) < n+c.aead.Overhead() {
		return nil, errors.New("outbox: secret ciphertext too short")
	}
	return c.aead.Open(nil, ciphertext[:n], ciphertext[n:], aad)
}
