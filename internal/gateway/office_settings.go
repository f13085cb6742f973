package gateway

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/webkit"
)

// officeSettings is the card settings page: the settings PUT
// /platform/gateway/settings replaces, as a form (disabled for agents).
type officeSettings struct {
	Owner           bool
	ConfigurationID string
	Checks          []settingCheck
	Methods         []settingCheck // the payment methods enabled (name "paymentMethods")
	Schemes         []settingCheck // which signatures are accepted (name "signatureScheme", one On)
	Credit          settingCheck   // credit payments on (office_credit.go)
	CreditRows      []creditRow
}

// The signature choices of the card settings page: which of the guide's
// Hash and cashgate's HMAC Signature the API accepts. They are the two
// switches requireHmac and requireHmacBodylessWrites as one choice.
const (
	schemeHash         = "hash"          // Hash or Signature
	schemeHMACBodyless = "hmac-bodyless" // Signature for body-less writes, Hash elsewhere
	schemeHMAC         = "hmac"          // Signature only
)

// schemeOf is the choice the switches of st make.
func schemeOf(st GatewaySettings) string {
	switch {
	case st.RequireHMAC:
		return schemeHMAC
	case st.RequireHMACBodylessWrites:
		return schemeHMACBodyless
	}
	return schemeHash
}

func schemeChoices(current string) []settingCheck {
	return []settingCheck{
		{schemeHash, "Hash or Signature", "The guide's Hash header, or the HMAC Signature with its Timestamp. A Hash seen once can be replayed, and any GET's Hash cancels a job.", current == schemeHash},
		{schemeHMACBodyless, "Signature for body-less writes", "Hash is refused on the cancels and the token DELETE (whose Hash is any GET's); accepted elsewhere.", current == schemeHMACBodyless},
		{schemeHMAC, "Signature only", "Every request signed with the HMAC Signature and Timestamp; the plain Hash is refused.", current == schemeHMAC},
	}
}

// settingCheck is one of the settings' switches.
type settingCheck struct {
	Name, Label, Hint string
	On                bool
}

func settingsForm(st GatewaySettings) *webkit.Form {
	v := map[string]string{
		"returnUrlSuccess": st.ReturnURLSuccess, "returnUrlFailed": st.ReturnURLFailed, "returnUrlCancelled": st.ReturnURLCancelled,
		"webhookUrl": st.WebhookURL, "feeBasisPoints": strconv.FormatInt(st.FeeBasisPoints, 10),
		"feeFixedMinor": strconv.FormatInt(st.FeeFixedMinor, 10)}
	creditFormValues(st, v)
	return webkit.NewForm(v)
}

func settingChecks(st GatewaySettings) []settingCheck {
	return []settingCheck{
		{"autoCapture", "Auto capture", "Capture every authorised payment at once; off: authorise only, and capture within 7 days.", st.AutoCapture},
		{"autoCaptureRecurring", "Auto capture recurring transactions", "The same for recurring child payments, on its own: off, they are authorised only and captured within 7 days.", recurringOn(st)},
		{"refuseDirectCardPayments", "Refuse direct card payments", "Card details only on the hosted pages, never in API requests.", st.RefuseDirectCardPayments},
		{"externalMpiProvider", "External MPI provider", "Your own 3-D Secure provider authenticates card payments and every payment job carries its values; cashgate runs no challenge, and the Virtual Terminal and payment links are unavailable.",
			st.ExternalMPIProvider != nil && *st.ExternalMPIProvider},
	}
}

// recurringOn is the recurring switch of st (it follows auto capture while
// never set).
func recurringOn(st GatewaySettings) bool {
	if st.AutoCaptureRecurring != nil {
		return *st.AutoCaptureRecurring
	}
	return st.AutoCapture
}

// methodChecks are the payment methods' switches.
func methodChecks(st GatewaySettings) []settingCheck {
	hints := map[string]string{MethodCard: "Card payments: the hosted card page, the Virtual Terminal, payment jobs asking for card.",
		MethodCreditCard: "Payment jobs asking for creditcard (the guide's examples do).",
		MethodPayPal:     "PayPal on the hosted page of payment jobs asking for PayPal (the PayPal sandbox simulator)."}
	var out []settingCheck
	for _, m := range PaymentMethods() {
		on := st.PaymentMethodsEnabled == nil && slices.Contains(DefaultMethods(), m) ||
			st.PaymentMethodsEnabled != nil && slices.Contains(*st.PaymentMethodsEnabled, m)
		out = append(out, settingCheck{m, m, hints[m], on})
	}
	return out
}

func (m *office) settingsPage(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	st, err := m.s.GetSettings(r.Context(), a.TenantID)
	if err != nil {
		m.o.Fail(w, r, a, "card settings", err)
		return
	}
	m.renderSettings(w, r, a, http.StatusOK, st, settingsForm(st))
}

