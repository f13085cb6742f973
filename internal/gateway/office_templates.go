package gateway

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The payment page templates in the back office (issue 12): the list, a
// template's page with its form and a live preview of the hosted pages
// (card form, 3-D Secure simulator, return page; English, German or
// French) in a frame, made with a sample job on which nothing can be paid.
// Owners create, change and delete templates (SavePageTemplate,
// DeletePageTemplate), each audited in its transaction; agents see them
// read-only.

const officeTemplates = "/office/gateway/templates"

// maxTemplateForm bounds a template form's body: the logo and the fields.
const maxTemplateForm = MaxLogoBytes + 16<<10

func (m *office) templateRoutes() []backoffice.Route {
	const one = officeTemplates + "/{ref}"
	return []backoffice.Route{
		{Method: http.MethodGet, Path: officeTemplates, Summary: "payment page templates: the list, and a form to create one", Handler: m.templatesPage},
		{Method: http.MethodPost, Path: officeTemplates, Summary: "create a payment page template (owners only)", Owner: true, Upload: maxTemplateForm, Handler: m.createTemplate},
		{Method: http.MethodGet, Path: one, Summary: "a payment page template: its form and preview", Handler: m.templatePage},
		{Method: http.MethodPost, Path: one, Summary: "change a payment page template (owners only)", Owner: true, Upload: maxTemplateForm, Handler: m.saveTemplate},
		{Method: http.MethodPost, Path: one + "/delete", Summary: "delete a payment page template (owners only; confirmed first)", Owner: true, Handler: m.deleteTemplate},
		{Method: http.MethodGet, Path: one + "/preview", Summary: "preview of the hosted page with a payment page template (sample job)",
			Query: []string{"page", "locale"}, Handler: m.previewTemplate},
	}
}

// officeTemplateList is the templates page.
type officeTemplateList struct {
	Owner     bool
	Templates []PageTemplate
	Max       int
}

// officeTemplate is a template's page.
type officeTemplate struct {
	Owner    bool
	Template PageTemplate
	Previews []templatePreview
}

type templatePreview struct{ Label, URL string }

func templateForm(t PageTemplate) *webkit.Form {
	f := webkit.NewForm(map[string]string{"reference": t.Reference, "headerText": t.HeaderText, "footerText": t.FooterText,
		"primaryColour": t.PrimaryColour, "backgroundColour": t.BackgroundColour})
	if t.Default {
		f.Values.Set("default", "on")
	}
	return f
}

func (m *office) templatesPage(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	m.renderTemplates(w, r, a, http.StatusOK, templateForm(PageTemplate{PrimaryColour: DefaultPrimary, BackgroundColour: DefaultBackground}))
}

func (m *office) renderTemplates(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, status int, f *webkit.Form) {
	ts, err := m.s.PageTemplates(r.Context(), a.TenantID)
	if err != nil {
		m.o.Fail(w, r, a, "payment page templates", err)
		return
	}
	d := officeTemplateList{Owner: a.Owner(), Templates: ts, Max: MaxPageTemplates}
	m.o.Render(w, r, a, status, m.pages.templates, webkit.View{Title: "Payment page templates", Data: d, Form: f})
}

func (m *office) templatePage(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	t, err := m.s.PageTemplate(r.Context(), a.TenantID, r.PathValue("ref"))
	if err != nil {
		m.templateFail(w, r, a, "payment page template", err)
		return
	}
	m.renderTemplate(w, r, a, http.StatusOK, t, templateForm(t))
}

func (m *office) renderTemplate(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, status int, t PageTemplate, f *webkit.Form) {
	base := officeTemplates + "/" + url.PathEscape(t.Reference) + "/preview"
	d := officeTemplate{Owner: a.Owner(), Template: t, Previews: []templatePreview{{"Card form", base}, {"3-D Secure", base + "?page=3ds"},
		{"Return page", base + "?page=result"}, {"Card form in German", base + "?locale=de"}, {"Card form in French", base + "?locale=fr"}}}
	m.o.Render(w, r, a, status, m.pages.template, webkit.View{Title: "Payment page template " + t.Reference, Data: d, Form: f})
}

// templateFields maps SavePageTemplate's field names to the form's.
var templateFields = map[string]string{"reference": "reference", "headerText": "headerText", "footerText": "footerText",
	"primaryColour": "primaryColour", "backgroundColour": "backgroundColour", "logo": "logo"}

// specOf reads the template form (and its logo) of r.
func specOf(r *http.Request, f *webkit.Form, ref string) PageTemplateSpec {
	in := PageTemplateSpec{Reference: ref, HeaderText: f.Get("headerText"), FooterText: f.Get("footerText"),
		PrimaryColour: f.Get("primaryColour"), BackgroundColour: f.Get("backgroundColour"), Default: f.Get("default") == "on",
		RemoveLogo: f.Get("removeLogo") == "on"}
	logo, err := webkit.FileOf(r, "logo")
	if err != nil {
		f.Fail("logo", "The logo could not be read; choose it again.")
	}
	in.Logo = logo
	return in
}

