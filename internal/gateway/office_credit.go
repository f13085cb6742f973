package gateway

import (
	"sort"
	"strings"

	"github.com/cashgate/cashgate/internal/webkit"
)

// The credit payments of the card settings page (credit.go): the switch
// and, per currency the gateway accepts, the limit of one credit and of a
// day's credits. A currency left empty takes no credits; the page sends the
// whole of creditPayments, as a PUT that names it does.

// creditEnabledField is the switch's form field.
const creditEnabledField = "creditPaymentsEnabled"

// creditRow is one currency's limits on the page: the names of its two
// fields.
type creditRow struct {
	Currency, PerPayment, PerDay string
}

func creditRows() []creditRow {
	var out []creditRow
	for _, c := range AcceptedCurrencies() {
		out = append(out, creditRow{Currency: c, PerPayment: "creditPerPayment-" + c, PerDay: "creditPerDay-" + c})
	}
	return out
}

// creditFormValues are the form's values for the stored settings.
func creditFormValues(st GatewaySettings, into map[string]string) {
	if st.CreditPayments == nil {
		return
	}
	for code, l := range st.CreditPayments.Limits {
		into["creditPerPayment-"+code], into["creditPerDay-"+code] = l.PerPayment, l.PerDay
	}
}

// creditOn is the page's switch.
func creditOn(st GatewaySettings) bool { return st.CreditPayments != nil && st.CreditPayments.Enabled }

// creditFromForm reads the credit settings from the form: a currency with
// either amount filled is sent (an amount missing is refused beside it by
// PutSettings).
func creditFromForm(f *webkit.Form) *CreditPaymentSettings {
	out := &CreditPaymentSettings{Enabled: f.Get(creditEnabledField) == "on", Limits: map[string]CreditLimit{}}
	for _, r := range creditRows() {
		per, day := f.Get(r.PerPayment), f.Get(r.PerDay)
		if per != "" || day != "" {
			out.Limits[r.Currency] = CreditLimit{PerPayment: per, PerDay: day}
		}
	}
	return out
}

// creditErrorFields maps the fields of PutSettings' errors about credit
// limits to the form's.
func creditErrorFields(into map[string]string) {
	for _, r := range creditRows() {
		f := "creditPayments.limits." + r.Currency
		into[f], into[f+".perPayment"], into[f+".perDay"] = r.PerPayment, r.PerPayment, r.PerDay
	}
}

// creditDetail is the audit row's summary of the credit settings.
func creditDetail(c *CreditPaymentSettings) string {
	if c == nil {
		return "creditPayments unchanged"
	}
	s := "creditPayments off"
	if c.Enabled {
		s = "creditPayments on"
	}
	codes := make([]string, 0, len(c.Limits))
	for code := range c.Limits {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	var limits []string
	for _, code := range codes {
		limits = append(limits, code+" "+c.Limits[code].PerPayment+"/"+c.Limits[code].PerDay)
	}
	if len(limits) > 0 {
		s += " (" + strings.Join(limits, ", ") + ")"
	}
	return s
}
