package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cashgate/cashgate/internal/app"
)

func (e *env) ledgerCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "ledger", Short: "Audit the double-entry ledger"}
	var asJSON bool
	check := &cobra.Command{
		Use:   "check [--json]",
		Short: "Check every ledger invariant on the live database; exit 1 on any violation",
		Long: `Check every invariant of the ledger inside one read snapshot of the live
database (SQLite or PostgreSQL; a running cashgate may keep writing): every
entry balances per currency, every account's balance and posting count
match its postings and running balances, balances sum to zero per tenant and
currency, no account without overdraft is below zero, and pending holds
match the accounts' pending amounts. Prints what it checked and every
violation, keeps the report as the last result (the
cashgate_ledger_invariant_violations metric of a running server shows it
after its next daily check), and exits 1 when it found a violation.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				r, err := a.CheckLedger(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					if err := e.printJSON(r); err != nil {
						return err
					}
				} else {
					fmt.Fprintf(e.stdout, "ledger check at %s: %d accounts, %d entries, %d postings, %d holds in %.3fs\n",
						r.StartedAt.Format("2006-01-02T15:04:05Z"), r.Accounts, r.Entries, r.Postings, r.Holds, r.Duration)
					for _, v := range r.Violations {
						fmt.Fprintln(e.stdout, "VIOLATION", v)
					}
				}
				if !r.OK() {
					return fmt.Errorf("ledger check: %d invariant violation(s)", len(r.Violations))
				}
				if !asJSON {
					fmt.Fprintln(e.stdout, "ok: the books balance")
				}
				return nil
			})
		},
	}
	check.Flags().BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	cmd.AddCommand(check)
	return cmd
}
