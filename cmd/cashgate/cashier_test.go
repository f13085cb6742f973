package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestCashierCreditCommand: a bank-transfer deposit made through the
// Payment API of a running server is credited by the operator's
// `cashgate cashier credit` (the tenant by business code); an export with
// nothing to pay says so.
func TestCashierCreditCommand(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := map[string]string{"CASHGATE_DATABASE_URL": e.URL(t), "CASHGATE_DATA_DIR": t.TempDir(), "CASHGATE_LOG_LEVEL": "warn"}
			cli := func(args ...string) map[string]any {
				t.Helper()
				out, err := runCmd(t, env, args...)
				if err != nil {
					t.Fatalf("cashgate %v: %v", args, err)
				}
				return decodeLine(t, out)
			}
			ten := cli("tenant", "create", "--name", "Acme Ltd", "--mode", "production")
			key, code := ten["apiKey"].(string), ten["businessCode"].(string)
			base, _ := startServe(t, env)
			call := func(method, path, body string) map[string]any {
				t.Helper()
				req, _ := http.NewRequest(method, base+path, bytes.NewReader([]byte(body)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("api-key", key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				var m map[string]any
				if resp.StatusCode >= 300 || json.Unmarshal(b, &m) != nil {
					t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
				}
				return m
			}
			call("PUT", "/cashier/v1/settings", `{"depositPsps":["bank"],"bankAccount":{"name":"Acme Ltd","iban":"DE89370400440532013000"}}`)
			call("PUT", "/cashier/v1/customers/c-1", `{"name":"Ann","email":"ann@example.com","country":"DE","currency":"EUR","status":"active","kycLevel":1}`)
			d := call("POST", "/cashier/v1/deposits", `{"customerId":"c-1","psp":"bank","amount":"75.00"}`)
			ref := d["instructions"].(map[string]any)["reference"].(string)
			got := cli("cashier", "credit", "--tenant", code, "--reference", ref, "--amount", "75.00", "--bank-reference", "STMT-1")
			if got["status"] != "captured" || got["id"] != d["id"] {
				t.Fatalf("credit: %v", got)
			}
			if again := call("GET", "/cashier/v1/deposits/"+d["id"].(string), ""); again["status"] != "captured" {
				t.Fatalf("read: %v", again)
			}
			if x := cli("cashier", "payouts", "export", "--tenant", code, "--out", filepath.Join(t.TempDir(), "p.xml")); x["count"] != float64(0) {
				t.Fatalf("export: %v", x)
			}
		})
	}
}
