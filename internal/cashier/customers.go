package cashier

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/store"
)

// Customer statuses.
const (
	CustomerActive  = "active"
	CustomerBlocked = "blocked"
)

// MaxKYCLevel bounds a customer's KYC level (0: not verified).
const MaxKYCLevel = 9

// customer is a stored customer; limits are minor units, 0 for none.
type customer struct {
	TenantID, ID, Name, Email, Country, Currency, Status string
	KYCLevel                                             int
	MaxDeposit, DailyDeposit, MaxPayout, DailyPayout     int64
	CreatedAt, UpdatedAt                                 time.Time
}

const customerCols = `tenant_id, id, name, email, country, currency, status, kyc_level, max_deposit, daily_deposit, max_payout, daily_payout, created_at, updated_at`

func scanCustomer(row interface{ Scan(...any) error }) (*customer, error) {
	var c customer
	var created, updated int64
	if err := row.Scan(&c.TenantID, &c.ID, &c.Name, &c.Email, &c.Country, &c.Currency, &c.Status, &c.KYCLevel,
		&c.MaxDeposit, &c.DailyDeposit, &c.MaxPayout, &c.DailyPayout, &created, &updated); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &c, nil
}

// loadCustomer reads the tenant's customer (locked in a transaction when
// lock); an unknown one is NotFound.
func (s *Service) loadCustomer(ctx context.Context, q store.Querier, tenantID, id string, lock bool) (*customer, error) {
	suffix := ""
	if lock {
		suffix = s.forUpdate()
	}
	c, err := scanCustomer(q.QueryRowContext(ctx, `SELECT `+customerCols+` FROM cashier_customers WHERE tenant_id = $1 AND id = $2`+suffix, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "customer %q not found: the CRM creates it with PUT /cashier/v1/customers/{id}", id)
	}
	if err != nil {
		return nil, fmt.Errorf("cashier: load customer: %w", err)
	}
	return c, nil
}

// payable is the customer of a deposit or payout: known and active, in
// the operation's currency.
func (s *Service) payable(ctx context.Context, q store.Querier, tenantID, id, currency string, lock bool) (*customer, error) {
	c, err := s.loadCustomer(ctx, q, tenantID, id, lock)
	if apperr.Is(err, apperr.NotFound) {
		return nil, apperr.InvalidField("customerId", "unknown customer %q: the CRM creates it with PUT /cashier/v1/customers/{id} first", id)
	}
	if err != nil {
		return nil, err
	}
	if c.Status != CustomerActive {
		return nil, apperr.New(apperr.Forbidden, "customer %s is blocked: no deposits or payouts", id)
	}
	if currency != "" && currency != c.Currency {
		return nil, apperr.InvalidField("currency", "customer %s holds %s; deposits and payouts are in %s", id, c.Currency, c.Currency)
	}
	return c, nil
}

var customerIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)

// CheckCustomerID refuses an id the Platform cannot use for a customer.
func CheckCustomerID(field, id string) error {
	if !customerIDRE.MatchString(id) {
		return apperr.InvalidField(field, "%s must be 1 to 64 letters, digits or . _ : - (starting with a letter or digit)", field)
	}
	return nil
}

var countryRE = regexp.MustCompile(`^[A-Z]{2}$`)

// PutCustomer creates or replaces the tenant's customer id (201 when
// created, 200 when replaced) and emits cashier.customer.created or
// .updated. A customer's currency cannot change once it has deposits or
// payouts.
func (s *Service) PutCustomer(ctx context.Context, tenantID, id string, in CustomerRequest) (Customer, error) {
	c, err := customerOf(tenantID, id, in)
	if err != nil {
		return Customer{}, err
	}
	var out Customer
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		old, err := s.loadCustomer(ctx, tx, tenantID, id, true)
		created := apperr.Is(err, apperr.NotFound)
		if err != nil && !created {
			return err
		}
		now := s.now()
		c.CreatedAt, c.UpdatedAt = now, now
		if !created {
			c.CreatedAt = old.CreatedAt
			if err := s.checkCurrencyChange(ctx, tx, old, c); err != nil {
				return err
			}
		}
		if err := upsertCustomer(ctx, tx, c); err != nil {
			return err
		}
		out, status, what := viewCustomer(c), http.StatusOK, "updated"
		if created {
			status, what = http.StatusCreated, "created"
		}
		if err := s.emit(ctx, tx, tenantID, "cashier.customer."+what, id, out); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, status, out)
	})
	return out, err
}

