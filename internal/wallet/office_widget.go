package wallet

import (
	"context"
	"net/http"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The widget's back-office page: the origins the corporate's checkout
// pages may embed the "Pay with cashgate wallet" widget on (every admin
// user sees them; owners change them, audited), and the script tag to use.

const officeWidgetPath = "/office/wallet/widget"

type officeWidget struct {
	s    *Service
	o    *backoffice.Office
	page *webkit.Page
}

// withWidget adds the widget's page to the wallet's module.
func (m *office) withWidget(mod backoffice.Module) (backoffice.Module, error) {
	p, err := m.o.Page(officeFiles, "office/widget.html")
	if err != nil {
		return backoffice.Module{}, err
	}
	wp := &officeWidget{s: m.s, o: m.o, page: p}
	mod.Nav = append(mod.Nav, backoffice.NavItem{Label: "Wallet widget", Href: officeWidgetPath, Order: 32})
	mod.Routes = append(mod.Routes,
		backoffice.Route{Method: http.MethodGet, Path: officeWidgetPath, Summary: "wallet widget: the origins it may be embedded on, the script tag", Handler: wp.show},
		backoffice.Route{Method: http.MethodPost, Path: officeWidgetPath, Owner: true,
			Summary: "wallet widget: replace the origins it may be embedded on", Handler: wp.save},
	)
	return mod, nil
}

// widgetData is the page.
type widgetData struct {
	Open      bool
	Owner     bool
	Origins   []string
	ScriptURL string
}

func (m *officeWidget) show(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	m.render(w, r, a, http.StatusOK, nil)
}

// render shows the page; f is a posted form to show again with its errors.
func (m *officeWidget) render(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, status int, f *webkit.Form) {
	d := widgetData{Owner: a.Owner(), ScriptURL: m.s.cfg.PublicURL + "/wallet/widget.js"}
	origins, err := m.s.WidgetOriginsOf(r.Context(), a.TenantID)
	switch {
	case apperr.Is(err, apperr.NotFound):
	case err != nil:
		m.o.Fail(w, r, a, "wallet widget", err)
		return
	default:
		d.Open, d.Origins = true, origins.Origins
	}
	if f == nil {
		f = webkit.NewForm(map[string]string{"origins": strings.Join(d.Origins, " ")})
	}
	m.o.Render(w, r, a, status, m.page, webkit.View{Title: "Wallet widget", Data: &d, Form: f})
}

// save (owners) replaces the origins, separated by spaces or commas
// (SetWidgetOrigins).
func (m *officeWidget) save(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	f := webkit.FormOf(r)
	if !f.OK() { // a control character
		m.render(w, r, a, http.StatusUnprocessableEntity, f)
		return
	}
	origins := strings.FieldsFunc(f.Get("origins"), func(c rune) bool { return c == ' ' || c == ',' })
	act := backoffice.Action{Name: "wallet.widget.origins", Subject: a.TenantID, Detail: strings.Join(origins, " ")}
	err := m.o.Do(r, a, act, func(ctx context.Context) error {
		_, err := m.s.SetWidgetOrigins(ctx, a.TenantID, origins)
		return err
	})
	switch apperr.CodeOf(err) {
	case "":
		m.o.Redirect(w, r, officeWidgetPath, "The widget's origins are saved.")
	case apperr.Invalid:
		f.Fail("origins", apperr.From(err).Message)
		m.render(w, r, a, http.StatusUnprocessableEntity, f)
	default:
		m.o.Refused(w, r, a, act.Name, err)
	}
}
