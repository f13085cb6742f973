package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cashgate/cashgate/internal/store"
)

func (e *env) migrateCmd() *cobra.Command {
	var statusOnly bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring the database schema up to date (or show its version with --status)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			log, err := e.logger()
			if err != nil {
				return err
			}
			db, err := store.Open(ctx, e.cfg.URL(), log, store.Options{})
			if err != nil {
				return err
			}
			defer db.Close()
			applied := 0
			if !statusOnly {
				if applied, err = db.Migrate(ctx); err != nil {
					return err
				}
			}
			cur, latest, err := db.SchemaVersion(ctx)
			if err != nil {
				return err
			}
			out := map[string]any{"database": db.String(), "applied": applied, "version": cur, "latest": latest, "upToDate": cur == latest}
			b, _ := json.Marshal(out)
			_, err = fmt.Fprintln(e.stdout, string(b))
			return err
		},
	}
	cmd.Flags().BoolVar(&statusOnly, "status", false, "only report the schema version; change nothing")
	return cmd
}
