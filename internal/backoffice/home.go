package backoffice

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/webkit"
)

// ChartDays is how many days the home page's chart covers (today included).
const ChartDays = 30

// day is one day's figures, all sources and currencies together.
type day struct {
	Start               time.Time
	Succeeded, Declined int
	Volume              map[string]int64 // currency → minor units
}

// homeData is the home page.
type homeData struct {
	Balances    webkit.Table
	Today       string // today's date in the user's zone
	TodayVolume []string
	SuccessRate string   // "96.7 % (29 of 30)" or "—"
	Currency    string   // the chart's currency
	Currencies  []string // the currencies with volume, each a choice of the chart's
	Chart       string   // the chart's data (JSON, for kit-chart.js)
	Days        webkit.Table
}

func (o *Office) homePage(w http.ResponseWriter, r *http.Request, a *Admin) {
	ctx := r.Context()
	bal, err := o.balances(ctx, a.TenantID)
	if err != nil {
		o.Fail(w, r, a, "balances", err)
		return
	}
	days, err := o.days(ctx, a)
	if err != nil {
		o.Fail(w, r, a, "figures", err)
		return
	}
	d := homeData{Balances: webkit.Table{Caption: "Balances", Columns: []string{"Account", "Currency", "Available", "Pending"},
		Empty: "No money has moved yet."}}
	for _, b := range bal {
		d.Balances.Rows = append(d.Balances.Rows, []webkit.Cell{{Text: b.Label}, {Text: b.Currency},
			{Text: FormatAmount(b.Available, b.Currency)}, {Text: FormatAmount(b.Pending, b.Currency)}})
	}
	today := days[len(days)-1]
	d.Today = a.Day(today.Start)
	for _, c := range sortedKeys(today.Volume) {
		d.TodayVolume = append(d.TodayVolume, FormatAmount(today.Volume[c], c))
	}
	d.SuccessRate = successRate(today.Succeeded, today.Declined)
	d.Currency, d.Currencies = chartCurrency(days, r.URL.Query().Get("currency"))
	if d.Chart, err = chartJSON(days, d.Currency); err != nil {
		o.Fail(w, r, a, "chart", err)
		return
	}
	d.Days = daysTable(a, days)
	o.Render(w, r, a, http.StatusOK, o.pages.home, webkit.View{Title: "Home", Data: d,
		Scripts: []string{"uplot.iife.min.js", "kit-chart.js"}, Styles: []string{"uplot.min.css"}})
}

// balances are the tenant's card balances (its merchant accounts in the
// ledger, per currency: settled = available, captured but not settled =
// pending) and the modules' balances.
func (o *Office) balances(ctx context.Context, tenantID string) ([]Balance, error) {
	accts, err := o.ledger.Accounts(ctx, o.db.Read(), tenantID, ledger.AccountFilter{Owner: "merchant", Limit: 1000})
	if err != nil {
		return nil, err
	}
	byCur := map[string]*Balance{}
	for _, ac := range accts {
		b := byCur[ac.Currency]
		if b == nil {
			b = &Balance{Label: "Card payments", Currency: ac.Currency}
			byCur[ac.Currency] = b
		}
		switch ac.Purpose {
		case "available":
			b.Available += ac.Balance.Available
		case "pending":
			b.Pending += ac.Balance.Posted
		}
	}
	var out []Balance
	for _, c := range sortedKeys(byCur) {
		out = append(out, *byCur[c])
	}
	for _, m := range o.modules {
		if m.Balances != nil {
			more, err := m.Balances.OfficeBalances(ctx, tenantID)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		}
	}
	return out, nil
}

