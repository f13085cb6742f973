package wallet

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// The rates from a stored URL (issue 13): the operator stores the URL of
// the ECB's eurofxref-daily.xml (or a mirror in its format) once, and the
// daily job JobFetchRates imports it as `cashgate wallet rates import
// --url` does. Each run schedules the next: the next day at
// Config.RatesFetchAt after a success (or when no URL is set), within
// Config.RatesRetry after a failure, which is logged. The last success and
// the last failure are kept for the operator (RatesSchedule).

// JobFetchRates is the daily fetch of the rates from the stored URL. One
// exists per installation (unique key), however many processes schedule it.
const JobFetchRates = "wallet.rates.fetch"

// The wallet_settings rows of the schedule: the URL, and the runs' record
// (JSON of RatesRuns).
const (
	settingRatesURL  = "rates_url"
	settingRatesRuns = "rates_runs"
)

// RatesRuns is what the daily fetch did last.
type RatesRuns struct {
	LastRunAt     *time.Time `json:"lastRunAt,omitempty"`
	LastSuccessAt *time.Time `json:"lastSuccessAt,omitempty"`
	// LastDate is the ECB's reference date of the last rates imported, and
	// LastImported how many rates they were.
	LastDate      string     `json:"lastDate,omitempty"`
	LastImported  int        `json:"lastImported,omitempty"`
	LastFailureAt *time.Time `json:"lastFailureAt,omitempty"`
	LastError     string     `json:"lastError,omitempty"`
	NextRunAt     *time.Time `json:"nextRunAt,omitempty"`
}

// RatesSchedule is the stored URL and the runs of the daily fetch.
type RatesSchedule struct {
	URL string `json:"url"` // "" = no daily fetch
	// FetchAt is the time of day (UTC) of the daily fetch, e.g. "15:30".
	FetchAt string `json:"fetchAt"`
	RatesRuns
}

// RatesSchedule returns the stored rates URL and what its fetches did.
func (s *Service) RatesSchedule(ctx context.Context) (RatesSchedule, error) {
	out := RatesSchedule{FetchAt: fmt.Sprintf("%02d:%02d", int(s.cfg.RatesFetchAt.Hours()), int(s.cfg.RatesFetchAt.Minutes())%60)}
	var err error
	if out.URL, err = setting(ctx, s.db.Read(), settingRatesURL); err != nil {
		return out, err
	}
	out.RatesRuns, err = s.ratesRuns(ctx, s.db.Read())
	return out, err
}

// setting reads a wallet_settings value ("" when absent).
func setting(ctx context.Context, q store.Querier, name string) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM wallet_settings WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("wallet: setting %s: %w", name, err)
	}
	return v, nil
}

func putSetting(ctx context.Context, tx *store.Tx, name, value string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO wallet_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
	return err
}

func (s *Service) ratesRuns(ctx context.Context, q store.Querier) (RatesRuns, error) {
	var r RatesRuns
	raw, err := setting(ctx, q, settingRatesRuns)
	if err != nil || raw == "" {
		return r, err
	}
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return r, fmt.Errorf("wallet: rates runs: %w", err)
	}
	return r, nil
}

// checkRatesURL refuses what ImportECBRatesURL would refuse as a URL.
func checkRatesURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(raw) > 2048 {
		return apperr.InvalidField("url", "the rates URL must be an absolute http(s) URL without credentials, such as %s", ECBDailyURL)
	}
	return httpx.CheckText("url", raw)
}

// SetRatesURL stores the URL the daily job fetches the rates from ("":
// no daily fetch) and makes sure the job is scheduled.
func (s *Service) SetRatesURL(ctx context.Context, raw string) (RatesSchedule, error) {
	if raw != "" {
		if err := checkRatesURL(raw); err != nil {
			return RatesSchedule{}, err
		}
	}
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := putSetting(ctx, tx, settingRatesURL, raw); err != nil {
			return err
		}
		_, _, err := s.outbox.Enqueue(ctx, tx, outbox.JobSpec{Kind: JobFetchRates, RunAt: s.nextRatesRun(s.now()), UniqueKey: JobFetchRates})
		return err
	})
	if err != nil {
		return RatesSchedule{}, err
	}
	return s.RatesSchedule(ctx)
}

