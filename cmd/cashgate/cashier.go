package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cashgate/cashgate/internal/app"
	"github.com/cashgate/cashgate/internal/cashier"
)

// operator is the agent the audit log names for the CLI's actions.
var operator = cashier.Agent{ID: "cli", Username: "operator (cli)"}

// cashierCmds are the cashier's operator commands (the same operations as
// the Agent API's, audited as the operator).
func (e *env) cashierCmds() []*cobra.Command {
	root := &cobra.Command{Use: "cashier", Short: "Operate the cashier: credit bank-transfer deposits, export bank payouts (pain.001)"}
	var tenant string
	root.PersistentFlags().StringVar(&tenant, "tenant", "", "tenant id or business code")
	svc := func(ctx context.Context, fn func(c *cashier.Service, tenantID string) (any, error)) error {
		if tenant == "" {
			return errors.New("--tenant is required")
		}
		return e.withApp(ctx, func(a *app.App) error {
			t, err := a.Platform.Tenant(ctx, tenant)
			if err != nil {
				return err
			}
			v, err := fn(a.Cashier.Service, t.ID)
			if err != nil {
				return err
			}
			return e.printJSON(v)
		})
	}
	var bc cashier.BankCredit
	credit := &cobra.Command{
		Use:   "credit --tenant T --reference CGC… --amount 250.00 [--bank-reference STMT-1]",
		Short: "Credit a bank transfer that arrived: captures the pending deposit whose reference it quotes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(c *cashier.Service, tid string) (any, error) {
				return c.CreditBankTransfer(cmd.Context(), tid, bc, operator)
			})
		},
	}
	credit.Flags().StringVar(&bc.Reference, "reference", "", "the reference the transfer quotes (the deposit's instructions)")
	credit.Flags().StringVar(&bc.Amount, "amount", "", "the amount that arrived, e.g. 250.00")
	credit.Flags().StringVar(&bc.BankReference, "bank-reference", "", "the bank's id of the transfer")

	payouts := &cobra.Command{Use: "payouts", Short: "Bank payouts: export as pain.001, mark paid"}
	var out string
	export := &cobra.Command{
		Use:   "export --tenant T --out FILE",
		Short: "Write the approved bank payouts into one pain.001.001.03 file paid from the tenant's bank account",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("--out is required")
			}
			return svc(cmd.Context(), func(c *cashier.Service, tid string) (any, error) {
				x, err := c.ExportPayouts(cmd.Context(), tid, operator)
				if err != nil || x.Count == 0 {
					return x, err
				}
				if err := os.WriteFile(out, x.XML, 0o600); err != nil {
					return nil, fmt.Errorf("write %s: %w (the payouts are exported under batch %s)", out, err, x.BatchID)
				}
				return struct {
					cashier.Export
					File string `json:"file"`
				}{x, out}, nil
			})
		},
	}
	export.Flags().StringVar(&out, "out", "", "file to write")
	var batch string
	paid := &cobra.Command{
		Use:   "paid --tenant T --batch BATCH_ID|PAYOUT_ID",
		Short: "Mark an exported file (or one payout of it) paid once the bank executed it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(c *cashier.Service, tid string) (any, error) {
				return c.MarkBankPaid(cmd.Context(), tid, batch, operator)
			})
		},
	}
	paid.Flags().StringVar(&batch, "batch", "", "the batch id export printed, or a payout id")
	payouts.AddCommand(export, paid)
	root.AddCommand(credit, payouts)
	return []*cobra.Command{root}
}
