package wallet_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// TestRatesDailyFetch: the operator stores the rates URL; the daily job
// fetches it at 15:30 UTC, retries a failed fetch an hour later (the
// failure kept for the operator), imports the rates and schedules itself
// for the next day; one job exists however often it is scheduled.
func TestRatesDailyFetch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		srv := ecbServer(t)
		at := func(h, m int, days int) time.Time {
			return time.Date(epoch.Year(), epoch.Month(), epoch.Day()+days, h, m, 0, 0, time.UTC)
		}
		sched, err := e.w.RatesSchedule(e.ctx)
		ok(t, err)
		if sched.URL != "" || sched.LastRunAt != nil || sched.FetchAt != "15:30" {
			t.Fatalf("initial schedule %+v", sched)
		}
		if _, _, err := e.w.FetchRatesNow(e.ctx); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("fetch without a URL: %v", err)
		}
		for _, bad := range []string{"ftp://example.com/x.xml", "https://u:p@example.com/x.xml", "not a url", "https://example.com/\x00"} {
			if _, err := e.w.SetRatesURL(e.ctx, bad); !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("SetRatesURL(%q): %v", bad, err)
			}
		}
		_, err = e.w.SetRatesURL(e.ctx, srv.URL+"/missing.xml")
		ok(t, err)
		ok(t, e.w.ScheduleRates(e.ctx)) // a process starting: still one job
		if n := e.countOf(`SELECT COUNT(*) FROM jobs WHERE kind = $1`, wallet.JobFetchRates); n != 1 {
			t.Fatalf("%d rates jobs", n)
		}

		e.runJobs() // 09:30: not due yet
		if s, _ := e.w.RatesSchedule(e.ctx); s.LastRunAt != nil {
			t.Fatalf("ran before 15:30: %+v", s)
		}
		e.clk.Set(at(15, 30, 0))
		e.runJobs()
		sched, err = e.w.RatesSchedule(e.ctx)
		ok(t, err)
		if sched.LastFailureAt == nil || !sched.LastFailureAt.Equal(at(15, 30, 0)) || !strings.Contains(sched.LastError, "404") ||
			sched.LastSuccessAt != nil || !sched.NextRunAt.Equal(at(16, 30, 0)) {
			t.Fatalf("after the failed fetch: %+v", sched)
		}
		if rates, _ := e.w.Rates(e.ctx); len(rates) != 0 {
			t.Fatalf("a failed fetch set rates: %v", rates)
		}

		// The operator fixes the URL; the retry an hour later imports.
		_, err = e.w.SetRatesURL(e.ctx, srv.URL+"/eurofxref-daily.xml")
		ok(t, err)
		e.clk.Set(at(16, 30, 0))
		e.runJobs()
		sched, err = e.w.RatesSchedule(e.ctx)
		ok(t, err)
		if sched.LastSuccessAt == nil || !sched.LastSuccessAt.Equal(at(16, 30, 0)) || sched.LastDate == "" || sched.LastImported == 0 ||
			!sched.NextRunAt.Equal(at(15, 30, 1)) || sched.LastFailureAt == nil {
			t.Fatalf("after the retry: %+v", sched)
		}
		rates, err := e.w.Rates(e.ctx)
		ok(t, err)
		if len(rates) != sched.LastImported || rates[0].Source != "ecb" {
			t.Fatalf("rates %+v", rates)
		}

		// The next day at 15:30 it runs again, and so on.
		e.clk.Set(at(15, 29, 1))
		e.runJobs()
		if s, _ := e.w.RatesSchedule(e.ctx); !s.LastRunAt.Equal(at(16, 30, 0)) {
			t.Fatalf("ran early: %+v", s)
		}
		e.clk.Set(at(15, 30, 1))
		e.runJobs()
		sched, err = e.w.RatesSchedule(e.ctx)
		ok(t, err)
		if !sched.LastRunAt.Equal(at(15, 30, 1)) || !sched.NextRunAt.Equal(at(15, 30, 2)) {
			t.Fatalf("next day: %+v", sched)
		}

		// No URL: the job keeps its daily slot and fetches nothing.
		_, err = e.w.SetRatesURL(e.ctx, "")
		ok(t, err)
		e.clk.Set(at(15, 30, 2))
		e.runJobs()
		if s, _ := e.w.RatesSchedule(e.ctx); !s.LastRunAt.Equal(at(15, 30, 1)) || s.URL != "" {
			t.Fatalf("fetched without a URL: %+v", s)
		}
		if n := e.countOf(`SELECT COUNT(*) FROM jobs WHERE kind = $1 AND state = 'ready'`, wallet.JobFetchRates); n != 1 {
			t.Fatalf("%d ready rates jobs", n)
		}
	})
}
