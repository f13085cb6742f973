package wallet

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
)

// CorporateSpec opens a corporate account: a platform tenant, its wallet
// login and its bank account.
type CorporateSpec struct {
	CompanyName string
	Mode        platform.Mode // "" = sandbox
	Timezone    string
	Username    string // the wallet-app login of the corporate
	Password    string
	PIN         string
	IBAN        string
	BIC         string
}

// CorporateCreated is a new corporate account. MerchantSecret is shown once.
type CorporateCreated struct {
	TenantID       string                 `json:"tenantId"`
	MerchantID     string                 `json:"merchantId"`
	MerchantSecret string                 `json:"merchantSecret"`
	User           WalletUser             `json:"user"`
	Tenant         platform.TenantCreated `json:"tenant"`
}

// CreateCorporate creates a tenant (platform.CreateTenant) with a corporate
// wallet of tier Corporate, its login and its (unverified) bank account.
func (s *Service) CreateCorporate(ctx context.Context, spec CorporateSpec) (CorporateCreated, error) {
	name := strings.TrimSpace(spec.CompanyName)
	if name == "" || len(name) > 140 {
		return CorporateCreated{}, apperr.InvalidField("companyName", "company name must be 1 to 140 characters")
	}
	// Everything about the wallet is checked before the tenant is created.
	u, iban, bic, err := s.prepareCorporate(ctx, "pending", spec)
	if err != nil {
		return CorporateCreated{}, err
	}
	ten, err := s.tenants.CreateTenant(ctx, platform.TenantSpec{Name: name, Mode: spec.Mode, Timezone: spec.Timezone})
	if err != nil {
		return CorporateCreated{}, err
	}
	u.TenantID = ten.TenantID
	w, err := s.openCorporate(ctx, ten.TenantID, ten.BusinessCode, name, u, iban, bic)
	if err != nil {
		return CorporateCreated{}, err
	}
	return CorporateCreated{TenantID: w.TenantID, MerchantID: w.MerchantID, MerchantSecret: w.MerchantSecret, User: w.User, Tenant: ten}, nil
}

// CorporateWallet is a corporate wallet opened for an existing tenant.
// MerchantSecret is shown only this once: the merchant builds its
// authorization tokens from it (see MerchantToken).
type CorporateWallet struct {
	TenantID   string `json:"tenantId"`
	MerchantID string `json:"merchantId"`
	// AccountNumber is the corporate wallet's (the same as User's).
	AccountNumber  string     `json:"accountNumber"`
	MerchantSecret string     `json:"merchantSecret"`
	CompanyName    string     `json:"companyName"`
	Tier           Tier       `json:"tier"`
	IBAN           string     `json:"iban"`
	BIC            string     `json:"bic"`
	BankVerified   bool       `json:"bankVerified"`
	User           WalletUser `json:"user"`
}

// OpenCorporate opens the corporate wallet of an existing tenant (tier
// Corporate, unverified bank account, its wallet-app login); the company
// name defaults to the tenant's name. A tenant has at most one corporate
// wallet: a second is a Conflict.
func (s *Service) OpenCorporate(ctx context.Context, tenantID string, spec CorporateSpec) (CorporateWallet, error) {
	ten, err := s.tenants.Tenant(ctx, tenantID)
	if err != nil {
		return CorporateWallet{}, err
	}
	name := strings.TrimSpace(spec.CompanyName)
	if name == "" {
		name = ten.Name
	}
	if name == "" || len(name) > 140 {
		return CorporateWallet{}, apperr.InvalidField("companyName", "company name must be 1 to 140 characters")
	}
	if c, err := s.corporateOf(ctx, s.db.Read(), "tenant_id", ten.ID); err == nil {
		if c.IBAN == "" { // opened receive-only by a remote payment: the merchant claims it
			return s.claimCorporate(ctx, c, name, spec)
		}
		return CorporateWallet{}, apperr.New(apperr.Conflict, "the tenant has a corporate wallet already")
	}
	u, iban, bic, err := s.prepareCorporate(ctx, ten.ID, spec)
	if err != nil {
		return CorporateWallet{}, err
	}
	return s.openCorporate(ctx, ten.ID, ten.BusinessCode, name, u, iban, bic)
}

