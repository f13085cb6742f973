package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/server"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// harness is the whole app on one engine (apptest) with the tenant's APP
// key sent on every request.
type harness struct {
	*apptest.App
	t   *testing.T
	key string
}

func newHarness(t *testing.T, e storetest.Engine) *harness {
	t.Helper()
	a := apptest.New(t, e, apptest.Options{Seed: 1})
	return &harness{App: a, t: t, key: a.Tenant.APIKey}
}

type reply = apptest.Reply

func (h *harness) do(method, path string, body []byte, hdr map[string]string) reply {
	h.t.Helper()
	all := map[string]string{"api-key": h.key}
	for k, v := range hdr {
		all[k] = v
	}
	return h.Do(method, path, body, all)
}

func (h *harness) post(path string, v any, hdr map[string]string) reply {
	h.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.do(http.MethodPost, path, b, hdr)
}

func (h *harness) mustPost(path string, v any, want int) map[string]any {
	h.t.Helper()
	r := h.post(path, v, nil)
	if r.Status != want {
		h.t.Fatalf("POST %s = %d %s, want %d", path, r.Status, r.Body, want)
	}
	return r.JSON(h.t)
}

func (h *harness) balance(id string) map[string]any {
	h.t.Helper()
	r := h.do(http.MethodGet, "/platform/ledger/accounts/"+id, nil, nil)
	if r.Status != 200 {
		h.t.Fatalf("GET account %s = %d %s", id, r.Status, r.Body)
	}
	return r.JSON(h.t)["balance"].(map[string]any)
}

func golden(t *testing.T, name string, got []byte) { apptest.Golden(t, *update, name, got) }

// webhookSink is a merchant's endpoint that records what it receives.
type webhookSink struct {
	mu   sync.Mutex
	reqs []*http.Request
	body [][]byte
}