// ScheduleRates enqueues the daily fetch, unless it exists already (the
// app calls it when its workers start).
func (s *Service) ScheduleRates(ctx context.Context) error {
	_, _, err := s.outbox.Enqueue(ctx, nil, outbox.JobSpec{Kind: JobFetchRates, RunAt: s.nextRatesRun(s.now()), UniqueKey: JobFetchRates})
	return err
}

// nextRatesRun is the next Config.RatesFetchAt (UTC) after now.
func (s *Service) nextRatesRun(now time.Time) time.Time {
	day := now.UTC().Truncate(24 * time.Hour)
	at := day.Add(s.cfg.RatesFetchAt)
	if !at.After(now) {
		at = at.Add(24 * time.Hour)
	}
	return at
}

// FetchRates is the handler of JobFetchRates: it fetches the stored URL
// (nothing without one) and schedules the next run.
//
// It never fails as a job (the daily job must not run out of attempts):
// a failure that is not the fetch's own (the database) is logged and
// retried within Config.RatesRetry too, recorded as the job's last error.
func (s *Service) FetchRates(ctx context.Context, _ outbox.Job) error {
	raw, err := setting(ctx, s.db.Read(), settingRatesURL)
	if err == nil && raw == "" {
		return outbox.RetryAt(s.nextRatesRun(s.now()))
	}
	next := s.now().Add(s.cfg.RatesRetry)
	if err == nil {
		_, next, err = s.FetchRatesNow(ctx)
	}
	var ae *apperr.Error
	if err != nil && !errors.As(err, &ae) {
		s.log.Error("wallet: daily rates fetch could not run; retrying", "err", err)
		return &outbox.Retry{At: s.now().Add(s.cfg.RatesRetry), Reason: err}
	}
	return outbox.RetryAt(next)
}

// FetchRatesNow fetches the rates from the stored URL at once (the job,
// and the operator's "fetch now"), records the run and returns when the
// next daily run is due: tomorrow after a success, within
// Config.RatesRetry after a failure, which is logged and returned.
func (s *Service) FetchRatesNow(ctx context.Context) (RatesImport, time.Time, error) {
	raw, err := setting(ctx, s.db.Read(), settingRatesURL)
	if err != nil {
		return RatesImport{}, time.Time{}, err
	}
	if raw == "" {
		return RatesImport{}, time.Time{}, apperr.InvalidField("url", "no rates URL is stored: set one first (cashgate wallet rates url URL)")
	}
	imp, ferr := s.ImportECBRatesURL(ctx, ECBFetch{URL: raw, Client: s.cfg.RatesClient})
	now := s.now()
	next := s.nextRatesRun(now)
	if ferr != nil {
		next = now.Add(s.cfg.RatesRetry)
		s.log.Warn("wallet: daily rates fetch failed; retrying", "url", raw, "err", ferr, "retry_at", next)
	}
	if err := s.recordRatesRun(ctx, now, next, imp, ferr); err != nil {
		return imp, next, err
	}
	return imp, next, ferr
}

// recordRatesRun keeps what a fetch did for the operator.
func (s *Service) recordRatesRun(ctx context.Context, now, next time.Time, imp RatesImport, ferr error) error {
	return s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		r, err := s.ratesRuns(ctx, tx)
		if err != nil {
			return err
		}
		r.LastRunAt, r.NextRunAt = &now, &next
		if ferr != nil {
			r.LastFailureAt, r.LastError = &now, apperr.From(ferr).Message
		} else {
			r.LastSuccessAt, r.LastDate, r.LastImported = &now, imp.Date, len(imp.Imported)
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		return putSetting(ctx, tx, settingRatesRuns, string(b))
	})
}
