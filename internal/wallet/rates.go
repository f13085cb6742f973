package wallet

import (
	"context"
	"database/sql"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/store"
)

// Rate is a conversion rate to EUR: 1 unit of Currency is Rate EUR, as of
// Date (the ECB's reference date for an imported rate; the day the
// operator set it otherwise).
type Rate struct {
	Currency  string    `json:"currency"`
	Rate      string    `json:"rate"`
	Date      string    `json:"date"`            // YYYY-MM-DD
	Source    string    `json:"source"`          // operator, ecb
	Quote     string    `json:"quote,omitempty"` // the ECB's: units of Currency per EUR
	UpdatedAt time.Time `json:"updatedAt"`
}

// DefaultMaxRateAge is how old a rate may be for a money request in its
// currency until the operator sets another age (SetMaxRateAge): the ECB
// publishes on TARGET working days, so 4 days cover a weekend and a
// holiday next to it (not Easter's four days: raise it or import then).
const DefaultMaxRateAge = 4 * 24 * time.Hour

// SetRate sets the rate of a currency (decimal text, e.g. "0.9215"), dated today.
func (s *Service) SetRate(ctx context.Context, currency, rate string) (Rate, error) {
	cur, err := money.ParseCurrency(strings.ToUpper(strings.TrimSpace(currency)))
	if err != nil {
		return Rate{}, apperr.InvalidField("currency", "%v", err)
	}
	if cur.Code() == Currency {
		return Rate{}, apperr.InvalidField("currency", "EUR needs no rate")
	}
	r, ok := parseRate(rate)
	if !ok {
		return Rate{}, apperr.InvalidField("rate", "rate %q must be a positive decimal number such as 0.9215 (at most 12 decimals)", rate)
	}
	now := s.now()
	out := Rate{Currency: cur.Code(), Rate: r, Date: now.Format(time.DateOnly), Source: "operator", UpdatedAt: now}
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		return upsertRate(ctx, tx, out)
	})
	if err != nil {
		return Rate{}, err
	}
	return out, nil
}

