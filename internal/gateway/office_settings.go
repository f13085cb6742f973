package gateway

import (
	"context"
	"net/http"
	"strconv"

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
}

// settingCheck is one of the settings' switches.
type settingCheck struct {
	Name, Label, Hint string
	On                bool
}

func settingsForm(st GatewaySettings) *webkit.Form {
	return webkit.NewForm(map[string]string{
		"returnUrlSuccess": st.ReturnURLSuccess, "returnUrlFailed": st.ReturnURLFailed, "returnUrlCancelled": st.ReturnURLCancelled,
		"webhookUrl": st.WebhookURL, "feeBasisPoints": strconv.FormatInt(st.FeeBasisPoints, 10),
		"feeFixedMinor": strconv.FormatInt(st.FeeFixedMinor, 10)})
}

func settingChecks(st GatewaySettings) []settingCheck {
	return []settingCheck{
		{"autoCapture", "Auto capture", "Capture every authorised payment at once; off: authorise only, and capture within 7 days.", st.AutoCapture},
		{"refuseDirectCardPayments", "Refuse direct card payments", "Card details only on the hosted pages, never in API requests.", st.RefuseDirectCardPayments},
		{"requireHmac", "Require the HMAC signature", "Refuse requests signed with the plain Hash header.", st.RequireHMAC},
		{"requireHmacBodylessWrites", "Require the HMAC signature for body-less writes", "Refuse cancels signed with the plain Hash (the same as any GET's).", st.RequireHMACBodylessWrites},
	}
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
	d := officeSettings{Owner: a.Owner(), ConfigurationID: st.ConfigurationID, Checks: settingChecks(st)}
	m.o.Render(w, r, a, status, m.pages.settings, webkit.View{Title: "Card settings", Data: d, Form: f})
}

// saveSettings (owners only) replaces the settings with PutSettings, the
// method PUT /platform/gateway/settings calls.
func (m *office) saveSettings(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	f := webkit.FormOf(r)
	in := GatewaySettings{AutoCapture: f.Get("autoCapture") == "on", RefuseDirectCardPayments: f.Get("refuseDirectCardPayments") == "on",
		RequireHMAC: f.Get("requireHmac") == "on", RequireHMACBodylessWrites: f.Get("requireHmacBodylessWrites") == "on",
		ReturnURLSuccess: f.Get("returnUrlSuccess"), ReturnURLFailed: f.Get("returnUrlFailed"), ReturnURLCancelled: f.Get("returnUrlCancelled"),
		WebhookURL: f.Get("webhookUrl")}
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
		f.FailWith(err, map[string]string{"feeBasisPoints": "feeBasisPoints", "feeFixedMinor": "feeFixedMinor", "returnUrlSuccess": "returnUrlSuccess",
			"returnUrlFailed": "returnUrlFailed", "returnUrlCancelled": "returnUrlCancelled", "webhookUrl": "webhookUrl"})
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
	return "autoCapture " + on(in.AutoCapture) + ", refuseDirectCardPayments " + on(in.RefuseDirectCardPayments) +
		", requireHmac " + on(in.RequireHMAC) + ", requireHmacBodylessWrites " + on(in.RequireHMACBodylessWrites) +
		", fee " + strconv.FormatInt(in.FeeBasisPoints, 10) + " bp + " + strconv.FormatInt(in.FeeFixedMinor, 10)
}