// customerOf checks a PUT body.
func customerOf(tenantID, id string, in CustomerRequest) (*customer, error) {
	if err := CheckCustomerID("id", id); err != nil {
		return nil, err
	}
	c := &customer{TenantID: tenantID, ID: id, Name: strings.TrimSpace(in.Name), Email: strings.TrimSpace(in.Email),
		Country: in.Country, Status: in.Status}
	if n := utf8.RuneCountInString(c.Name); n == 0 || n > 200 {
		return nil, apperr.InvalidField("name", "name is required, at most 200 characters")
	}
	if at := strings.IndexByte(c.Email, '@'); at < 1 || at == len(c.Email)-1 || len(c.Email) > 254 || strings.ContainsAny(c.Email, " ,;<>") {
		return nil, apperr.InvalidField("email", "email must be an e-mail address such as ann@example.com")
	}
	if !countryRE.MatchString(c.Country) {
		return nil, apperr.InvalidField("country", "country must be an ISO 3166-1 alpha-2 code such as GB")
	}
	cur, err := money.ParseCurrency(in.Currency)
	if err != nil {
		return nil, apperr.InvalidField("currency", "currency %q is not an ISO 4217 currency code cashgate supports", in.Currency)
	}
	c.Currency = cur.Code()
	if c.Status != CustomerActive && c.Status != CustomerBlocked {
		return nil, apperr.InvalidField("status", "status must be active or blocked")
	}
	if in.KYCLevel == nil || *in.KYCLevel < 0 || *in.KYCLevel > MaxKYCLevel {
		return nil, apperr.InvalidField("kycLevel", "kycLevel is required, 0 (not verified) to %d", MaxKYCLevel)
	}
	c.KYCLevel = *in.KYCLevel
	return c, limitsOf(c, cur, in.Limits)
}

// limitsOf sets c's limits from the wire (decimal amounts in its currency).
func limitsOf(c *customer, cur money.Currency, l *Limits) error {
	if l == nil {
		return nil
	}
	for _, f := range []struct {
		field, v string
		dst      *int64
	}{{"limits.maxDeposit", l.MaxDeposit, &c.MaxDeposit}, {"limits.dailyDeposits", l.DailyDeposits, &c.DailyDeposit},
		{"limits.maxPayout", l.MaxPayout, &c.MaxPayout}, {"limits.dailyPayouts", l.DailyPayouts, &c.DailyPayout}} {
		if f.v == "" {
			continue
		}
		a, err := money.ParseDecimal(f.v, cur)
		if err != nil || a.Minor <= 0 || a.Minor > ledger.MaxAmount {
			return apperr.InvalidField(f.field, "%s must be a positive amount in %s such as \"500.00\" (leave it out for no limit)", f.field, cur.Code())
		}
		*f.dst = a.Minor
	}
	return nil
}

