package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/cashgate/cashgate/internal/app"
)

func (e *env) openapiCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "openapi",
		Short: "Print the OpenAPI 3.1 document of every route (what /openapi.json serves)",
		Long: `Print the OpenAPI document a server serves at /openapi.json, without a
database of yours: cashgate is opened on a throwaway SQLite file to build it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := os.MkdirTemp("", "cashgate-openapi-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			e.cfg.DataDir, e.cfg.DatabaseURL, e.cfg.LogLevel = dir, "", "error"
			return e.withApp(cmd.Context(), func(a *app.App) error {
				_, err := e.stdout.Write(a.Server.OpenAPI())
				return err
			})
		},
	}
}
