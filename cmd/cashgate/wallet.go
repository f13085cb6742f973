package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cashgate/cashgate/internal/app"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/wallet"
)

// walletCmds are the e-wallet's operator commands: one `wallet` command
// with subcommands, each printing one JSON object on stdout.
func (e *env) walletCmds() []*cobra.Command {
	root := &cobra.Command{Use: "wallet", Short: "Operate the e-wallet: corporate accounts, top-ups, payouts (pain.001), upgrades, conversion rates"}
	svc := func(ctx context.Context, fn func(w *wallet.Service) (any, error)) error {
		return e.withApp(ctx, func(a *app.App) error {
			v, err := fn(a.Wallet.Service)
			if err != nil {
				return err
			}
			return e.printJSON(v)
		})
	}

	// corporate create
	var cs wallet.CorporateSpec
	var mode string
	corp := &cobra.Command{Use: "corporate", Short: "Corporate accounts (tenants with a corporate wallet)"}
	create := &cobra.Command{
		Use:   "create --name NAME --username U --password P --pin 1234 --iban IBAN --bic BIC [--mode sandbox|production]",
		Short: "Open a corporate account: a tenant, its corporate wallet (tier Corporate), its login and bank account",
		Long: `Open a corporate account and print tenantId, merchantId, merchantSecret (shown
only this once: the merchant builds its authorization tokens from it), the
wallet user and the tenant's credentials.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cs.Mode = platform.Mode(mode)
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) { return w.CreateCorporate(cmd.Context(), cs) })
		},
	}
	f := create.Flags()
	f.StringVar(&cs.CompanyName, "name", "", "company name")
	f.StringVar(&mode, "mode", "production", "sandbox or production")
	f.StringVar(&cs.Timezone, "timezone", "", "IANA time zone of the tenant")
	f.StringVar(&cs.Username, "username", "", "wallet-app login of the corporate")
	f.StringVar(&cs.Password, "password", "", "its password (8+ characters)")
	f.StringVar(&cs.PIN, "pin", "", "its PIN (4 to 6 digits)")
	f.StringVar(&cs.IBAN, "iban", "", "the company's bank account (SEPA IBAN)")
	f.StringVar(&cs.BIC, "bic", "", "the bank's BIC")
	corp.AddCommand(create)

	// top-up credit
	var tu wallet.TopUp
	credit := &cobra.Command{
		Use:   "credit --reference CGW… --amount 50.00 --bank-reference BANKTX",
		Short: "Credit a reconciled incoming bank transfer to the wallet whose top-up reference it quotes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) { return w.CreditTopUp(cmd.Context(), tu) })
		},
	}
	credit.Flags().StringVar(&tu.Reference, "reference", "", "the wallet's top-up reference quoted on the transfer")
	credit.Flags().StringVar(&tu.Amount, "amount", "", "amount in EUR, e.g. 50.00")
	credit.Flags().StringVar(&tu.BankReference, "bank-reference", "", "the bank's id of the transfer (never credited twice)")

	// payouts export / paid
	payouts := &cobra.Command{Use: "payouts", Short: "SEPA payouts: export as pain.001, mark paid, record returns"}
	var debtor wallet.Debtor
	var out, date string
	export := &cobra.Command{
		Use:   "export --debtor-name N --debtor-iban IBAN --debtor-bic BIC --out FILE [--execution-date 2026-11-23]",
		Short: "Write every requested withdrawal and verification transfer into one pain.001.001.03 file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("--out is required")
			}
			exec := time.Now()
			if date != "" {
				d, err := time.Parse("2006-01-02", date)
				if err != nil {
					return fmt.Errorf("--execution-date: want YYYY-MM-DD")
				}
				exec = d
			}
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) {
				x, err := w.ExportPayouts(cmd.Context(), debtor, exec)
				if err != nil || x.Count == 0 {
					return x, err
				}
				if err := os.WriteFile(out, x.XML, 0o600); err != nil {
					return nil, fmt.Errorf("write %s: %w (the payouts are marked exported under batch %s; mark them paid or contact support)", out, err, x.BatchID)
				}
				return struct {
					wallet.Export
					File string `json:"file"`
				}{x, out}, nil
			})
		},
	}
	export.Flags().StringVar(&debtor.Name, "debtor-name", "", "the issuer's account holder name")
	export.Flags().StringVar(&debtor.IBAN, "debtor-iban", "", "the issuer's IBAN")
	export.Flags().StringVar(&debtor.BIC, "debtor-bic", "", "the issuer's BIC")
	export.Flags().StringVar(&out, "out", "", "file to write")
	export.Flags().StringVar(&date, "execution-date", "", "requested execution date (default today)")
	var batch string
	paid := &cobra.Command{
		Use:   "paid --batch BATCH_ID|TRANSACTION_ID",
		Short: "Mark an exported batch (or one payout) paid once the bank confirmed it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) { return w.MarkPaid(cmd.Context(), batch) })
		},
	}
	paid.Flags().StringVar(&batch, "batch", "", "batch id printed by export, or a payout's transaction id or SEPA end-to-end id")
	var rbatch, reason string
	ret := &cobra.Command{
		Use:   "return --batch BATCH_ID|TRANSACTION_ID --reason TEXT",
		Short: "Record that the bank rejected an exported batch (or one payout): the money and the fee go back to the wallet",
		Long: `Record that the bank rejected exported payouts — a whole batch, or one payout by
its transaction id — with the bank's reason. A returned withdrawal gives the
wallet back its amount and its 2 EUR fee and no longer counts against the
withdrawal limits; a returned verification transfer voids its code. Payouts
not exported yet or marked paid are refused and nothing changes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) { return w.ReturnPayouts(cmd.Context(), rbatch, reason) })
		},
	}
	ret.Flags().StringVar(&rbatch, "batch", "", "batch id printed by export, or a payout's transaction id or SEPA end-to-end id")
	ret.Flags().StringVar(&reason, "reason", "", "the bank's reason, e.g. \"AC04 account closed\"")
	payouts.AddCommand(export, paid, ret)

	// upgrades
	upgrades := &cobra.Command{Use: "upgrades", Short: "Corporate+ upgrade requests"}
	list := &cobra.Command{Use: "list", Short: "List corporates waiting for Corporate+", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) {
				l, err := w.UpgradeRequests(cmd.Context())
				return map[string]any{"requests": l}, err
			})
		}}
	var force bool
	approve := &cobra.Command{Use: "approve TENANT_ID|MERCHANT_ID", Short: "Approve a Corporate+ upgrade (documents checked offline)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) { return w.ApproveUpgrade(cmd.Context(), args[0], force) })
		}}
	approve.Flags().BoolVar(&force, "force", false, "upgrade even without a pending request")
	upgrades.AddCommand(list, approve)

	// rates
	rates := &cobra.Command{Use: "rates", Short: "Conversion rates to EUR for money requests in other currencies"}
	set := &cobra.Command{Use: "set CURRENCY RATE", Short: "Set the rate: 1 unit of CURRENCY = RATE EUR (e.g. set USD 0.9215)", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) { return w.SetRate(cmd.Context(), args[0], args[1]) })
		}}
	rlist := &cobra.Command{Use: "list", Short: "List the rates", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) {
				l, err := w.Rates(cmd.Context())
				return map[string]any{"rates": l}, err
			})
		}}
	var ratesURL string
	var ratesTimeout time.Duration
	rimport := &cobra.Command{Use: "import FILE|-|--url URL",
		Short: "Import the ECB's euro reference rates (eurofxref-daily.xml) from a file, stdin (-) or a URL, dated with the ECB's date",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (ratesURL != "") {
				return errors.New("give a FILE (- for stdin) or --url URL, not both")
			}
			if ratesURL != "" {
				return svc(cmd.Context(), func(w *wallet.Service) (any, error) {
					return w.ImportECBRatesURL(cmd.Context(), wallet.ECBFetch{URL: ratesURL, Timeout: ratesTimeout})
				})
			}
			in := cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) { return w.ImportECBRates(cmd.Context(), in) })
		}}
	rimport.Flags().StringVar(&ratesURL, "url", "", "fetch the rates over HTTP(S), e.g. "+wallet.ECBDailyURL)
	rimport.Flags().DurationVar(&ratesTimeout, "timeout", wallet.DefaultECBFetchTimeout, "how long the fetch may take in all")
	maxAge := &cobra.Command{Use: "max-age [DURATION]", Short: "Show or set how old a rate may be for a money request in its currency (default 96h)",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) {
				d, err := w.MaxRateAge(cmd.Context())
				if len(args) == 1 {
					if d, err = time.ParseDuration(args[0]); err != nil {
						return nil, fmt.Errorf("want a duration such as 96h: %w", err)
					}
					d, err = w.SetMaxRateAge(cmd.Context(), d)
				}
				return map[string]string{"maxAge": d.String()}, err
			})
		}}
	var clearURL bool
	rurl := &cobra.Command{Use: "url [URL] [--clear]",
		Short: "Show or set the URL the daily job fetches the ECB's rates from (e.g. " + wallet.ECBDailyURL + "), with its last success and failure",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if clearURL && len(args) == 1 {
				return errors.New("give a URL or --clear, not both")
			}
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) {
				switch {
				case clearURL:
					return w.SetRatesURL(cmd.Context(), "")
				case len(args) == 1:
					return w.SetRatesURL(cmd.Context(), args[0])
				}
				return w.RatesSchedule(cmd.Context())
			})
		}}
	rurl.Flags().BoolVar(&clearURL, "clear", false, "remove the URL: no daily fetch")
	fetch := &cobra.Command{Use: "fetch", Short: "Fetch the rates from the stored URL now (as the daily job does; the run is recorded)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) {
				imp, next, err := w.FetchRatesNow(cmd.Context())
				return map[string]any{"import": imp, "nextRunAt": next}, err
			})
		}}
	rates.AddCommand(set, rlist, rimport, maxAge, rurl, fetch)

	// sandbox top-ups
	var on bool
	sandbox := &cobra.Command{Use: "sandbox-topups --enable=true|false", Short: "Let private users simulate incoming transfers (sandbox installations)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) {
				return map[string]bool{"sandboxTopUps": on}, w.SetSandboxTopUps(cmd.Context(), on)
			})
		}}
	sandbox.Flags().BoolVar(&on, "enable", true, "on or off")

	var plusOnly bool
	apiAccess := &cobra.Command{Use: "api-access [--corporate-plus-only=true|false]",
		Short: "Show or set who may use the merchant API: Corporate+ only (the guide's table; the default) or every corporate account", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) {
				if !cmd.Flags().Changed("corporate-plus-only") {
					return w.APIAccessRule(cmd.Context())
				}
				return w.SetAPIAccessRule(cmd.Context(), wallet.APIAccess{CorporatePlusOnly: plusOnly})
			})
		}}
	apiAccess.Flags().BoolVar(&plusOnly, "corporate-plus-only", true, "refuse Corporate accounts' merchant API calls")

	// merchant secrets
	secret := &cobra.Command{Use: "secret", Short: "A corporate's merchant secret: rotate it (with a grace period for the old one) or end that grace"}
	var grace time.Duration
	rotate := &cobra.Command{Use: "rotate TENANT_ID|MERCHANT_ID [--grace 24h]",
		Short: "Replace the merchant secret and print the new one (once); the old one keeps working for --grace (at most 168h; 0: it stops at once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) { return w.RotateMerchantSecret(cmd.Context(), args[0], grace) })
		}}
	rotate.Flags().DurationVar(&grace, "grace", 0, "how long the old secret keeps working (e.g. 1h, 24h, 168h)")
	revokePrev := &cobra.Command{Use: "revoke-previous TENANT_ID|MERCHANT_ID", Short: "Stop the rotated (old) merchant secret now, before its grace period ends",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) { return w.RevokePreviousSecret(cmd.Context(), args[0]) })
		}}
	secret.AddCommand(rotate, revokePrev)

	root.AddCommand(corp, credit, payouts, upgrades, rates, sandbox, walletLimitsCmd(svc), apiAccess, secret, walletUserCmd(svc))
	return []*cobra.Command{root}
}

