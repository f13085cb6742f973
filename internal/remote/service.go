package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/walletpay"
)

// Timing rules.
const (
	DefaultExpiry = 24 * time.Hour      // a payment without expires_at can be paid for a day
	MinExpiry     = time.Minute         // expires_at at least this far ahead
	MaxExpiry     = 30 * 24 * time.Hour // and at most this far
)

// JobExpire is the recurring job that cancels every payment still unpaid
// at its expires_at (cancel_reason "expired"), every Deps.ExpiryEvery (one
// job per installation, however many processes schedule it). A payment
// past its expires_at is refused at once by the page and the API; its
// status, and the event, follow within ExpiryEvery. A job of this kind
// with a payment id in its payload (enqueued per payment by earlier
// versions) expires that payment only.
const JobExpire = "remote.expire"

// DefaultExpiryEvery is how often the expiry sweep runs by default.
const DefaultExpiryEvery = 5 * time.Second

// Wallets are the cashgate wallets remote payments are paid into (the
// e-wallet, wired by the app: products do not import each other).
type Wallets interface {
	// ReceivingAccount returns the account number of the tenant's
	// corporate wallet, which remote payments credit (opening one when the
	// tenant has none).
	ReceivingAccount(ctx context.Context, tenantID string) (string, error)
	// CheckAccount returns the normalised account number s names, or an
	// invalid-field error for field when it is malformed or no wallet has it.
	CheckAccount(ctx context.Context, field, s string) (string, error)
	// LedgerAccount returns, in tx, the ledger scope and account of a
	// wallet's balance in currency (created when missing), which a card
	// payment credits.
	LedgerAccount(ctx context.Context, tx *store.Tx, number, currency string) (scope, accountID string, err error)
}

// Tenants finds a payment's merchant (platform.Service).
type Tenants interface {
	Tenant(ctx context.Context, idOrBusinessCode string) (platform.Tenant, error)
}

// Events writes an event in the caller's transaction (outbox.Outbox).
type Events interface {
	Emit(ctx context.Context, tx *store.Tx, ev outbox.Event) (outbox.Event, error)
	Enqueue(ctx context.Context, tx *store.Tx, spec outbox.JobSpec) (id string, created bool, err error)
}

// Deps are the core services remote payments are built from.
type Deps struct {
	DB      *store.DB
	Clock   clock.Clock
	IDs     *ids.Gen
	Log     *slog.Logger
	Events  Events
	Tenants Tenants
	Wallets Wallets
	// Pay moves money between wallets and checks PINs (the e-wallet).
	Pay walletpay.Wallets
	// Cards accepts cards (cardpay.Engine); Vault keeps a card during its
	// 3-D Secure challenge.
	Cards Cards
	Vault Vault
	// PublicURL is where users reach this cashgate (no trailing slash): the
	// hosted page of payment id is PublicURL + "/pay/" + id.
	PublicURL string
	// ExpiryEvery is how often expired payments are canceled (default
	// DefaultExpiryEvery).
	ExpiryEvery time.Duration
}

// Service is the remote payments product.
type Service struct {
	db      *store.DB
	clk     clock.Clock
	ids     *ids.Gen
	log     *slog.Logger
	events  Events
	tenants Tenants
	wallets Wallets
	pay     walletpay.Wallets
	cards   Cards
	vault   Vault
	public  string
	every   time.Duration // of the expiry sweep

	receiving sync.Map // tenant id → its receiving account number (never changes once opened)
}

// New returns the remote payments service.
func New(d Deps) (*Service, error) {
	if d.DB == nil || d.Clock == nil || d.IDs == nil || d.Events == nil || d.Tenants == nil || d.Wallets == nil || d.Pay == nil || d.Cards == nil || d.Vault == nil {
		return nil, errors.New("remote: missing dependency")
	}
	u, err := url.Parse(d.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("remote: public URL %q: want http(s)://host[:port][/path]", d.PublicURL)
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.ExpiryEvery <= 0 {
		d.ExpiryEvery = DefaultExpiryEvery
	}
	return &Service{db: d.DB, clk: d.Clock, ids: d.IDs, log: d.Log, events: d.Events, tenants: d.Tenants, wallets: d.Wallets,
		pay: d.Pay, cards: d.Cards, vault: d.Vault, public: strings.TrimRight(d.PublicURL, "/"), every: d.ExpiryEvery}, nil
}

// receivingAccount is Wallets.ReceivingAccount, remembered per tenant: a
// corporate wallet's account number never changes, so a payment request
// does not read it again.
func (s *Service) receivingAccount(ctx context.Context, tenantID string) (string, error) {
	if n, ok := s.receiving.Load(tenantID); ok {
		return n.(string), nil
	}
	n, err := s.wallets.ReceivingAccount(ctx, tenantID)
	if err == nil {
		s.receiving.Store(tenantID, n)
	}
	return n, err
}

func (s *Service) now() time.Time { return s.clk.Now().UTC().Truncate(time.Microsecond) }

// PageURL is the hosted payment page of payment id.
func (s *Service) PageURL(id string) string { return s.public + "/pay/" + id }

// emit writes the event of p's state (type remote.payment.<what>) in tx.
func (s *Service) emit(ctx context.Context, tx *store.Tx, p *payment, what string) error {
	_, err := s.events.Emit(ctx, tx, outbox.Event{TenantID: p.TenantID, Type: "remote.payment." + what, Subject: p.ID, Data: s.view(p)})
	return err
}
