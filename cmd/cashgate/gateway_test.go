package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestGatewaySettingsCreditFlags: `cashgate gateway-settings` turns credit
// payments on with limits per currency (--credit-payments, --credit-limit
// CUR=PERCREDIT/PERDAY, repeated), removes one currency (CUR=) leaving the
// rest as they were, and refuses malformed or inconsistent limits, which
// change nothing.
func TestGatewaySettingsCreditFlags(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := map[string]string{"CASHGATE_DATABASE_URL": e.URL(t), "CASHGATE_DATA_DIR": t.TempDir(), "CASHGATE_LOG_LEVEL": "warn"}
			out, err := runCmd(t, env, "tenant", "create", "--name", "Acme Ltd", "--mode", "production")
			if err != nil {
				t.Fatal(err)
			}
			tenant := decodeLine(t, out)["tenantId"].(string)
			credit := func(args ...string) (map[string]any, error) {
				t.Helper()
				out, err := runCmd(t, env, append([]string{"gateway-settings", "--tenant", tenant}, args...)...)
				if err != nil {
					return nil, err
				}
				c, _ := decodeLine(t, out)["creditPayments"].(map[string]any)
				return c, nil
			}
			c, err := credit("--credit-payments", "--credit-limit", "GBP=500.00/2000.00", "--credit-limit", "eur=10.00/50.00")
			if err != nil {
				t.Fatal(err)
			}
			limits := c["limits"].(map[string]any)
			if c["enabled"] != true || len(limits) != 2 || limits["GBP"].(map[string]any)["perDay"] != "2000.00" || limits["EUR"].(map[string]any)["perPayment"] != "10.00" {
				t.Fatalf("credit settings: %v", c)
			}
			if c, err = credit("--credit-limit", "EUR=", "--fee-basis-points", "10"); err != nil {
				t.Fatal(err)
			}
			if limits = c["limits"].(map[string]any); c["enabled"] != true || len(limits) != 1 || limits["GBP"] == nil {
				t.Fatalf("after removing EUR: %v", c)
			}
			for _, bad := range [][]string{{"--credit-limit", "GBP=900.00/100.00"}, {"--credit-limit", "GBP=abc/1.00"}, {"--credit-limit", "GBP"},
				{"--credit-limit", "XXX=1.00/2.00"}, {"--credit-limit", "GBP=5.00"}} {
				if _, err := credit(bad...); err == nil {
					t.Errorf("%v accepted", bad)
				}
			}
			if c, err = credit("--credit-payments=false"); err != nil || c["enabled"] != false || len(c["limits"].(map[string]any)) != 1 {
				t.Fatalf("switched off: %v %v", c, err)
			}
			if c, _ := credit(); c["enabled"] != false || !strings.Contains(fmt.Sprint(c["limits"]), "perPayment:500.00") {
				t.Errorf("shown: %v", c)
			}
		})
	}
}
