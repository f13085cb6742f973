package platform

import (
	"strings"
	"testing"
)

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
