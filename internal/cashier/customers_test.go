package cashier_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/cashier"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestCustomers: the CRM's sync — created (201) then replaced (200), read
// with balances, listed in pages; bad fields refused; a blocked or unknown
// customer can neither deposit nor withdraw; the currency is fixed once
// money moved; another tenant sees none of it.
func TestCustomers(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 16)
			v.settings("")
			body := `{"name":"Ann Smith","email":"ann@example.com","country":"GB","currency":"EUR","status":"active","kycLevel":2,"limits":{"maxDeposit":"500.00","dailyPayouts":"1000"}}`
			created := v.call("PUT", "/cashier/v1/customers/ann-1", body, "Idempotency-Key", "sync-1")
			if created.Status != 201 {
				t.Fatalf("create: %d %s", created.Status, created.Body)
			}
			if e.Name == "sqlite" {
				apptest.Golden(t, *update, "customer.json", created.Body)
			}
			if r := v.call("PUT", "/cashier/v1/customers/ann-1", strings.Replace(body, "Ann Smith", "Ann Jones", 1)); r.Status != 200 || !strings.Contains(string(r.Body), "Ann Jones") {
				t.Fatalf("replace: %d %s", r.Status, r.Body)
			}
			for _, bad := range []struct{ path, body, want string }{
				{"/cashier/v1/customers/ann-1", strings.Replace(body, `"GB"`, `"gb"`, 1), "country"},
				{"/cashier/v1/customers/ann-1", strings.Replace(body, `"EUR"`, `"EUX"`, 1), "currency"},
				{"/cashier/v1/customers/ann-1", strings.Replace(body, `"active"`, `"gone"`, 1), "status"},
				{"/cashier/v1/customers/ann-1", strings.Replace(body, `"kycLevel":2`, `"kycLevel":10`, 1), "kycLevel"},
				{"/cashier/v1/customers/ann-1", strings.Replace(body, `"ann@example.com"`, `"ann"`, 1), "email"},
				{"/cashier/v1/customers/ann-1", strings.Replace(body, `"500.00"`, `"-5"`, 1), "maxDeposit"},
				{"/cashier/v1/customers/ann%201", body, "id must be"},
			} {
				if r := v.call("PUT", bad.path, bad.body); r.Status != 400 || !strings.Contains(string(r.Body), bad.want) {
					t.Errorf("%s: %d %s", bad.want, r.Status, r.Body)
				}
			}
			for i := range 5 {
				v.customer(fmt.Sprintf("z-%d", i), "EUR", "")
			}
			var page cashier.CustomerList
			v.want(v.call("GET", "/cashier/v1/customers?limit=4", ""), 200, &page)
			if len(page.Data) != 4 || page.Next == "" || page.Data[0].ID != "ann-1" {
				t.Fatalf("page 1: %+v", page)
			}
			var rest cashier.CustomerList
			v.want(v.call("GET", "/cashier/v1/customers?limit=4&cursor="+page.Next, ""), 200, &rest)
			if len(rest.Data) != 2 || rest.Next != "" || rest.Data[1].ID != "z-4" {
				t.Fatalf("page 2: %+v", rest)
			}

			if r := v.call("POST", "/cashier/v1/deposits", `{"customerId":"nobody","psp":"card","amount":"5.00","card":`+cardPlain+`}`); r.Status != 400 || !strings.Contains(string(r.Body), "unknown customer") {
				t.Fatalf("unknown customer: %d %s", r.Status, r.Body)
			}
			v.deposit(`{"customerId":"ann-1","psp":"card","amount":"50.00","card":` + cardPlain + `}`)
			if r := v.call("PUT", "/cashier/v1/customers/ann-1", strings.Replace(body, `"EUR"`, `"GBP"`, 1)); r.Status != 409 {
				t.Fatalf("currency change after a deposit: %d %s", r.Status, r.Body)
			}
			v.want(v.call("PUT", "/cashier/v1/customers/ann-1", strings.Replace(body, `"active"`, `"blocked"`, 1)), 200, nil)
			for _, r := range []apptest.Reply{
				v.call("POST", "/cashier/v1/deposits", `{"customerId":"ann-1","psp":"card","amount":"5.00","card":`+cardPlain+`}`),
				v.call("POST", "/cashier/v1/payouts", `{"customerId":"ann-1","psp":"sim","amount":"5.00","destination":{"account":"SIM-ANN-1"}}`),
				v.call("POST", "/cashier/v1/sessions", `{"customerId":"ann-1","intent":"deposit","orderReference":"o-1"}`),
			} {
				if r.Status != 403 || !strings.Contains(string(r.Body), "blocked") {
					t.Fatalf("blocked customer: %d %s", r.Status, r.Body)
				}
			}
			var got cashier.Customer
			v.want(v.call("GET", "/cashier/v1/customers/ann-1", ""), 200, &got)
			if got.Status != cashier.CustomerBlocked || got.Balance.Available != "50.00" || got.Limits.MaxDeposit != "500.00" || got.Limits.DailyPayouts != "1000.00" {
				t.Fatalf("read: %+v %+v", got, got.Balance)
			}
			other, err := v.App.App.Platform.CreateTenant(context.Background(), platform.TenantSpec{Name: "Other Ltd", Mode: platform.Production})
			if err != nil {
				t.Fatal(err)
			}
			if r := v.Do("GET", "/cashier/v1/customers/ann-1", nil, map[string]string{"api-key": other.APIKey}); r.Status != 404 {
				t.Fatalf("another tenant: %d %s", r.Status, r.Body)
			}
			v.RunDue()
			if v.hooks.count("cashier.customer.created") != 6 || v.hooks.count("cashier.customer.updated") != 2 {
				t.Fatalf("customer webhooks: %v", v.hooks.got)
			}
		})
	}
}