// claimCorporate gives a receive-only corporate wallet (opened by a remote
// payment, ReceivingAccount) its login, company name and bank account, and
// answers it with its merchant secret, from inside the transaction.
func (s *Service) claimCorporate(ctx context.Context, c corporate, name string, spec CorporateSpec) (CorporateWallet, error) {
	u, iban, bic, err := s.prepareCorporate(ctx, c.TenantID, spec)
	if err != nil {
		return CorporateWallet{}, err
	}
	secret, err := s.open(c.TenantID, c.SecretSealed)
	if err != nil {
		return CorporateWallet{}, err
	}
	var out CorporateWallet
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := exec1(ctx, tx, `UPDATE wallet_corporates SET company_name = $1, iban = $2, bic = $3 WHERE tenant_id = $4 AND iban = ''`,
			name, iban, bic, c.TenantID); err != nil {
			return apperr.New(apperr.Conflict, "the tenant has a corporate wallet already")
		}
		_, err := tx.ExecContext(ctx, `UPDATE wallet_users SET username = $1, password_hash = $2, pin_hash = $3 WHERE id = $4`,
			u.Username, u.PassHash, u.PINHash, c.UserID)
		if store.IsUniqueViolation(err) {
			return &apperr.Error{Code: apperr.Conflict, Field: "username", Message: fmt.Sprintf("username %q is taken", u.Username)}
		}
		if err != nil {
			return err
		}
		owner, err := s.userByID(ctx, tx, c.UserID)
		if err != nil {
			return err
		}
		out = CorporateWallet{TenantID: c.TenantID, MerchantID: c.MerchantID, AccountNumber: owner.AccountNumber, MerchantSecret: secret,
			CompanyName: name, Tier: owner.Tier, IBAN: iban, BIC: bic, User: owner.public()}
		return httpx.Reply(ctx, tx, http.StatusCreated, out)
	})
	return out, err
}

// prepareCorporate validates a corporate wallet's bank account and login
// and hashes its secrets (outside any transaction).
func (s *Service) prepareCorporate(ctx context.Context, tenantID string, spec CorporateSpec) (u user, iban, bic string, err error) {
	if iban, err = ValidateIBAN("iban", spec.IBAN); err != nil {
		return user{}, "", "", err
	}
	if bic, err = ValidateBIC("bic", spec.BIC); err != nil {
		return user{}, "", "", err
	}
	if _, err := s.userByName(ctx, s.db.Read(), "username", spec.Username); err == nil {
		return user{}, "", "", &apperr.Error{Code: apperr.Conflict, Field: "username", Message: fmt.Sprintf("username %q is taken", spec.Username)}
	}
	u, err = s.newUser(KindCorporate, TierCorporate, tenantID, spec.Username, spec.Password, spec.PIN)
	return u, iban, bic, err
}

// openCorporate writes a corporate wallet: its user with the ledger
// account and its wallet_corporates row with a new sealed merchant secret.
func (s *Service) openCorporate(ctx context.Context, tenantID, merchantID, name string, u user, iban, bic string) (CorporateWallet, error) {
	secret := "cgm_" + s.ids.Secret(32)
	sealed := s.seal(tenantID, secret)
	var out CorporateWallet
	err := s.transactNumbered(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		if out, err = s.insertCorporate(ctx, tx, tenantID, merchantID, name, &u, iban, bic, secret, sealed); err != nil {
			return err
		}
		// The answer (with the merchant secret) commits with the wallet; an
		// Idempotency-Key replay returns it, sealed under the KEK while stored.
		return httpx.Reply(ctx, tx, http.StatusCreated, out)
	})
	if err != nil {
		return CorporateWallet{}, err
	}
	return out, nil
}

