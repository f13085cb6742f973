package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestLedgerCheckCommand: `cashgate ledger check` passes on a fresh
// installation with a tenant, and exits with an error naming the
// violation once a balance is changed behind the ledger's back.
func TestLedgerCheckCommand(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			u := e.URL(t)
			env := map[string]string{"CASHGATE_DATABASE_URL": u, "CASHGATE_DATA_DIR": t.TempDir(), "CASHGATE_LOG_LEVEL": "warn"}
			if _, err := runCmd(t, env, "tenant", "create", "--name", "Acme", "--mode", "production"); err != nil {
				t.Fatal(err)
			}
			out, err := runCmd(t, env, "ledger", "check")
			if err != nil || !strings.Contains(out, "ok: the books balance") {
				t.Fatalf("check of a fresh installation: %q, %v", out, err)
			}
			db, err := store.Open(context.Background(), u, nil, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			err = db.Transact(context.Background(), func(ctx context.Context, tx *store.Tx) error {
				_, err := tx.ExecContext(ctx, `UPDATE ledger_accounts SET posted = posted + 7 WHERE id = (SELECT MIN(id) FROM ledger_accounts)`)
				return err
			})
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			out, err = runCmd(t, env, "ledger", "check")
			if err == nil || !strings.Contains(err.Error(), "invariant violation") || !strings.Contains(out, "VIOLATION account posted differs from the sum of its postings") {
				t.Fatalf("check after corruption: %q, %v; want an error and the violation printed", out, err)
			}
			out, _ = runCmd(t, env, "ledger", "check", "--json")
			var r struct {
				Accounts   int      `json:"accounts"`
				Violations []string `json:"violations"`
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil || r.Accounts == 0 || len(r.Violations) == 0 {
				t.Fatalf("--json: %q (%v)", out, err)
			}
		})
	}
}