func (s *webhookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, r)
	s.body = append(s.body, b)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func TestPlatformEndToEnd(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)

			// Seed 001: the status call and the missing-key error, byte for byte.
			r := h.do(http.MethodGet, "/dummyapi/status", nil, nil)
			if r.Status != 200 || string(r.Body) != `{"status":"OK","message":"Your APP Key is valid"}`+"\n" {
				t.Fatalf("status = %d %s", r.Status, r.Body)
			}
			r = h.do(http.MethodGet, "/dummyapi/status", nil, map[string]string{"api-key": ""})
			if r.Status != 401 || string(r.Body) != `{"error":"Authorization field missing"}`+"\n" {
				t.Fatalf("no key = %d %s", r.Status, r.Body)
			}

			// A webhook endpoint for the ledger's events.
			sink := &webhookSink{}
			hook := httptest.NewServer(sink)
			defer hook.Close()
			ep := h.mustPost("/platform/webhooks/endpoints", map[string]any{"url": hook.URL, "eventTypes": []string{"ledger.*"}}, 201)

			bank := h.mustPost("/platform/ledger/accounts", map[string]any{"owner": "bank", "purpose": "clearing", "currency": "EUR", "allowOverdraft": true}, 200)["id"].(string)
			alice := h.mustPost("/platform/ledger/accounts", map[string]any{"owner": "alice", "purpose": "wallet", "currency": "EUR"}, 200)["id"].(string)
			bob := h.mustPost("/platform/ledger/accounts", map[string]any{"owner": "bob", "purpose": "wallet", "currency": "EUR"}, 200)["id"].(string)

			// Top up with an Idempotency-Key: the retry replays the first answer and moves nothing.
			topup := map[string]any{"from": bank, "to": alice, "amount": "25.00", "currency": "EUR", "reference": "topup-1"}
			first := h.post("/platform/ledger/transfers", topup, map[string]string{"Idempotency-Key": "topup-1"})
			if first.Status != 201 {
				t.Fatalf("transfer = %d %s", first.Status, first.Body)
			}
			golden(t, "transfer.json", first.Body)
			again := h.post("/platform/ledger/transfers", topup, map[string]string{"Idempotency-Key": "topup-1"})
			if again.Status != 201 || !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("replay = %d %q (replayed=%q), want the first answer byte for byte", again.Status, again.Body, again.Header.Get("Idempotent-Replayed"))
			}
			topup["amount"] = "26.00"
			if r := h.post("/platform/ledger/transfers", topup, map[string]string{"Idempotency-Key": "topup-1"}); r.Status != 422 {
				t.Fatalf("same key, other body = %d %s, want 422", r.Status, r.Body)
			}
			if b := h.balance(alice); b["posted"] != "25.00" {
				t.Fatalf("alice = %v after an idempotent retry, want 25.00", b)
			}

			// Overdraft refused, nothing moves.
			r = h.post("/platform/ledger/transfers", map[string]any{"from": alice, "to": bob, "amount": "25.01", "currency": "EUR", "reference": "too-much"}, nil)
			if r.Status != 422 || !strings.Contains(string(r.Body), "insufficient funds") {
				t.Fatalf("overdraft = %d %s, want 422 insufficient funds", r.Status, r.Body)
			}
			if b := h.balance(alice); b["posted"] != "25.00" || b["available"] != "25.00" {
				t.Fatalf("alice = %v after a refused transfer", b)
			}

			// Two-phase: hold 10, post 4, then 3 as final (3 released), void is then refused.
			hold := h.mustPost("/platform/ledger/holds", map[string]any{"from": alice, "to": bob, "amount": "10.00", "currency": "EUR", "reference": "order-7"}, 201)
			holdID := hold["id"].(string)
			if b := h.balance(alice); b["available"] != "15.00" || b["pendingOut"] != "10.00" {
				t.Fatalf("alice with a hold = %v", b)
			}
			h.mustPost("/platform/ledger/holds/"+holdID+"/post", map[string]any{"amount": "4.00"}, 200)
			posted := h.mustPost("/platform/ledger/holds/"+holdID+"/post", map[string]any{"amount": "3.00", "final": true}, 200)
			if hs := posted["hold"].(map[string]any); hs["status"] != "posted" || hs["postedAmount"] != "7.00" || hs["remaining"] != "0.00" {
				t.Fatalf("hold after final post = %v", hs)
			}
			if r := h.post("/platform/ledger/holds/"+holdID+"/void", nil, nil); r.Status != 409 {
				t.Fatalf("void of a posted hold = %d %s, want 409", r.Status, r.Body)
			}
			if b := h.balance(alice); b["posted"] != "18.00" || b["available"] != "18.00" || b["pendingOut"] != "0.00" {
				t.Fatalf("alice after the hold = %v", b)
			}
			if b := h.balance(bob); b["posted"] != "7.00" {
				t.Fatalf("bob = %v", b)
			}
			// A bearer token goes with its key (seed 001: the api-key header
			// is always required), never instead of it.
			tok := h.do(http.MethodPost, "/auth/oauth/token", []byte("grant_type=client_credentials"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
			if tok.Status != 200 {
				t.Fatalf("token = %d %s", tok.Status, tok.Body)
			}
			bearer := "Bearer " + tok.JSON(t)["access_token"].(string)
			if r := h.do(http.MethodGet, "/platform/ledger/accounts/"+bob, nil, map[string]string{"Authorization": bearer}); r.Status != 200 {
				t.Fatalf("with the key and its bearer token = %d %s", r.Status, r.Body)
			}
			if r := h.do(http.MethodGet, "/platform/ledger/accounts/"+bob, nil, map[string]string{"api-key": "", "Authorization": bearer}); r.Status != 401 ||
				!strings.Contains(string(r.Body), "Authorization field missing") {
				t.Fatalf("with the bearer token alone = %d %s", r.Status, r.Body)
			}
			// The statement shows each posting with the balance it left.
			st := h.do(http.MethodGet, "/platform/ledger/accounts/"+alice+"/statement", nil, nil).JSON(t)["data"].([]any)
			if len(st) != 3 || st[2].(map[string]any)["balanceAfter"] != "18.00" {
				t.Fatalf("statement = %v", st)
			}
			h.CheckInvariants()

			// The outbox delivers every ledger event, signed per Standard Webhooks.
			if _, err := h.App.App.Runner.RunDue(context.Background()); err != nil {
				t.Fatal(err)
			}
			sink.mu.Lock()
			defer sink.mu.Unlock()
			// transfer, hold created, 2 hold posts (the refused and replayed calls emit nothing)
			if len(sink.body) != 4 {
				t.Fatalf("webhooks delivered = %d, want 4", len(sink.body))
			}
			wh, err := standardwebhooks.NewWebhook(ep["secret"].(string))
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for i, b := range sink.body {
				hdr := sink.reqs[i].Header
				// The fake clock stands still at epoch, far from the wall clock, so
				// verify the signature without the library's timestamp tolerance.
				if err := wh.VerifyIgnoringTimestamp(b, hdr); err != nil {
					t.Fatalf("webhook %d signature: %v", i, err)
				}
				var ev struct{ Type string }
				_ = json.Unmarshal(b, &ev)
				types = append(types, ev.Type)
			}
			// Deliveries run concurrently: webhooks carry no order guarantee.
			want := []string{ledger.EventHoldCreated, ledger.EventHoldPosted, ledger.EventHoldPosted, ledger.EventTransferPosted}
			slices.Sort(types)
			if strings.Join(types, ",") != strings.Join(want, ",") {
				t.Fatalf("webhook types = %v, want %v", types, want)
			}
		})
	}
}

