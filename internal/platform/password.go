package platform

import "github.com/cashgate/cashgate/internal/passhash"

// Argon2Params are argon2id parameters for password and PIN hashes.
type Argon2Params = passhash.Params

// DefaultArgon2 returns moderate parameters (OWASP's argon2id minimum).
func DefaultArgon2() Argon2Params { return passhash.Default() }
