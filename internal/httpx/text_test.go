package httpx_test

import (
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
)

func TestUnmarshalRefusesAmbiguousKeysAndControlCharacters(t *testing.T) {
	type inner struct {
		Note string `json:"note"`
	}
	type dst struct {
		Amount string            `json:"amount"`
		Tags   []string          `json:"tags"`
		Inner  inner             `json:"inner"`
		Meta   map[string]string `json:"meta"`
	}
	tests := []struct {
		name, body string
		ok         bool
		field      string
	}{
		{"plain", `{"amount":"1.00","tags":["a"],"inner":{"note":"x"},"meta":{"k":"v"}}`, true, ""},
		{"unicode text", `{"amount":"1.00","inner":{"note":"Zürich – €"}}`, true, ""},
		{"same key in sibling objects", `{"inner":{"note":"a"},"meta":{"note":"b"}}`, true, ""},
		{"duplicate key", `{"amount":"0.01","amount":"9.99"}`, false, "amount"},
		{"case-variant key", `{"amount":"0.01","Amount":"9.99"}`, false, "Amount"},
		{"kelvin sign folds to k", `{"meta":{"k":"1","\u212a":"2"}}`, false, "\u212a"},
		{"duplicate in nested object", `{"inner":{"note":"a","NOTE":"b"}}`, false, "NOTE"},
		{"duplicate in array element", `{"x":[{"a":1,"a":2}]}`, false, "a"},
		{"NUL in value", `{"amount":"1\u0000"}`, false, "amount"},
		{"newline in value", `{"inner":{"note":"a\nb"}}`, false, "note"},
		{"tab in value", `{"amount":"\t1"}`, false, "amount"},
		{"DEL in value", "{\"amount\":\"1\x7f\"}", false, "amount"},
		{"escaped DEL", `{"amount":"1\u007f"}`, false, "amount"},
		{"control in array", `{"tags":["ok","b\u0001"]}`, false, "tags"},
		{"control in key", `{"meta":{"a\u0000":"v"}}`, false, "a\x00"},
		{"C1 control in value", `{"amount":"1\u0085"}`, false, "amount"},
		{"right-to-left override in value", `{"inner":{"note":"invoice\u202efdp.exe"}}`, false, "note"},
		{"left-to-right isolate in value", `{"inner":{"note":"a\u2066b"}}`, false, "note"},
		{"right-to-left text", `{"inner":{"note":"שלום עולם"}}`, true, ""},
		{"zero-width joiner (emoji)", `{"inner":{"note":"\ud83d\udc69\u200d\ud83d\udcbb"}}`, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d dst
			err := httpx.Unmarshal([]byte(tc.body), &d, httpx.DecodeOptions{AllowUnknownFields: true})
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			e := apperr.From(err)
			if err == nil || e.Code != apperr.Invalid {
				t.Fatalf("err = %v, want Invalid", err)
			}
			if e.Field != tc.field {
				t.Errorf("field = %q, want %q (%s)", e.Field, tc.field, e.Message)
			}
		})
	}
}

func TestCheckURLAndForm(t *testing.T) {
	for _, tc := range []struct {
		target string
		ok     bool
	}{
		{"/platform/ledger/accounts/acc_1?limit=10", true},
		{"/platform/ledger/accounts/acc%00x", false},
		{"/platform/ledger/accounts/a?cursor=%00", false},
		{"/platform/ledger/accounts/a?cur%7Fsor=1", false},
		{"/platform/ledger/accounts/a%0Ab", false},
	} {
		r := httptest.NewRequest("GET", tc.target, nil)
		if err := httpx.CheckURL(r); (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.target, err, tc.ok)
		}
	}
	if err := httpx.CheckForm(url.Values{"username": {"a\x00"}}); apperr.From(err).Code != apperr.Invalid {
		t.Errorf("form with NUL: %v", err)
	}
	if err := httpx.CheckForm(url.Values{"username": {"ada"}}); err != nil {
		t.Errorf("plain form: %v", err)
	}
}
