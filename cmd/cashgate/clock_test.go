package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestClockCommand: `cashgate clock advance` moves a sandbox installation's
// clock and keeps it (the installation stays a sandbox: no production
// tenant after), and is refused where production tenants exist.
func TestClockCommand(t *testing.T) {
	env := map[string]string{"CASHGATE_DATA_DIR": t.TempDir(), "CASHGATE_LOG_LEVEL": "error"}
	if _, err := runCmd(t, env, "tenant", "create", "--name", "Dev"); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, env, "clock", "advance", "7d")
	if err != nil {
		t.Fatal(err)
	}
	out2, err := runCmd(t, env, "clock", "advance", "12h")
	if err != nil {
		t.Fatal(err)
	}
	var r1, r2 struct {
		Offset  string `json:"offset"`
		JobsRun int    `json:"jobsRun"`
	}
	if json.Unmarshal([]byte(out), &r1) != nil || json.Unmarshal([]byte(out2), &r2) != nil || r1.Offset != "168h0m0s" || r2.Offset != "180h0m0s" || r1.JobsRun < 168 {
		t.Fatalf("moves: %q then %q; want offsets 168h and 180h and the week's hourly jobs run", out, out2)
	}
	if _, err := runCmd(t, env, "tenant", "create", "--name", "Real", "--mode", "production"); err == nil || !strings.Contains(err.Error(), "sandbox installation") {
		t.Fatalf("production tenant on a moved clock: %v, want a refusal", err)
	}

	prod := map[string]string{"CASHGATE_DATA_DIR": t.TempDir(), "CASHGATE_LOG_LEVEL": "error"}
	if _, err := runCmd(t, prod, "tenant", "create", "--name", "Real", "--mode", "production"); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, prod, "clock", "advance", "1d"); err == nil || !strings.Contains(err.Error(), "production tenant") {
		t.Fatalf("clock advance beside production tenants: %v, want a refusal", err)
	}
	prod["CASHGATE_SANDBOX"] = "true"
	prod["CASHGATE_ADDR"] = freeAddr(t)
	if _, err := runCmd(t, prod, "serve"); err == nil || !strings.Contains(err.Error(), "production tenant") {
		t.Fatalf("serve --sandbox beside production tenants: %v, want a refusal", err)
	}
}
