package cashier

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/sepa"
	"github.com/cashgate/cashgate/internal/store"
)

// Settings are a tenant's answers to the questions of seed 002 (the README
// maps each question to its field). PUT /cashier/v1/settings replaces them;
// a field left out takes its default (DefaultSettings).
type Settings struct {
	// Integration: "cashier" (hosted cashier only), "payment" (the Payment
	// API only: the Platform's own PCI-compliant forms) or "both".
	Integration string `json:"integration"`
	// Payouts: whether customers may withdraw at all.
	Payouts bool `json:"payouts"`
	// PayoutManagement: who approves and rejects payouts, "backoffice" or
	// "agent_api" (the Agent API refuses what the back office owns).
	PayoutManagement string `json:"payoutManagement"`
	// AuthCapture: per PSP, whether deposits are authorised and captured
	// later (only for PSPs that support it).
	AuthCapture map[string]bool `json:"authCapture"`
	// DepositManagement: who captures and voids authorised deposits,
	// "backoffice" or "agent_api".
	DepositManagement string `json:"depositManagement"`
	// MOTO: back-office MOTO and manual ("offline") deposits on behalf of
	// customers.
	MOTO bool `json:"moto"`
	// DepositAmount and PayoutAmount: "fixed" (the amount of an order made
	// beforehand, a cashier session) or "free" (the customer chooses).
	DepositAmount string `json:"depositAmount"`
	PayoutAmount  string `json:"payoutAmount"`
	// DepositPSPs and PayoutPSPs: the PSPs enabled for each.
	DepositPSPs []string `json:"depositPsps"`
	PayoutPSPs  []string `json:"payoutPsps"`
	// Validation: the Platform's synchronous check of free deposits.
	Validation Callback `json:"validation"`
	// BalanceAuthority: "ledger" (cashgate's per-customer ledger) or "crm"
	// (BalanceCheck asks the Platform what the customer may withdraw).
	BalanceAuthority string   `json:"balanceAuthority"`
	BalanceCheck     Callback `json:"balanceCheck"`
	// BankAccount receives bank-transfer deposits and pays bank payouts.
	BankAccount BankAccount `json:"bankAccount"`
	// FrameAncestors are the origins that may embed the hosted cashier.
	FrameAncestors []string `json:"frameAncestors"`
}

// Callback is a synchronous call to the Platform.
type Callback struct {
	URL string `json:"url"` // "" for none
	// TimeoutMs bounds the call (DefaultCallbackTimeout when 0).
	TimeoutMs int `json:"timeoutMs"`
	// OnTimeout (validation only): "refuse" (default) or "accept" the
	// deposit when the Platform does not answer in time.
	OnTimeout string `json:"onTimeout,omitempty"`
}

// BankAccount is the tenant's account at its bank.
type BankAccount struct {
	Name string `json:"name"`
	IBAN string `json:"iban"`
	BIC  string `json:"bic"`
}

// Setting values.
const (
	IntegrationCashier = "cashier"
	IntegrationPayment = "payment"
	IntegrationBoth    = "both"
	ByBackOffice       = "backoffice"
	ByAgentAPI         = "agent_api"
	AmountFixed        = "fixed"
	AmountFree         = "free"
	AuthorityLedger    = "ledger"
	AuthorityCRM       = "crm"
	OnTimeoutRefuse    = "refuse"
	OnTimeoutAccept    = "accept"
)

// Callback timeouts.
const (
	DefaultCallbackTimeout = 3 * time.Second
	MaxCallbackTimeout     = 10 * time.Second
)

// DefaultSettings are a tenant's settings until it sets its own.
func DefaultSettings() Settings {
	return Settings{Integration: IntegrationBoth, Payouts: true, PayoutManagement: ByAgentAPI, AuthCapture: map[string]bool{},
		DepositManagement: ByAgentAPI, DepositAmount: AmountFree, PayoutAmount: AmountFree,
		DepositPSPs: []string{PSPCard, PSPWallet}, PayoutPSPs: []string{PSPWallet},
		BalanceAuthority: AuthorityLedger, FrameAncestors: []string{}}
}

// SettingsView is the settings with the secret the tenant's callbacks are
// signed with (see Signature).
type SettingsView struct {
	Settings
	CallbackSecret string `json:"callbackSecret"`
}

// settings returns the tenant's settings (the defaults when it has none).
func (s *Service) settings(ctx context.Context, q store.Querier, tenantID string) (Settings, error) {
	var raw string
	err := q.QueryRowContext(ctx, `SELECT settings FROM cashier_settings WHERE tenant_id = $1`, tenantID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultSettings(), nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("cashier: load settings: %w", err)
	}
	st := DefaultSettings()
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return Settings{}, fmt.Errorf("cashier: stored settings: %w", err)
	}
	return st, nil
}

