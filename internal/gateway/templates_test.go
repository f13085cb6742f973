package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/backoffice/officetest"
	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// pngLogo is a w×h PNG.
func pngLogo(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := 0; x < w; x++ {
		for y := 0; y < h; y++ {
			img.Set(x, y, color.RGBA{uint8(170 + x%80), 0, 68, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// templateForm is the template form's fields.
func templateForm(ref, primary, background, header, footer string, def bool) url.Values {
	v := url.Values{"reference": {ref}, "primaryColour": {primary}, "backgroundColour": {background}, "headerText": {header}, "footerText": {footer}}
	if def {
		v.Set("default", "on")
	}
	return v
}

func logoFile(name, typ string, b []byte) officetest.File {
	return officetest.File{Field: "logo", Name: name, ContentType: typ, Content: b}
}

// jobPage creates a payment link job (no card: its page is the card form)
// naming the page reference ref ("" for none) and returns its hosted page.
func (h *harness) jobPage(ref string) (string, map[string]any) {
	h.T.Helper()
	params := ""
	if ref != "" {
		params = `,"parameters":{"paymentPageReference":"` + ref + `"}`
	}
	m := h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"12.50"`+params+`}`, 201)
	st, body := h.page(actionURL(m))
	if st != 200 {
		h.T.Fatalf("hosted page: %d %s", st, body)
	}
	return body, m
}

var logoRE = regexp.MustCompile(`id="brand-logo" src="(/payment/logos/[0-9a-f]{32})"`)

// TestPaymentPageTemplates: an owner creates templates in the back office
// (logo, colours, texts, the default; audited); a payment job naming one
// (in any case) gets no warning and its hosted card page, 3-D Secure page
// and return page show it; a job naming none or "default" gets the
// tenant's default, one naming an unknown page the default and the
// warning; the logo is served with its sniffed type, nosniff, a sandbox
// CSP and long caching; one default at a time; an edit shows on the pages
// of jobs made before, and a deleted template gives them the default; the
// preview shows the template on a sample job that sends nothing.
func TestPaymentPageTemplates(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			b := officetest.Owner(t, h.App)
			logo := pngLogo(t, 120, 40)
			p := b.PostFiles(officeTemplatesPath, officeTemplatesPath, templateForm("Summer-Sale", "#AA0044", "#fffaf0", "Summer Sale at Acme", "Acme Ltd · 1 High Street", false),
				logoFile("logo.png", "image/png", logo))
			if p.Status != http.StatusSeeOther || p.Location != officeTemplatesPath+"/summer-sale" {
				t.Fatalf("create: %d %q %.500s", p.Status, p.Location, p.Body)
			}
			if n := h.count(`SELECT COUNT(*) FROM office_audit WHERE action = 'gateway.template.create' AND subject = 'summer-sale'`); n != 1 {
				t.Errorf("audit rows %d", n)
			}
			// Before any default: a job naming no page has cashgate's look.
			if body, _ := h.jobPage(""); !strings.Contains(body, "--cg-primary:"+gateway.DefaultPrimary) || strings.Contains(body, `id="brand-header"`) {
				t.Errorf("no template: %.800s", body)
			}
			body, m := h.jobPage("SUMMER-sale")
			if bytes.Contains([]byte(body), []byte("warnings")) || m["warnings"] != nil {
				t.Errorf("a known template warns: %v", m["warnings"])
			}
			for _, want := range []string{"--cg-primary:#aa0044", "--cg-bg:#fffaf0", "--cg-on-primary:#ffffff", `id="brand-header">Summer Sale at Acme<`,
				`id="brand-footer">Acme Ltd · 1 High Street<`, `id="card-form"`} {
				if !strings.Contains(body, want) {
					t.Errorf("branded page lacks %s: %.1500s", want, body)
				}
			}
			lm := logoRE.FindStringSubmatch(body)
			if lm == nil {
				t.Fatalf("no logo on the page: %.1500s", body)
			}
			resp, err := http.Get(h.Server.URL + lm[1])
			if err != nil {
				t.Fatal(err)
			}
			served, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.Equal(served, logo) || resp.Header.Get("Content-Type") != "image/png" ||
				resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") ||
				!strings.Contains(resp.Header.Get("Cache-Control"), "max-age=31536000") {
				t.Errorf("logo: %d %v", resp.StatusCode, resp.Header)
			}
			if st, _ := h.page(h.Server.URL + "/payment/logos/" + strings.Repeat("0", 32)); st != 404 {
				t.Errorf("unknown logo: %d", st)
			}

			// An unknown page: the warning and the default look.
			r := h.call("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"1.00","parameters":{"paymentPageReference":"winter"}}`)
			if !bytes.Contains(r.Body, []byte(`"field":"paymentPageReference"`)) {
				t.Errorf("unknown page: %s", r.Body)
			}

			// A default template: jobs naming none or "default" show it, a
			// job naming summer-sale still shows that one.
			if p := b.PostFiles(officeTemplatesPath, officeTemplatesPath, templateForm("house", "#ffd400", "#202020", "Acme House", "", true)); p.Status != http.StatusSeeOther {
				t.Fatalf("create house: %d %.500s", p.Status, p.Body)
			}
			for _, ref := range []string{"", "default"} {
				if body, _ := h.jobPage(ref); !strings.Contains(body, "--cg-primary:#ffd400") || !strings.Contains(body, "--cg-on-primary:#111111") ||
					!strings.Contains(body, "Acme House") || strings.Contains(body, `id="brand-logo"`) {
					t.Errorf("default template for %q: %.900s", ref, body)
				}
			}
			if body, _ := h.jobPage("summer-sale"); !strings.Contains(body, "#aa0044") {
				t.Errorf("named template: %.600s", body)
			}
			// summer-sale becomes the default: one default only.
			if p := b.PostFiles(officeTemplatesPath+"/summer-sale", officeTemplatesPath+"/summer-sale",
				templateForm("", "#aa0044", "#fffaf0", "Summer Sale at Acme", "Acme Ltd · 1 High Street", true)); p.Status != http.StatusSeeOther {
				t.Fatalf("make summer-sale the default: %d %.500s", p.Status, p.Body)
			}
			if n := h.count(`SELECT COUNT(*) FROM gateway_page_templates WHERE tenant_id = $1 AND is_default`, h.Tenant.TenantID); n != 1 {
				t.Errorf("%d defaults", n)
			}
			if body, _ := h.jobPage(""); !strings.Contains(body, "#aa0044") || !logoRE.MatchString(body) {
				t.Errorf("new default: %.600s", body)
			}

			// The 3-D Secure page and the return page of a summer-sale job.
			m = h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"4.00","parameters":{"cardNumber":"4000000000000002",
"cardCvc":"123","cardExpiryMonth":"05","cardExpiryYear":"30","cardHolderName":"Jon Snow","paymentPageReference":"house"}}`, 201)
			if st, body := h.page(actionURL(m)); st != 200 || !strings.Contains(body, `id="complete"`) || !strings.Contains(body, "#ffd400") {
				t.Errorf("3-D Secure page: %d %.800s", st, body)
			}
			token := mustQuery(t, strings.SplitN(actionURL(m), "?", 2)[1]).Get("ref")
			resp, err = h.NoRedirect.PostForm(h.Server.URL+"/payment/3ds?ref="+token, url.Values{"result": {"success"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if st, body := h.page(resp.Header.Get("Location")); st != 200 || !strings.Contains(body, "Payment completed") || !strings.Contains(body, "#ffd400") ||
				!strings.Contains(body, "Acme House") {
				t.Errorf("return page: %d %.800s", st, body)
			}

			// An edit shows on the page of a job made before (the logo
			// removed, new colours); a deleted template gives its jobs the
			// default.
			_, houseJob := h.jobPage("house")
			f := templateForm("", "#003366", "#eeeeee", "Acme House", "", false)
			if p := b.PostFiles(officeTemplatesPath+"/house", officeTemplatesPath+"/house", f); p.Status != http.StatusSeeOther {
				t.Fatalf("edit house: %d %.500s", p.Status, p.Body)
			}
			if st, body := h.page(actionURL(houseJob)); st != 200 || !strings.Contains(body, "--cg-primary:#003366") || !strings.Contains(body, "--cg-bg:#eeeeee") {
				t.Errorf("edited: %.600s", body)
			}
			q, p := b.Confirm(officeTemplatesPath+"/house", officeTemplatesPath+"/house/delete", url.Values{})
			if !strings.Contains(q, "Delete payment page template house?") || p.Status != http.StatusSeeOther {
				t.Fatalf("delete: %q %d %.500s", q, p.Status, p.Body)
			}
			if _, body := h.page(actionURL(houseJob)); !strings.Contains(body, "#aa0044") {
				t.Errorf("a deleted template's job: %.600s", body)
			}
			if p := b.Get(officeTemplatesPath + "/house"); p.Status != 404 {
				t.Errorf("deleted template page: %d", p.Status)
			}

			// The preview: the template on a sample job, nothing to send.
			for q, want := range map[string]string{"": `id="card-form"`, "?page=3ds": `id="complete" disabled`, "?page=result": "Payment completed",
				"?locale=de": "Vorschau: Auf dieser Seite kann nicht bezahlt werden."} {
				p := b.Get(officeTemplatesPath + "/summer-sale/preview" + q)
				csp := p.Header.Get("Content-Security-Policy")
				if p.Status != 200 || !strings.Contains(p.Body, want) || !strings.Contains(p.Body, `id="preview-notice"`) || !strings.Contains(p.Body, "#aa0044") ||
					!strings.Contains(csp, "form-action 'none'") || !strings.Contains(csp, "frame-ancestors 'self'") {
					t.Errorf("preview %q: %d %s %.900s", q, p.Status, csp, p.Body)
				}
			}
			if p := b.Get(officeTemplatesPath + "/summer-sale/preview"); !strings.Contains(p.Body, "<fieldset disabled>") {
				t.Errorf("the preview's form is not disabled")
			}
			if p := b.Get(officeTemplatesPath + "/summer-sale"); p.Status != 200 || !strings.Contains(p.Body, `id="template-preview"`) ||
				!strings.Contains(p.Body, `id="current-logo"`) {
				t.Errorf("template page: %d %.600s", p.Status, p.Body)
			}
			if p := b.Get(officeTemplatesPath); p.Status != 200 || !strings.Contains(p.Body, `href="/office/gateway/templates/summer-sale"`) {
				t.Errorf("list: %d %.600s", p.Status, p.Body)
			}
		})
	}
}

const officeTemplatesPath = "/office/gateway/templates"

// TestPageTemplatesConcurrent: owners saving templates at once, each made
// the default, all succeed and leave one default; creations beyond
// MaxPageTemplates at once are refused, never stored.
func TestPageTemplatesConcurrent(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			svc := h.app.Gateway.Service
			const n = gateway.MaxPageTemplates + 4
			errs := make(chan error, n)
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := svc.SavePageTemplate(context.Background(), h.Tenant.TenantID, gateway.PageTemplateSpec{Reference: fmt.Sprintf("t%d", i),
						PrimaryColour: "#112233", BackgroundColour: "#ffffff", Default: true}, true)
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			ok, refused := 0, 0
			for err := range errs {
				switch {
				case err == nil:
					ok++
				case apperr.Is(err, apperr.Invalid):
					refused++
				default:
					t.Errorf("save: %v", err)
				}
			}
			if ok != gateway.MaxPageTemplates || refused != n-gateway.MaxPageTemplates {
				t.Errorf("%d saved, %d refused", ok, refused)
			}
			if c := h.count(`SELECT COUNT(*) FROM gateway_page_templates WHERE tenant_id = $1`, h.Tenant.TenantID); c != gateway.MaxPageTemplates {
				t.Errorf("%d stored", c)
			}
			if c := h.count(`SELECT COUNT(*) FROM gateway_page_templates WHERE tenant_id = $1 AND is_default`, h.Tenant.TenantID); c != 1 {
				t.Errorf("%d defaults", c)
			}
		})
	}
}
