// Package gateway is the card gateway (seed 003): payment jobs and their
// payments, 3-D Secure through hosted pages, MOTO, authorisation and
// capture, same-day cancellation before the midnight settlement batch,
// refunds, payment job cancellation and expiry, status notifications.
//
// State machines
//
//	payment job: Pending → Authorised | Paid | Cancelled | Expired
//	             Authorised → Paid | Expired;  Authorised, Paid → Pending (its payment
//	             cancelled: the job takes more payments) | Cancelled (a recurring child)
//	payment:     Pending (awaiting the hosted page or 3-D Secure)
//	               → Authorised (auto capture off) | Paid | Failed | Cancelled | Expired
//	             Authorised → Paid (capture) | Cancelled | Expired (7 days, nothing captured)
//	             Paid → Cancelled (same day, before settlement) | PartiallyRefunded | Refunded
//	             PartiallyRefunded → PartiallyRefunded | Refunded
//
// A payment link (a job created without card details) stays Pending after a
// Failed or Cancelled payment: the shopper's next attempt on the link is a
// new payment of the same job (pages.go), until the job is paid, cancelled
// or expired. A job that came with its card takes that payment: declined or
// abandoned at 3-D Secure, it is Cancelled; cancelled by the merchant, the
// job stays usable with a hosted card page for its next payment
// (openForMore). Card tokens (tokens.go), recurring parents and children
// (recurring.go), recipientDetails (recipient.go), external 3-D Secure v2
// and e-wallet tokens (external3ds.go), credit payments (credit.go: a job
// of type Credit, Pending → Paid | Failed), payment page references
// (pagerefs.go) and the pages' languages (locale.go) are described where
// they are implemented; cache.go says what the hot path caches.
//
// Card acceptance itself is the core's card-acceptance engine
// (internal/cardpay, the Cards interface of cards.go), shared with the
// other products: the gateway asks it to assess a card, complete 3-D
// Secure and authorise, and says its answers in the guide's words; it asks
// it to post the ledger movements below, with the tenant's id as ledger
// scope and merchant/pending as the destination. What stays here is the
// gateway's own: its wire types, payment jobs and payments with their
// tables and state machines, hosted pages, notifications, recurring
// payments, tokens, settings, the expiry jobs and the settlement batch over
// its payments (the fee is the tenant's setting).
//
// Ledger (per tenant and currency; the accounts are cardpay.Accounts):
//
//	authorise (auto capture off)  hold  card-scheme/clearing → merchant/pending
//	capture                       post the hold (partial, several; final releases the rest)
//	sale (auto capture)           card-scheme/clearing → merchant/pending
//	credit payment                hold merchant/available → card-scheme/clearing, posted once
//	                              the acquirer paid the card, voided when it refused (credit.go)
//	cancel                        merchant/pending → card-scheme/clearing; void the hold
//	authorisation expiry          void the hold
//	settlement (midnight)         merchant/pending → merchant/available + platform/fees
//	refund                        merchant/pending (first) and merchant/available → card-scheme/clearing;
//	                              refunding settled money returns the fee pro rata: platform/fees pays
//	                              its share, merchant/available the rest (see Refund)
//
// A payment taken by PayPal (paypal.go) moves the same accounts against
// paypal/clearing instead of card-scheme/clearing (cardpay.ViaPayPal).
package gateway

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
)

// Callbacks delivers an event to a URL the merchant gave (outbox.Webhooks).
type Callbacks interface {
	Callback(ctx context.Context, tx *store.Tx, ev outbox.Event, url string) (outbox.Event, string, error)
}

// Tenants finds tenants (platform.Service).
type Tenants interface {
	Tenant(ctx context.Context, idOrBusinessCode string) (platform.Tenant, error)
}

// SigningKeys finds a configuration's tenant and signing key
// (platform.GatewayConfigurations).
type SigningKeys interface {
	SigningKey(ctx context.Context, configurationID string) (tenantID, key string, err error)
}

// Deps are the core services the gateway is built from.
type Deps struct {
	DB        *store.DB
	Clock     clock.Clock
	IDs       *ids.Gen
	Log       *slog.Logger
	Outbox    *outbox.Outbox
	Callbacks Callbacks
	Tenants   Tenants
	Keys      SigningKeys
	Cards     Cards // the card-acceptance engine (cardpay.Engine)
	Vault     *card.Vault
	// PublicURL is the address shoppers and merchants reach this cashgate
	// at (scheme://host[:port][/prefix], no trailing slash). Every link and
	// hosted-page address the gateway gives out is built on it, never on the
	// request's Host header, which a caller chooses.
	PublicURL string
}

