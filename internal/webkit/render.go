package webkit

import (
	"bytes"
	"crypto/hmac"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed templates assets
var files embed.FS

// View is what every page's template gets: the layout's parts (set by the
// handler: Title, Nav, SignOut, User, Badge; by the kit: CSRF, Flash) and
// the page's own Data and Form.
type View struct {
	Title   string
	Nav     []NavItem
	SignOut string // the sign-out form's action ("" for visitors)
	User    string // who is signed in, shown in the navigation
	Badge   string // e.g. "Sandbox": the environment, shown beside the brand
	Form    *Form
	Data    any
	CSRF    string // this browser's token: {{template "csrf" $}} in every form
	Flash   string // the message of the previous request, shown once
	// Scripts are the kit's assets (file names under /web/assets/) the page
	// loads, deferred, for what it adds on top of its HTML (a chart over
	// the table of its figures); a page without them runs no JavaScript.
	Scripts []string
	// Styles are the kit's style sheets the page loads after kit.css.
	Styles []string
	// FrameAncestors are the origins that may embed the page (a hosted
	// page in a merchant's iframe): its CSP's frame-ancestors. Empty: the
	// page may not be framed at all (and says so with X-Frame-Options too).
	FrameAncestors []string
}

// NavItem is a link of the navigation.
type NavItem struct {
	Label, Href string
	Current     bool
}

// Nav returns items with the one whose Href is current marked Current.
func Nav(current string, items ...NavItem) []NavItem {
	for i := range items {
		items[i].Current = items[i].Href == current
	}
	return items
}

// Page is a parsed page: the kit's layout plus one content template.
type Page struct{ t *template.Template }

// baseTemplates are the kit's layout and its error page.
type baseTemplates struct {
	layout *template.Template
	errors *Page
}

func parseBase() (*baseTemplates, error) {
	layout, err := template.New("kit").Funcs(funcs()).ParseFS(files, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("webkit: layout: %w", err)
	}
	b := &baseTemplates{layout: layout}
	if b.errors, err = b.page(files, "templates/error.html"); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *baseTemplates) page(fsys fs.FS, file string, more ...string) (*Page, error) {
	t, err := b.layout.Clone()
	if err == nil {
		t, err = t.ParseFS(fsys, append([]string{file}, more...)...)
	}
	if err != nil {
		return nil, fmt.Errorf("webkit: page %s: %w", file, err)
	}
	return &Page{t: t}, nil
}

// Page parses one page's template file from fsys: it defines "content"
// (and may use the kit's "field", "select", "csrf", "formerror" and
// "table" templates, and those the more files define, shared by a page set).
func (k *Kit) Page(fsys fs.FS, file string, more ...string) (*Page, error) {
	return k.base.page(fsys, file, more...)
}

// With returns a copy of the page that also has the templates of the files
// matching patterns in fsys (the partials a page set shares).
func (p *Page) With(fsys fs.FS, patterns ...string) (*Page, error) {
	t, err := p.t.Clone()
	if err == nil {
		t, err = t.ParseFS(fsys, patterns...)
	}
	if err != nil {
		return nil, fmt.Errorf("webkit: partials %v: %w", patterns, err)
	}
	return &Page{t: t}, nil
}

// Render writes the page with status. Pages are never cached, may not be
// framed and load nothing from other sites.
func (k *Kit) Render(w http.ResponseWriter, r *http.Request, status int, p *Page, v View) {
	v.CSRF = k.csrfToken(w, r)
	v.Flash = k.takeFlash(w, r)
	if v.Form == nil {
		v.Form = NewForm(nil)
	}
	var buf bytes.Buffer
	if err := p.t.ExecuteTemplate(&buf, "layout", v); err != nil {
		k.log.ErrorContext(r.Context(), "webkit: render", "title", v.Title, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	pageHeaders(w, len(v.Scripts) > 0, v.FrameAncestors)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// Error renders the kit's error page with msg.
func (k *Kit) Error(w http.ResponseWriter, r *http.Request, status int, msg string) {
	k.Render(w, r, status, k.base.errors, View{Title: http.StatusText(status), Data: msg,
		Nav: []NavItem{{Label: "Home", Href: "/"}}})
}

// pageHeaders sets the headers of every page; scripts allows the page's
// own scripts from this site (never inline ones); ancestors are the
// origins that may frame it (none: it may not be framed).
func pageHeaders(w http.ResponseWriter, scripts bool, ancestors []string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	src := "'none'"
	if scripts {
		src = "'self'"
	}
	frames := "'none'"
	if len(ancestors) > 0 {
		frames = strings.Join(ancestors, " ")
	} else {
		h.Set("X-Frame-Options", "DENY")
	}
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src "+src+"; form-action 'self'; frame-ancestors "+frames+"; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
}

// FlashCookie carries a message to the next page (signed, shown once).
const FlashCookie = "cg_flash"

// Flash shows msg on the next page the browser renders (after a redirect).
func (k *Kit) Flash(w http.ResponseWriter, r *http.Request, msg string) {
	v := base64.RawURLEncoding.EncodeToString([]byte(msg)) + "." + base64.RawURLEncoding.EncodeToString(k.mac("flash", msg))
	k.setCookie(w, r, FlashCookie, v, 60)
}

func (k *Kit) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(FlashCookie)
	if err != nil || c.Value == "" {
		return ""
	}
	k.setCookie(w, r, FlashCookie, "", -1)
	m, sig, ok := strings.Cut(c.Value, ".")
	msg, err1 := base64.RawURLEncoding.DecodeString(m)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if !ok || err1 != nil || err2 != nil || !hmac.Equal(mac, k.mac("flash", string(msg))) {
		return ""
	}
	return string(msg)
}