// TestSettings: the defaults, each question's refusals, and the golden
// answer (with the callback secret, which stays the same across PUTs).
func TestSettings(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			v := newEnv(t, e, 17)
			var def cashier.SettingsView
			v.want(v.call("GET", "/cashier/v1/settings", ""), 200, &def)
			if def.Integration != "both" || !strings.HasPrefix(def.CallbackSecret, "cgcs_") || strings.Join(def.DepositPSPs, ",") != "card,wallet" {
				t.Fatalf("defaults: %+v", def)
			}
			for _, bad := range []struct{ body, want string }{
				{`{"integration":"web"}`, "integration"},
				{`{"payoutManagement":"email"}`, "payoutManagement"},
				{`{"depositAmount":"any"}`, "depositAmount"},
				{`{"payoutPsps":["card"]}`, "does not support payouts"},
				{`{"depositPsps":["paypal"]}`, "unknown PSP"},
				{`{"depositPsps":["card","card"]}`, "twice"},
				{`{"depositPsps":["offline"]}`, "unknown PSP"},
				{`{"depositPsps":["bank"]}`, "bankAccount"},
				{`{"validation":{"url":"ftp://crm.example/v"}}`, "validation.url"},
				{`{"validation":{"url":"https://crm.example/v","timeoutMs":60000}}`, "timeoutMs"},
				{`{"validation":{"onTimeout":"maybe"}}`, "onTimeout"},
				{`{"frameAncestors":["https://shop.example/path"]}`, "origin"},
				{`{"bankAccount":{"name":"Acme","iban":"DE00370400440532013000"}}`, "IBAN"},
				{`{"unknown":true}`, "unknown field"},
			} {
				if r := v.call("PUT", "/cashier/v1/settings", bad.body); r.Status != 400 || !strings.Contains(string(r.Body), bad.want) {
					t.Errorf("%s: %d %s", bad.body, r.Status, r.Body)
				}
			}
			put := v.call("PUT", "/cashier/v1/settings", `{"integration":"payment","payouts":true,"payoutManagement":"agent_api","authCapture":{"card":true},
				"depositManagement":"agent_api","moto":true,"depositAmount":"fixed","payoutAmount":"free","depositPsps":["card","bank"],"payoutPsps":["bank"],
				"validation":{"url":"https://crm.example/validate","timeoutMs":2000,"onTimeout":"accept"},"balanceAuthority":"crm",
				"balanceCheck":{"url":"https://crm.example/balance"},"bankAccount":{"name":"Acme Ltd","iban":"de89 3704 0044 0532 0130 00","bic":"cobadeffxxx"},
				"frameAncestors":["https://www.shop.example"]}`)
			if put.Status != 200 || put.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("put: %d %s", put.Status, put.Body)
			}
			if e.Name == "sqlite" {
				apptest.Golden(t, *update, "settings.json", []byte(strings.Replace(string(put.Body), def.CallbackSecret, "cgcs_SECRET", 1)))
			}
			var got cashier.SettingsView
			v.want(v.call("GET", "/cashier/v1/settings", ""), 200, &got)
			if got.CallbackSecret != def.CallbackSecret || got.BankAccount.IBAN != "DE89370400440532013000" || got.Integration != "payment" {
				t.Fatalf("read back: %+v", got)
			}
			if k := v.count(`SELECT COUNT(*) FROM cashier_settings WHERE callback_secret_sealed LIKE $1`, "%"+strings.TrimPrefix(def.CallbackSecret, "cgcs_")+"%"); k != 0 {
				t.Fatal("the callback secret is stored in plaintext")
			}
			v.customer("c-1", "EUR", "")
			if r := v.call("POST", "/cashier/v1/sessions", `{"customerId":"c-1","intent":"deposit","amount":"5.00","orderReference":"o-1"}`); r.Status != 201 || strings.Contains(string(r.Body), `"url"`) {
				t.Fatalf("a payment-API tenant's session has no hosted URL: %d %s", r.Status, r.Body)
			}
		})
	}
}