// TestBadInputChangesNothing sends every kind of bad request to a write
// endpoint: each gets a clear error in the platform format ({"error": …}
// and nothing else) and no row changes anywhere.
// TestWebhookEndpointDeletionReplays: deleting a webhook endpoint answers
// from inside its transaction (the tests enforce the write contract), so the
// same Idempotency-Key replays the 204 instead of answering 404.
func TestWebhookEndpointDeletionReplays(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			hook := httptest.NewServer(&webhookSink{})
			defer hook.Close()
			id := h.mustPost("/platform/webhooks/endpoints", map[string]any{"url": hook.URL, "eventTypes": []string{"ledger.*"}}, 201)["id"].(string)
			key := map[string]string{"Idempotency-Key": "delete-1"}
			first := h.do(http.MethodDelete, "/platform/webhooks/endpoints/"+id, nil, key)
			again := h.do(http.MethodDelete, "/platform/webhooks/endpoints/"+id, nil, key)
			if first.Status != 204 || again.Status != 204 || len(again.Body) != 0 || again.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("delete %d, replay %d %q (replayed %q)", first.Status, again.Status, again.Body, again.Header.Get("Idempotent-Replayed"))
			}
			if r := h.do(http.MethodDelete, "/platform/webhooks/endpoints/"+id, nil, nil); r.Status != 404 {
				t.Fatalf("delete again without the key: %d %s", r.Status, r.Body)
			}
		})
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			bank := h.mustPost("/platform/ledger/accounts", map[string]any{"owner": "bank", "purpose": "clearing", "currency": "EUR", "allowOverdraft": true}, 200)["id"].(string)
			alice := h.mustPost("/platform/ledger/accounts", map[string]any{"owner": "alice", "purpose": "wallet", "currency": "EUR"}, 200)["id"].(string)
			valid := `{"from":"` + bank + `","to":"` + alice + `","amount":"1.00","currency":"EUR","reference":"r"}`
			big := `{"from":"` + bank + `","to":"` + alice + `","amount":"1.00","currency":"EUR","reference":"` + strings.Repeat("x", 2<<20) + `"}`
			tests := []struct {
				name        string
				body        string
				contentType string
				status      int
				mention     string
			}{
				{"malformed JSON", `{"from":`, "application/json", 400, "malformed JSON"},
				{"not an object", `[1,2]`, "application/json", 400, "object"},
				{"trailing garbage", valid + `xyz`, "application/json", 400, "after the JSON value"},
				{"second object", valid + valid, "application/json", 400, "after the JSON value"},
				{"unknown field", strings.Replace(valid, `"r"}`, `"r","extra":1}`, 1), "application/json", 400, `unknown field "extra"`},
				{"empty body", ``, "application/json", 400, "empty"},
				{"oversized body", big, "application/json", 413, "larger than"},
				{"wrong content type", valid, "text/plain", 415, "application/json"},
				{"no content type", valid, "", 415, "application/json"},
				{"too many decimals", strings.Replace(valid, `"1.00"`, `"1.001"`, 1), "application/json", 400, "decimals"},
				{"negative amount", strings.Replace(valid, `"1.00"`, `"-1.00"`, 1), "application/json", 400, "amount"},
				{"zero amount", strings.Replace(valid, `"1.00"`, `"0.00"`, 1), "application/json", 400, "greater than zero"},
				{"not a number", strings.Replace(valid, `"1.00"`, `"ten"`, 1), "application/json", 400, "amount"},
				{"exponent", strings.Replace(valid, `"1.00"`, `"1e3"`, 1), "application/json", 400, "amount"},
				{"overflow", strings.Replace(valid, `"1.00"`, `"99999999999999999999.00"`, 1), "application/json", 400, "amount"},
				{"number instead of string", strings.Replace(valid, `"1.00"`, `1.00`, 1), "application/json", 400, `"amount"`},
				{"unknown currency", strings.Replace(valid, `"EUR"`, `"XYZ"`, 1), "application/json", 400, "ISO 4217"},
				{"lowercase currency", strings.Replace(valid, `"EUR"`, `"eur"`, 1), "application/json", 400, "ISO 4217"},
				{"currency mismatch", strings.Replace(valid, `"EUR"`, `"GBP"`, 1), "application/json", 400, "holds EUR, not GBP"},
				{"unknown account", strings.Replace(valid, alice, "acc_nope", 1), "application/json", 400, "does not exist"},
			}
			before := counts(t, h)
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					r := h.do(http.MethodPost, "/platform/ledger/transfers", []byte(tc.body), map[string]string{"Content-Type": tc.contentType})
					if r.Status != tc.status {
						t.Fatalf("status = %d %s, want %d", r.Status, r.Body, tc.status)
					}
					m := r.JSON(t)
					msg, _ := m["error"].(string)
					if len(m) != 1 || !strings.Contains(msg, tc.mention) {
						t.Fatalf("body = %s, want only {\"error\": …} mentioning %q", r.Body, tc.mention)
					}
				})
			}
			if after := counts(t, h); after != before {
				t.Fatalf("bad requests changed data: before %v after %v", before, after)
			}
			if b := h.balance(alice); b["posted"] != "0.00" {
				t.Fatalf("alice = %v", b)
			}
			h.CheckInvariants()
		})
	}
}