// Settings returns the tenant's settings and callback secret (made on
// first use).
func (s *Service) Settings(ctx context.Context, tenantID string) (SettingsView, error) {
	st, err := s.settings(ctx, s.db.Read(), tenantID)
	if err != nil {
		return SettingsView{}, err
	}
	secret, err := s.callbackSecret(ctx, s.db.Read(), tenantID)
	if errors.Is(err, sql.ErrNoRows) {
		return s.PutSettings(ctx, tenantID, st)
	}
	return SettingsView{Settings: st, CallbackSecret: secret}, err
}

// PutSettings checks and stores the tenant's settings and answers them from
// inside its transaction.
func (s *Service) PutSettings(ctx context.Context, tenantID string, st Settings) (SettingsView, error) {
	if err := s.checkSettings(ctx, &st); err != nil {
		return SettingsView{}, err
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return SettingsView{}, err
	}
	var out SettingsView
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		secret, err := s.callbackSecret(ctx, tx, tenantID)
		if errors.Is(err, sql.ErrNoRows) {
			secret = "cgcs_" + s.ids.Secret(32)
		} else if err != nil {
			return err
		}
		sealed, err := s.seal(tenantID, secret)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO cashier_settings (tenant_id, settings, callback_secret_sealed, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (tenant_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
			tenantID, string(raw), sealed, micros(s.now())); err != nil {
			return fmt.Errorf("cashier: save settings: %w", err)
		}
		// A concurrent first PUT may have stored its secret first: the row's is the one.
		if secret, err = s.callbackSecret(ctx, tx, tenantID); err != nil {
			return err
		}
		out = SettingsView{Settings: st, CallbackSecret: secret}
		return httpx.Reply(ctx, tx, http.StatusOK, out)
	})
	return out, err
}

// callbackSecret opens the tenant's callback secret (sql.ErrNoRows when
// the tenant has no settings row yet).
func (s *Service) callbackSecret(ctx context.Context, q store.Querier, tenantID string) (string, error) {
	var sealed string
	if err := q.QueryRowContext(ctx, `SELECT callback_secret_sealed FROM cashier_settings WHERE tenant_id = $1`, tenantID).Scan(&sealed); err != nil {
		return "", err
	}
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return "", fmt.Errorf("cashier: sealed callback secret: %w", err)
	}
	pt, err := s.secrets.Open(raw, []byte("cashier_settings:"+tenantID))
	if err != nil {
		return "", fmt.Errorf("cashier: open callback secret (wrong key-encryption key?): %w", err)
	}
	return string(pt), nil
}

