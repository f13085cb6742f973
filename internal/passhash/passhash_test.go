package passhash

import (
	"strings"
	"testing"
)

func TestHasher(t *testing.T) {
	p := Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	h := New(p, []byte("pepper"), 2)
	salt := []byte("0123456789abcdef")
	enc, err := h.Hash("s3cret pass", salt)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$") {
		t.Fatalf("PHC string %q", enc)
	}
	// Stored parameters win over the hasher's current ones.
	stronger := New(Params{Memory: 128, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}, []byte("pepper"), 1)
	otherPepper := New(p, []byte("other pepper"), 1)
	noPepper := New(p, nil, 1)
	cases := []struct {
		name    string
		h       *Hasher
		encoded string
		secret  string
		ok      bool
		err     bool
	}{
		{"right", h, enc, "s3cret pass", true, false},
		{"right, newer parameters", stronger, enc, "s3cret pass", true, false},
		{"wrong", h, enc, "s3cret pasS", false, false},
		{"empty", h, enc, "", false, false},
		{"other pepper", otherPepper, enc, "s3cret pass", false, false},
		{"no pepper", noPepper, enc, "s3cret pass", false, false},
		{"not a hash", h, "s3cret pass", "s3cret pass", false, true},
		{"argon2i", h, strings.Replace(enc, "argon2id", "argon2i", 1), "s3cret pass", false, true},
		{"bad version", h, strings.Replace(enc, "v=19", "v=16", 1), "s3cret pass", false, true},
		{"bad params", h, strings.Replace(enc, "m=64", "m=x", 1), "s3cret pass", false, true},
		{"tiny memory", h, strings.Replace(enc, "m=64", "m=1", 1), "s3cret pass", false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, err := c.h.Verify(c.encoded, c.secret)
			if ok != c.ok || (err != nil) != c.err {
				t.Fatalf("verify = %v, %v; want %v, error %v", ok, err, c.ok, c.err)
			}
		})
	}
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
}
