package main

import (
	"github.com/spf13/cobra"

	"github.com/cashgate/cashgate/internal/app"
)

func (e *env) clockCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "clock", Short: "Move a sandbox installation's clock forward"}
	advance := &cobra.Command{
		Use:   "advance DURATION",
		Short: "Move the sandbox clock forward (7d, 36h, 90m) and run what falls due, in order",
		Long: `Move the clock of a sandbox installation (one without production tenants)
forward by DURATION, whole days (7d) or a Go duration (36h, 90m), stopping at
each job that falls due on the way — midnight settlements, authorisation and
payment-job expiries, request expiries, webhook retries, recurring
children — and running it at its own time, with the webhooks it sends. The
offset is kept in the database: a running cashgate serve --sandbox follows
it within a second. Prints the new time as JSON.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := app.ParseAdvance(args[0])
			if err != nil {
				return err
			}
			e.cfg.Sandbox = true
			return e.withApp(cmd.Context(), func(a *app.App) error {
				r, err := a.AdvanceClock(cmd.Context(), d, nil)
				if err != nil {
					return err
				}
				return e.printJSON(r)
			})
		},
	}
	cmd.AddCommand(advance)
	return cmd
}
