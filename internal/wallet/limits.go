package wallet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
)

// LimitsCacheTTL is how long a process keeps the installation's wallet
// settings it read (the private tier's limits, the API rule): a change
// made through another process applies here within it; through this
// process, at once.
const LimitsCacheTTL = 2 * time.Second

// The wallet_settings rows of the policy: the private tier's limits (JSON
// of TierLimits; absent: DefaultPrivateLimits) and whether the merchant
// API is for Corporate+ only ("true"/"false"; absent: true).
const (
	settingPrivateLimits = "private_limits"
	settingAPIPlusOnly   = "api_corporate_plus_only"
	settingMaxRateAge    = "max_rate_age" // a Go duration; absent: DefaultMaxRateAge
)

// policy is the installation's wallet settings that every movement or
// merchant call consults.
type policy struct {
	private     TierLimits
	apiPlusOnly bool
	maxRateAge  time.Duration
}

// policyCache is the process's copy of the policy.
type policyCache struct {
	mu    sync.Mutex
	v     policy
	until time.Time // zero: not loaded
}

// policy returns the installation's policy, read through q when this
// process's copy is older than LimitsCacheTTL (inside a transaction pass
// its tx).
func (s *Service) policy(ctx context.Context, q store.Querier) (policy, error) {
	now := s.clk.Now()
	s.pol.mu.Lock()
	v, fresh := s.pol.v, now.Before(s.pol.until)
	s.pol.mu.Unlock()
	if fresh {
		return v, nil
	}
	v, err := readPolicy(ctx, q)
	if err != nil {
		return policy{}, err
	}
	s.remember(v, now)
	return v, nil
}

// limits returns the limits of tier t: the guide's columns for the
// corporate tiers, the operator's for private users.
func (s *Service) limits(ctx context.Context, q store.Querier, t Tier) (TierLimits, error) {
	if t != TierPrivate {
		return LimitsOf(t), nil
	}
	p, err := s.policy(ctx, q)
	return p.private, err
}

func (s *Service) remember(v policy, now time.Time) {
	s.pol.mu.Lock()
	s.pol.v, s.pol.until = v, now.Add(LimitsCacheTTL)
	s.pol.mu.Unlock()
}

// forget drops the process's copy (after this process changed a setting).
func (s *Service) forget() {
	s.pol.mu.Lock()
	s.pol.until = time.Time{}
	s.pol.mu.Unlock()
}

