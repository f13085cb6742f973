package webkit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/httpx"
)

// FieldView is one input with its label, hint and error ("field").
type FieldView struct {
	ID, Name, Label, Type, Value, Error, Hint string
	Autocomplete, Inputmode                   string
	Required, Disabled                        bool
}

// SelectView is one select with its options ("select").
type SelectView struct {
	ID, Name, Label, Error, Hint string
	Options                      []Option
	Required, Disabled           bool
}

// Option is a select's option.
type Option struct {
	Value    string
	Selected bool
}

func funcs() template.FuncMap {
	return template.FuncMap{"field": field, "choose": choose}
}

// field builds a FieldView from the form: {{template "field" (field
// $.Form "email" "E-mail" "email" "required" "autocomplete=email"
// "hint=…")}}; "id=…" sets the element id when two forms of a page have a
// field of one name (default: the name). A password's value is never sent
// back.
func field(f *Form, name, label, typ string, opts ...string) FieldView {
	o := controlOptions(name, opts)
	v := FieldView{ID: o.id, Name: name, Label: label, Type: typ, Error: f.Errors[name], Hint: o.hint,
		Autocomplete: o.autocomplete, Inputmode: o.inputmode, Required: o.required, Disabled: o.disabled}
	if typ != "password" {
		v.Value = f.Values.Get(name)
	}
	return v
}

// controlOpts are the "key=value" options of field and choose.
type controlOpts struct {
	id, hint, autocomplete, inputmode string
	required, disabled                bool
}

func controlOptions(name string, opts []string) controlOpts {
	o := controlOpts{id: name}
	for _, opt := range opts {
		key, val, _ := strings.Cut(opt, "=")
		switch key {
		case "required":
			o.required = true
		case "disabled":
			o.disabled = true
		case "autocomplete":
			o.autocomplete = val
		case "inputmode":
			o.inputmode = val
		case "hint":
			o.hint = val
		case "id":
			o.id = val
		}
	}
	return o
}

// choose builds a SelectView of the choices, the form's value selected.
func choose(f *Form, name, label string, choices []string, opts ...string) SelectView {
	o := controlOptions(name, opts)
	v := SelectView{ID: o.id, Name: name, Label: label, Error: f.Errors[name], Hint: o.hint, Required: o.required, Disabled: o.disabled}
	cur := f.Values.Get(name)
	for _, c := range choices {
		v.Options = append(v.Options, Option{Value: c, Selected: c == cur})
	}
	return v
}

// Table is a table with an optional pager ("table").
type Table struct {
	Caption string
	Columns []string
	Rows    [][]Cell
	Empty   string // shown when there are no rows
	Pager   *Pager
}

// Cell is one table cell.
type Cell struct {
	Text string
	Mono bool   // code-like text (ids, keys)
	Href string // the cell's text links there ("" for none)
}

// Pager is one page of a list: its number, the number of pages and the
// links to the neighbours ("" where there is none).
type Pager struct {
	Page, Pages, Total int
	Prev, Next         string
}

// Paginate pages total rows by size for the request's ?page= (1 when
// missing or out of range); From and To bound the rows of the page.
func Paginate(r *http.Request, total, size int) (p Pager, from, to int) {
	pages := max(1, (total+size-1)/size)
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || page < 1 || page > pages {
		page = 1
	}
	p = Pager{Page: page, Pages: pages, Total: total}
	link := func(n int) string {
		q := url.Values{}
		for k, v := range r.URL.Query() {
			q[k] = v
		}
		q.Set("page", strconv.Itoa(n))
		return r.URL.Path + "?" + q.Encode()
	}
	if page > 1 {
		p.Prev = link(page - 1)
	}
	if page < pages {
		p.Next = link(page + 1)
	}
	from = (page - 1) * size
	return p, from, min(total, from+size)
}

// AssetRoute serves the kit's embedded assets at /web/assets/{file}: Pico CSS,
// kit.css, and the scripts a few pages add (uPlot and kit-chart.js, the
// charts over the tables of figures), revalidated with an ETag, so a new
// binary's files are seen at once.
func AssetRoute() httpx.Route {
	static, _ := fs.Sub(files, "assets")
	return httpx.Route{Method: http.MethodGet, Path: "/web/assets/{file}", API: httpx.APIPublic,
		Summary: "Style sheets and scripts of the web pages (Pico CSS, kit.css, uPlot)",
		Handler: func(w http.ResponseWriter, r *http.Request) {
			name := path.Base(r.PathValue("file"))
			ext := path.Ext(name)
			if ext != ".css" && ext != ".js" {
				http.NotFound(w, r)
				return
			}
			b, err := fs.ReadFile(static, name)
			if err != nil {
				http.NotFound(w, r)
				return
			}
			ctype := "text/css; charset=utf-8"
			if ext == ".js" {
				ctype = "text/javascript; charset=utf-8"
			}
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("ETag", etag(b))
			w.Header().Set("X-Content-Type-Options", "nosniff")
			http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
		}}
}

func etag(b []byte) string {
	h := sha256.Sum256(b)
	return `"` + hex.EncodeToString(h[:8]) + `"`
}
