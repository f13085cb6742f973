package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/backoffice/officetest"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestLedgerConsole: the operator console's ledger page is for operators
// only, says when no check has run, runs one on request (the books balance
// on a fresh installation), and lists the violation of a corrupted balance.
func TestLedgerConsole(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			ctx := context.Background()
			b := officetest.New(t, h)
			if p := b.Get("/operator/ledger"); p.Status != http.StatusSeeOther || p.Location != "/operator/login" {
				t.Fatalf("the ledger page without signing in: %d %q", p.Status, p.Location)
			}
			if _, err := h.App.Portal.Console.Create(ctx, "ops", "operator password"); err != nil {
				t.Fatal(err)
			}
			if p := b.Post("/operator/login", "/operator/login", url.Values{"username": {"ops"}, "password": {"operator password"}}); p.Status != http.StatusSeeOther {
				t.Fatalf("operator sign-in: %d %s", p.Status, p.Body)
			}
			if p := b.Get("/operator/ledger"); p.Status != 200 || !strings.Contains(p.Body, `id="check-status">No ledger check has run yet.`) {
				t.Fatalf("before any check: %d %s", p.Status, p.Body)
			}
			if p := b.Get("/operator"); !strings.Contains(p.Body, `href="/operator/ledger"`) {
				t.Fatalf("the console's navigation lacks the ledger page: %s", p.Body)
			}
			run := func() string {
				t.Helper()
				p := b.Post("/operator/ledger", "/operator/ledger/check", url.Values{})
				if p.Status != http.StatusSeeOther || p.Location != "/operator/ledger" {
					t.Fatalf("run the check: %d %q %s", p.Status, p.Location, p.Body)
				}
				return b.Get(p.Location).Body
			}
			if body := run(); !strings.Contains(body, `id="check-status">The books balance`) || !strings.Contains(body, "The books balance.") {
				t.Fatalf("a clean check: %s", body)
			}
			var id string
			if err := h.App.DB.Read().QueryRowContext(ctx, `SELECT id FROM ledger_accounts ORDER BY id LIMIT 1`).Scan(&id); err != nil {
				t.Fatal(err)
			}
			if err := h.App.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
				_, err := tx.ExecContext(ctx, `UPDATE ledger_accounts SET posted = posted + 7 WHERE id = $1`, id)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			body := run()
			if !strings.Contains(body, "invariant violation") || !strings.Contains(body, `id="check-violations"`) || !strings.Contains(body, id) {
				t.Fatalf("a corrupted balance (%s) is not reported: %s", id, body)
			}
			if err := h.App.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
				_, err := tx.ExecContext(ctx, `UPDATE ledger_accounts SET posted = posted - 7 WHERE id = $1`, id)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