// walletUserCmd is `wallet user`: the operator's reset, suspension and
// closing of a wallet user's account.
func walletUserCmd(svc func(ctx context.Context, fn func(w *wallet.Service) (any, error)) error) *cobra.Command {
	user := &cobra.Command{Use: "user", Short: "A wallet user's account: reset the password or PIN, suspend, reactivate, close"}
	var password, pin bool
	reset := &cobra.Command{Use: "reset USERNAME [--password] [--pin]",
		Short: "Give the user a new random password and/or PIN (printed once), clear its locks and end its sessions", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) { return w.ResetCredentials(cmd.Context(), args[0], password, pin) })
		}}
	reset.Flags().BoolVar(&password, "password", false, "reset the password")
	reset.Flags().BoolVar(&pin, "pin", false, "reset the PIN")
	var reason string
	suspend := &cobra.Command{Use: "suspend USERNAME --reason TEXT", Short: "Suspend the account: no login, no payment in or out, until reactivated", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) {
				return w.SetAccountStatus(cmd.Context(), args[0], wallet.AccountSuspended, reason)
			})
		}}
	suspend.Flags().StringVar(&reason, "reason", "", "why (kept with the account)")
	reactivate := &cobra.Command{Use: "reactivate USERNAME", Short: "Lift a suspension", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) {
				return w.SetAccountStatus(cmd.Context(), args[0], wallet.AccountActive, "")
			})
		}}
	var closeReason string
	closeCmd := &cobra.Command{Use: "close USERNAME [--reason TEXT]", Short: "Close the account for good (its balance must be zero)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) { return w.CloseAccount(cmd.Context(), args[0], closeReason) })
		}}
	closeCmd.Flags().StringVar(&closeReason, "reason", "", "why (kept with the account)")
	user.AddCommand(reset, suspend, reactivate, closeCmd)
	return user
}

