package wallet

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/store"
)

// Tier is a wallet's account type; it selects a column of the guide's fee
// and limit table.
type Tier string

// The tiers. The guide's table has two columns, Corporate and Corporate+;
// private users (customers) have a tier of their own whose limits the
// operator sets (SetPrivateLimits; DefaultPrivateLimits until then) and
// whose fees are the Corporate column's (the guide gives the send fees by
// recipient, the same in both columns; a private user pays no receive fee).
const (
	TierPrivate       Tier = "private"
	TierCorporate     Tier = "corporate"
	TierCorporatePlus Tier = "corporate_plus"
)

// Unlimited marks a limit the tier does not have.
const Unlimited int64 = -1

// Limits are one column of the guide's limit table. Amounts are EUR cents.
type TierLimits struct {
	TopUpsPerDay          int64 // number of top-ups per day
	TopUpPerYear          int64 // top-up amount per calendar year
	WithdrawalPerYear     int64 // withdrawal amount per calendar year
	PurchasesPerDay       int64 // approved money requests per day (as payer)
	TransactionsPerDay    int64 // outgoing payments (sends and purchases) per day
	MaxPerTransaction     int64 // amount of one send or purchase, paid or received
	MinPerTransaction     int64 // amount of one send, request, purchase or withdrawal
	WithdrawalsPerDay     int64 // number of withdrawals per day
	MaxWithdrawalPerTrans int64 // amount of one withdrawal
}

// Fees are one column of the guide's fee table. Amounts are EUR cents.
type TierFees struct {
	// ReceiveFreeBelow: money received below this amount is free ("< 1 €");
	// from it on ("> 1 €", and 1.00 € itself, which is not below 1 €) the
	// receiver pays ReceiveBasisPoints of the amount plus ReceiveFixed.
	ReceiveFreeBelow   int64
	ReceiveBasisPoints int64
	ReceiveFixed       int64
	Withdraw           int64 // withdraw money to a SEPA account
	SendPrivate        int64 // send money to a private user
	SendCorporate      int64 // send money to a CorporateAccount or CorporateAccount+ user
}

// FeeRounding is how a percentage fee is rounded to the cent: half up
// (commercial rounding), so 1.5 % of 1.00 € = 1.5 ct becomes 2 ct and
// 1.5 % of 1.10 € = 1.65 ct becomes 2 ct, 1.5 % of 1.30 € = 1.95 ct → 2 ct,
// 1.5 % of 1.70 € = 2.55 ct → 3 ct. The fixed part is added after rounding.
const FeeRounding = money.RoundHalfUp

// DefaultPrivateLimits are a private user's limits until the operator sets
// others (SetPrivateLimits). The guide gives private users no column, so
// these are cashgate's: the amounts of the guide's basic (Corporate)
// column — 0.20 € to 200 € a payment, 3 top-ups a day and 2,500 € a year,
// one withdrawal a day of at most 1,000 € and 1,000 € a year — and the
// daily counts of a shopper rather than of an unverified business: 10
// purchases (approved money requests) and 20 outgoing payments (sends and
// purchases) a day.
func DefaultPrivateLimits() TierLimits {
	return TierLimits{TopUpsPerDay: 3, TopUpPerYear: 250000, WithdrawalPerYear: 100000, PurchasesPerDay: 10,
		TransactionsPerDay: 20, MaxPerTransaction: 20000, MinPerTransaction: 20, WithdrawalsPerDay: 1, MaxWithdrawalPerTrans: 100000}
}

// LimitsOf returns the limits of a tier: the guide's columns for the
// corporate tiers, DefaultPrivateLimits for private users (the operator's
// own are Service.Limits).
func LimitsOf(t Tier) TierLimits {
	switch t {
	case TierCorporatePlus:
		return TierLimits{TopUpsPerDay: 5, TopUpPerYear: Unlimited, WithdrawalPerYear: Unlimited, PurchasesPerDay: Unlimited,
			TransactionsPerDay: Unlimited, MaxPerTransaction: Unlimited, MinPerTransaction: 20, WithdrawalsPerDay: 1, MaxWithdrawalPerTrans: Unlimited}
	case TierCorporate:
		return TierLimits{TopUpsPerDay: 3, TopUpPerYear: 250000, WithdrawalPerYear: 100000, PurchasesPerDay: 3,
			TransactionsPerDay: 5, MaxPerTransaction: 20000, MinPerTransaction: 20, WithdrawalsPerDay: 1, MaxWithdrawalPerTrans: 100000}
	}
	return DefaultPrivateLimits()
}