func (s *Service) seal(tenantID, secret string) (string, error) {
	ct, err := s.secrets.Seal([]byte(secret), []byte("cashier_settings:"+tenantID))
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// checkSettings validates st and normalises it (empty maps and lists,
// the bank account's IBAN and BIC).
func (s *Service) checkSettings(ctx context.Context, st *Settings) error {
	for _, c := range []struct {
		field, v string
		allowed  []string
	}{
		{"integration", st.Integration, []string{IntegrationCashier, IntegrationPayment, IntegrationBoth}},
		{"payoutManagement", st.PayoutManagement, []string{ByBackOffice, ByAgentAPI}},
		{"depositManagement", st.DepositManagement, []string{ByBackOffice, ByAgentAPI}},
		{"depositAmount", st.DepositAmount, []string{AmountFixed, AmountFree}},
		{"payoutAmount", st.PayoutAmount, []string{AmountFixed, AmountFree}},
		{"balanceAuthority", st.BalanceAuthority, []string{AuthorityLedger, AuthorityCRM}},
	} {
		if !slices.Contains(c.allowed, c.v) {
			return apperr.InvalidField(c.field, "%s must be one of %s", c.field, strings.Join(c.allowed, ", "))
		}
	}
	if err := s.checkPSPs(st); err != nil {
		return err
	}
	if err := s.checkCallbacks(ctx, st); err != nil {
		return err
	}
	if err := checkBank(st); err != nil {
		return err
	}
	return checkOrigins(st)
}

// checkPSPs: known PSPs, each enabled once, payout PSPs that pay out, and
// authorisation & capture only where the PSP supports it.
func (s *Service) checkPSPs(st *Settings) error {
	for _, l := range []struct {
		field  string
		list   *[]string
		payout bool
	}{{"depositPsps", &st.DepositPSPs, false}, {"payoutPsps", &st.PayoutPSPs, true}} {
		if *l.list == nil {
			*l.list = []string{}
		}
		seen := map[string]bool{}
		for _, name := range *l.list {
			c, ok := s.psps[name]
			if !ok || !c.Info().Selectable {
				return apperr.InvalidField(l.field, "%s: unknown PSP %q (PSPs: %s)", l.field, name, strings.Join(s.selectable(), ", "))
			}
			if seen[name] {
				return apperr.InvalidField(l.field, "%s lists %q twice", l.field, name)
			}
			seen[name] = true
			if l.payout && !c.Info().Payouts {
				return apperr.InvalidField(l.field, "%s: PSP %q does not support payouts", l.field, name)
			}
		}
	}
	if st.AuthCapture == nil {
		st.AuthCapture = map[string]bool{}
	}
	for name, on := range st.AuthCapture {
		c, ok := s.psps[name]
		if !ok || !c.Info().Selectable {
			return apperr.InvalidField("authCapture", "authCapture: unknown PSP %q", name)
		}
		if on && !c.Info().AuthCapture {
			return apperr.InvalidField("authCapture", "authCapture: PSP %q does not support authorisation and capture", name)
		}
	}
	return nil
}

// selectable lists the PSPs a tenant may enable, in order.
func (s *Service) selectable() []string {
	var out []string
	for _, name := range []string{PSPCard, PSPWallet, PSPBank, PSPSim} {
		if c, ok := s.psps[name]; ok && c.Info().Selectable {
			out = append(out, name)
		}
	}
	return out
}

func (s *Service) checkCallbacks(ctx context.Context, st *Settings) error {
	for _, c := range []struct {
		field string
		cb    *Callback
	}{{"validation", &st.Validation}, {"balanceCheck", &st.BalanceCheck}} {
		if c.cb.URL != "" {
			if err := s.checkURL(ctx, c.cb.URL); err != nil {
				return apperr.InvalidField(c.field+".url", "%s.url: %s", c.field, apperr.From(err).Message)
			}
		}
		if c.cb.TimeoutMs < 0 || time.Duration(c.cb.TimeoutMs)*time.Millisecond > MaxCallbackTimeout {
			return apperr.InvalidField(c.field+".timeoutMs", "%s.timeoutMs must be between 0 (the default, %s) and %d", c.field, DefaultCallbackTimeout, MaxCallbackTimeout.Milliseconds())
		}
	}
	switch st.Validation.OnTimeout {
	case "":
		st.Validation.OnTimeout = OnTimeoutRefuse
	case OnTimeoutRefuse, OnTimeoutAccept:
	default:
		return apperr.InvalidField("validation.onTimeout", "validation.onTimeout must be refuse or accept")
	}
	st.BalanceCheck.OnTimeout = ""
	if st.BalanceAuthority == AuthorityCRM && st.BalanceCheck.URL == "" {
		return apperr.InvalidField("balanceCheck.url", "balanceAuthority crm needs balanceCheck.url: the Platform says what a customer may withdraw")
	}
	return nil
}

// checkBank: a tenant that enables bank transfers names its bank account.
func checkBank(st *Settings) error {
	b := &st.BankAccount
	if b.IBAN == "" && b.BIC == "" && b.Name == "" {
		if slices.Contains(st.DepositPSPs, PSPBank) || slices.Contains(st.PayoutPSPs, PSPBank) {
			return apperr.InvalidField("bankAccount", "the bank PSP needs bankAccount (name, iban, bic): deposits are sent to it and payouts paid from it")
		}
		return nil
	}
	var err error
	if b.IBAN, err = sepa.ValidateIBAN("bankAccount.iban", b.IBAN); err != nil {
		return err
	}
	if b.BIC != "" {
		if b.BIC, err = sepa.ValidateBIC("bankAccount.bic", b.BIC); err != nil {
			return err
		}
	}
	if b.Name = strings.TrimSpace(b.Name); b.Name == "" || len(b.Name) > 70 {
		return apperr.InvalidField("bankAccount.name", "bankAccount.name is the account holder's name, 1 to 70 characters")
	}
	return nil
}

// checkOrigins: frame ancestors are origins, scheme://host[:port].
func checkOrigins(st *Settings) error {
	if st.FrameAncestors == nil {
		st.FrameAncestors = []string{}
	}
	if len(st.FrameAncestors) > 20 {
		return apperr.InvalidField("frameAncestors", "frameAncestors lists at most 20 origins")
	}
	for i, o := range st.FrameAncestors {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return apperr.InvalidField("frameAncestors", "frameAncestors: %q is not an origin such as https://www.example.com", o)
		}
		st.FrameAncestors[i] = u.Scheme + "://" + u.Host
	}
	return nil
}

// timeout is the callback's timeout.
func (c Callback) timeout() time.Duration {
	if c.TimeoutMs == 0 {
		return DefaultCallbackTimeout
	}
	return time.Duration(c.TimeoutMs) * time.Millisecond
}

// authCapture reports whether deposits through psp are held and captured later.
func (st Settings) authCapture(c Connector) bool {
	return st.AuthCapture[c.Info().Name] && c.Info().AuthCapture
}