// walletLimitsCmd is `wallet limits`: the private tier's limits, shown or set.
func walletLimitsCmd(svc func(ctx context.Context, fn func(w *wallet.Service) (any, error)) error) *cobra.Command {
	limits := &cobra.Command{Use: "limits", Short: "Show the private tier's limits (the corporate tiers have the guide's table)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) { return w.PrivateLimits(cmd.Context()) })
		}}
	vals := map[string]*int64{}
	set := &cobra.Command{
		Use:   "set [--purchases-per-day N] [--max-per-transaction CENTS] …",
		Short: "Set private users' limits for the installation (counts, or EUR cents; -1 is unlimited); limits not named keep their value",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return svc(cmd.Context(), func(w *wallet.Service) (any, error) {
				l, err := w.PrivateLimits(cmd.Context())
				if err != nil {
					return nil, err
				}
				for name, v := range vals {
					if cmd.Flags().Changed(strings.ReplaceAll(name, "_", "-")) {
						p, _ := l.Field(name)
						*p = *v
					}
				}
				return w.SetPrivateLimits(cmd.Context(), l)
			})
		},
	}
	for _, name := range wallet.LimitNames() {
		vals[name] = new(int64)
		set.Flags().Int64Var(vals[name], strings.ReplaceAll(name, "_", "-"), 0, name+" (a count, or EUR cents; -1: unlimited)")
	}
	limits.AddCommand(set)
	return limits
}

