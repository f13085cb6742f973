package gateway_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/backoffice/officetest"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestPaymentPageTemplateRefusals: the template form refuses, beside the
// field and storing nothing, a logo over 200 KB, a body far over the limit
// (413 before the handler), a GIF, an HTML file that says it is a PNG, an
// SVG with a script, a NUL or a control character in a text, a colour that
// is no #rrggbb, a reserved or malformed reference and one taken; agents
// read the templates but their posts are refused (403), as are posts
// without the CSRF token or from another site; another tenant's browser
// finds none of them.
func TestPaymentPageTemplateRefusals(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			b := officetest.Owner(t, h.App)
			ok := func() url.Values { return templateForm("shop", "#aa0044", "#ffffff", "Acme", "Footer", false) }
			with := func(k, v string) url.Values { f := ok(); f.Set(k, v); return f }
			big := append(pngLogo(t, 8, 8), make([]byte, 201<<10)...)
			for name, c := range map[string]struct {
				form  url.Values
				files []officetest.File
				field string
				want  string
			}{
				"logo over 200 KB":    {ok(), []officetest.File{logoFile("big.png", "image/png", big)}, "logo", "at most 200 KB"},
				"gif":                 {ok(), []officetest.File{logoFile("a.gif", "image/gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"))}, "logo", "PNG, JPEG or SVG"},
				"html lying":          {ok(), []officetest.File{logoFile("logo.png", "image/png", []byte("<html><body><script>alert(document.cookie)</script></body></html>"))}, "logo", "PNG, JPEG or SVG"},
				"svg with a script":   {ok(), []officetest.File{logoFile("logo.svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`))}, "logo", "not plain drawing"},
				"NUL in header":       {with("headerText", "Acme\x00Ltd"), nil, "headerText", "control character"},
				"newline in footer":   {with("footerText", "line 1\nline 2"), nil, "footerText", "control character"},
				"colour name":         {with("primaryColour", "red"), nil, "primaryColour", "#rrggbb"},
				"css in colour":       {with("backgroundColour", "#fff;}body{display:none"), nil, "backgroundColour", "#rrggbb"},
				"header too long":     {with("headerText", strings.Repeat("x", 121)), nil, "headerText", "at most 120"},
				"reserved reference":  {with("reference", "default"), nil, "reference", "not &#34;default&#34;"},
				"malformed reference": {with("reference", "summer sale!"), nil, "reference", "lower-case letters"},
			} {
				p := b.PostFiles(officeTemplatesPath, officeTemplatesPath, c.form, c.files...)
				if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="`+c.field+`-error"`) || !strings.Contains(p.Body, c.want) {
					t.Errorf("%s: %d %.400s", name, p.Status, p.Body)
				}
			}
			if p := b.PostFiles(officeTemplatesPath, officeTemplatesPath, ok(), logoFile("huge.png", "image/png", make([]byte, 1<<20))); p.Status != http.StatusRequestEntityTooLarge {
				t.Errorf("a 1 MB upload: %d %.300s", p.Status, p.Body)
			}
			if n := h.count(`SELECT COUNT(*) FROM gateway_page_templates`); n != 0 {
				t.Fatalf("refused forms stored %d templates", n)
			}
			if p := b.PostFiles(officeTemplatesPath, officeTemplatesPath, ok()); p.Status != http.StatusSeeOther {
				t.Fatalf("create: %d %.400s", p.Status, p.Body)
			}
			if p := b.PostFiles(officeTemplatesPath, officeTemplatesPath, ok()); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "exists already") {
				t.Errorf("the same reference again: %d %.400s", p.Status, p.Body)
			}
			// A refused edit changes nothing (the logo stays as it was).
			if p := b.PostFiles(officeTemplatesPath+"/shop", officeTemplatesPath+"/shop", with("headerText", "x\x00"),
				logoFile("logo.png", "image/png", pngLogo(t, 4, 4))); p.Status != http.StatusUnprocessableEntity {
				t.Errorf("refused edit: %d", p.Status)
			}
			if n := h.count(`SELECT COUNT(*) FROM gateway_page_templates WHERE header_text = 'Acme' AND logo_id IS NULL`); n != 1 {
				t.Errorf("a refused edit changed the template")
			}

			// Agents read, and are refused every change.
			agent := b.AddUser("agent", "ann.agent", "agent password 1")
			if p := agent.Get(officeTemplatesPath); p.Status != 200 || !strings.Contains(p.Body, `id="templates-read-only"`) || strings.Contains(p.Body, `id="create-template"`) {
				t.Errorf("agent list: %d %.400s", p.Status, p.Body)
			}
			if p := agent.Get(officeTemplatesPath + "/shop"); p.Status != 200 || !strings.Contains(p.Body, "<fieldset disabled>") || strings.Contains(p.Body, `id="save-template"`) {
				t.Errorf("agent template page: %d", p.Status)
			}
			if p := agent.Get(officeTemplatesPath + "/shop/preview"); p.Status != 200 {
				t.Errorf("agent preview: %d", p.Status)
			}
			for path, form := range map[string]url.Values{officeTemplatesPath: with("reference", "agents"), officeTemplatesPath + "/shop": with("headerText", "Agent was here")} {
				if p := agent.PostFiles(officeTemplatesPath, path, form); p.Status != http.StatusForbidden {
					t.Errorf("agent posts %s: %d", path, p.Status)
				}
			}
			if p := agent.Post(officeTemplatesPath, officeTemplatesPath+"/shop/delete", url.Values{"confirm": {"yes"}}); p.Status != http.StatusForbidden {
				t.Errorf("agent deletes: %d", p.Status)
			}
			// CSRF: no token, another browser's token, another site.
			noToken := with("headerText", "No token")
			if p := b.Send("POST", officeTemplatesPath+"/shop", noToken, "same-origin"); p.Status != http.StatusForbidden {
				t.Errorf("no CSRF token: %d", p.Status)
			}
			stolen := with("headerText", "Stolen token")
			stolen.Set("csrf", agent.Token(officeTemplatesPath))
			if p := b.Send("POST", officeTemplatesPath+"/shop/delete", stolen, "same-origin"); p.Status != http.StatusForbidden {
				t.Errorf("another browser's token: %d", p.Status)
			}
			cross := with("headerText", "Cross site")
			cross.Set("csrf", b.Token(officeTemplatesPath))
			if p := b.Send("POST", officeTemplatesPath+"/shop", cross, "cross-site"); p.Status != http.StatusForbidden {
				t.Errorf("cross-site post: %d", p.Status)
			}
			if n := h.count(`SELECT COUNT(*) FROM gateway_page_templates WHERE header_text = 'Acme'`); n != 1 {
				t.Errorf("a refused post changed the template")
			}
			if n := h.count(`SELECT COUNT(*) FROM office_audit WHERE action LIKE 'gateway.template.%'`); n != 1 {
				t.Errorf("audit rows %d, want the one create", n)
			}
			// Another tenant.
			other := officetest.OtherTenant(t, h.App)
			for _, path := range []string{officeTemplatesPath + "/shop", officeTemplatesPath + "/shop/preview"} {
				if p := other.Get(path); p.Status != 404 {
					t.Errorf("other tenant GET %s: %d", path, p.Status)
				}
			}
			if p := other.Post(officeTemplatesPath, officeTemplatesPath+"/shop/delete", url.Values{"confirm": {"yes"}}); p.Status != 404 {
				t.Errorf("other tenant deletes: %d", p.Status)
			}
			if p := other.Get(officeTemplatesPath); strings.Contains(p.Body, "/office/gateway/templates/shop") {
				t.Errorf("other tenant lists the template")
			}
		})
	}
}
