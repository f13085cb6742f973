package wallet

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/passhash"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
)

// LedgerScope is the ledger tenant id under which all e-money is kept.
const LedgerScope = "wallet"

// Currency is the currency of the seed-000 product: its sends, money
// requests, fees, limits and withdrawals, and every wallet's first
// balance. A wallet may hold others too (AccountIn, Balances).
const Currency = "EUR"

// Ledger owners and purposes of the issuer's accounts.
const (
	ownerIssuer = "issuer"
	ownerBank   = "bank"
)

// Callbacker emits an event and delivers it to a URL the caller supplies
// (outbox.Webhooks.Callback).
type Callbacker interface {
	Callback(ctx context.Context, tx *store.Tx, ev outbox.Event, url string) (outbox.Event, string, error)
	// CheckURL refuses callback URLs the outbox will not deliver to (SSRF rules).
	CheckURL(ctx context.Context, url string) error
}

// Tenants creates and reads platform tenants (platform.Service).
type Tenants interface {
	CreateTenant(ctx context.Context, spec platform.TenantSpec) (platform.TenantCreated, error)
	Tenant(ctx context.Context, idOrBusinessCode string) (platform.Tenant, error)
}

// Config tunes the wallet.
type Config struct {
	// Pepper is mixed into every password, PIN and verification-code hash.
	Pepper []byte
	// SecretKey (32 bytes) seals merchant secrets at rest (AES-256-GCM).
	SecretKey []byte
	// SaltKey (at least 32 bytes) authenticates the merchant salts, which
	// are stateless (see NewSalt). Default: derived from SecretKey as
	// HMAC-SHA256(SecretKey, "cashgate wallet merchant salts").
	SaltKey []byte
	// SecureCookies sets the Secure flag on the session cookie even when
	// the request itself came over plain HTTP: for an installation served
	// over https by a TLS-terminating proxy. Requests that arrive over TLS
	// get it always.
	SecureCookies bool
	// Location decides where a day and a year begin for the limits (default UTC).
	Location *time.Location
	// SessionTTL is how long a wallet-app login lasts (default 12h).
	SessionTTL time.Duration
	// SaltTTL is how long a merchant salt, and so the tokens built from it,
	// stays valid (default 1h).
	SaltTTL time.Duration
	// MaxPINFailures wrong PINs in a row lock PIN checks for PINLock
	// (defaults 5 and 30 minutes). Logins lock the same way.
	MaxPINFailures int
	PINLock        time.Duration
	// HashConcurrency bounds argon2 computations at once (default GOMAXPROCS);
	// HashQueue bounds those waiting; beyond it a check is refused with
	// RateLimited at once (default 4×HashConcurrency).
	HashConcurrency int
	HashQueue       int
	// Argon2 parameters for new hashes (default passhash.Default()).
	Argon2 passhash.Params
	// DefaultTimeFrame is a money request's time frame when the merchant
	// gives none (default 15 minutes); MaxTimeFrame the longest (7 days).
	DefaultTimeFrame time.Duration
	MaxTimeFrame     time.Duration
	// RetailTimeFrame is a retail request's time frame, by default and at
	// most (default 5 minutes): the customer is at the till.
	RetailTimeFrame time.Duration
	// PublicURL is where browsers reach this cashgate (no trailing slash):
	// the widget's script and frame are linked from it, never from Host.
	PublicURL string
	// HousekeepingEvery is how often expired sessions are
	// deleted (JobHousekeeping; default 1 hour).
	HousekeepingEvery time.Duration
	// RatesFetchAt is the time of day (UTC, since midnight) of the daily
	// fetch of the rates from the stored URL (JobFetchRates; default
	// 15:30, after the ECB publishes at about 16:00 CET); RatesRetry how
	// soon a failed fetch is tried again (default 1 hour); RatesClient the
	// HTTP client it uses (nil: http.DefaultClient).
	RatesFetchAt time.Duration
	RatesRetry   time.Duration
	RatesClient  *http.Client
}