// walletScenarios are the e-wallet's load scenarios.
//
//	sends   POST /wallet/app/v1/send of 0.20–0.99 EUR between --accounts
//	        Corporate+ wallets (logged-in sessions): per send the limit
//	        checks, the 0.50 € send fee, the recipient's receive fee, one
//	        ledger entry with its fee postings, the wallet transaction
//	        and its outbox event, durably committed.
//
// Opening Corporate+ wallets and funding them are operator actions, which
// an APP key cannot do over HTTP: the scenario prepares them with operator
// rights (setupApp) on the in-process cashgate, or against --target on
// cashgate opened on the target's database. Every corporate wallet is its
// own tenant, so --tenants does not apply.
func walletScenarios() map[string]scenarioFactory {
	return map[string]scenarioFactory{
		"sends": func(o benchOptions) (scenario, error) {
			if o.accounts < 2 {
				return nil, errors.New("--accounts must be at least 2")
			}
			if o.tenants != 1 {
				return nil, errors.New("sends: every corporate wallet is its own tenant (--accounts of them); --tenants does not apply")
			}
			return &sendsScenario{n: o.accounts}, nil
		},
	}
}

// sendsScenario sends money between Corporate+ wallets.
type sendsScenario struct {
	n        int
	names    []string
	sessions []string
	ready    bool
}

