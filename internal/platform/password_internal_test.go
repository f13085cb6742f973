package platform

import (
	"strings"
	"testing"
)

func TestHasher(t *testing.T) {
	p := Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	h := newHasher(p, []byte("pepper"), 2)
	salt := []byte("0123456789abcdef")
	enc, err := h.hash("s3cret pass", salt)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$") {
		t.Fatalf("PHC string %q", enc)
	}
	// Stored parameters win over the hasher's current ones.
	stronger := newHasher(Argon2Params{Memory: 128, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}, []byte("pepper"), 1)
	otherPepper := newHasher(p, []byte("other pepper"), 1)
	noPepper := newHasher(p, nil, 1)
	cases := []struct {
		name    string
		h       *hasher
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
			ok, err := c.h.verify(c.encoded, c.secret)
			if ok != c.ok || (err != nil) != c.err {
				t.Fatalf("verify = %v, %v; want %v, error %v", ok, err, c.ok, c.err)
			}
		})
	}
	if err := DefaultArgon2().validate(); err != nil {
		t.Fatal(err)
	}
}

func TestParseAPIKey(t *testing.T) {
	secret := strings.Repeat("ab", 32)
	cases := []struct {
		in     string
		id     string
		wantOK bool
	}{
		{"cgk_0123456789abcdef_" + secret, "key_0123456789abcdef", true},
		{"cgk_0123456789ABCDEF_" + secret, "", false},
		{"cgk_0123456789abcde_" + secret, "", false},
		{"cgk_0123456789abcdef_" + secret[:62], "", false},
		{"cgk_0123456789abcdef" + secret, "", false},
		{"xyz_0123456789abcdef_" + secret, "", false},
		{"cgk_0123456789abcdef_" + secret + "_x", "", false},
		{"", "", false},
	}
	for _, c := range cases {
		id, s, ok := parseAPIKey(c.in)
		if ok != c.wantOK || id != c.id || (ok && s != secret) {
			t.Errorf("parseAPIKey(%q) = %q, %q, %v", c.in, id, s, ok)
		}
	}
}
