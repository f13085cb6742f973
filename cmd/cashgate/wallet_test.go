package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// postJSON POSTs a JSON body with a wallet session and decodes the answer.
func postJSON(t *testing.T, url, session string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if session != "" {
		req.Header.Set("Authorization", "Bearer "+session)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	rb, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(rb, &m)
	return resp.StatusCode, m
}

// TestWalletPayoutCommands drives the operator's payout commands as a
// script would, beside a running server: a corporate verifies its bank
// account with the 2-cent transfer (exported and paid by CLI), withdraws,
// and the bank returns the withdrawal (payouts return): the money and the
// fee come back; illegal transitions are refused.
func TestWalletPayoutCommands(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			dbURL := e.URL(t)
			env := map[string]string{"CASHGATE_DATABASE_URL": dbURL, "CASHGATE_DATA_DIR": t.TempDir(), "CASHGATE_LOG_LEVEL": "warn"}
			cli := func(args ...string) map[string]any {
				t.Helper()
				out, err := runCmd(t, env, append([]string{"wallet"}, args...)...)
				if err != nil {
					t.Fatalf("cashgate wallet %v: %v", args, err)
				}
				return decodeLine(t, out)
			}
			corp := cli("corporate", "create", "--name", "Shop GmbH", "--username", "shop", "--password", "shop-password", "--pin", "4321",
				"--iban", "DE89 3704 0044 0532 0130 00", "--bic", "COBADEFFXXX")
			ref := corp["user"].(map[string]any)["topUpReference"].(string)
			cli("credit", "--reference", ref, "--amount", "100.00", "--bank-reference", "BANK-1")

			base, _ := startServe(t, env)
			code, login := postJSON(t, base+"/wallet/app/v1/login", "", map[string]string{"username": "shop", "password": "shop-password"})
			if code != 200 {
				t.Fatalf("login: %d %v", code, login)
			}
			session := login["token"].(string)
			if code, body := postJSON(t, base+"/wallet/app/v1/bank-account/verification", session, map[string]any{}); code != 201 {
				t.Fatalf("verification: %d %v", code, body)
			}
			debtor := []string{"--debtor-name", "Cashgate Issuer Ltd", "--debtor-iban", "GB82WEST12345698765432", "--debtor-bic", "WESTGB2L"}
			file := filepath.Join(t.TempDir(), "verify.xml")
			exp := cli(append([]string{"payouts", "export", "--out", file}, debtor...)...)
			xml, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			m := regexp.MustCompile(`verification code (\d{6})`).FindSubmatch(xml)
			if exp["count"] != float64(1) || m == nil {
				t.Fatalf("export %v:\n%s", exp, xml)
			}
			if paid := cli("payouts", "paid", "--batch", exp["batchId"].(string)); paid["count"] != float64(1) {
				t.Fatalf("paid %v", paid)
			}
			if code, body := postJSON(t, base+"/wallet/app/v1/bank-account/verify", session, map[string]string{"code": string(m[1])}); code != 200 || body["bankVerified"] != true {
				t.Fatalf("verify: %d %v", code, body)
			}

			code, wd := postJSON(t, base+"/wallet/app/v1/withdrawals", session, map[string]string{"amount": "50.00", "pin": "4321"})
			if code != 201 {
				t.Fatalf("withdraw: %d %v", code, wd)
			}
			txID := wd["id"].(string)
			// Not exported yet: the bank cannot have returned it.
			if _, err := runCmd(t, env, "wallet", "payouts", "return", "--batch", txID, "--reason", "AC04 account closed"); err == nil || !strings.Contains(err.Error(), "not exported yet") {
				t.Fatalf("returning a payout that was never exported: %v", err)
			}
			exp = cli(append([]string{"payouts", "export", "--out", filepath.Join(t.TempDir(), "w.xml")}, debtor...)...)
			if exp["total"] != "50.00" {
				t.Fatalf("export %v", exp)
			}
			ret := cli("payouts", "return", "--batch", txID, "--reason", "AC04 account closed")
			if ret["count"] != float64(1) || ret["total"] != "50.00" {
				t.Fatalf("return %v", ret)
			}
			for _, c := range []struct {
				args []string
				want string
			}{
				{[]string{"wallet", "payouts", "return", "--batch", txID, "--reason", "again"}, "returned already"},
				{[]string{"wallet", "payouts", "paid", "--batch", txID}, "cannot be paid"},
				{[]string{"wallet", "payouts", "return", "--batch", txID}, "reason"},
			} {
				if _, err := runCmd(t, env, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("cashgate %v: %v, want an error about %q", c.args, err, c.want)
				}
			}
			code, me := getJSON(t, base+"/wallet/app/v1/me", map[string]string{"Authorization": "Bearer " + session})
			if code != 200 || me["balance"].(map[string]any)["available"] != "100.00" {
				t.Fatalf("after the return: %d %v", code, me["balance"])
			}

			db, err := store.Open(context.Background(), dbURL, nil, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := ledger.CheckInvariants(context.Background(), db.Read()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestWalletLimitsCommand: `wallet limits` shows the private tier's limits
// (the defaults at first), `wallet limits set` changes the ones named and
// keeps the others, and refuses limits that cannot apply; `wallet
// api-access` shows and sets the merchant API's rule; `wallet secret`
// rotates a merchant secret with a grace period and ends it; `wallet user`
// resets, suspends, reactivates and closes an account; `wallet rates
// import` reads the ECB's file.
func TestWalletLimitsCommand(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := map[string]string{"CASHGATE_DATABASE_URL": e.URL(t), "CASHGATE_DATA_DIR": t.TempDir(), "CASHGATE_LOG_LEVEL": "warn"}
			cli := func(args ...string) (map[string]any, error) {
				t.Helper()
				out, err := runCmd(t, env, append([]string{"wallet", "limits"}, args...)...)
				if err != nil {
					return nil, err
				}
				return decodeLine(t, out), nil
			}
			l, err := cli()
			if err != nil || l["PurchasesPerDay"] != float64(10) || l["MaxPerTransaction"] != float64(20000) {
				t.Fatalf("defaults: %v %v", l, err)
			}
			l, err = cli("set", "--purchases-per-day", "4", "--max-per-transaction", "-1")
			if err != nil || l["PurchasesPerDay"] != float64(4) || l["MaxPerTransaction"] != float64(-1) || l["TransactionsPerDay"] != float64(20) {
				t.Fatalf("set: %v %v", l, err)
			}
			if _, err := cli("set", "--min-per-transaction", "0"); err == nil || !strings.Contains(err.Error(), "min_per_transaction") {
				t.Fatalf("a zero minimum: %v", err)
			}
			if l, err = cli(); err != nil || l["PurchasesPerDay"] != float64(4) || l["MinPerTransaction"] != float64(20) {
				t.Fatalf("after the refusal: %v %v", l, err)
			}
			// wallet api-access: Corporate+ only by default, opened, shown.
			access := func(args ...string) map[string]any {
				out, err := runCmd(t, env, append([]string{"wallet", "api-access"}, args...)...)
				if err != nil {
					t.Fatalf("wallet api-access %v: %v", args, err)
				}
				return decodeLine(t, out)
			}
			if a := access(); a["corporatePlusOnly"] != true {
				t.Fatalf("default: %v", a)
			}
			if a := access("--corporate-plus-only=false"); a["corporatePlusOnly"] != false {
				t.Fatalf("set: %v", a)
			}
			if a := access(); a["corporatePlusOnly"] != false {
				t.Fatalf("after setting: %v", a)
			}
			// wallet secret rotate / revoke-previous.
			corp := walletJSON(t, env, "corporate", "create", "--name", "Shop GmbH", "--username", "shop", "--password", "shop-password", "--pin", "4321",
				"--iban", "DE89 3704 0044 0532 0130 00", "--bic", "COBADEFFXXX")
			rot := walletJSON(t, env, "secret", "rotate", corp["merchantId"].(string), "--grace", "1h")
			if sec, _ := rot["merchantSecret"].(string); !strings.HasPrefix(sec, "cgm_") || sec == corp["merchantSecret"] || rot["previousValidUntil"] == nil {
				t.Fatalf("rotate: %v", rot)
			}
			if st := walletJSON(t, env, "secret", "revoke-previous", corp["tenantId"].(string)); st["previousValidUntil"] != nil {
				t.Fatalf("revoke-previous: %v", st)
			}
			if _, err := runCmd(t, env, "wallet", "secret", "revoke-previous", corp["tenantId"].(string)); err == nil || !strings.Contains(err.Error(), "no previous merchant secret") {
				t.Fatalf("revoke-previous twice: %v", err)
			}
			if _, err := runCmd(t, env, "wallet", "secret", "rotate", corp["tenantId"].(string), "--grace", "169h"); err == nil {
				t.Fatal("a grace beyond 7 days was accepted")
			}
			// wallet user reset / suspend / reactivate / close (the corporate's
			// login "shop", its wallet empty).
			if r := walletJSON(t, env, "user", "reset", "shop", "--pin"); len(r["pin"].(string)) != 6 || r["password"] != nil {
				t.Fatalf("reset: %v", r)
			}
			if _, err := runCmd(t, env, "wallet", "user", "suspend", "shop"); err == nil || !strings.Contains(err.Error(), "reason") {
				t.Fatalf("a suspension without reason: %v", err)
			}
			if r := walletJSON(t, env, "user", "suspend", "shop", "--reason", "documents expired"); r["status"] != "suspended" {
				t.Fatalf("suspend: %v", r)
			}
			if r := walletJSON(t, env, "user", "reactivate", "shop"); r["status"] != "active" {
				t.Fatalf("reactivate: %v", r)
			}
			if r := walletJSON(t, env, "user", "close", "shop", "--reason", "company dissolved"); r["status"] != "closed" {
				t.Fatalf("close: %v", r)
			}
			// wallet rates import / max-age.
			if r := walletJSON(t, env, "rates", "import", "../../internal/wallet/testdata/eurofxref-daily.xml"); r["date"] != "2026-11-20" || len(r["imported"].([]any)) != 3 {
				t.Fatalf("rates import: %v", r)
			}
			// wallet rates import --url: the same file over HTTP.
			ecb := httptest.NewServer(http.FileServer(http.Dir("../../internal/wallet/testdata")))
			defer ecb.Close()
			if r := walletJSON(t, env, "rates", "import", "--url", ecb.URL+"/eurofxref-daily.xml", "--timeout", "5s"); r["date"] != "2026-11-20" || len(r["imported"].([]any)) != 3 {
				t.Fatalf("rates import --url: %v", r)
			}
			if _, err := runCmd(t, env, "wallet", "rates", "import", "--url", ecb.URL+"/missing.xml"); err == nil || !strings.Contains(err.Error(), "404 Not Found") {
				t.Fatalf("rates import --url of a missing file: %v", err)
			}
			if _, err := runCmd(t, env, "wallet", "rates", "import", "--url", ecb.URL+"/eurofxref-daily.xml", "x.xml"); err == nil || !strings.Contains(err.Error(), "not both") {
				t.Fatalf("rates import FILE --url: %v", err)
			}
			// wallet rates url / fetch: the stored URL of the daily job.
			if r := walletJSON(t, env, "rates", "url"); r["url"] != "" || r["fetchAt"] != "15:30" {
				t.Fatalf("rates url: %v", r)
			}
			if _, err := runCmd(t, env, "wallet", "rates", "url", "ftp://example.com/x.xml"); err == nil || !strings.Contains(err.Error(), "http(s) URL") {
				t.Fatalf("rates url ftp: %v", err)
			}
			if r := walletJSON(t, env, "rates", "url", ecb.URL+"/eurofxref-daily.xml"); r["url"] != ecb.URL+"/eurofxref-daily.xml" {
				t.Fatalf("rates url URL: %v", r)
			}
			if r := walletJSON(t, env, "rates", "fetch"); r["import"].(map[string]any)["date"] != "2026-11-20" {
				t.Fatalf("rates fetch: %v", r)
			}
			if r := walletJSON(t, env, "rates", "url"); r["lastSuccessAt"] == nil || r["lastImported"] != float64(3) {
				t.Fatalf("rates url after the fetch: %v", r)
			}
			if r := walletJSON(t, env, "rates", "url", "--clear"); r["url"] != "" {
				t.Fatalf("rates url --clear: %v", r)
			}
			if r := walletJSON(t, env, "rates", "max-age", "120h"); r["maxAge"] != "120h0m0s" {
				t.Fatalf("max-age: %v", r)
			}
			if r := walletJSON(t, env, "rates", "list"); !strings.Contains(fmt.Sprint(r["rates"]), "0.92030185901") {
				t.Fatalf("rates list: %v", r)
			}
		})
	}
}

// walletJSON runs `cashgate wallet ARGS…` and decodes its one JSON object.
func walletJSON(t *testing.T, env map[string]string, args ...string) map[string]any {
	t.Helper()
	out, err := runCmd(t, env, append([]string{"wallet"}, args...)...)
	if err != nil {
		t.Fatalf("cashgate wallet %v: %v", args, err)
	}
	return decodeLine(t, out)
}
