package wallet

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
)

// LimitsCacheTTL is how long a process keeps the private tier's limits it
// read: a change made through another process (SetPrivateLimits there)
// applies here within it; through this process, at once.
const LimitsCacheTTL = 2 * time.Second

// settingPrivateLimits is the wallet_settings row holding the private
// tier's limits (JSON of TierLimits); absent: DefaultPrivateLimits.
const settingPrivateLimits = "private_limits"

// limitsCache is the process's copy of the private tier's limits.
type limitsCache struct {
	mu    sync.Mutex
	v     TierLimits
	until time.Time // zero: not loaded
}

// limits returns the limits of tier t: the guide's columns for the
// corporate tiers, the operator's for private users (read through q when
// this process's copy is older than LimitsCacheTTL, so inside a
// transaction pass its tx).
func (s *Service) limits(ctx context.Context, q store.Querier, t Tier) (TierLimits, error) {
	if t != TierPrivate {
		return LimitsOf(t), nil
	}
	now := s.clk.Now()
	s.privLimits.mu.Lock()
	v, fresh := s.privLimits.v, now.Before(s.privLimits.until)
	s.privLimits.mu.Unlock()
	if fresh {
		return v, nil
	}
	v, err := readPrivateLimits(ctx, q)
	if err != nil {
		return TierLimits{}, err
	}
	s.remember(v, now)
	return v, nil
}

func (s *Service) remember(v TierLimits, now time.Time) {
	s.privLimits.mu.Lock()
	s.privLimits.v, s.privLimits.until = v, now.Add(LimitsCacheTTL)
	s.privLimits.mu.Unlock()
}

func readPrivateLimits(ctx context.Context, q store.Querier) (TierLimits, error) {
	var raw string
	err := q.QueryRowContext(ctx, `SELECT value FROM wallet_settings WHERE name = $1`, settingPrivateLimits).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultPrivateLimits(), nil
	}
	if err != nil {
		return TierLimits{}, fmt.Errorf("wallet: private limits: %w", err)
	}
	var v TierLimits
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return TierLimits{}, fmt.Errorf("wallet: private limits: %w", err)
	}
	return v, nil
}

// Limits returns the limits a wallet of tier t has now.
func (s *Service) Limits(ctx context.Context, t Tier) (TierLimits, error) {
	return s.limits(ctx, s.db.Read(), t)
}

// PrivateLimits returns the private tier's limits as stored now (not the
// process's copy).
func (s *Service) PrivateLimits(ctx context.Context) (TierLimits, error) {
	return readPrivateLimits(ctx, s.db.Read())
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
	s.remember(l, s.clk.Now())
	return l, nil
}
