package cashier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/cardpay"
	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/walletpay"
)

// Events writes events and jobs in the caller's transaction (outbox.Outbox).
type Events interface {
	Emit(ctx context.Context, tx *store.Tx, ev outbox.Event) (outbox.Event, error)
	Enqueue(ctx context.Context, tx *store.Tx, spec outbox.JobSpec) (id string, created bool, err error)
}

// Tenants finds tenants and their admin users, the back-office agents
// (platform.Service).
type Tenants interface {
	Tenant(ctx context.Context, idOrBusinessCode string) (platform.Tenant, error)
	AdminUser(ctx context.Context, tenantID, userID string) (platform.AdminUser, error)
}

// Cards is the card-acceptance engine (cardpay.Engine).
type Cards interface {
	Assess(ctx context.Context, ch cardpay.Charge) (cardpay.Outcome, error)
	Complete3DS(ctx context.Context, challenge cardpay.Outcome, ch cardpay.Charge, passed bool) (cardpay.Outcome, error)
	Clearing(ctx context.Context, tx *store.Tx, scope, currency string) (string, error)
	// Refund gives a card payment back: the customer's balance → the card
	// scheme's clearing (From), entry kind card_refund.
	Refund(ctx context.Context, tx *store.Tx, s cardpay.RefundSpec) error
	TransactionID(k cardpay.TxnKind) string
}

// Vault keeps a card while its 3-D Secure challenge runs (card.Vault).
type Vault interface {
	Store(ctx context.Context, tx *store.Tx, tenantID string, d card.Details, now time.Time, tokenise bool) (card.Stored, error)
	Open(ctx context.Context, q store.Querier, tenantID, id string) (card.Stored, string, error)
	Forget(ctx context.Context, tx *store.Tx, tenantID, id string) error
}

// Wallets are cashgate wallets (the e-wallet): paying with the PIN, the
// tenant's receiving wallet and checking a customer's account number.
type Wallets interface {
	walletpay.Wallets
	ReceivingAccount(ctx context.Context, tenantID string) (string, error)
	CheckAccount(ctx context.Context, field, number string) (string, error)
}

// Deps are what the cashier is built from.
type Deps struct {
	DB      *store.DB
	Clock   clock.Clock
	IDs     *ids.Gen
	Log     *slog.Logger
	Events  Events
	Tenants Tenants
	Ledger  *ledger.Ledger
	Cards   Cards
	Vault   Vault
	Wallets Wallets
	// Secrets seals the tenants' callback secrets (a key derived from the KEK).
	Secrets outbox.SecretCipher
	// CheckURL refuses callback URLs webhooks could not target (the SSRF
	// rules, outbox.Webhooks.CheckURL).
	CheckURL func(ctx context.Context, raw string) error
	// HTTP calls the Platform's synchronous callbacks (validation, balance
	// check): a client that dials only where webhooks may.
	HTTP *http.Client
	// PublicURL is where customers and PSPs reach this cashgate.
	PublicURL string
	// Sim configures the simulated external PSP.
	Sim SimOptions
}

// Service is the cashier.
type Service struct {
	db       *store.DB
	clk      clock.Clock
	ids      *ids.Gen
	log      *slog.Logger
	events   Events
	tenants  Tenants
	ledger   *ledger.Ledger
	cards    Cards
	vault    Vault
	wallets  Wallets
	secrets  outbox.SecretCipher
	checkURL func(ctx context.Context, raw string) error
	http     *http.Client
	public   string
	psps     map[string]Connector
	sim      *simPSP
}

// New returns the cashier with its built-in PSPs.
func New(d Deps) (*Service, error) {
	if d.DB == nil || d.Clock == nil || d.IDs == nil || d.Events == nil || d.Tenants == nil || d.Ledger == nil ||
		d.Cards == nil || d.Vault == nil || d.Wallets == nil || d.Secrets == nil || d.CheckURL == nil || d.HTTP == nil {
		return nil, errors.New("cashier: missing dependency")
	}
	u, err := url.Parse(d.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("cashier: public URL %q: want http(s)://host[:port][/path]", d.PublicURL)
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{db: d.DB, clk: d.Clock, ids: d.IDs, log: d.Log, events: d.Events, tenants: d.Tenants, ledger: d.Ledger,
		cards: d.Cards, vault: d.Vault, wallets: d.Wallets, secrets: d.Secrets, checkURL: d.CheckURL, http: d.HTTP,
		public: strings.TrimRight(d.PublicURL, "/")}
	if s.sim, err = newSimPSP(s, d.Sim); err != nil {
		return nil, err
	}
	s.psps = map[string]Connector{}
	for _, c := range []Connector{&cardPSP{basePSP{PSPCard}, s}, &walletPSP{basePSP{PSPWallet}, s}, &bankPSP{basePSP{PSPBank}, s}, s.sim,
		&offlinePSP{basePSP{PSPOffline}, s}} {
		s.psps[c.Info().Name] = c
	}
	return s, nil
}

func (s *Service) now() time.Time { return s.clk.Now().UTC().Truncate(time.Microsecond) }

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// emit writes an event of the tenant in tx.
func (s *Service) emit(ctx context.Context, tx *store.Tx, tenantID, typ, subject string, data any) error {
	_, err := s.events.Emit(ctx, tx, outbox.Event{TenantID: tenantID, Type: typ, Subject: subject, Data: data})
	return err
}

// forUpdate is the row-lock suffix of a SELECT inside a transaction.
func (s *Service) forUpdate() string { return s.db.ForUpdate() }
