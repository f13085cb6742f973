package passhash

import (
	"strings"
	"testing"
)

func TestHashPIN(t *testing.T) {
	p := Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	h := New(p, []byte("pepper"), 1)
	salt := []byte("0123456789abcdef")
	enc, err := h.HashPIN("1234", salt)
	if err != nil {
		t.Fatal(err)
	}
	if !Keyed(enc) || !strings.HasPrefix(enc, "$hmac-sha256$v=1$MDEyMzQ1Njc4OWFiY2RlZg$") || strings.Contains(enc, "1234") {
		t.Fatalf("keyed PIN hash %q", enc)
	}
	other, _ := h.HashPIN("1234", []byte("fedcba9876543210"))
	if other == enc {
		t.Fatal("the salt does not change the hash")
	}
	legacy, err := h.Hash("1234", salt)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		h       *Hasher
		encoded string
		pin     string
		ok, err bool
	}{
		{"right", h, enc, "1234", true, false},
		{"wrong", h, enc, "1235", false, false},
		{"longer", h, enc, "12345", false, false},
		{"other pepper", New(p, []byte("other pepper"), 1), enc, "1234", false, false},
		{"no pepper", New(p, nil, 1), enc, "1234", false, true},
		{"legacy argon2id PIN hash", h, legacy, "1234", true, false},
		{"legacy, wrong", h, legacy, "4321", false, false},
		{"truncated mac", h, enc[:len(enc)-4], "1234", false, true},
		{"no mac", h, pinPrefix + "MDEyMzQ1Njc4OWFiY2RlZg", "1234", false, true},
		{"short salt", h, pinPrefix + "MDEy$" + strings.Split(enc, "$")[4], "1234", false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, err := c.h.Verify(c.encoded, c.pin)
			if ok != c.ok || (err != nil) != c.err {
				t.Fatalf("verify = %v, %v; want %v, error %v", ok, err, c.ok, c.err)
			}
		})
	}
	if _, err := h.HashPIN("1234", []byte("short")); err == nil {
		t.Fatal("a short salt is accepted")
	}
	unpeppered, err := New(p, nil, 1).HashPIN("1234", salt)
	if err != nil || Keyed(unpeppered) || !strings.HasPrefix(unpeppered, "$argon2id$") {
		t.Fatalf("without a pepper HashPIN gives %q, %v; want argon2id", unpeppered, err)
	}
}

func BenchmarkVerifyPIN(b *testing.B) {
	h := New(Default(), []byte("pepper"), 1)
	enc, _ := h.HashPIN("1234", []byte("0123456789abcdef"))
	for b.Loop() {
		if ok, _ := h.Verify(enc, "1234"); !ok {
			b.Fatal("no match")
		}
	}
}