// FeesOf returns the fees of a tier (private users: the Corporate column's).
func FeesOf(t Tier) TierFees {
	if t == TierCorporatePlus {
		return TierFees{ReceiveFreeBelow: 100, ReceiveBasisPoints: 100, ReceiveFixed: 15, Withdraw: 200, SendPrivate: 25, SendCorporate: 50}
	}
	return TierFees{ReceiveFreeBelow: 100, ReceiveBasisPoints: 150, ReceiveFixed: 20, Withdraw: 200, SendPrivate: 25, SendCorporate: 50}
}

// ReceiveFee is the fee a wallet of tier t pays on receiving amount cents
// from a customer (money request payments and sends to a corporate).
func ReceiveFee(t Tier, amount int64) (int64, error) {
	f := FeesOf(t)
	if amount < f.ReceiveFreeBelow {
		return 0, nil
	}
	pct, err := money.PercentOf(amount, f.ReceiveBasisPoints, FeeRounding)
	if err != nil {
		return 0, err
	}
	return pct + f.ReceiveFixed, nil
}

// SendFee is the fee the sender pays on top of a send to a user of kind
// recipientKind ("private" or "corporate").
func SendFee(t Tier, recipientKind string) int64 {
	if recipientKind == KindCorporate {
		return FeesOf(t).SendCorporate
	}
	return FeesOf(t).SendPrivate
}

// The limits by name, as the errors name them.
const (
	LimitTopUpsPerDay          = "top_ups_per_day"
	LimitTopUpPerYear          = "top_up_per_year"
	LimitWithdrawalPerYear     = "withdrawal_per_year"
	LimitPurchasesPerDay       = "purchases_per_day"
	LimitTransactionsPerDay    = "transactions_per_day"
	LimitMaxPerTransaction     = "max_per_transaction"
	LimitMinPerTransaction     = "min_per_transaction"
	LimitWithdrawalsPerDay     = "withdrawals_per_day"
	LimitMaxWithdrawalPerTrans = "max_withdrawal_per_transaction"
)

// The sides of a movement a limit is applied to (LimitError.Side).
const (
	SidePayer     = "payer"     // the wallet money leaves: a send's sender, a money request's customer
	SideRecipient = "recipient" // the wallet money arrives in: a send's recipient, a money request's merchant
)

// LimitError is the cause of an apperr.LimitExceeded: the limit refused.
type LimitError struct {
	Name  string // one of the Limit… names
	Tier  Tier   // the tier of the wallet whose limit it is
	Side  string // SidePayer or SideRecipient for the amount limits of a movement; "" for the wallet's own operation
	Limit int64  // the limit's value (a count, or EUR cents)
}

func (e *LimitError) Error() string { return "limit " + e.Name + " exceeded" }

// LimitName names the limit (httpx's wallet error format reads it).
func (e *LimitError) LimitName() string { return e.Name }

func eur(cents int64) string {
	return money.Format(money.New(cents, money.MustParseCurrency(Currency))) + " EUR"
}

func limitErr(name string, t Tier, limit int64, format string, args ...any) error {
	return apperr.Wrap(&LimitError{Name: name, Tier: t, Limit: limit}, apperr.LimitExceeded,
		"limit %s (%s): %s", name, t, fmt.Sprintf(format, args...))
}