// Service is the card gateway.
type Service struct {
	Deps

	zones         ttlCache[string, *time.Location]
	keyCache      ttlCache[string, signingKey]
	settingsCache ttlCache[string, settings]
	scheduled     sync.Map // settleKey → struct{}: settlement batches known to be scheduled
}

// New returns the gateway.
func New(d Deps) (*Service, error) {
	if d.DB == nil || d.Clock == nil || d.IDs == nil || d.Outbox == nil || d.Tenants == nil || d.Keys == nil || d.Cards == nil || d.Vault == nil {
		return nil, errors.New("gateway: missing dependency")
	}
	u, err := url.Parse(d.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("gateway: public URL %q: want http(s)://host[:port][/path]", d.PublicURL)
	}
	d.PublicURL = strings.TrimRight(d.PublicURL, "/")
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{Deps: d}, nil
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

// AcceptedCurrencies are the currencies the card simulator takes: the ones
// supported-payment-methods advertises and the only ones a job may be in.
func AcceptedCurrencies() []string {
	return []string{"AUD", "CAD", "DKK", "HKD", "JPY", "NZD", "NOK", "SGD", "ZAR", "SEK", "CHF", "GBP", "USD", "EUR"}
}

// JobExpiry is when a job created at t expires by default, and the latest
// expirationDateTimeUtc it may ask for: six calendar months later at the
// same time of day, as the guide's examples show (created 2021-02-18T11:04,
// expiring 2021-08-18T11:04); a day the month lacks becomes its last day
// (2021-08-31 → 2022-02-28).
func JobExpiry(t time.Time) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	first := time.Date(y, m+6, 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	if last := first.AddDate(0, 1, -1).Day(); d > last {
		d = last
	}
	return first.AddDate(0, 0, d-1)
}

// Timing rules of the guide.
const (
	DueAfter         = 10 * time.Minute   // dueDateTimeUtc: how long the shopper has for the hosted page
	AuthorisationTTL = 7 * 24 * time.Hour // an authorisation not captured within 7 days expires
)

// Statuses.
const (
	StPending           = "Pending"
	StAuthorised        = "Authorised"
	StPaid              = "Paid"
	StFailed            = "Failed"
	StCancelled         = "Cancelled"
	StExpired           = "Expired"
	StRefunded          = "Refunded"
	StPartiallyRefunded = "PartiallyRefunded"
)

// The guide's messages, each with its wire code (see GuideMsg).
var (
	MsgCaptureExceeds     = GuideMsg{Code: "CaptureAmountExceeded", Message: "The total capture amount exceeds original authorised amount."}
	MsgRefundExceeds      = GuideMsg{Code: "RefundAmountExceeded", Message: "The total refund amount exceeds original paid amount."}
	MsgFullyRefunded      = GuideMsg{Code: "PaymentAlreadyFullyRefunded", Message: "Payment has already been fully refunded."}
	MsgJobFinal           = GuideMsg{Code: "PaymentJobAlreadyFinal", Message: "Payment job is already final."}
	MsgJobNotCancellable  = GuideMsg{Code: "PaymentJobCannotBeCancelled", Message: "Payment job can not be cancelled."}
	MsgNo3DS              = GuideMsg{Code: "ThreeDSecureRequired", Message: "Card payments without 3D Secure are not allowed."}
	MsgNoMethod           = GuideMsg{Code: "NoPaymentMethodSelected", Message: "No payment method selected."}
	MsgOrderNotUnique     = GuideMsg{Code: "OrderReferenceNotUnique", Message: "The supplied order reference is not unique."}
	MsgRefused            = GuideMsg{Code: "PaymentRefused", Message: "Payment has been refused."}
	MsgRefundRefused      = GuideMsg{Code: "RefundRefused", Message: "Refund has been refused."}
	MsgInvalidStatus      = GuideMsg{Code: "PaymentInvalidStatus", Message: "Payment has an invalid status."}
	MsgMethodNotAllowed   = GuideMsg{Code: "PaymentMethodNotAllowed", Message: "Payment method not allowed."}
	MsgInvalidAmount      = GuideMsg{Code: "InvalidAmountForPaymentMethod", Message: "Invalid amount for payment method."}
	Msg3DSFailed          = GuideMsg{Code: "ThreeDSecureFailed", Message: "3DSecure Authentication Failed - Payment cannot proceed."}
	Msg3DSUnavailable     = GuideMsg{Code: "ThreeDSecureUnavailable", Message: "3DSecure Authentication Unavailable - Payment cannot proceed."}
	MsgNotRecurringParent = GuideMsg{Code: "CannotRecurOnNonRecurringParent", Message: "Cannot recur on a non recurring parent."}
	MsgUnableToRefund     = GuideMsg{Code: "UnableToRefund", Message: "Unable to refund this payment."}
	MsgPageNotFound       = GuideMsg{Code: "PaymentPageNotFound", Message: "Supplied payment page reference does not exists."}
	MsgCommunication      = GuideMsg{Code: "CommunicationError", Message: "Error while communicating."}
)

// More of the guide's messages: capture's (Capture), direct card refusal
// (Create, Tokenise); "Refund has an invalid status." no code path produces
// yet (a refund completes or is refused in its request).
var (
	MsgCaptureInvalidStatus = GuideMsg{Code: "CaptureInvalidStatus", Message: "Capture has an invalid status."}
	MsgRefundInvalidStatus  = GuideMsg{Code: "RefundInvalidStatus", Message: "Refund has an invalid status."}
	MsgDirectCardForbidden  = GuideMsg{Code: "DirectCardPaymentsNotAllowed", Message: "Direct card payments are not allowed."}
)

// The guide's messages of customers and warnings (customers.go, CancelPayment).
var (
	MsgUnexpectedStatus   = GuideMsg{Code: "PaymentUnexpectedStatus", Message: "Payment has an unexpected status."}
	MsgInvalidCustomerRef = GuideMsg{Code: "InvalidCustomerReference", Message: "Invalid customer reference provided."}
)

// ---- settings ----

// settings are a tenant's gateway settings.
type settings struct {
	// ExternalMPI: the External MPI Provider flag (external3ds.go);
	// Credit: the credit payments (credit.go).
	ExternalMPI bool
	Credit      creditSettings

	AutoCapture                               bool
	FeeBasisPoints, FeeFixedMinor             int64
	ReturnSuccess, ReturnFailed, ReturnCancel string
	WebhookURL                                string
	RequireHMAC                               bool
	RequireHMACBodyless                       bool
	RefuseDirectCards                         bool // card details only on the hosted pages
	// AutoCaptureRecurring captures recurring children at once; it is
	// AutoCapture while the tenant never set it (RecurringSet false).
	AutoCaptureRecurring, RecurringSet bool
	Methods                            []string // the payment methods enabled (PaymentMethods' names)
}

func defaultSettings() settings {
	return settings{AutoCapture: true, AutoCaptureRecurring: true, Methods: DefaultMethods()}
}

// autoCaptures reports whether a payment of j is captured at once: a
// recurring child's by the recurring switch, any other's by auto capture.
func (st settings) autoCaptures(j *job) bool {
	if j.Parent != "" {
		return st.AutoCaptureRecurring
	}
	return st.AutoCapture
}

func (s *Service) settings(ctx context.Context, q store.Querier, tenantID string) (settings, error) {
	st := defaultSettings()
	var recurring sql.NullBool
	var methods, credit string
	err := q.QueryRowContext(ctx, `SELECT auto_capture, fee_basis_points, fee_fixed_minor, return_url_success, return_url_failed,
		return_url_cancelled, webhook_url, require_hmac, require_hmac_bodyless, refuse_direct_cards, auto_capture_recurring, payment_methods,
		external_mpi, credit_json
		FROM gateway_settings WHERE tenant_id = $1`, tenantID).
		Scan(&st.AutoCapture, &st.FeeBasisPoints, &st.FeeFixedMinor, &st.ReturnSuccess, &st.ReturnFailed, &st.ReturnCancel, &st.WebhookURL,
			&st.RequireHMAC, &st.RequireHMACBodyless, &st.RefuseDirectCards, &recurring, &methods, &st.ExternalMPI, &credit)
	if errors.Is(err, sql.ErrNoRows) {
		return defaultSettings(), nil
	}
	if err != nil {
		return settings{}, fmt.Errorf("gateway: settings: %w", err)
	}
	st.AutoCaptureRecurring, st.RecurringSet = st.AutoCapture, recurring.Valid
	if recurring.Valid {
		st.AutoCaptureRecurring = recurring.Bool
	}
	if st.Methods, err = decodeMethods(methods); err != nil {
		return settings{}, err
	}
	if err := json.Unmarshal([]byte(credit), &st.Credit); err != nil {
		return settings{}, fmt.Errorf("gateway: credit payments: %w", err)
	}
	return st, nil
}

// GetSettings returns the tenant's settings with its configuration id and signing key.
func (s *Service) GetSettings(ctx context.Context, tenantID string) (GatewaySettings, error) {
	st, err := s.settings(ctx, s.DB.Read(), tenantID)
	if err != nil {
		return GatewaySettings{}, err
	}
	out := GatewaySettings{AutoCapture: st.AutoCapture, FeeBasisPoints: st.FeeBasisPoints, FeeFixedMinor: st.FeeFixedMinor,
		ReturnURLSuccess: st.ReturnSuccess, ReturnURLFailed: st.ReturnFailed, ReturnURLCancelled: st.ReturnCancel,
		WebhookURL: st.WebhookURL, RequireHMAC: st.RequireHMAC, RequireHMACBodylessWrites: st.RequireHMACBodyless,
		RefuseDirectCardPayments: st.RefuseDirectCards, AutoCaptureRecurring: &st.AutoCaptureRecurring, PaymentMethodsEnabled: &st.Methods}
	if out.MaxStoredTokensPerCustomer, err = maxCustomerTokens(ctx, s.DB.Read(), tenantID); err != nil {
		return GatewaySettings{}, err
	}
	frames, err := embedDomains(ctx, s.DB.Read(), tenantID)
	if err != nil {
		return GatewaySettings{}, err
	}
	out.EmbeddingDomains = &frames
	out.ExternalMPIProvider = &st.ExternalMPI
	out.CreditPayments = st.Credit.wire()
	var cfg string
	err = s.DB.Read().QueryRowContext(ctx, `SELECT id FROM gateway_configurations WHERE tenant_id = $1 ORDER BY created_at, id LIMIT 1`, tenantID).Scan(&cfg)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return GatewaySettings{}, fmt.Errorf("gateway: configuration: %w", err)
	}
	if cfg != "" {
		_, key, err := s.Keys.SigningKey(ctx, cfg)
		if err != nil {
			return GatewaySettings{}, err
		}
		out.ConfigurationID, out.SigningKey = cfg, key
	}
	return out, nil
}

