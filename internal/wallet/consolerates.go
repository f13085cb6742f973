package wallet

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/operator"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The console's part of the daily rates fetch (ratesjob.go): the stored
// URL with its last success and failure, a form to change it and a
// "fetch now".

func (c *consolePage) ratesData(r *http.Request, d *consoleData) error {
	sc, err := c.svc.RatesSchedule(r.Context())
	if err != nil {
		return err
	}
	d.RatesURL, d.RatesFetch = webkit.NewForm(map[string]string{"url": sc.URL}), webkit.NewForm(nil)
	url := sc.URL
	if url == "" {
		url = "none (no daily fetch)"
	}
	success, failure := "never", "never"
	if sc.LastSuccessAt != nil {
		success = fmt.Sprintf("%s (ECB date %s, %d rates)", when(sc.LastSuccessAt), sc.LastDate, sc.LastImported)
	}
	if sc.LastFailureAt != nil {
		failure = when(sc.LastFailureAt) + ": " + sc.LastError
	}
	next := "—"
	if sc.NextRunAt != nil && sc.URL != "" {
		next = when(sc.NextRunAt)
	}
	d.RatesRuns = webkit.Table{Caption: "Daily fetch of the ECB's rates at " + sc.FetchAt + " UTC",
		Columns: []string{"Stored URL", "Last success", "Last failure", "Next run"},
		Rows:    [][]webkit.Cell{{{Text: url, Mono: sc.URL != ""}, {Text: success}, {Text: failure}, {Text: next}}}}
	return nil
}

func when(t *time.Time) string { return t.UTC().Format("2 Jan 2006 15:04") + " UTC" }

func (c *consolePage) setRatesURL(w http.ResponseWriter, r *http.Request, s operator.Signed) {
	c.act(w, r, s, func(d *consoleData, f *webkit.Form) { d.RatesURL = f }, "rates-url", nil, map[string]string{"url": "url"},
		func(f *webkit.Form) (string, error) {
			u := strings.TrimSpace(f.Get("url"))
			if _, err := c.svc.SetRatesURL(r.Context(), u); err != nil {
				return "", err
			}
			if u == "" {
				return "The rates URL is removed: no daily fetch.", nil
			}
			return "The rates are fetched daily from " + u + ".", nil
		})
}

func (c *consolePage) fetchRates(w http.ResponseWriter, r *http.Request, s operator.Signed) {
	c.act(w, r, s, func(d *consoleData, f *webkit.Form) { d.RatesFetch = f }, "rates-url", nil, map[string]string{"url": ""},
		func(f *webkit.Form) (string, error) {
			imp, _, err := c.svc.FetchRatesNow(r.Context())
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("Fetched the rates of %s from the stored URL: %d imported.", imp.Date, len(imp.Imported)), nil
		})
}
