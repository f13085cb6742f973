package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cashgate/cashgate/internal/app"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/platform"
)

// printJSON writes v as one line of JSON on stdout, for scripts.
func (e *env) printJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, string(b))
	return err
}

// withApp opens cashgate, runs fn and closes it.
func (e *env) withApp(ctx context.Context, fn func(a *app.App) error) error {
	a, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}

func (e *env) tenantCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Create and list tenants (business profiles)"}
	var spec platform.TenantSpec
	var mode string
	create := &cobra.Command{
		Use:   "create --name NAME [--mode sandbox|production] [--timezone Europe/London]",
		Short: "Create a tenant with its admin user, first APP key and card-gateway configuration",
		Long: `Create a tenant (business profile) with its admin user, its first APP key and
its card-gateway configuration, and print one JSON object on stdout:
tenantId, businessCode, apiKey, configurationId, signingKey, adminUsername,
adminPassword. The key, signing key and password are shown only this once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			spec.Mode = platform.Mode(mode)
			return e.withApp(cmd.Context(), func(a *app.App) error {
				created, err := a.Platform.CreateTenant(cmd.Context(), spec)
				if err != nil {
					return err
				}
				return e.printJSON(created)
			})
		},
	}
	f := create.Flags()
	f.StringVar(&spec.Name, "name", "", "business name (required)")
	f.StringVar(&mode, "mode", "sandbox", "sandbox (low usage limit, one APP key) or production")
	f.StringVar(&spec.Timezone, "timezone", "UTC", "IANA time zone of the business, e.g. Europe/London")
	f.StringVar(&spec.AdminUsername, "admin-username", "admin", "username of the admin user")
	f.StringVar(&spec.AdminPassword, "admin-password", "", "admin password (generated when empty)")
	f.StringVar(&spec.AdminPIN, "admin-pin", "", "optional admin PIN")
	f.StringVar(&spec.AdminTimezone, "admin-timezone", "", "admin user's time zone (default: the tenant's)")
	_ = create.MarkFlagRequired("name")

	list := &cobra.Command{
		Use:   "list",
		Short: "List tenants, one JSON object per line",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				ts, err := a.Platform.ListTenants(cmd.Context())
				if err != nil {
					return err
				}
				for _, t := range ts {
					if err := e.printJSON(map[string]any{"tenantId": t.ID, "businessCode": t.BusinessCode, "name": t.Name,
						"mode": t.Mode, "timezone": t.Timezone, "createdAt": t.CreatedAt}); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	cmd.AddCommand(create, list)
	return cmd
}

func (e *env) keysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Create, list, revoke and rotate APP keys"}
	var tenant string
	cmd.PersistentFlags().StringVar(&tenant, "tenant", "", "tenant ID or business code (required)")
	_ = cmd.MarkPersistentFlagRequired("tenant")

	var name string
	var expiresIn time.Duration
	var apis []string
	create := &cobra.Command{
		Use:   "create --tenant T [--name NAME] [--expires-in 720h] [--api platform --api remote]",
		Short: "Create an APP key (production tenants may hold several; sandbox tenants one)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				var exp *time.Time
				if expiresIn > 0 {
					t := a.Clock.Now().Add(expiresIn)
					exp = &t
				}
				allowed := make([]httpx.API, len(apis))
				for i, s := range apis {
					allowed[i] = httpx.API(s)
				}
				k, err := a.Platform.CreateKey(cmd.Context(), tenant, name, exp, allowed)
				if err != nil {
					return err
				}
				return e.printCreatedKey(cmd.Context(), a, k, "")
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "a label for the key")
	create.Flags().DurationVar(&expiresIn, "expires-in", 0, "key lifetime, e.g. 720h (default: no expiry)")
	create.Flags().StringSliceVar(&apis, "api", nil, "APIs the key may call: platform, remote, cashier (default: all)")

	list := &cobra.Command{
		Use:   "list --tenant T",
		Short: "List a tenant's APP keys (never their secrets), one JSON object per line",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				keys, err := a.Platform.ListKeys(cmd.Context(), tenant)
				if err != nil {
					return err
				}
				for _, k := range keys {
					kj, err := a.Platform.KeyJSON(cmd.Context(), k)
					if err != nil {
						return err
					}
					if err := e.printJSON(kj); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}

	revoke := &cobra.Command{
		Use:   "revoke --tenant T KEY_ID",
		Short: "Revoke an APP key now (its tokens stop working too)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				k, err := a.Platform.RevokeKey(cmd.Context(), tenant, args[0])
				if err != nil {
					return err
				}
				kj, err := a.Platform.KeyJSON(cmd.Context(), k)
				if err != nil {
					return err
				}
				return e.printJSON(kj)
			})
		},
	}

	var grace time.Duration
	rotate := &cobra.Command{
		Use:   "rotate --tenant T KEY_ID [--grace 1h]",
		Short: "Replace an APP key by a new one; the old one stops now or after --grace",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error {
				k, err := a.Platform.RotateKey(cmd.Context(), tenant, args[0], grace)
				if err != nil {
					return err
				}
				return e.printCreatedKey(cmd.Context(), a, k, args[0])
			})
		},
	}
	rotate.Flags().DurationVar(&grace, "grace", 0, "keep the old key working this long (production tenants; at most 168h)")

	cmd.AddCommand(create, list, revoke, rotate)
	return cmd
}

func (e *env) printCreatedKey(ctx context.Context, a *app.App, k platform.KeyCreated, replaces string) error {
	kj, err := a.Platform.KeyJSON(ctx, k.Key)
	if err != nil {
		return err
	}
	return e.printJSON(platform.CreatedKeyResponse{KeyResponse: kj, APIKey: k.APIKey, Replaces: replaces})
}
