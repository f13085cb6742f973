package httpx_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
)

type req struct {
	Name string `json:"name"`
}

type resp struct {
	Hello string `json:"hello"`
}

func greet(r *http.Request, q req) (resp, error) {
	if q.Name == "bad" {
		return resp{}, apperr.InvalidField("name", "name must not be bad")
	}
	return resp{Hello: q.Name}, nil
}

func TestHandle(t *testing.T) {
	errw := httpx.PlatformErrors(nil)
	strict := httpx.Handle(errw, http.StatusCreated, greet)
	optional := httpx.HandleOptionalBody(errw, http.StatusOK, greet)
	tests := []struct {
		name        string
		h           http.HandlerFunc
		body, ctype string
		status      int
		want        string
	}{
		{"ok", strict, `{"name":"ada"}`, "application/json", 201, `{"hello":"ada"}`},
		{"charset ok", strict, `{"name":"ada"}`, "application/json; charset=utf-8", 201, `{"hello":"ada"}`},
		{"domain error", strict, `{"name":"bad"}`, "application/json", 400, `{"error":"name must not be bad"}`},
		{"unknown field", strict, `{"name":"ada","x":1}`, "application/json", 400, `{"error":"unknown field \"x\""}`},
		{"trailing bytes", strict, `{"name":"ada"} {}`, "application/json", 400, `{"error":"request body has data after the JSON value"}`},
		{"wrong type", strict, `{"name":7}`, "application/json", 400, `{"error":"field \"name\" must be a string, not number"}`},
		{"empty strict", strict, ``, "application/json", 400, `{"error":"request body is empty; a JSON object is required"}`},
		{"no content type", strict, `{"name":"ada"}`, "", 415, `{"error":"Content-Type must be application/json"}`},
		{"too large", strict, `{"name":"` + strings.Repeat("a", httpx.MaxBodyBytes) + `"}`, "application/json", 413, `{"error":"request body is larger than 1048576 bytes"}`},
		{"optional empty", optional, ``, "", 200, `{"hello":""}`},
		{"optional given", optional, `{"name":"ada"}`, "application/json", 200, `{"hello":"ada"}`},
		{"optional wrong type", optional, `{"name":"ada"}`, "text/plain", 415, `{"error":"Content-Type must be application/json, not \"text/plain\""}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(tc.body))
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			w := httptest.NewRecorder()
			tc.h(w, r)
			if w.Code != tc.status || strings.TrimSpace(w.Body.String()) != tc.want {
				t.Fatalf("got %d %s, want %d %s", w.Code, w.Body.String(), tc.status, tc.want)
			}
		})
	}
}

func TestRateLimitedSetsRetryAfter(t *testing.T) {
	w := httptest.NewRecorder()
	httpx.PlatformErrors(nil)(w, httptest.NewRequest(http.MethodGet, "/", nil), &apperr.Error{Code: apperr.RateLimited, Message: "slow down", RetryAfterSeconds: 7})
	var m map[string]string
	_ = json.Unmarshal(w.Body.Bytes(), &m)
	if w.Code != 429 || w.Header().Get("Retry-After") != "7" || m["error"] != "slow down" {
		t.Fatalf("got %d Retry-After=%q %s", w.Code, w.Header().Get("Retry-After"), w.Body.String())
	}
}