type rowCounts struct{ entries, postings, events, jobs, idempotency int }

func counts(t *testing.T, h *harness) rowCounts {
	t.Helper()
	var c rowCounts
	for q, dst := range map[string]*int{
		"SELECT COUNT(*) FROM ledger_entries":   &c.entries,
		"SELECT COUNT(*) FROM ledger_postings":  &c.postings,
		"SELECT COUNT(*) FROM events":           &c.events,
		"SELECT COUNT(*) FROM jobs":             &c.jobs,
		"SELECT COUNT(*) FROM idempotency_keys": &c.idempotency,
	} {
		if err := h.App.App.DB.Read().QueryRowContext(context.Background(), q).Scan(dst); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// TestOpenAPICoversEveryRoute checks /openapi.json documents every mounted
// route, and keeps the route table in a golden file so a route change is
// visible in review.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	h := newHarness(t, storetest.Engines()[0])
	r := h.do(http.MethodGet, "/openapi.json", nil, nil)
	if r.Status != 200 {
		t.Fatalf("openapi.json = %d", r.Status)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatal(err)
	}
	routes := h.App.App.Server.Routes()
	documented := 0
	for _, p := range doc.Paths {
		documented += len(p)
	}
	for _, rt := range routes {
		if _, ok := doc.Paths[rt.Path][strings.ToLower(rt.Method)]; !ok {
			t.Errorf("%s %s is served but not in /openapi.json", rt.Method, rt.Path)
		}
	}
	if documented != len(routes) {
		t.Errorf("/openapi.json has %d operations, the server mounts %d routes", documented, len(routes))
	}
	golden(t, "routes.golden", []byte(strings.Join(server.RouteList(routes), "\n")+"\n"))
}

// TestOpenAPIIsComplete: every operation names how it authenticates (the
// scheme of its API, or none for public routes), documents its error body
// in its API's format, and every request body has an example.
func TestOpenAPIIsComplete(t *testing.T) {
	h := newHarness(t, storetest.Engines()[0])
	var doc struct {
		Paths map[string]map[string]struct {
			Tags        []string              `json:"tags"`
			Security    []map[string][]string `json:"security"`
			RequestBody *struct {
				Content map[string]struct {
					Example json.RawMessage `json:"example"`
					Schema  *struct {
						Format string `json:"format"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
			Responses map[string]struct {
				Content map[string]json.RawMessage `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
		Components struct {
			SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal(h.App.App.Server.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"platform": "apiKey", "remote": "apiKey", "cashier": "apiKey", "gateway": "gatewayHash", "wallet": "walletToken"}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			name := strings.ToUpper(method) + " " + path
			if len(op.Security) == 0 {
				t.Errorf("%s: no security requirement", name)
			}
			api := op.Tags[0]
			if scheme, ok := want[api]; ok {
				found := false
				for _, req := range op.Security {
					_, has := req[scheme]
					found = found || has
				}
				if !found || op.Responses["default"].Content["application/json"] == nil {
					t.Errorf("%s (%s API): security %v, error body documented %v", name, api, op.Security, op.Responses["default"].Content != nil)
				}
			}
			if op.RequestBody != nil {
				if len(op.RequestBody.Content) == 0 {
					t.Errorf("%s: request body without a media type", name)
				}
				for mt, c := range op.RequestBody.Content { // application/json, or a file's (text/csv, multipart/form-data)
					binary := c.Schema != nil && c.Schema.Format == "binary" // a file body (RawBody) has no example
					if !binary && (len(c.Example) == 0 || string(c.Example) == "null") {
						t.Errorf("%s: %s request body without an example", name, mt)
					}
				}
			}
		}
	}
	for _, s := range want {
		if doc.Components.SecuritySchemes[s] == nil {
			t.Errorf("security scheme %s not declared", s)
		}
	}
}