// insertCorporate writes, in tx, a corporate wallet's user (numbering it)
// and its wallet_corporates row.
func (s *Service) insertCorporate(ctx context.Context, tx *store.Tx, tenantID, merchantID, name string, u *user, iban, bic, secret, sealed string) (CorporateWallet, error) {
	if err := s.insertUser(ctx, tx, u); err != nil {
		return CorporateWallet{}, err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO wallet_corporates (tenant_id, user_id, merchant_id, secret_sealed, company_name, iban, bic, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, tenantID, u.ID, merchantID, sealed, name, iban, bic, micros(s.now()))
	if store.IsUniqueViolation(err) {
		return CorporateWallet{}, apperr.New(apperr.Conflict, "the tenant has a corporate wallet already")
	}
	if err != nil {
		return CorporateWallet{}, err
	}
	return CorporateWallet{TenantID: tenantID, MerchantID: merchantID, AccountNumber: u.AccountNumber, MerchantSecret: secret, CompanyName: name,
		Tier: u.Tier, IBAN: iban, BIC: bic, User: u.public()}, nil
}

// corporate is a wallet_corporates row.
type corporate struct {
	TenantID, UserID, MerchantID, SecretSealed, CompanyName, IBAN, BIC string
	BankVerified                                                       bool
	VerifyCodeHash                                                     string
	VerifyFailures                                                     int
	UpgradeStatus                                                      string
	UpgradeRequestedAt                                                 int64
	PrevSecretSealed                                                   string // the rotated secret, while in its grace
	PrevSecretUntil                                                    int64
}

const corpCols = `tenant_id, user_id, merchant_id, secret_sealed, company_name, iban, bic, bank_verified, verify_code_hash, verify_failures, upgrade_status, upgrade_requested_at, ` +
	`prev_secret_sealed, prev_secret_until`

func scanCorp(r interface{ Scan(...any) error }) (corporate, error) { return scanCorpWith(r) }

// scanCorpWith scans a row of corpCols followed by extra columns.
func scanCorpWith(r interface{ Scan(...any) error }, extra ...any) (corporate, error) {
	var c corporate
	err := r.Scan(append([]any{&c.TenantID, &c.UserID, &c.MerchantID, &c.SecretSealed, &c.CompanyName, &c.IBAN, &c.BIC, &c.BankVerified,
		&c.VerifyCodeHash, &c.VerifyFailures, &c.UpgradeStatus, &c.UpgradeRequestedAt, &c.PrevSecretSealed, &c.PrevSecretUntil}, extra...)...)
	return c, err
}

func (s *Service) corporateOf(ctx context.Context, q store.Querier, where string, arg any) (corporate, error) {
	c, err := scanCorp(q.QueryRowContext(ctx, `SELECT `+corpCols+` FROM wallet_corporates WHERE `+where+` = $1`, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return corporate{}, apperr.New(apperr.NotFound, "corporate account not found")
	}
	if err != nil {
		return corporate{}, fmt.Errorf("wallet: corporate: %w", err)
	}
	return c, nil
}

// ---- merchant authorization ----

// MerchantSalt is a salt handed to a merchant.
type MerchantSalt struct {
	Salt      string    `json:"salt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// A salt is stateless: nothing is stored when it is issued, so an
// unauthenticated flood of salt requests writes nothing. It carries its own
// expiry and a MAC under a server key (Config.SaltKey) that binds it to its
// merchant id:
//
//	salt = lower-case hex(expiry (8 bytes, big-endian unix seconds) || random (8 bytes) || mac (16 bytes))
//	mac  = first 16 bytes of HMAC-SHA256(SaltKey, "cashgate-wallet-salt\n" + merchantId + "\n" || expiry || random)
//
// 32 bytes, 64 hex digits. Merchants treat it as opaque.
const (
	saltExpiryLen = 8
	saltRandomLen = 8
	saltMACLen    = 16
	saltLen       = saltExpiryLen + saltRandomLen + saltMACLen
)

// saltMAC is the MAC of a salt's expiry and random part for a merchant id.
func (s *Service) saltMAC(merchantID string, expiryAndRandom []byte) []byte {
	m := hmac.New(sha256.New, s.cfg.SaltKey)
	m.Write([]byte("cashgate-wallet-salt\n" + merchantID + "\n"))
	m.Write(expiryAndRandom)
	return m.Sum(nil)[:saltMACLen]
}

// NewSalt issues a salt for a merchant id (business code). It reads (the
// merchant must exist) but never writes.
func (s *Service) NewSalt(ctx context.Context, merchantID string) (MerchantSalt, error) {
	merchantID = strings.TrimSpace(merchantID)
	if merchantID == "" {
		return MerchantSalt{}, apperr.InvalidField("merchantId", "merchantId is required")
	}
	if _, err := s.corporateOf(ctx, s.db.Read(), "merchant_id", merchantID); err != nil {
		return MerchantSalt{}, &apperr.Error{Code: apperr.NotFound, Field: "merchantId", Message: fmt.Sprintf("no merchant %q", merchantID)}
	}
	exp := s.now().Add(s.cfg.SaltTTL).Truncate(time.Second)
	b := make([]byte, 0, saltLen)
	b = binary.BigEndian.AppendUint64(b, uint64(exp.Unix()))
	b = append(b, s.ids.Bytes(saltRandomLen)...)
	b = append(b, s.saltMAC(merchantID, b)...)
	return MerchantSalt{Salt: hex.EncodeToString(b), ExpiresAt: exp}, nil
}

// checkSalt verifies a salt's MAC for the merchant id (in constant time)
// and its expiry; it answers the expiry.
func (s *Service) checkSalt(merchantID, salt string) (time.Time, error) {
	b, err := hex.DecodeString(salt)
	if err != nil || len(b) != saltLen || strings.ToLower(salt) != salt {
		return time.Time{}, errToken("invalid salt: request a new salt and build a new token")
	}
	head := b[:saltExpiryLen+saltRandomLen]
	if !hmac.Equal(s.saltMAC(merchantID, head), b[len(head):]) {
		return time.Time{}, errToken("invalid authorization token")
	}
	sec := binary.BigEndian.Uint64(b[:saltExpiryLen])
	if sec > math.MaxInt64/2 {
		return time.Time{}, errToken("invalid authorization token")
	}
	exp := time.Unix(int64(sec), 0).UTC()
	if !s.now().Before(exp) {
		return time.Time{}, errToken("the authorization token has expired: request a new salt")
	}
	return exp, nil
}

// Merchant is an authenticated merchant.
type MerchantAuth struct {
	TenantID   string    `json:"tenantId"`
	MerchantID string    `json:"merchantId"`
	Tier       Tier      `json:"tier"`      // the corporate wallet's: corporate or corporate_plus
	ExpiresAt  time.Time `json:"expiresAt"` // when the token stops being valid
}

func errToken(msg string) error { return apperr.New(apperr.Unauthenticated, "%s", msg) }

// AuthenticateMerchant re-evaluates a merchant token (see MerchantToken).
func (s *Service) AuthenticateMerchant(ctx context.Context, token string) (MerchantAuth, error) {
	if token == "" {
		return MerchantAuth{}, errToken("authorization token missing: send Authorization: Bearer <token> built from a salt")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] == "" || len(parts[1]) != 64 || len(parts[2]) != 64 {
		return MerchantAuth{}, errToken("malformed authorization token: want merchantId.salt.signature")
	}
	exp, err := s.checkSalt(parts[0], parts[1])
	if err != nil {
		return MerchantAuth{}, err
	}
	var tier Tier
	var status string
	c, err := scanCorpWith(s.db.Read().QueryRowContext(ctx, `SELECT `+prefixed("c.", corpCols)+`, u.tier, u.status
FROM wallet_corporates c JOIN wallet_users u ON u.id = c.user_id WHERE c.merchant_id = $1`, parts[0]), &tier, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return MerchantAuth{}, errToken("invalid authorization token")
	}
	if err != nil {
		return MerchantAuth{}, fmt.Errorf("wallet: corporate: %w", err)
	}
	match, err := s.tokenMatches(c, parts[1], token)
	if err != nil {
		return MerchantAuth{}, err
	}
	if c.MerchantID != parts[0] || !match {
		return MerchantAuth{}, errToken("invalid authorization token")
	}
	if status != AccountActive {
		return MerchantAuth{}, apperr.New(apperr.Forbidden, "the corporate wallet of merchant %s is %s", c.MerchantID, status)
	}
	// Seed 000's table: "Communication via API" is Corporate+'s.
	if tier != TierCorporatePlus {
		p, err := s.policy(ctx, s.db.Read())
		if err != nil {
			return MerchantAuth{}, err
		}
		if p.apiPlusOnly {
			return MerchantAuth{}, errAPINeedsPlus(c.MerchantID)
		}
	}
	return MerchantAuth{TenantID: c.TenantID, MerchantID: c.MerchantID, Tier: tier, ExpiresAt: exp}, nil
}

// ---- conversion rates ----

// parseRate validates a rate and returns it in canonical decimal form.
func parseRate(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 32 {
		return "", false
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" || len(frac) > 12 || strings.Trim(intPart+frac, "0123456789") != "" {
		return "", false
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() <= 0 {
		return "", false
	}
	return s, true
}

// ToEUR converts minor units of cur to EUR cents at rate (EUR per unit),
// rounding half up to the cent.
func ToEUR(minor int64, cur money.Currency, rate string) (int64, error) {
	r, ok := new(big.Rat).SetString(rate)
	if !ok || r.Sign() <= 0 {
		return 0, fmt.Errorf("wallet: bad rate %q", rate)
	}
	// cents = minor / 10^exp × rate × 100
	v := new(big.Rat).Mul(new(big.Rat).SetInt64(minor), r)
	v.Mul(v, big.NewRat(100, 1))
	v.Quo(v, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(cur.Exponent())), nil)))
	q, m := new(big.Int).QuoRem(v.Num(), v.Denom(), new(big.Int))
	if new(big.Int).Mul(m, big.NewInt(2)).Cmp(v.Denom()) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() || q.Int64() > 1e15 {
		return 0, apperr.InvalidField("amount", "amount is too large")
	}
	return q.Int64(), nil
}

// validCallbackURL checks the callback URL's form; the outbox checks where
// it points (SSRF rules) when the callback is sent.
func validCallbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(raw) > 2048 {
		return apperr.InvalidField("callbackUrl", "callbackUrl must be an absolute http(s) URL without credentials")
	}
	return nil
}