func (c *Config) defaults() error {
	if len(c.Pepper) == 0 {
		return errors.New("wallet: a pepper is required")
	}
	if len(c.SecretKey) != 32 {
		return errors.New("wallet: SecretKey must be 32 bytes")
	}
	if len(c.SaltKey) == 0 {
		m := hmac.New(sha256.New, c.SecretKey)
		m.Write([]byte("cashgate wallet merchant salts"))
		c.SaltKey = m.Sum(nil)
	}
	if len(c.SaltKey) < 32 {
		return errors.New("wallet: SaltKey must be at least 32 bytes")
	}
	if c.Location == nil {
		c.Location = time.UTC
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = 12 * time.Hour
	}
	if c.SaltTTL <= 0 {
		c.SaltTTL = time.Hour
	}
	if c.MaxPINFailures <= 0 {
		c.MaxPINFailures = 5
	}
	if c.PINLock <= 0 {
		c.PINLock = 30 * time.Minute
	}
	if c.HashConcurrency <= 0 {
		c.HashConcurrency = runtime.GOMAXPROCS(0)
	}
	if c.HashQueue <= 0 {
		c.HashQueue = 4 * c.HashConcurrency
	}
	if c.Argon2 == (passhash.Params{}) {
		c.Argon2 = passhash.Default()
	}
	if c.DefaultTimeFrame <= 0 {
		c.DefaultTimeFrame = 15 * time.Minute
	}
	if c.MaxTimeFrame <= 0 {
		c.MaxTimeFrame = 7 * 24 * time.Hour
	}
	if c.RetailTimeFrame <= 0 {
		c.RetailTimeFrame = 5 * time.Minute
	}
	if c.RetailTimeFrame < time.Minute || c.RetailTimeFrame > c.MaxTimeFrame {
		return errors.New("wallet: RetailTimeFrame must be 1 minute to MaxTimeFrame")
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.HousekeepingEvery <= 0 {
		c.HousekeepingEvery = time.Hour
	}
	if c.RatesFetchAt <= 0 || c.RatesFetchAt >= 24*time.Hour {
		c.RatesFetchAt = 15*time.Hour + 30*time.Minute
	}
	if c.RatesRetry <= 0 {
		c.RatesRetry = time.Hour
	}
	return nil
}

// Service is the e-wallet. It is safe for concurrent use.
type Service struct {
	db      *store.DB
	clk     clock.Clock
	ids     *ids.Gen
	log     *slog.Logger
	ledger  *ledger.Ledger
	outbox  *outbox.Outbox
	cb      Callbacker
	tenants Tenants
	cfg     Config
	hasher  *passhash.Hasher
	gate    chan struct{} // admission for argon2 work: HashConcurrency+HashQueue slots
	aead    cipher.AEAD
	csrf    *http.CrossOriginProtection // for requests authenticated by the session cookie

	// The issuer's ledger accounts, ensured by New.
	acct struct{ fees, payouts, expenses, clearing string }

	parties parties // wallets by account number, for moves (parties.go)

	pol policyCache // the installation's wallet settings (limits.go)
}

// Deps are the core services the wallet uses.
type Deps struct {
	DB      *store.DB
	Clock   clock.Clock
	IDs     *ids.Gen
	Log     *slog.Logger
	Ledger  *ledger.Ledger
	Outbox  *outbox.Outbox
	Webhook Callbacker
	Tenants Tenants
}

// New builds the wallet, ensures the issuer's ledger accounts exist and
// gives the users created before account numbers existed theirs
// (assignAccountNumbers).
func New(ctx context.Context, d Deps, cfg Config) (*Service, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	block, err := aes.NewCipher(cfg.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("wallet: secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("wallet: secret key: %w", err)
	}
	s := &Service{
		db: d.DB, clk: d.Clock, ids: d.IDs, log: d.Log, ledger: d.Ledger, outbox: d.Outbox,
		cb: d.Webhook, tenants: d.Tenants, cfg: cfg, aead: aead,
		hasher: passhash.New(cfg.Argon2, cfg.Pepper, cfg.HashConcurrency),
		gate:   make(chan struct{}, cfg.HashConcurrency+cfg.HashQueue),
		csrf:   http.NewCrossOriginProtection(),
	}
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		// Every fee is credited to fees and every top-up debits clearing:
		// they are hot (ledger.AccountSpec.Hot).
		for _, a := range []struct {
			dst            *string
			owner, purpose string
			overdraft, hot bool
		}{
			{&s.acct.fees, ownerIssuer, "fees", false, true},
			{&s.acct.payouts, ownerIssuer, "payouts", false, false},
			{&s.acct.expenses, ownerIssuer, "expenses", true, false},
			{&s.acct.clearing, ownerBank, "clearing", true, true},
		} {
			acc, err := s.ledger.EnsureAccount(ctx, tx, ledger.AccountSpec{
				TenantID: LedgerScope, Owner: a.owner, Purpose: a.purpose, Currency: Currency, AllowOverdraft: a.overdraft, Hot: a.hot,
			})
			if err != nil {
				return err
			}
			*a.dst = acc.ID
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("wallet: issuer accounts: %w", err)
	}
	if err := s.assignAccountNumbers(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// IssuerAccounts are the ids of the issuer's ledger accounts (LedgerScope).
type IssuerAccounts struct {
	Fees, Payouts, Expenses, BankClearing string
}

// IssuerAccounts returns the ids of the issuer's ledger accounts.
func (s *Service) IssuerAccounts() IssuerAccounts {
	return IssuerAccounts{Fees: s.acct.fees, Payouts: s.acct.payouts, Expenses: s.acct.expenses, BankClearing: s.acct.clearing}
}

func (s *Service) now() time.Time { return s.clk.Now().UTC().Truncate(time.Microsecond) }

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(n int64) time.Time { return time.UnixMicro(n).UTC() }

// seal encrypts a merchant secret, bound to its tenant.
func (s *Service) seal(tenantID, secret string) string {
	nonce := s.ids.Bytes(s.aead.NonceSize())
	out := s.aead.Seal(nonce, nonce, []byte(secret), []byte("wallet merchant secret "+tenantID))
	return base64.StdEncoding.EncodeToString(out)
}

// open decrypts a sealed merchant secret.
func (s *Service) open(tenantID, sealed string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", errors.New("wallet: damaged merchant secret")
	}
	n := s.aead.NonceSize()
	p, err := s.aead.Open(nil, b[:n], b[n:], []byte("wallet merchant secret "+tenantID))
	if err != nil {
		return "", errors.New("wallet: merchant secret does not open with this key")
	}
	return string(p), nil
}

// admitHash reserves a slot for argon2 work or refuses at once when the
// queue is full, so a flood of PIN or password guesses cannot pile up
// goroutines and memory; the hasher's own semaphore bounds the CPU.
func (s *Service) admitHash() (release func(), err error) {
	select {
	case s.gate <- struct{}{}:
		return func() { <-s.gate }, nil
	default:
		return nil, &apperr.Error{Code: apperr.RateLimited, Message: "too many PIN and password checks at once; try again in a second", RetryAfterSeconds: 1}
	}
}

// hash hashes a password, PIN or code.
func (s *Service) hash(secret string) (string, error) {
	release, err := s.admitHash()
	if err != nil {
		return "", err
	}
	defer release()
	return s.hasher.Hash(secret, s.ids.Bytes(s.hasher.SaltLength()))
}

// hashPIN hashes a PIN with the keyed hash (microseconds: no admission).
func (s *Service) hashPIN(pin string) (string, error) {
	return s.hasher.HashPIN(pin, s.ids.Bytes(s.hasher.SaltLength()))
}

// noSecret is a stored password or PIN hash that no secret matches (a
// receive-only corporate wallet has no login): verify refuses it without
// hashing.
const noSecret = "!"

// verify checks secret against a stored hash.
func (s *Service) verify(encoded, secret string) (bool, error) {
	if encoded == noSecret {
		return false, nil
	}
	release, err := s.admitHash()
	if err != nil {
		return false, err
	}
	defer release()
	return s.hasher.Verify(encoded, secret)
}

// txIDEncoding is the ids package's alphabet: digits and lower-case
// letters in ASCII order, so encoded ids sort as their bytes do.
var txIDEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// txID makes a wallet transaction id: "wtx_" and 26 characters encoding the
// creation time (8 bytes, Unix microseconds, big-endian) and 8 random
// bytes. Ids made later sort later, so new rows land at the right edge of
// the indexes keyed by them (the transactions' primary key, the events'
// subject index) instead of on a random page each: fewer pages written per
// commit.
func (s *Service) txID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMicro()))
	copy(b[8:], s.ids.Bytes(8))
	return "wtx_" + txIDEncoding.EncodeToString(b[:])
}