func upsertRate(ctx context.Context, tx *store.Tx, r Rate) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO wallet_rates (currency, rate, updated_at, rate_date, source, quote) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (currency) DO UPDATE SET rate = excluded.rate, updated_at = excluded.updated_at, rate_date = excluded.rate_date,
source = excluded.source, quote = excluded.quote`, r.Currency, r.Rate, micros(r.UpdatedAt), r.Date, r.Source, r.Quote)
	return err
}

// Rates lists the configured rates.
func (s *Service) Rates(ctx context.Context) ([]Rate, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT currency, rate, updated_at, rate_date, source, quote FROM wallet_rates ORDER BY currency`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Rate
	for rows.Next() {
		var r Rate
		var at int64
		if err := rows.Scan(&r.Currency, &r.Rate, &at, &r.Date, &r.Source, &r.Quote); err != nil {
			return nil, err
		}
		r.UpdatedAt = fromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// ecbEnvelope is the ECB's euro foreign exchange reference rates file
// (eurofxref-daily.xml; eurofxref-hist.xml has one Cube per day).
type ecbEnvelope struct {
	XMLName xml.Name `xml:"Envelope"`
	Days    []struct {
		Time  string `xml:"time,attr"`
		Rates []struct {
			Currency string `xml:"currency,attr"`
			Rate     string `xml:"rate,attr"`
		} `xml:"Cube"`
	} `xml:"Cube>Cube"`
}

// RatesImport is what an import of the ECB's rates did.
type RatesImport struct {
	Date     string   `json:"date"`     // the ECB's reference date imported
	Imported []string `json:"imported"` // currencies whose rate it set
	// Skipped: currencies cashgate does not know, and those whose stored
	// rate is of a later date (an older file never replaces a newer rate).
	Skipped []string `json:"skipped,omitempty"`
	// Stale says the file's date is already older than the rates' maximum
	// age: requests in these currencies are refused until a newer import.
	Stale bool `json:"stale,omitempty"`
}

// maxECBFile bounds the file read (the daily file is about 2 KB, the whole
// history about 6 MB).
const maxECBFile = 16 << 20

// ImportECBRates reads the ECB's reference rates (the eurofxref-daily.xml
// format: 1 EUR = rate units of each currency on a date) and sets each
// known currency's rate to EUR per unit (the quote's inverse, rounded half
// up to 12 decimals), dated with the ECB's date, in one transaction. A
// file of several days (the history) imports its latest day.
func (s *Service) ImportECBRates(ctx context.Context, r io.Reader) (RatesImport, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxECBFile+1))
	if err != nil {
		return RatesImport{}, err
	}
	if len(b) > maxECBFile {
		return RatesImport{}, apperr.New(apperr.Invalid, "the rates file is larger than %d MB", maxECBFile>>20)
	}
	var env ecbEnvelope
	if err := xml.Unmarshal(b, &env); err != nil || len(env.Days) == 0 {
		return RatesImport{}, apperr.New(apperr.Invalid, "not the ECB's reference rates (eurofxref-daily.xml: gesmes:Envelope, Cube time=… with Cube currency=… rate=…): %v", err)
	}
	day := env.Days[0]
	for _, d := range env.Days[1:] {
		if d.Time > day.Time {
			day = d
		}
	}
	date, err := time.Parse(time.DateOnly, day.Time)
	if err != nil {
		return RatesImport{}, apperr.New(apperr.Invalid, "the rates' date %q is not a date such as 2026-11-20", day.Time)
	}
	if date.After(s.now()) {
		return RatesImport{}, apperr.New(apperr.Invalid, "the rates are dated %s, after today", day.Time)
	}
	out := RatesImport{Date: day.Time, Imported: []string{}}
	now := s.now()
	var rates []Rate
	for _, q := range day.Rates {
		cur, err := money.ParseCurrency(strings.ToUpper(strings.TrimSpace(q.Currency)))
		if err != nil || cur.Code() == Currency {
			out.Skipped = append(out.Skipped, q.Currency)
			continue
		}
		inv, ok := inverse(q.Rate)
		if !ok {
			return RatesImport{}, apperr.New(apperr.Invalid, "the %s rate %q is not a positive decimal number", q.Currency, q.Rate)
		}
		rates = append(rates, Rate{Currency: cur.Code(), Rate: inv, Date: day.Time, Source: "ecb", Quote: strings.TrimSpace(q.Rate), UpdatedAt: now})
	}
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		out.Imported, out.Skipped = out.Imported[:0], out.Skipped[:len(out.Skipped):len(out.Skipped)]
		for _, r := range rates {
			var have string
			err := tx.QueryRowContext(ctx, `SELECT rate_date FROM wallet_rates WHERE currency = $1`+s.db.ForUpdate(), r.Currency).Scan(&have)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if have > r.Date {
				out.Skipped = append(out.Skipped, r.Currency)
				continue
			}
			if err := upsertRate(ctx, tx, r); err != nil {
				return err
			}
			out.Imported = append(out.Imported, r.Currency)
		}
		return nil
	})
	if err != nil {
		return RatesImport{}, err
	}
	p, err := s.policy(ctx, s.db.Read())
	if err != nil {
		return RatesImport{}, err
	}
	out.Stale = rateTooOld(day.Time, now, p.maxRateAge)
	return out, nil
}

// inverse is 1/quote rounded half up to 12 decimals, as a decimal string
// without trailing zeros.
func inverse(quote string) (string, bool) {
	q, ok := new(big.Rat).SetString(strings.TrimSpace(quote))
	if !ok || q.Sign() <= 0 || strings.ContainsAny(quote, "/eE") {
		return "", false
	}
	v := new(big.Rat).Inv(q)
	v.Mul(v, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(12), nil)))
	n, m := new(big.Int).QuoRem(v.Num(), v.Denom(), new(big.Int))
	if new(big.Int).Mul(m, big.NewInt(2)).Cmp(v.Denom()) >= 0 {
		n.Add(n, big.NewInt(1))
	}
	if n.Sign() == 0 {
		return "", false
	}
	s := fmt.Sprintf("%013s", n.String())
	out := strings.TrimRight(s[:len(s)-12]+"."+s[len(s)-12:], "0")
	return strings.TrimSuffix(out, "."), true
}

