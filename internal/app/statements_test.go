package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/remote"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// TestStatementsPerOperation holds each hot operation to its number of SQL
// statements (testdata/statements-ENGINE.json, rewritten with -update):
// every statement is CPU in SQLite's single commit section and a round
// trip with row locks held on PostgreSQL, so a change that adds one fails
// here and has to say why. Each is counted after one warm-up, so caches
// (APP keys, webhook subscriptions, wallets by account number) are warm
// as under load.
func TestStatementsPerOperation(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			counts := map[string]int64{}
			// measure counts the statements of the action prepare returns.
			measure := func(name string, prepare func() (action func())) {
				prepare()() // warm-up
				act := prepare()
				before := h.App.App.DB.Statements()
				act()
				counts[name] = h.App.App.DB.Statements() - before
			}
			now := func(f func()) func() func() { return func() func() { return f } }
			from := h.mustPost("/platform/ledger/accounts", map[string]any{"owner": "bank", "purpose": "clearing", "currency": "EUR", "allowOverdraft": true}, 200)["id"]
			to := h.mustPost("/platform/ledger/accounts", map[string]any{"owner": "alice", "purpose": "wallet", "currency": "EUR"}, 200)["id"]
			measure("ledger transfer", now(func() {
				h.mustPost("/platform/ledger/transfers", map[string]any{"from": from, "to": to, "amount": "1.00", "currency": "EUR"}, 201)
			}))
			orders := 0
			measure("gateway MOTO payment (auto capture)", now(func() {
				orders++
				body := strings.Replace(gatewayMoto, `"ORDER"`, fmt.Sprintf(`"O-%d"`, orders), 1)
				if r := h.Do("POST", "/api/gateway/payment-jobs", []byte(body), signed(h.App, body)); r.Status != 201 || !strings.Contains(string(r.Body), `"Paid"`) {
					t.Fatalf("MOTO: %d %s", r.Status, r.Body)
				}
			}))
			session := payer(t, h)
			create := func() string {
				return h.mustPost("/remote/v1/payments", map[string]any{"amount": 150, "currency": "EUR"}, 201)["id"].(string)
			}
			var id string
			measure("remote payment: create", now(func() { id = create() }))
			measure("remote payment: pay from a wallet on the page", func() func() {
				id = create()
				return func() { payOnPage(t, h, session, id) }
			})
			measure("remote payment: get", now(func() {
				if r := h.do("GET", "/remote/v1/payments/"+id, nil, nil); r.Status != 200 || !strings.Contains(string(r.Body), `"status":"paid"`) {
					t.Fatalf("get: %d %s", r.Status, r.Body)
				}
			}))
			if _, err := h.App.App.Wallet.Service.SignUp(context.Background(), wallet.SignUp{Username: "payee", Password: "payee-password", PIN: "1234"}); err != nil {
				t.Fatal(err)
			}
			measure("wallet send (fees, limits)", now(func() {
				if r := h.Do("POST", "/wallet/app/v1/send", []byte(`{"to":"payee","amount":"0.50"}`), map[string]string{"Authorization": "Bearer " + session}); r.Status != 201 {
					t.Fatalf("send: %d %s", r.Status, r.Body)
				}
			}))
			got, err := json.MarshalIndent(counts, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "statements-"+e.Name+".json", append(got, '\n'))
		})
	}
}

// payer opens a funded private wallet and returns its page session.
func payer(t *testing.T, h *harness) string {
	t.Helper()
	ctx := context.Background()
	w := h.App.App.Wallet.Service
	u, err := w.SignUp(ctx, wallet.SignUp{Username: "payer", Password: "payer-password", PIN: "1234"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.CreditTopUp(ctx, wallet.TopUp{Reference: u.TopUpReference, Amount: "100.00", BankReference: "bank-1"}); err != nil {
		t.Fatal(err)
	}
	s, err := w.Login(ctx, "payer", "payer-password")
	if err != nil {
		t.Fatal(err)
	}
	return s.Token
}

// payOnPage posts the hosted page's PIN form as the payer's browser does.
func payOnPage(t *testing.T, h *harness, session, id string) {
	t.Helper()
	req, err := http.NewRequest("POST", h.App.Server.URL+"/pay/"+id+"/wallet", strings.NewReader(url.Values{"pin": {"1234"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: remote.PayCookie, Value: session})
	res, err := h.App.NoRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/pay/"+id {
		t.Fatalf("pay %s: %d %s", id, res.StatusCode, res.Header.Get("Location"))
	}
}