// checkAmount applies the per-transaction amount limits l (of tier t) of
// one side of a send or purchase: the payer's limits to what it pays, the
// recipient's to what it receives.
func checkAmount(l TierLimits, t Tier, side string, amount int64) error {
	who := "the payer's"
	if side == SideRecipient {
		who = "the recipient's"
	}
	if amount < l.MinPerTransaction {
		return apperr.Wrap(&LimitError{Name: LimitMinPerTransaction, Tier: t, Side: side, Limit: l.MinPerTransaction}, apperr.LimitExceeded,
			"limit %s (%s, %s): the minimum amount per transaction is %s (%s limit)", LimitMinPerTransaction, t, side, eur(l.MinPerTransaction), who)
	}
	if l.MaxPerTransaction != Unlimited && amount > l.MaxPerTransaction {
		return apperr.Wrap(&LimitError{Name: LimitMaxPerTransaction, Tier: t, Side: side, Limit: l.MaxPerTransaction}, apperr.LimitExceeded,
			"limit %s (%s, %s): the maximum amount per transaction is %s (%s limit)", LimitMaxPerTransaction, t, side, eur(l.MaxPerTransaction), who)
	}
	return nil
}

// checkSides applies the amount limits of a movement of amount from payer
// to recipient, each party's own to its own side, read through q.
func (s *Service) checkSides(ctx context.Context, q store.Querier, payer, recipient user, amount int64) error {
	pl, err := s.limits(ctx, q, payer.Tier)
	if err != nil {
		return err
	}
	if err := checkAmount(pl, payer.Tier, SidePayer, amount); err != nil {
		return err
	}
	rl, err := s.limits(ctx, q, recipient.Tier)
	if err != nil {
		return err
	}
	return checkAmount(rl, recipient.Tier, SideRecipient, amount)
}

// usage counters: metric names and their periods.
const (
	metricTopUps       = "top_ups"
	metricWithdrawals  = "withdrawals"
	metricPurchases    = "purchases"
	metricTransactions = "transactions"
	// metricVerifications counts 2-cent verification transfers (per day).
	metricVerifications = "verifications"
)

func (s *Service) day(t time.Time) string  { return t.In(s.cfg.Location).Format("2006-01-02") }
func (s *Service) year(t time.Time) string { return t.In(s.cfg.Location).Format("2006") }

// sqlUse counts one more movement of amount in a usage counter, unless that
// would pass maxN movements or maxAmount (negative: no limit). It returns no
// row when refused. The guard is evaluated on the locked row, so concurrent
// movements cannot pass a limit together.
const sqlUse = `INSERT INTO wallet_usage (user_id, period, metric, n, amount) VALUES ($1, $2, $3, 1, $4)
ON CONFLICT (user_id, period, metric) DO UPDATE SET n = wallet_usage.n + 1, amount = wallet_usage.amount + excluded.amount
WHERE (CAST($5 AS BIGINT) < 0 OR wallet_usage.n + 1 <= CAST($5 AS BIGINT))
  AND (CAST($6 AS BIGINT) < 0 OR wallet_usage.amount + excluded.amount <= CAST($6 AS BIGINT))
RETURNING n`

// use counts a movement against a counter with a count limit (maxN) and/or
// an amount limit (maxAmount); errN/errAmount build the refusals.
func (s *Service) use(ctx context.Context, tx *store.Tx, userID, period, metric string, amount, maxN, maxAmount int64, errN, errAmount func() error) error {
	if maxN == 0 {
		return errN()
	}
	if maxAmount != Unlimited && amount > maxAmount {
		return errAmount()
	}
	var n int64
	err := tx.QueryRowContext(ctx, sqlUse, userID, period, metric, amount, maxN, maxAmount).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		var cur, curAmount int64
		if err := tx.QueryRowContext(ctx, `SELECT n, amount FROM wallet_usage WHERE user_id = $1 AND period = $2 AND metric = $3`,
			userID, period, metric).Scan(&cur, &curAmount); err != nil {
			return fmt.Errorf("wallet: usage: %w", err)
		}
		if maxN != Unlimited && cur+1 > maxN {
			return errN()
		}
		return errAmount()
	}
	if err != nil {
		return fmt.Errorf("wallet: usage: %w", err)
	}
	return nil
}