func (s *Service) checkCurrencyChange(ctx context.Context, tx *store.Tx, old, c *customer) error {
	if old.Currency == c.Currency {
		return nil
	}
	var n int
	err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM cashier_deposits WHERE tenant_id = $1 AND customer_id = $2 LIMIT 1) d)
		+ (SELECT COUNT(*) FROM (SELECT 1 FROM cashier_payouts WHERE tenant_id = $1 AND customer_id = $2 LIMIT 1) p)`, c.TenantID, c.ID).Scan(&n)
	if err != nil {
		return fmt.Errorf("cashier: customer history: %w", err)
	}
	if n > 0 {
		return apperr.New(apperr.Conflict, "customer %s has deposits or payouts in %s: its currency cannot change", c.ID, old.Currency)
	}
	return nil
}

func upsertCustomer(ctx context.Context, tx *store.Tx, c *customer) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO cashier_customers (`+customerCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, email = excluded.email, country = excluded.country,
		currency = excluded.currency, status = excluded.status, kyc_level = excluded.kyc_level, max_deposit = excluded.max_deposit,
		daily_deposit = excluded.daily_deposit, max_payout = excluded.max_payout, daily_payout = excluded.daily_payout, updated_at = excluded.updated_at`,
		c.TenantID, c.ID, c.Name, c.Email, c.Country, c.Currency, c.Status, c.KYCLevel, c.MaxDeposit, c.DailyDeposit, c.MaxPayout, c.DailyPayout,
		micros(c.CreatedAt), micros(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("cashier: save customer: %w", err)
	}
	return nil
}

// GetCustomer returns the customer with its balances.
func (s *Service) GetCustomer(ctx context.Context, tenantID, id string) (Customer, error) {
	var out Customer
	err := s.db.Snapshot(ctx, func(ctx context.Context, q store.Querier) error {
		c, err := s.loadCustomer(ctx, q, tenantID, id, false)
		if err != nil {
			return err
		}
		out = viewCustomer(c)
		b, err := s.balanceOf(ctx, q, c)
		out.Balance = &b
		return err
	})
	return out, err
}

// balanceOf is what the ledger and the books say of the customer.
func (s *Service) balanceOf(ctx context.Context, q store.Querier, c *customer) (CustomerBalance, error) {
	var b CustomerBalance
	bal, err := s.ledger.FindAccount(ctx, q, customerSpec(c.TenantID, c.ID, purposeBalance, c.Currency))
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return b, err
	}
	pay, err := s.ledger.FindAccount(ctx, q, customerSpec(c.TenantID, c.ID, purposePayouts, c.Currency))
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return b, err
	}
	var deposited, paid int64
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(captured_amount), 0) FROM cashier_deposits WHERE tenant_id = $1 AND customer_id = $2 AND status = 'captured'`,
		c.TenantID, c.ID).Scan(&deposited); err != nil {
		return b, fmt.Errorf("cashier: deposited: %w", err)
	}
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM cashier_payouts WHERE tenant_id = $1 AND customer_id = $2 AND status = 'paid'`,
		c.TenantID, c.ID).Scan(&paid); err != nil {
		return b, fmt.Errorf("cashier: paid out: %w", err)
	}
	f := func(v int64) string { return format(v, c.Currency) }
	return CustomerBalance{Available: f(bal.Balance.Available), PendingDeposits: f(bal.Balance.PendingIn), PendingPayouts: f(pay.Balance.Posted),
		Deposited: f(deposited), PaidOut: f(paid)}, nil
}

// ListCustomers returns a page of the tenant's customers in id order.
func (s *Service) ListCustomers(ctx context.Context, tenantID string, p Page) (CustomerList, error) {
	after, err := p.check()
	if err != nil {
		return CustomerList{}, err
	}
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+customerCols+` FROM cashier_customers WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		tenantID, after, p.Limit+1)
	if err != nil {
		return CustomerList{}, fmt.Errorf("cashier: list customers: %w", err)
	}
	defer rows.Close()
	out := CustomerList{Data: []Customer{}}
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return CustomerList{}, err
		}
		if len(out.Data) == p.Limit {
			out.Next = base64.RawURLEncoding.EncodeToString([]byte(out.Data[len(out.Data)-1].ID))
			break
		}
		out.Data = append(out.Data, viewCustomer(c))
	}
	return out, rows.Err()
}

func viewCustomer(c *customer) Customer {
	f := func(v int64) string {
		if v == 0 {
			return ""
		}
		return format(v, c.Currency)
	}
	return Customer{ID: c.ID, Name: c.Name, Email: c.Email, Country: c.Country, Currency: c.Currency, Status: c.Status, KYCLevel: c.KYCLevel,
		Limits:    Limits{MaxDeposit: f(c.MaxDeposit), DailyDeposits: f(c.DailyDeposit), MaxPayout: f(c.MaxPayout), DailyPayouts: f(c.DailyPayout)},
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// format renders minor units of code as a decimal string.
func format(minor int64, code string) string {
	cur, err := money.ParseCurrency(code)
	if err != nil {
		return ""
	}
	return money.Format(money.New(minor, cur))
}