// days are the last ChartDays days in the user's time zone, oldest first,
// with every source's figures added up.
func (o *Office) days(ctx context.Context, a *Admin) ([]day, error) {
	loc := a.Location()
	now := o.clk.Now().In(loc)
	y, m, dd := now.Date()
	days := make([]day, ChartDays)
	for i := range days {
		days[i] = day{Start: time.Date(y, m, dd-ChartDays+1+i, 0, 0, 0, 0, loc), Volume: map[string]int64{}}
	}
	from, to := days[0].Start, time.Date(y, m, dd+1, 0, 0, 0, 0, loc)
	for _, src := range o.sources() {
		figs, err := src.PaymentFigures(ctx, a.TenantID, from, to)
		if err != nil {
			return nil, err
		}
		for _, f := range figs {
			if i := dayIndex(days, f.At); i >= 0 && f.At.Before(to) {
				days[i].Succeeded += f.Succeeded
				days[i].Declined += f.Declined
				if f.Volume != 0 {
					days[i].Volume[f.Currency] += f.Volume
				}
			}
		}
	}
	return days, nil
}

// dayIndex is the index of the day t falls in (-1 before the first).
func dayIndex(days []day, t time.Time) int {
	for i := len(days) - 1; i >= 0; i-- {
		if !t.Before(days[i].Start) {
			return i
		}
	}
	return -1
}

// successRate is succeeded / (succeeded + declined), one decimal ("—"
// without any).
func successRate(ok, declined int) string {
	n := ok + declined
	if n == 0 {
		return "—"
	}
	tenths := (ok*1000 + n/2) / n // round half up, in tenths of a percent
	return fmt.Sprintf("%d.%d %% (%d of %d)", tenths/10, tenths%10, ok, n)
}

// chartCurrency is the chart's currency: the one asked for when it has
// volume, else the one with volume on the most days of the period (amounts
// of different currencies do not compare; ties go to the first code), else
// ""; and every currency with volume.
func chartCurrency(days []day, asked string) (string, []string) {
	count := map[string]int{}
	for _, d := range days {
		for c := range d.Volume {
			count[c]++
		}
	}
	all := sortedKeys(count)
	if _, ok := count[asked]; ok {
		return asked, all
	}
	best := ""
	for _, c := range all {
		if best == "" || count[c] > count[best] {
			best = c
		}
	}
	return best, all
}

// chartJSON is the chart's data for kit-chart.js: the days (Unix seconds)
// and two series, the volume in the currency (minor units, with its
// exponent to scale them) and the declines.
func chartJSON(days []day, currency string) (string, error) {
	type series struct {
		Label    string  `json:"label"`
		Values   []int64 `json:"values"`
		Decimals int     `json:"decimals"`
		Axis     string  `json:"axis"` // "left" or "right"
		Bars     bool    `json:"bars,omitempty"`
	}
	exp := 0
	if c, err := money.ParseCurrency(currency); err == nil {
		exp = c.Exponent()
	}
	vol := series{Label: "Volume", Axis: "left", Decimals: exp}
	if currency != "" {
		vol.Label = "Volume (" + currency + ")"
	}
	dec := series{Label: "Declines", Axis: "right", Bars: true}
	var x []int64
	for _, d := range days {
		x = append(x, d.Start.Unix())
		vol.Values = append(vol.Values, d.Volume[currency])
		dec.Values = append(dec.Values, int64(d.Declined))
	}
	b, err := json.Marshal(struct {
		X      []int64  `json:"x"`
		Series []series `json:"series"`
	}{x, []series{vol, dec}})
	return string(b), err
}

// daysTable is the figures as a table, newest day first (the page's
// content; the chart draws it where JavaScript runs).
func daysTable(a *Admin, days []day) webkit.Table {
	t := webkit.Table{Caption: fmt.Sprintf("The last %d days", len(days)), Columns: []string{"Day", "Volume", "Succeeded", "Declined"}}
	for i := len(days) - 1; i >= 0; i-- {
		d := days[i]
		var vol []string
		for _, c := range sortedKeys(d.Volume) {
			vol = append(vol, FormatAmount(d.Volume[c], c))
		}
		if len(vol) == 0 {
			vol = []string{"—"}
		}
		t.Rows = append(t.Rows, []webkit.Cell{{Text: a.Day(d.Start)}, {Text: strings.Join(vol, ", ")},
			{Text: fmt.Sprint(d.Succeeded)}, {Text: fmt.Sprint(d.Declined)}})
	}
	return t
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