// setupApp opens and funds the wallets with operator rights and logs them
// in. Their names are new in every run (a.IDs), so a run against a target
// can follow another on the same database.
func (s *sendsScenario) setupApp(ctx context.Context, a *app.App) error {
	w := a.Wallet.Service
	run := a.IDs.Secret(3)
	for i := 0; i < s.n; i++ {
		name := fmt.Sprintf("bench%s-%d", run, i)
		c, err := w.CreateCorporate(ctx, wallet.CorporateSpec{CompanyName: "Bench " + name, Mode: platform.Production, Username: name,
			Password: "bench-password", PIN: "1234", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"})
		if err != nil {
			return err
		}
		if _, err := w.ApproveUpgrade(ctx, c.TenantID, true); err != nil {
			return err
		}
		if _, err := w.CreditTopUp(ctx, wallet.TopUp{Reference: c.User.TopUpReference, Amount: "10000000.00", BankReference: "bench-" + name}); err != nil {
			return err
		}
		sess, err := w.Login(ctx, name, "bench-password")
		if err != nil {
			return err
		}
		s.names = append(s.names, name)
		s.sessions = append(s.sessions, sess.Token)
	}
	s.ready = true
	return nil
}

func (s *sendsScenario) setup(ctx context.Context, c *benchClient) error {
	if !s.ready {
		return errors.New("the sends scenario's wallets were not prepared (setupApp)")
	}
	return nil
}

func (s *sendsScenario) op(ctx context.Context, c *benchClient, rng *rand.Rand) error {
	i := rng.IntN(len(s.names))
	j := rng.IntN(len(s.names) - 1)
	if j >= i {
		j++
	}
	return postWallet(ctx, c, s.sessions[i], "/wallet/app/v1/send",
		map[string]any{"to": s.names[j], "amount": fmt.Sprintf("0.%02d", 20+rng.IntN(80))})
}

// postWallet POSTs with a wallet session instead of the APP key.
func postWallet(ctx context.Context, c *benchClient, session, path string, body any) error {
	sc := &benchClient{base: c.base, key: "", http: &http.Client{Transport: sessionTransport{session: session, next: c.http.Transport}, Timeout: c.http.Timeout}}
	return sc.post(ctx, path, body, nil)
}

// sessionTransport adds the wallet session to each request.
type sessionTransport struct {
	session string
	next    http.RoundTripper
}

func (t sessionTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Del("api-key")
	r.Header.Set("Authorization", "Bearer "+t.session)
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}