// PutSettings replaces the tenant's settings (answering from inside its
// transaction, httpx.Answer, so a caller's audit row commits with them).
func (s *Service) PutSettings(ctx context.Context, tenantID string, in GatewaySettings) (GatewaySettings, error) {
	if in.FeeBasisPoints < 0 || in.FeeBasisPoints > 10000 {
		return GatewaySettings{}, apperr.InvalidField("feeBasisPoints", "feeBasisPoints must be between 0 and 10000")
	}
	if in.FeeFixedMinor < 0 || in.FeeFixedMinor > ledger.MaxAmount {
		return GatewaySettings{}, apperr.InvalidField("feeFixedMinor", "feeFixedMinor must not be negative")
	}
	for _, u := range []struct{ field, v string }{
		{"returnUrlSuccess", in.ReturnURLSuccess}, {"returnUrlFailed", in.ReturnURLFailed},
		{"returnUrlCancelled", in.ReturnURLCancelled}, {"webhookUrl", in.WebhookURL},
	} {
		if u.v != "" {
			if err := checkURL(u.field, u.v); err != nil {
				return GatewaySettings{}, err
			}
		}
	}
	if in.EmbeddingDomains != nil {
		d, err := parseFrameDomains("embeddingDomains", *in.EmbeddingDomains)
		if err != nil {
			return GatewaySettings{}, err
		}
		in.EmbeddingDomains = &d
	}
	if in.PaymentMethodsEnabled != nil {
		m, err := parseEnabledMethods(*in.PaymentMethodsEnabled)
		if err != nil {
			return GatewaySettings{}, err
		}
		in.PaymentMethodsEnabled = &m
	}
	if n := in.MaxStoredTokensPerCustomer; n < 0 || n > MaxCustomerTokensLimit {
		return GatewaySettings{}, apperr.InvalidField("maxStoredTokensPerCustomer", "maxStoredTokensPerCustomer must be between 1 and %d (0 or left out: unchanged).", MaxCustomerTokensLimit)
	}
	credit, err := parseCreditSettings(in.CreditPayments)
	if err != nil {
		return GatewaySettings{}, err
	}
	now := s.now().UnixMicro()
	err = s.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO gateway_settings (tenant_id, auto_capture, fee_basis_points, fee_fixed_minor,
			return_url_success, return_url_failed, return_url_cancelled, webhook_url, require_hmac, require_hmac_bodyless,
			refuse_direct_cards, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $11, $12, $10)
			ON CONFLICT (tenant_id) DO UPDATE SET auto_capture = excluded.auto_capture, fee_basis_points = excluded.fee_basis_points,
			fee_fixed_minor = excluded.fee_fixed_minor, return_url_success = excluded.return_url_success,
			return_url_failed = excluded.return_url_failed, return_url_cancelled = excluded.return_url_cancelled,
			webhook_url = excluded.webhook_url, require_hmac = excluded.require_hmac,
			require_hmac_bodyless = excluded.require_hmac_bodyless, refuse_direct_cards = excluded.refuse_direct_cards,
			updated_at = excluded.updated_at`,
			tenantID, in.AutoCapture, in.FeeBasisPoints, in.FeeFixedMinor, in.ReturnURLSuccess, in.ReturnURLFailed,
			in.ReturnURLCancelled, in.WebhookURL, in.RequireHMAC, now, in.RequireHMACBodylessWrites, in.RefuseDirectCardPayments)
		if err != nil {
			return err
		}
		if err := putMaxCustomerTokens(ctx, tx, tenantID, in.MaxStoredTokensPerCustomer); err != nil {
			return err
		}
		if err := putEmbedDomains(ctx, tx, tenantID, in.EmbeddingDomains); err != nil {
			return err
		}
		if err := putSettingsExtras(ctx, tx, tenantID, in); err != nil {
			return err
		}
		if err := putExternalMPI(ctx, tx, tenantID, in.ExternalMPIProvider); err != nil {
			return err
		}
		if err := putCredit(ctx, tx, tenantID, credit); err != nil {
			return err
		}
		return httpx.Answer(ctx, tx, in) // a caller's answer hook (the back office's audit row) commits with the settings
	})
	if err != nil {
		return GatewaySettings{}, fmt.Errorf("gateway: save settings: %w", err)
	}
	s.settingsCache.drop(tenantID)
	return s.GetSettings(ctx, tenantID)
}

// ---- tenants ----

// zone returns the tenant's time zone (cached for ZoneCacheTTL: a tenant's
// zone can change in the platform, and the settlement cutoff and the hosted
// pages follow it within the TTL).
func (s *Service) zone(ctx context.Context, tenantID string) (*time.Location, string, error) {
	now := s.Clock.Now()
	if loc, ok := s.zones.get(tenantID, now); ok {
		return loc, loc.String(), nil
	}
	t, err := s.Tenants.Tenant(ctx, tenantID)
	if err != nil {
		return nil, "", err
	}
	loc := t.Location()
	s.zones.put(tenantID, loc, now, ZoneCacheTTL)
	return loc, loc.String(), nil
}

// ---- time ----

// formatTime writes timestamps as the guide does: UTC, up to 7 fraction digits, "Z".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.9999999Z")
}

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullTime(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

// midnightAfter is the first midnight in loc strictly after t: the start
// of the next local day.
func midnightAfter(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return startOfDay(l.Year(), l.Month(), l.Day()+1, loc)
}

// midnightOf is the last midnight in loc at or before t: the start of t's
// local day.
func midnightOf(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return startOfDay(l.Year(), l.Month(), l.Day(), loc)
}

// startOfDay is the first instant whose date in loc is y-m-d (d may
// overflow the month, as for time.Date). Where a daylight-saving change
// happens at midnight (America/Santiago, America/Havana, Asia/Beirut…),
// 00:00 does not exist or exists twice and time.Date may answer an instant
// of the previous day (an hour before the day starts) or the second 00:00:
// then the start is found by bisection.
func startOfDay(y int, m time.Month, d int, loc *time.Location) time.Time {
	guess := time.Date(y, m, d, 0, 0, 0, 0, loc)
	want := time.Date(y, m, d, 0, 0, 0, 0, time.UTC) // the normalised date
	onOrAfter := func(u time.Time) bool {
		ly, lm, ld := u.In(loc).Date()
		return !time.Date(ly, lm, ld, 0, 0, 0, 0, time.UTC).Before(want)
	}
	if onOrAfter(guess) && !onOrAfter(guess.Add(-time.Second)) {
		return guess.UTC()
	}
	lo, hi := guess.Add(-6*time.Hour), guess.Add(30*time.Hour) // !onOrAfter(lo), onOrAfter(hi)
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
		if onOrAfter(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi.UTC()
}