// rateTooOld reports whether a rate of date (YYYY-MM-DD, its day starting
// at 00:00 UTC) is older than maxAge at now.
func rateTooOld(date string, now time.Time, maxAge time.Duration) bool {
	d, err := time.Parse(time.DateOnly, date)
	return err != nil || now.Sub(d) > maxAge
}

// rateOf returns the rate of cur for a money request now: refused when
// there is none or when it is older than the maximum age.
func (s *Service) rateOf(ctx context.Context, q store.Querier, cur string) (string, error) {
	var r, date string
	var updated int64
	err := q.QueryRowContext(ctx, `SELECT rate, rate_date, updated_at FROM wallet_rates WHERE currency = $1`, cur).Scan(&r, &date, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return "", apperr.InvalidField("currency", "%s is not accepted: only EUR, and currencies with a configured conversion rate", cur)
	}
	if err != nil {
		return "", err
	}
	p, err := s.policy(ctx, q)
	if err != nil {
		return "", err
	}
	if date == "" { // set before rates had dates: the day it was set
		date = fromMicros(updated).Format(time.DateOnly)
	}
	if rateTooOld(date, s.now(), p.maxRateAge) {
		return "", &apperr.Error{Code: apperr.Conflict, Field: "currency", Message: fmt.Sprintf(
			"the %s conversion rate is of %s, older than the %s a rate may be; the issuer must import the ECB's reference rates (cashgate wallet rates import) before requests in %s are accepted",
			cur, date, p.maxRateAge, cur)}
	}
	return r, nil
}

// MaxRateAge returns how old a rate may be, as stored now.
func (s *Service) MaxRateAge(ctx context.Context) (time.Duration, error) {
	p, err := readPolicy(ctx, s.db.Read())
	return p.maxRateAge, err
}

// SetMaxRateAge sets how old a rate may be for the installation (1 hour
// to 30 days).
func (s *Service) SetMaxRateAge(ctx context.Context, d time.Duration) (time.Duration, error) {
	if d < time.Hour || d > 30*24*time.Hour {
		return 0, apperr.InvalidField("maxAge", "the maximum age of a rate must be 1 hour to 30 days")
	}
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO wallet_settings (name, value) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET value = excluded.value`, settingMaxRateAge, d.String())
		if err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusOK, map[string]string{"maxAge": d.String()})
	})
	if err != nil {
		return 0, err
	}
	s.forget()
	return d, nil
}

// RefundOriginal refunds amount in the original currency of a converted
// money request at the rate the request was converted with (not today's),
// so a customer paid 10.00 USD as 9.22 EUR gets 4.61 EUR back for 5.00
// USD whatever the rate is now; the refund's description says so. What is
// left to refund bounds it (a cent of rounding on the last part is
// forgiven).
func (s *Service) RefundOriginal(ctx context.Context, tenantID, requestID, amount, currency, reason string) (WalletTransaction, error) {
	x, err := s.requestRow(ctx, s.db.Read(), `WHERE r.id = $1 AND r.tenant_id = $2`, requestID, tenantID)
	if err != nil {
		return WalletTransaction{}, err
	}
	code := strings.ToUpper(strings.TrimSpace(currency))
	if code != x.OriginalCurrency {
		return WalletTransaction{}, apperr.InvalidField("currency", "the request was made in %s: refund in %s, or in EUR without currency", x.OriginalCurrency, x.OriginalCurrency)
	}
	a, err := parseAmount("amount", amount, code)
	if err != nil {
		return WalletTransaction{}, err
	}
	eurCents, err := ToEUR(a.Minor, a.Currency, x.Rate)
	if err != nil {
		return WalletTransaction{}, err
	}
	if left := x.Amount - x.Refunded; eurCents == left+1 {
		eurCents = left
	}
	note := fmt.Sprintf("%s %s at the original rate %s", money.Format(a), code, x.Rate)
	if reason == "" {
		reason = x.Description
	}
	if reason = reason + " (" + note + ")"; len([]rune(reason)) > 255 {
		reason = note
	}
	return s.Refund(ctx, tenantID, requestID, eurCents, reason)
}
