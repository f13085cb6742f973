package wallet

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
)

// ECBDailyURL is where the ECB publishes its daily euro foreign exchange
// reference rates (eurofxref-daily.xml).
const ECBDailyURL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"

// DefaultECBFetchTimeout bounds a fetch of the rates from a URL: connecting,
// the answer and its whole body.
const DefaultECBFetchTimeout = 30 * time.Second

// ECBFetch says where and how ImportECBRatesURL fetches the rates.
type ECBFetch struct {
	URL     string        // http(s), the ECB's eurofxref-daily.xml format
	Client  *http.Client  // nil: http.DefaultClient (proxy settings from the environment)
	Timeout time.Duration // 0: DefaultECBFetchTimeout
}

// ImportECBRatesURL fetches the ECB's reference rates from the URL the
// operator gives (GET, 200 expected, at most 16 MB, within the timeout)
// and imports them exactly as ImportECBRates does a file. A failed fetch
// changes nothing and says what went wrong.
func (s *Service) ImportECBRatesURL(ctx context.Context, f ECBFetch) (RatesImport, error) {
	u, err := url.Parse(f.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return RatesImport{}, apperr.InvalidField("url", "the rates URL must be an absolute http(s) URL without credentials, such as %s", ECBDailyURL)
	}
	client, timeout := f.Client, f.Timeout
	if client == nil {
		client = http.DefaultClient
	}
	if timeout <= 0 {
		timeout = DefaultECBFetchTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return RatesImport{}, apperr.InvalidField("url", "the rates URL: %v", err)
	}
	req.Header.Set("Accept", "application/xml, text/xml")
	res, err := client.Do(req)
	if err != nil {
		return RatesImport{}, fetchError(ctx, u, timeout, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return RatesImport{}, apperr.New(apperr.Unavailable, "fetching the rates from %s: the server answered %s, not 200 OK", u.Redacted(), res.Status)
	}
	out, err := s.ImportECBRates(ctx, res.Body)
	if err != nil && ctx.Err() != nil {
		return RatesImport{}, fetchError(ctx, u, timeout, err)
	}
	if err != nil && apperr.Is(err, apperr.Invalid) {
		return RatesImport{}, apperr.New(apperr.Invalid, "the rates from %s: %s", u.Redacted(), apperr.From(err).Message)
	}
	return out, err
}

// fetchError names the URL and says whether the timeout ran out.
func fetchError(ctx context.Context, u *url.URL, timeout time.Duration, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return apperr.New(apperr.Unavailable, "fetching the rates from %s: no complete answer within %s (timed out)", u.Redacted(), timeout)
	}
	return apperr.New(apperr.Unavailable, "fetching the rates from %s: %v", u.Redacted(), unwrapURLError(err))
}

// unwrapURLError drops net/http's "Get \"URL\":" prefix, the URL being named already.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
