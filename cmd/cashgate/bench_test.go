package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// benchRun runs `cashgate bench` briefly (2 clients, 2 accounts, 300 ms)
// with args added, checks that it printed exactly one JSON line whose
// every request succeeded, and returns the report.
func benchRun(t *testing.T, vars map[string]string, args ...string) benchReport {
	t.Helper()
	all := append([]string{"bench", "--clients", "2", "--duration", "300ms", "--accounts", "2"}, args...)
	var out, errb syncBuffer
	if err := run(context.Background(), all, envFrom(vars), &out, &errb); err != nil {
		t.Fatalf("cashgate %s: %v\n%s", strings.Join(all, " "), err, errb.String())
	}
	line := out.String()
	if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
		t.Fatalf("stdout is not one line: %q", line)
	}
	var r benchReport
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("stdout %q: %v", line, err)
	}
	if r.OK == 0 || r.Failed != 0 {
		t.Fatalf("%d ok, %d failed (first error %q)\nstderr:\n%s", r.OK, r.Failed, r.FirstError, errb.String())
	}
	if r.Clients != 2 || r.Concurrency != 2 || r.Accounts != 2 || r.GoVersion == "" || r.CPUs < 1 {
		t.Errorf("report %s: clients, concurrency, accounts, goVersion or cpus wrong", line)
	}
	return r
}

// TestBenchScenarios runs every scenario in-process on SQLite, on one
// tenant and (where tenants apply) on two.
func TestBenchScenarios(t *testing.T) {
	tests := []struct {
		scenario string
		tenants  int
	}{
		{"transfers", 1},
		{"moto", 1},
		{"sends", 1},
		{"remote", 1},
		{"deposits", 1},
		{"transfers", 2},
		{"moto", 2},
		{"remote", 2},
		{"deposits", 2},
	}
	for _, tc := range tests {
		t.Run(tc.scenario+"/tenants="+strconv.Itoa(tc.tenants), func(t *testing.T) {
			t.Parallel()
			r := benchRun(t, map[string]string{"CASHGATE_LOG_LEVEL": "warn"},
				"--scenario", tc.scenario, "--tenants", strconv.Itoa(tc.tenants))
			if r.Scenario != tc.scenario || r.Tenants != tc.tenants || r.Preload != 0 || r.ListPageMs != nil {
				t.Errorf("report %+v: scenario, tenants, preload or listPageMs wrong", r)
			}
			if r.RSSMB <= 0 || !strings.HasPrefix(r.Database, "sqlite:") {
				t.Errorf("in-process run: rssMB %v, database %q", r.RSSMB, r.Database)
			}
			// CPU per op: this process's (server and load generator) and the
			// machine's, which holds it.
			if r.CPUusPerOp <= 0 || r.MachineCPUus <= 0 {
				t.Errorf("in-process run: cpuUsPerOp %v, machineCpuUsPerOp %v", r.CPUusPerOp, r.MachineCPUus)
			}
		})
	}
}

// TestBenchRefusals checks the options bench refuses before starting.
func TestBenchRefusals(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--scenario", "sends", "--tenants", "2"}, "--tenants does not apply"},
		{[]string{"--tenants", "0"}, "--tenants"},
		{[]string{"--concurrency", "0"}, "--clients"},
		{[]string{"--preload", "-1"}, "--preload"},
		{[]string{"--server-pid", "1"}, "--server-pid is for --target"},
		{[]string{"--target", "http://127.0.0.1:1"}, "--api-key"},
		{[]string{"--scenario", "nope"}, "unknown scenario"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := runCmd(t, map[string]string{}, append([]string{"bench"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestBenchPreload preloads 2,000 entries over two tenants, on both
// engines: the ledger's invariants hold afterwards, every preloaded entry
// is there, the busiest account has half of them, and the report has the
// list timings.
func TestBenchPreload(t *testing.T) {
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			url := eng.URL(t)
			r := benchRun(t, map[string]string{"CASHGATE_DATABASE_URL": url, "CASHGATE_LOG_LEVEL": "warn"},
				"--scenario", "transfers", "--preload", "2000", "--tenants", "2")
			if r.Preload != 2000 || r.ListPageMs == nil || r.ListPageMs.Statement <= 0 || r.ListPageMs.Accounts <= 0 {
				t.Fatalf("report %+v: preload or listPageMs missing", r)
			}
			ctx := context.Background()
			db, err := store.Open(ctx, url, nil, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := ledger.CheckInvariants(ctx, db.Read()); err != nil {
				t.Fatal(err)
			}
			var entries, busiest int64
			if err := db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM ledger_entries WHERE kind = 'preload'`).Scan(&entries); err != nil {
				t.Fatal(err)
			}
			if err := db.Read().QueryRowContext(ctx, `SELECT MAX(posting_count) FROM ledger_accounts WHERE owner = $1`, preloadOwner).Scan(&busiest); err != nil {
				t.Fatal(err)
			}
			if entries != 2000 || busiest != 1000 {
				t.Errorf("%d preloaded entries, busiest account has %d postings; want 2000 and 1000", entries, busiest)
			}
		})
	}
}

// TestBenchAgainstTarget loads a `cashgate serve` with --target: sends and
// remote prepare their wallets on the target's database, moto adds a
// tenant there, transfers preloads it; the server's peak memory is read
// through --server-pid (the server runs in this process).
func TestBenchAgainstTarget(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"CASHGATE_DATABASE_URL": "sqlite:" + filepath.Join(dir, "cashgate.db"), "CASHGATE_DATA_DIR": dir,
		"CASHGATE_LOG_LEVEL": "warn", "CASHGATE_PRODUCTION_RPM": "100000000"}
	base, _ := startServe(t, vars)
	out, err := runCmd(t, vars, "tenant", "create", "--name", "shop", "--mode", "production")
	if err != nil {
		t.Fatal(err)
	}
	var ten struct{ APIKey string }
	if err := json.Unmarshal([]byte(out), &ten); err != nil || ten.APIKey == "" {
		t.Fatalf("tenant create: %q %v", out, err)
	}
	tests := []struct {
		scenario    string
		extra       []string
		tenants     int
		opensTarget bool // prepares on the target's database
	}{
		{"transfers", nil, 1, false},
		{"sends", nil, 1, true},
		{"remote", nil, 1, true},
		{"deposits", nil, 1, false},
		{"moto", []string{"--tenants", "2"}, 2, true},
		{"transfers", []string{"--preload", "300"}, 1, true},
	}
	for _, tc := range tests {
		t.Run(strings.Join(append([]string{tc.scenario}, tc.extra...), " "), func(t *testing.T) {
			args := append([]string{"--scenario", tc.scenario, "--target", base, "--api-key", ten.APIKey,
				"--server-pid", strconv.Itoa(os.Getpid())}, tc.extra...)
			r := benchRun(t, vars, args...)
			if r.Target != base || r.RSSMB <= 0 || r.Tenants != tc.tenants || (r.Database != "") != tc.opensTarget {
				t.Errorf("report %+v: target, rssMB, tenants or database wrong", r)
			}
			if (r.ListPageMs != nil) != (r.Preload > 0) {
				t.Errorf("report %+v: listPageMs should come with the preload", r)
			}
		})
	}
}