// useOutgoing counts an outgoing payment (a send, or a purchase when
// purchase) against the payer's daily limits.
func (s *Service) useOutgoing(ctx context.Context, tx *store.Tx, u user, amount int64, purchase bool, now time.Time) error {
	l, err := s.limits(ctx, tx, u.Tier)
	if err != nil {
		return err
	}
	d := s.day(now)
	none := func() error { return nil }
	if purchase && l.PurchasesPerDay != Unlimited {
		if err := s.use(ctx, tx, u.ID, d, metricPurchases, amount, l.PurchasesPerDay, Unlimited, func() error {
			return limitErr(LimitPurchasesPerDay, u.Tier, l.PurchasesPerDay, "at most %d purchases per day", l.PurchasesPerDay)
		}, none); err != nil {
			return err
		}
	}
	if l.TransactionsPerDay != Unlimited {
		if err := s.use(ctx, tx, u.ID, d, metricTransactions, amount, l.TransactionsPerDay, Unlimited, func() error {
			return limitErr(LimitTransactionsPerDay, u.Tier, l.TransactionsPerDay, "at most %d transactions per day", l.TransactionsPerDay)
		}, none); err != nil {
			return err
		}
	}
	return nil
}

// useTopUp counts a top-up against the daily count and the yearly amount.
// The guide's limits are in EUR: a top-up in another currency (the
// sandbox's) counts towards the daily number only.
func (s *Service) useTopUp(ctx context.Context, tx *store.Tx, u user, a money.Amount, now time.Time) error {
	l, err := s.limits(ctx, tx, u.Tier)
	if err != nil {
		return err
	}
	none := func() error { return nil }
	amount := a.Minor
	if a.Currency.Code() != Currency {
		amount = 0 // the counters' amounts are EUR cents
	}
	if err := s.use(ctx, tx, u.ID, s.day(now), metricTopUps, amount, l.TopUpsPerDay, Unlimited, func() error {
		return limitErr(LimitTopUpsPerDay, u.Tier, l.TopUpsPerDay, "at most %d top-ups per day", l.TopUpsPerDay)
	}, none); err != nil {
		return err
	}
	if l.TopUpPerYear != Unlimited && amount > 0 {
		return s.use(ctx, tx, u.ID, s.year(now), metricTopUps, amount, Unlimited, l.TopUpPerYear, none, func() error {
			return limitErr(LimitTopUpPerYear, u.Tier, l.TopUpPerYear, "top-ups are limited to %s per year", eur(l.TopUpPerYear))
		})
	}
	return nil
}

// useWithdrawal applies the withdrawal limits.
func (s *Service) useWithdrawal(ctx context.Context, tx *store.Tx, u user, amount int64, now time.Time) error {
	l, err := s.limits(ctx, tx, u.Tier)
	if err != nil {
		return err
	}
	if amount < l.MinPerTransaction {
		return limitErr(LimitMinPerTransaction, u.Tier, l.MinPerTransaction, "the minimum amount per transaction is %s", eur(l.MinPerTransaction))
	}
	if l.MaxWithdrawalPerTrans != Unlimited && amount > l.MaxWithdrawalPerTrans {
		return limitErr(LimitMaxWithdrawalPerTrans, u.Tier, l.MaxWithdrawalPerTrans, "at most %s per withdrawal", eur(l.MaxWithdrawalPerTrans))
	}
	none := func() error { return nil }
	if err := s.use(ctx, tx, u.ID, s.day(now), metricWithdrawals, amount, l.WithdrawalsPerDay, Unlimited, func() error {
		return limitErr(LimitWithdrawalsPerDay, u.Tier, l.WithdrawalsPerDay, "at most %d withdrawal per day", l.WithdrawalsPerDay)
	}, none); err != nil {
		return err
	}
	if l.WithdrawalPerYear != Unlimited {
		return s.use(ctx, tx, u.ID, s.year(now), metricWithdrawals, amount, Unlimited, l.WithdrawalPerYear, none, func() error {
			return limitErr(LimitWithdrawalPerYear, u.Tier, l.WithdrawalPerYear, "withdrawals are limited to %s per year", eur(l.WithdrawalPerYear))
		})
	}
	return nil
}