func readPolicy(ctx context.Context, q store.Querier) (policy, error) {
	p := policy{private: DefaultPrivateLimits(), apiPlusOnly: true, maxRateAge: DefaultMaxRateAge}
	rows, err := q.QueryContext(ctx, `SELECT name, value FROM wallet_settings WHERE name IN ($1, $2, $3)`, settingPrivateLimits, settingAPIPlusOnly, settingMaxRateAge)
	if err != nil {
		return policy{}, fmt.Errorf("wallet: settings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, raw string
		if err := rows.Scan(&name, &raw); err != nil {
			return policy{}, fmt.Errorf("wallet: settings: %w", err)
		}
		switch name {
		case settingPrivateLimits:
			if err := json.Unmarshal([]byte(raw), &p.private); err != nil {
				return policy{}, fmt.Errorf("wallet: private limits: %w", err)
			}
		case settingAPIPlusOnly:
			p.apiPlusOnly = raw != "false"
		case settingMaxRateAge:
			if p.maxRateAge, err = time.ParseDuration(raw); err != nil {
				return policy{}, fmt.Errorf("wallet: max rate age: %w", err)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return policy{}, fmt.Errorf("wallet: settings: %w", err)
	}
	return p, nil
}

// Limits returns the limits a wallet of tier t has now.
func (s *Service) Limits(ctx context.Context, t Tier) (TierLimits, error) {
	return s.limits(ctx, s.db.Read(), t)
}

// PrivateLimits returns the private tier's limits as stored now (not the
// process's copy).
func (s *Service) PrivateLimits(ctx context.Context) (TierLimits, error) {
	p, err := readPolicy(ctx, s.db.Read())
	return p.private, err
}

// LimitNames are the limits of a tier by the names the errors use, in the
// order of the guide's table.
func LimitNames() []string {
	return []string{LimitTopUpsPerDay, LimitTopUpPerYear, LimitWithdrawalPerYear, LimitPurchasesPerDay, LimitTransactionsPerDay,
		LimitMaxPerTransaction, LimitWithdrawalsPerDay, LimitMaxWithdrawalPerTrans, LimitMinPerTransaction}
}

// Field returns the limit named name (one of LimitNames) in l.
func (l *TierLimits) Field(name string) (*int64, bool) {
	m := map[string]*int64{
		LimitTopUpsPerDay: &l.TopUpsPerDay, LimitTopUpPerYear: &l.TopUpPerYear, LimitWithdrawalPerYear: &l.WithdrawalPerYear,
		LimitPurchasesPerDay: &l.PurchasesPerDay, LimitTransactionsPerDay: &l.TransactionsPerDay, LimitMaxPerTransaction: &l.MaxPerTransaction,
		LimitMinPerTransaction: &l.MinPerTransaction, LimitWithdrawalsPerDay: &l.WithdrawalsPerDay, LimitMaxWithdrawalPerTrans: &l.MaxWithdrawalPerTrans,
	}
	p, ok := m[name]
	return p, ok
}

// maxLimit bounds a limit's value (counts and cents): far beyond any real
// limit, and far from int64 overflow when amounts are added to it.
const maxLimit = 1_000_000_000_000

// Validate refuses limits that cannot be applied: each is Unlimited (-1)
// or 0 to 10^12 (0 forbids the movement: no top-ups, no withdrawals…),
// the minimum amount per transaction is at least 0.01 € and not Unlimited,
// and no maximum is below it.
func (l TierLimits) Validate() error {
	for _, name := range LimitNames() {
		p, _ := l.Field(name)
		if *p < Unlimited || *p > maxLimit {
			return apperr.InvalidField(name, "%s must be -1 (unlimited) or 0 to %d", name, int64(maxLimit))
		}
	}
	if l.MinPerTransaction < 1 {
		return apperr.InvalidField(LimitMinPerTransaction, "%s must be at least 1 (0.01 EUR)", LimitMinPerTransaction)
	}
	for _, m := range []struct {
		name string
		v    int64
	}{{LimitMaxPerTransaction, l.MaxPerTransaction}, {LimitMaxWithdrawalPerTrans, l.MaxWithdrawalPerTrans}} {
		if m.v != Unlimited && m.v < l.MinPerTransaction {
			return apperr.InvalidField(m.name, "%s (%s) is below the minimum amount per transaction (%s)", m.name, eur(m.v), eur(l.MinPerTransaction))
		}
	}
	return nil
}

// SetPrivateLimits sets the private tier's limits for the installation
// (every process reads them within LimitsCacheTTL). Movements counted
// before the change keep counting: lowering the purchases per day to 2
// when a user made 3 today refuses their next one.
func (s *Service) SetPrivateLimits(ctx context.Context, l TierLimits) (TierLimits, error) {
	if err := l.Validate(); err != nil {
		return TierLimits{}, err
	}
	raw, err := json.Marshal(l)
	if err != nil {
		return TierLimits{}, err
	}
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO wallet_settings (name, value) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET value = excluded.value`, settingPrivateLimits, string(raw)); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusOK, l) // the answer commits with the setting
	})
	if err != nil {
		return TierLimits{}, err
	}
	s.forget()
	return l, nil
}

// APIAccess is the installation's rule for the merchant API (seed 000's
// "Communication via API": Corporate+ only).
type APIAccess struct {
	// CorporatePlusOnly refuses merchant API calls of Corporate accounts
	// (default true, as the guide's table says); false opens the API to
	// every corporate account.
	CorporatePlusOnly bool `json:"corporatePlusOnly"`
}

// APIAccessRule returns the merchant API's rule as stored now.
func (s *Service) APIAccessRule(ctx context.Context) (APIAccess, error) {
	p, err := readPolicy(ctx, s.db.Read())
	return APIAccess{CorporatePlusOnly: p.apiPlusOnly}, err
}

// SetAPIAccessRule sets the merchant API's rule for the installation (every
// process follows within LimitsCacheTTL).
func (s *Service) SetAPIAccessRule(ctx context.Context, a APIAccess) (APIAccess, error) {
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO wallet_settings (name, value) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET value = excluded.value`, settingAPIPlusOnly, fmt.Sprint(a.CorporatePlusOnly))
		return err
	})
	if err != nil {
		return APIAccess{}, err
	}
	s.forget()
	return a, nil
}

// errAPINeedsPlus is the refusal of a Corporate account's merchant API call.
func errAPINeedsPlus(merchantID string) error {
	return apperr.New(apperr.Forbidden, "communication via API is for Corporate+ accounts (the fee and limit table); merchant %s is Corporate. "+
		"Upgrade to Corporate+ (free): verify the bank account with the 2-cent transfer, upload the company's documents, then ask for Corporate+ "+
		"(wallet app API: POST /wallet/app/v1/bank-account/verification, POST /wallet/app/v1/bank-account/verify with the code, "+
		"POST /wallet/app/v1/upgrade/documents, POST /wallet/app/v1/upgrade; or the back office's Wallet page); "+
		"the issuer approves it after checking the company's documents", merchantID)
}
