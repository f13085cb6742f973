package httpx_test

import (
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
)

func TestRequireAll(t *testing.T) {
	type settings struct {
		ID   string `json:"id,omitempty"` // read-only: optional
		Auto bool   `json:"auto"`
		Fee  int64  `json:"fee"`
	}
	for _, tc := range []struct {
		body  string
		field string // "" when accepted
		ok    bool
	}{
		{`{"auto":false,"fee":0}`, "", true},
		{`{"id":"x","auto":true,"fee":5}`, "", true},
		{`{"AUTO":true,"fee":5}`, "", true}, // the decoder matches case-insensitively
		{`{}`, "auto", false},
		{`{"auto":true}`, "fee", false},
		{`{"auto":null,"fee":1}`, "auto", false},
		{`null`, "", false},
		{`[]`, "", false},
	} {
		var s settings
		err := httpx.RequireAll([]byte(tc.body), &s)
		if tc.ok != (err == nil) {
			t.Errorf("%s: err = %v, want ok=%v", tc.body, err, tc.ok)
			continue
		}
		if err != nil && (apperr.CodeOf(err) != apperr.Invalid || apperr.From(err).Field != tc.field) {
			t.Errorf("%s: err = %v (field %q), want invalid on %q", tc.body, err, apperr.From(err).Field, tc.field)
		}
	}
}

func TestUnmarshalRefusesNull(t *testing.T) {
	var m map[string]any
	for _, b := range []string{`null`, ` null `} {
		if err := httpx.Unmarshal([]byte(b), &m, httpx.DecodeOptions{AllowUnknownFields: true}); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("%q: err = %v, want invalid", b, err)
		}
	}
}
