package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

func decodeLine(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(s)), &m); err != nil {
		t.Fatalf("not one JSON object: %q", s)
	}
	return m
}

func statusWith(t *testing.T, base, key string) (int, map[string]any) {
	t.Helper()
	return getJSON(t, base+"/dummyapi/status", map[string]string{"api-key": key})
}

// refusedWithin waits until the server refuses key (401), failing when it
// still accepts it well past platform.KeyCacheTTL, the documented bound for
// a key changed by another process.
func refusedWithin(t *testing.T, base, key, what string) {
	t.Helper()
	deadline := time.Now().Add(platform.KeyCacheTTL + 5*time.Second) // the bound, plus slack for a loaded machine
	for {
		code, _ := statusWith(t, base, key)
		if code == http.StatusUnauthorized {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %d past the cache bound, want 401", what, code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTenantAndKeysCommands drives the administrative commands the way a
// script would: JSON on stdout, then the printed key against a running server.
func TestTenantAndKeysCommands(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := map[string]string{"CASHGATE_DATABASE_URL": e.URL(t), "CASHGATE_DATA_DIR": t.TempDir(), "CASHGATE_LOG_LEVEL": "warn"}
			out, err := runCmd(t, env, "tenant", "create", "--name", "Acme Ltd", "--mode", "production", "--timezone", "Europe/London")
			if err != nil {
				t.Fatal(err)
			}
			ten := decodeLine(t, out)
			for _, k := range []string{"tenantId", "businessCode", "apiKey", "configurationId", "signingKey", "adminUsername", "adminPassword"} {
				if s, _ := ten[k].(string); s == "" {
					t.Errorf("tenant create output lacks %q: %s", k, out)
				}
			}
			tenant := ten["tenantId"].(string)

			// A second key for the production tenant, then list both.
			out, err = runCmd(t, env, "keys", "create", "--tenant", ten["businessCode"].(string), "--name", "pos")
			if err != nil {
				t.Fatal(err)
			}
			second := decodeLine(t, out)
			out, err = runCmd(t, env, "keys", "list", "--tenant", tenant)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(strings.Split(strings.TrimSpace(out), "\n")); n != 2 || strings.Contains(out, "apiKey") {
				t.Fatalf("keys list = %d lines (want 2, no secrets):\n%s", n, out)
			}

			base, _ := startServe(t, env)
			if code, body := statusWith(t, base, ten["apiKey"].(string)); code != 200 || body["status"] != "OK" {
				t.Fatalf("first key: %d %v", code, body)
			}
			if code, _ := statusWith(t, base, second["apiKey"].(string)); code != 200 {
				t.Fatalf("second key: %d", code)
			}

			// Rotate the first key: the new one works, the old one is refused.
			firstID := strings.Split(ten["apiKey"].(string), "_")[1] // cgk_<id>_<secret> is key key_<id>
			out, err = runCmd(t, env, "keys", "rotate", "--tenant", tenant, "key_"+firstID)
			if err != nil {
				t.Fatal(err)
			}
			rotated := decodeLine(t, out)
			if code, _ := statusWith(t, base, rotated["apiKey"].(string)); code != 200 {
				t.Fatalf("rotated key: %d", code)
			}
			// The CLI is another process: the server refuses the old key
			// within platform.KeyCacheTTL.
			refusedWithin(t, base, ten["apiKey"].(string), "old key after rotation")

			// Revoke the second key.
			if _, err := runCmd(t, env, "keys", "revoke", "--tenant", tenant, second["id"].(string)); err != nil {
				t.Fatal(err)
			}
			refusedWithin(t, base, second["apiKey"].(string), "revoked key")

			// Bad input is refused with a clear message.
			if _, err := runCmd(t, env, "tenant", "create", "--name", "X", "--timezone", "Mars/Olympus"); err == nil || !strings.Contains(err.Error(), "Mars/Olympus") {
				t.Fatalf("bad timezone: %v", err)
			}
			if _, err := runCmd(t, env, "keys", "list", "--tenant", "nope"); err == nil {
				t.Fatal("unknown tenant accepted")
			}
		})
	}
}
