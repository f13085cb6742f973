package wallet_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// ecbServer serves the ECB fixture at /eurofxref-daily.xml, a 404
// elsewhere, an HTML page at /html and, at /slow, nothing until the
// client gives up.
func ecbServer(t *testing.T) *httptest.Server {
	t.Helper()
	fixture, err := os.ReadFile("testdata/eurofxref-daily.xml")
	ok(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /eurofxref-daily.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write(fixture)
	})
	mux.HandleFunc("GET /html", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "<html><body>Maintenance</body></html>")
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestECBRatesImportURL: the rates fetched over HTTP are imported like the
// file (same parser, same dates); a server error, a page that is not the
// rates, a timeout or a bad URL is a clear error that changes nothing.
func TestECBRatesImportURL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		srv := ecbServer(t)
		fetch := func(path string) (wallet.RatesImport, error) {
			return e.w.ImportECBRatesURL(e.ctx, wallet.ECBFetch{URL: srv.URL + path, Client: srv.Client(), Timeout: 2 * time.Second})
		}
		for _, c := range []struct {
			name, url string
			code      apperr.Code
			says      string
		}{
			{"not found", srv.URL + "/missing.xml", apperr.Unavailable, "404 Not Found"},
			{"not the rates", srv.URL + "/html", apperr.Invalid, "not the ECB's reference rates"},
			{"bad scheme", "ftp://example.com/eurofxref-daily.xml", apperr.Invalid, "http(s) URL"},
			{"credentials", "https://user:pw@example.com/x.xml", apperr.Invalid, "without credentials"},
			{"relative", "/eurofxref-daily.xml", apperr.Invalid, "absolute"},
		} {
			_, err := e.w.ImportECBRatesURL(e.ctx, wallet.ECBFetch{URL: c.url, Client: srv.Client()})
			if ae := apperr.From(err); ae.Code != c.code || !strings.Contains(ae.Message, c.says) {
				t.Errorf("%s: %v, want %s saying %q", c.name, err, c.code, c.says)
			}
		}
		_, err := e.w.ImportECBRatesURL(e.ctx, wallet.ECBFetch{URL: srv.URL + "/slow", Client: srv.Client(), Timeout: 50 * time.Millisecond})
		if ae := apperr.From(err); ae.Code != apperr.Unavailable || !strings.Contains(ae.Message, "timed out") || !strings.Contains(ae.Message, srv.URL+"/slow") {
			t.Fatalf("slow server: %v", err)
		}
		if rates, err := e.w.Rates(e.ctx); err != nil || len(rates) != 0 {
			t.Fatalf("after the failed fetches: %v %v", rates, err)
		}

		imp, err := fetch("/eurofxref-daily.xml")
		ok(t, err)
		if imp.Date != "2026-11-20" || !slices.Equal(imp.Imported, []string{"USD", "JPY", "GBP"}) || !slices.Equal(imp.Skipped, []string{"ZZZ"}) {
			t.Fatalf("import %+v", imp)
		}
		rates, err := e.w.Rates(e.ctx)
		ok(t, err)
		if len(rates) != 3 {
			t.Fatalf("rates %+v", rates)
		}
		for _, r := range rates {
			if r.Date != "2026-11-20" || r.Source != "ecb" || (r.Currency == "USD" && r.Rate != "0.92030185901") {
				t.Fatalf("rate %+v", r)
			}
		}
	})
}