func (m *office) renderSettings(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, status int, st GatewaySettings, f *webkit.Form) {
	d := officeSettings{Owner: a.Owner(), ConfigurationID: st.ConfigurationID, Checks: settingChecks(st), Methods: methodChecks(st),
		Schemes: schemeChoices(schemeOf(st)), CreditRows: creditRows(),
		Credit: settingCheck{creditEnabledField, "Credit payments", "Payment jobs of type Credit pay money to a card from your available balance, within the limits below.", creditOn(st)}}
	m.o.Render(w, r, a, status, m.pages.settings, webkit.View{Title: "Card settings", Data: d, Form: f})
}

// saveSettings (owners only) replaces the settings with PutSettings, the
// method PUT /platform/gateway/settings calls.
func (m *office) saveSettings(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	f := webkit.FormOf(r)
	recurring, mpi := f.Get("autoCaptureRecurring") == "on", f.Get("externalMpiProvider") == "on"
	methods := []string{}
	for _, v := range f.Values["paymentMethods"] {
		methods = append(methods, strings.TrimSpace(v))
	}
	in := GatewaySettings{AutoCapture: f.Get("autoCapture") == "on", RefuseDirectCardPayments: f.Get("refuseDirectCardPayments") == "on",
		ReturnURLSuccess: f.Get("returnUrlSuccess"), ReturnURLFailed: f.Get("returnUrlFailed"), ReturnURLCancelled: f.Get("returnUrlCancelled"),
		WebhookURL: f.Get("webhookUrl"), AutoCaptureRecurring: &recurring, PaymentMethodsEnabled: &methods,
		ExternalMPIProvider: &mpi, CreditPayments: creditFromForm(f)}
	switch f.Get("signatureScheme") {
	case schemeHash:
	case schemeHMACBodyless:
		in.RequireHMACBodylessWrites = true
	case schemeHMAC:
		in.RequireHMAC, in.RequireHMACBodylessWrites = true, true
	default:
		f.Fail("signatureScheme", "Choose which signatures are accepted.")
	}
	var err error
	for _, n := range []struct {
		name string
		dst  *int64
	}{{"feeBasisPoints", &in.FeeBasisPoints}, {"feeFixedMinor", &in.FeeFixedMinor}} {
		if *n.dst, err = strconv.ParseInt(f.Get(n.name), 10, 64); err != nil {
			f.Fail(n.name, "Enter a whole number.")
		}
	}
	if f.OK() {
		err = m.o.Do(r, a, backoffice.Action{Name: "gateway.settings", Detail: settingsDetail(in)}, func(ctx context.Context) error {
			_, err := m.s.PutSettings(ctx, a.TenantID, in)
			return err
		})
		if err == nil {
			m.o.Redirect(w, r, "/office/gateway/settings", "Card settings saved.")
			return
		}
		if c := apperr.CodeOf(err); c != apperr.Invalid {
			m.o.Fail(w, r, a, "save card settings", err)
			return
		}
		fields := map[string]string{"paymentMethodsEnabled": "paymentMethods", "feeBasisPoints": "feeBasisPoints", "feeFixedMinor": "feeFixedMinor", "returnUrlSuccess": "returnUrlSuccess",
			"returnUrlFailed": "returnUrlFailed", "returnUrlCancelled": "returnUrlCancelled", "webhookUrl": "webhookUrl"}
		creditErrorFields(fields)
		f.FailWith(err, fields)
	}
	m.renderSettings(w, r, a, http.StatusUnprocessableEntity, in, f)
}

// settingsDetail is the audit row's summary of the settings saved.
func settingsDetail(in GatewaySettings) string {
	on := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	methods := "none"
	if in.PaymentMethodsEnabled != nil && len(*in.PaymentMethodsEnabled) > 0 {
		methods = strings.Join(*in.PaymentMethodsEnabled, " ")
	}
	return "autoCapture " + on(in.AutoCapture) + ", autoCaptureRecurring " + on(recurringOn(in)) +
		", refuseDirectCardPayments " + on(in.RefuseDirectCardPayments) + ", paymentMethods " + methods +
		", requireHmac " + on(in.RequireHMAC) + ", requireHmacBodylessWrites " + on(in.RequireHMACBodylessWrites) +
		", fee " + strconv.FormatInt(in.FeeBasisPoints, 10) + " bp + " + strconv.FormatInt(in.FeeFixedMinor, 10) +
		", externalMpiProvider " + on(in.ExternalMPIProvider != nil && *in.ExternalMPIProvider) + ", " + creditDetail(in.CreditPayments)
}
