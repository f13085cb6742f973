package wallet_test

import (
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

// ecbDaily is an ECB eurofxref-daily.xml of date with the USD quote.
func ecbDaily(date, usd string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
<gesmes:subject>Reference rates</gesmes:subject><gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>
<Cube><Cube time='` + date + `'><Cube currency='USD' rate='` + usd + `'/></Cube></Cube></gesmes:Envelope>`
}

// TestECBRatesImport: the ECB's reference rates file sets each known
// currency's rate to EUR (the quote's inverse), dated with the ECB's date;
// an older file never replaces a newer rate; a request in a currency whose
// rate is older than the maximum age is refused with what to do; refunds
// in the original currency use the request's own rate, whatever today's.
func TestECBRatesImport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		site := newMerchantSite(t, 0)
		shop := e.corporate("shop", true)
		alice := e.customer("alice")
		e.topUp(alice, "100.00")
		f, err := os.Open("testdata/eurofxref-daily.xml")
		ok(t, err)
		defer f.Close()
		imp, err := e.w.ImportECBRates(e.ctx, f)
		ok(t, err)
		if imp.Date != "2026-11-20" || !slices.Equal(imp.Imported, []string{"USD", "JPY", "GBP"}) || !slices.Equal(imp.Skipped, []string{"ZZZ"}) || imp.Stale {
			t.Fatalf("import %+v", imp)
		}
		rates, err := e.w.Rates(e.ctx)
		ok(t, err)
		want := map[string]string{"GBP": "1.169412837814", "JPY": "0.005910165485", "USD": "0.92030185901"}
		for _, r := range rates {
			if want[r.Currency] != r.Rate || r.Date != "2026-11-20" || r.Source != "ecb" || r.Quote == "" {
				t.Fatalf("rate %+v, want %s", r, want[r.Currency])
			}
		}
		request := func(amount, cur string) (wallet.MoneyRequest, error) {
			return e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: amount, Currency: cur, Description: "Order 9", CallbackURL: site.srv.URL})
		}
		r, err := request("10.00", "USD")
		ok(t, err)
		if r.Amount != "9.20" || r.OriginalAmount != "10.00" || r.Rate != "0.92030185901" {
			t.Fatalf("converted %+v", r)
		}
		jpy, err := request("1000", "JPY")
		ok(t, err)
		if jpy.Amount != "5.91" {
			t.Fatalf("JPY %+v", jpy)
		}
		_, err = e.w.Approve(e.ctx, alice.ID, r.ID, "1234")
		ok(t, err)

		// A newer file (the dollar moved) replaces the rates; an older one does not.
		imp, err = e.w.ImportECBRates(e.ctx, strings.NewReader(ecbDaily("2026-11-21", "1.2")))
		ok(t, err)
		if !slices.Equal(imp.Imported, []string{"USD"}) {
			t.Fatalf("newer import %+v", imp)
		}
		f2, err := os.Open("testdata/eurofxref-daily.xml")
		ok(t, err)
		defer f2.Close()
		imp, err = e.w.ImportECBRates(e.ctx, f2)
		ok(t, err)
		if slices.Contains(imp.Imported, "USD") || !slices.Contains(imp.Skipped, "USD") {
			t.Fatalf("an older file replaced a newer rate: %+v", imp)
		}
		// Refunds in dollars at the request's rate (0.9203…), not today's (0.8333…).
		ref, err := e.w.RefundOriginal(e.ctx, shop.TenantID, r.ID, "5.00", "usd", "")
		ok(t, err)
		if ref.Amount != "4.60" || !strings.Contains(ref.Description, "5.00 USD at the original rate 0.92030185901") {
			t.Fatalf("refund %+v", ref)
		}
		if _, err := e.w.RefundOriginal(e.ctx, shop.TenantID, r.ID, "5.00", "GBP", ""); apperr.From(err).Field != "currency" {
			t.Fatalf("a refund in another currency: %v", err)
		}
		ref, err = e.w.RefundOriginal(e.ctx, shop.TenantID, r.ID, "5.00", "USD", "returned")
		ok(t, err)
		if ref.Amount != "4.60" {
			t.Fatalf("second refund %+v", ref)
		}
		if st, _ := e.w.MerchantRequest(e.ctx, shop.TenantID, r.ID); st.Status != wallet.StatusRefunded || st.Refunded != "9.20" {
			t.Fatalf("after refunding 10.00 USD: %+v", st)
		}

		// Too old: at 2026-11-24 23:30 UTC the JPY rate of 2026-11-20 is more
		// than 4 days old (counted from its day's start), the USD one of
		// 2026-11-21 is not.
		e.clk.Advance(3*24*time.Hour + 14*time.Hour)
		_, err = request("1000", "JPY")
		if ae := apperr.From(err); ae.Code != apperr.Conflict || ae.Field != "currency" || !strings.Contains(ae.Message, "of 2026-11-20, older than") ||
			!strings.Contains(ae.Message, "cashgate wallet rates import") {
			t.Fatalf("a request at a stale rate: %v", err)
		}
		_, err = request("10.00", "USD") // of 2026-11-21: still fresh
		ok(t, err)
		_, err = e.w.SetMaxRateAge(e.ctx, 7*24*time.Hour)
		ok(t, err)
		_, err = request("1000", "JPY")
		ok(t, err)
		if _, err := e.w.SetMaxRateAge(e.ctx, time.Minute); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("a max age of a minute: %v", err)
		}
		// Not the ECB's file, a date in the future, a bad quote.
		for _, bad := range []string{"<html></html>", ecbDaily("2027-01-01", "1.1"), ecbDaily("2026-11-25", "-1"), ecbDaily("yesterday", "1.1")} {
			if _, err := e.w.ImportECBRates(e.ctx, strings.NewReader(bad)); !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("%s: %v", bad, err)
			}
		}
	})
}
