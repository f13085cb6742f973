package main

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cashgate/cashgate/internal/gateway"
)

// gatewayCmds are the card gateway's operator commands.
func (e *env) gatewayCmds() []*cobra.Command {
	var tenant string
	var s gateway.GatewaySettings
	var recurring bool
	var methods, creditLimits []string
	var credit bool
	set := &cobra.Command{
		Use: "gateway-settings --tenant ID [--auto-capture=false] [--fee-basis-points N] [--fee-fixed-minor N] [--return-url-success URL] … [--webhook-url URL] [--require-hmac] [--auto-capture-recurring=false] [--payment-methods Card,CreditCard,PayPal]" +
			" [--credit-payments] [--credit-limit GBP=500.00/2000.00]…",
		Short: "Show or change a tenant's card gateway settings (auto capture, recurring auto capture, payment methods, credit payments and their limits, fees, default return and webhook URLs, HMAC requirement)",
		Long: `Show (no change flags) or replace a tenant's card gateway settings. The same
settings are available to the merchant at GET/PUT /platform/gateway/settings
with its APP key. Prints the settings, with the configuration id and signing key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			t, err := a.Platform.Tenant(cmd.Context(), tenant)
			if err != nil {
				return err
			}
			svc := a.Gateway.Service
			cur, err := svc.GetSettings(cmd.Context(), t.ID)
			if err != nil {
				return err
			}
			f := cmd.Flags()
			if f.NFlag() > 1 {
				if !f.Changed("auto-capture") {
					s.AutoCapture = cur.AutoCapture
				}
				keep := func(name string, dst *string, v string) {
					if !f.Changed(name) {
						*dst = v
					}
				}
				keep("return-url-success", &s.ReturnURLSuccess, cur.ReturnURLSuccess)
				keep("return-url-failed", &s.ReturnURLFailed, cur.ReturnURLFailed)
				keep("return-url-cancelled", &s.ReturnURLCancelled, cur.ReturnURLCancelled)
				keep("webhook-url", &s.WebhookURL, cur.WebhookURL)
				if !f.Changed("fee-basis-points") {
					s.FeeBasisPoints = cur.FeeBasisPoints
				}
				if !f.Changed("fee-fixed-minor") {
					s.FeeFixedMinor = cur.FeeFixedMinor
				}
				if !f.Changed("require-hmac") {
					s.RequireHMAC = cur.RequireHMAC
				}
				if !f.Changed("require-hmac-bodyless-writes") {
					s.RequireHMACBodylessWrites = cur.RequireHMACBodylessWrites
				}
				if !f.Changed("refuse-direct-card-payments") {
					s.RefuseDirectCardPayments = cur.RefuseDirectCardPayments
				}
				// Left out, these two stay as they are (nil).
				if f.Changed("auto-capture-recurring") {
					s.AutoCaptureRecurring = &recurring
				}
				if f.Changed("payment-methods") {
					s.PaymentMethodsEnabled = &methods
				}
				if f.Changed("credit-payments") || f.Changed("credit-limit") {
					if s.CreditPayments, err = creditFlags(cur.CreditPayments, f.Changed("credit-payments"), credit, creditLimits); err != nil {
						return err
					}
				}
				if cur, err = svc.PutSettings(cmd.Context(), t.ID, s); err != nil {
					return err
				}
			}
			return e.printJSON(cur)
		},
	}
	f := set.Flags()
	f.StringVar(&tenant, "tenant", "", "tenant id or business code (required)")
	f.BoolVar(&s.AutoCapture, "auto-capture", true, "capture at authorisation (off: authorise only, capture by API within 7 days)")
	f.Int64Var(&s.FeeBasisPoints, "fee-basis-points", 0, "fee charged at settlement in 1/100 %")
	f.Int64Var(&s.FeeFixedMinor, "fee-fixed-minor", 0, "fixed fee per payment at settlement, in minor units")
	f.StringVar(&s.ReturnURLSuccess, "return-url-success", "", "default success return URL")
	f.StringVar(&s.ReturnURLFailed, "return-url-failed", "", "default failed return URL")
	f.StringVar(&s.ReturnURLCancelled, "return-url-cancelled", "", "default cancelled return URL")
	f.StringVar(&s.WebhookURL, "webhook-url", "", "default webhook URL for payment status notifications")
	f.BoolVar(&s.RequireHMAC, "require-hmac", false, "require the Signature+Timestamp scheme instead of Hash")
	f.BoolVar(&s.RequireHMACBodylessWrites, "require-hmac-bodyless-writes", false, "refuse body-less writes (cancel PATCHes) signed with Hash; accept them with Signature+Timestamp")
	f.BoolVar(&s.RefuseDirectCardPayments, "refuse-direct-card-payments", false, "refuse card details in the API (hosted pages only): \"Direct card payments are not allowed.\"")
	f.BoolVar(&recurring, "auto-capture-recurring", true, "capture recurring child payments at once (never set: as --auto-capture)")
	f.StringSliceVar(&methods, "payment-methods", nil, "the payment methods enabled: Card, CreditCard, PayPal (comma-separated; \"\" for none)")
	f.BoolVar(&credit, "credit-payments", false, "allow credit payments (payment jobs of type Credit: money to a card) within the limits")
	f.StringArrayVar(&creditLimits, "credit-limit", nil, "a currency's credit limits, per credit and per day: GBP=500.00/2000.00 (repeat for more currencies; GBP= removes GBP; the others stay)")
	_ = set.MarkFlagRequired("tenant")
	return []*cobra.Command{set}
}

// creditFlags applies --credit-payments (when set) and the --credit-limit
// values (CUR=PERCREDIT/PERDAY, or CUR= to remove the currency) to the
// current credit settings.
func creditFlags(cur *gateway.CreditPaymentSettings, setEnabled, enabled bool, limits []string) (*gateway.CreditPaymentSettings, error) {
	out := &gateway.CreditPaymentSettings{Limits: map[string]gateway.CreditLimit{}}
	if cur != nil {
		out.Enabled = cur.Enabled
		maps.Copy(out.Limits, cur.Limits)
	}
	if setEnabled {
		out.Enabled = enabled
	}
	for _, l := range limits {
		code, v, ok := strings.Cut(l, "=")
		code = strings.ToUpper(strings.TrimSpace(code))
		if !ok || code == "" {
			return nil, fmt.Errorf("--credit-limit %q: want CUR=PERCREDIT/PERDAY, e.g. GBP=500.00/2000.00 (or GBP= to remove it)", l)
		}
		if strings.TrimSpace(v) == "" {
			delete(out.Limits, code)
			continue
		}
		per, day, ok := strings.Cut(v, "/")
		if !ok {
			return nil, fmt.Errorf("--credit-limit %q: want CUR=PERCREDIT/PERDAY, e.g. GBP=500.00/2000.00", l)
		}
		out.Limits[code] = gateway.CreditLimit{PerPayment: strings.TrimSpace(per), PerDay: strings.TrimSpace(day)}
	}
	return out, nil
}

// gatewayScenarios are the card gateway's load scenarios.
func gatewayScenarios() map[string]scenarioFactory {
	return map[string]scenarioFactory{
		"moto": func(o benchOptions) (scenario, error) {
			return &motoScenario{tenants: make([]motoTenant, o.tenants)}, nil
		},
	}
}

// motoBody is a MOTO payment of amount GBP by a test card that is paid at
// once, with the merchant's orderNumber when not empty.
func motoBody(amount, orderNumber string) []byte {
	order := ""
	if orderNumber != "" {
		order = `"order":{"orderNumber":"` + orderNumber + `"},`
	}
	return []byte(`{"type":"Payment","paymentMethodsToUse":["creditcard"],"parameters":{"cardNumber":"4000000000000010","cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"35"},"options":["IsMoto"],` +
		order + `"currency":"GBP","amountToCollect":"` + amount + `"}`)
}

// newRequest is POST /api/gateway/payment-jobs with body, signed with the
// tenant's Hash header.
func (t motoTenant) newRequest(ctx context.Context, base string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/gateway/payment-jobs", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	sum := sha512.Sum512(append([]byte(t.key), body...))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("ConfigurationId", t.configID)
	req.Header.Set("Hash", hex.EncodeToString(sum[:]))
	return req, nil
}

// motoScenario creates MOTO payment jobs that are paid at once with auto
// capture: POST /api/gateway/payment-jobs signed with the Hash header; each
// is one durable transaction (job, payment, step, ledger entry, event).
type motoScenario struct {
	tenants []motoTenant
}

// motoTenant is a tenant's gateway configuration id and signing key.
type motoTenant struct {
	configID, key string
}

func (s *motoScenario) setup(ctx context.Context, c *benchClient) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/platform/gateway/settings", nil)
	if err != nil {
		return err
	}
	req.Header.Set("api-key", c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var st gateway.GatewaySettings
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET /platform/gateway/settings: %d %s", resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return err
	}
	if st.ConfigurationID == "" {
		return fmt.Errorf("the tenant has no gateway configuration")
	}
	s.tenants[c.tenant] = motoTenant{configID: st.ConfigurationID, key: st.SigningKey}
	return nil
}

func (s *motoScenario) op(ctx context.Context, c *benchClient, rng *rand.Rand) error {
	body := motoBody(strconv.Itoa(1+rng.IntN(9999)/100)+`.`+fmt.Sprintf("%02d", rng.IntN(100)), "")
	req, err := s.tenants[c.tenant].newRequest(ctx, c.base, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST payment-jobs: %d %s", resp.StatusCode, bytes.TrimSpace(rb))
	}
	if !bytes.Contains(rb, []byte(`"paymentStatus":"Paid"`)) {
		return fmt.Errorf("MOTO payment not paid: %s", rb)
	}
	return nil
}