func (m *office) createTemplate(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	f := webkit.FormOf(r)
	in := specOf(r, f, f.Get("reference"))
	if f.OK() {
		err := m.o.Do(r, a, backoffice.Action{Name: "gateway.template.create", Subject: normPageRef(in.Reference), Detail: templateDetail(in)},
			func(ctx context.Context) error {
				_, err := m.s.SavePageTemplate(ctx, a.TenantID, in, true)
				return err
			})
		if err == nil {
			m.o.Redirect(w, r, officeTemplates+"/"+url.PathEscape(normPageRef(in.Reference)), "Payment page template created.")
			return
		}
		if !apperr.Is(err, apperr.Invalid) {
			m.o.Fail(w, r, a, "create a payment page template", err)
			return
		}
		f.FailWith(err, templateFields)
	}
	m.renderTemplates(w, r, a, http.StatusUnprocessableEntity, f)
}

func (m *office) saveTemplate(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	t, err := m.s.PageTemplate(r.Context(), a.TenantID, r.PathValue("ref"))
	if err != nil {
		m.templateFail(w, r, a, "payment page template", err)
		return
	}
	f := webkit.FormOf(r)
	in := specOf(r, f, t.Reference)
	if f.OK() {
		err = m.o.Do(r, a, backoffice.Action{Name: "gateway.template.save", Subject: t.Reference, Detail: templateDetail(in)}, func(ctx context.Context) error {
			_, err := m.s.SavePageTemplate(ctx, a.TenantID, in, false)
			return err
		})
		if err == nil {
			m.o.Redirect(w, r, officeTemplates+"/"+url.PathEscape(t.Reference), "Payment page template saved.")
			return
		}
		if !apperr.Is(err, apperr.Invalid) {
			m.o.Fail(w, r, a, "save the payment page template", err)
			return
		}
		f.FailWith(err, templateFields)
	}
	f.Values.Set("reference", t.Reference)
	m.renderTemplate(w, r, a, http.StatusUnprocessableEntity, t, f)
}

func (m *office) deleteTemplate(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	t, err := m.s.PageTemplate(r.Context(), a.TenantID, r.PathValue("ref"))
	if err != nil {
		m.templateFail(w, r, a, "payment page template", err)
		return
	}
	ref := t.Reference
	if !backoffice.Confirmed(r) {
		c := backoffice.Confirm{Question: "Delete payment page template " + ref + "? Payment jobs naming it get your default template from then on.",
			Button: "Delete the template", Action: r.URL.Path, Back: officeTemplates + "/" + url.PathEscape(ref)}
		m.o.Ask(w, r, a, c)
		return
	}
	err = m.o.Do(r, a, backoffice.Action{Name: "gateway.template.delete", Subject: ref}, func(ctx context.Context) error {
		return m.s.DeletePageTemplate(ctx, a.TenantID, ref)
	})
	if err != nil {
		m.templateFail(w, r, a, "delete the payment page template", err)
		return
	}
	m.o.Redirect(w, r, officeTemplates, "Payment page template "+ref+" deleted.")
}

// templateFail answers a template that is not the tenant's with 404.
func (m *office) templateFail(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, what string, err error) {
	if apperr.Is(err, apperr.NotFound) {
		m.o.Error(w, r, a, http.StatusNotFound, MsgTemplateNotFound)
		return
	}
	m.o.Fail(w, r, a, what, err)
}

// templateDetail is the audit row's summary of a template saved.
func templateDetail(in PageTemplateSpec) string {
	logo := "logo unchanged"
	switch {
	case in.Logo != nil:
		logo = "new logo (" + strconv.Itoa(len(in.Logo)) + " bytes)"
	case in.RemoveLogo:
		logo = "logo removed"
	}
	def := ""
	if in.Default {
		def = ", default"
	}
	return "colours " + in.PrimaryColour + " on " + in.BackgroundColour + ", " + logo + def
}

// previewTemplate shows a hosted page with the template and a sample job
// (?page= card, 3ds or result; ?locale= en, de or fr), with the hosted
// page's own CSP, framed by the back office only, sending no form.
func (m *office) previewTemplate(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	t, err := m.s.PageTemplate(r.Context(), a.TenantID, r.PathValue("ref"))
	if err != nil {
		m.templateFail(w, r, a, "payment page template", err)
		return
	}
	q := r.URL.Query()
	d := pageData{L: langOf(q.Get("locale")), Title: "Pay by card", Mode: "card", Amount: "12.50", Currency: "GBP", OrderNumber: "SAMPLE-1001",
		Brand: brandOf(t), Preview: true, Card: true}
	switch q.Get("page") {
	case "3ds":
		d.Title, d.Mode, d.Masked = "3-D Secure", "3ds", "400000******0002"
	case "result":
		txt := resultTexts[StPaid]
		d.Title, d.Mode, d.Notice, d.Status = txt.title, "result", txt.message, StPaid
	}
	d.Amount = d.L.amount(d.Amount)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'self'")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("X-Content-Type-Options", "nosniff")
	if err := pageTmpl.Execute(w, d); err != nil {
		m.s.Log.Error("gateway: template preview", "err", err)
	}
}
