package wallet

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"

	"github.com/cashgate/cashgate/internal/httpx"
)

// The wallet app's pages: one HTML shell (html/template) and its script and
// style, embedded in the binary. The script drives the wallet app's JSON
// API (/wallet/app/v1/…) with the session cookie and refreshes balance,
// transactions and pending requests every two seconds.

//go:embed assets
var assets embed.FS

var pageTmpl = template.Must(template.ParseFS(assets, "assets/index.html"))

// pageData fills the HTML shell.
type pageData struct {
	Title string
	API   string
}

func (s *Service) pageRoutes() []httpx.Route {
	static, _ := fs.Sub(assets, "assets")
	return []httpx.Route{
		{Method: "GET", Path: "/wallet/{$}", API: httpx.APIPublic, Summary: "The wallet app (web): log in, balance, transactions, approve requests with the PIN, send, top up, withdraw",
			Handler: func(w http.ResponseWriter, r *http.Request) {
				var buf bytes.Buffer
				if err := pageTmpl.Execute(&buf, pageData{Title: "cashgate wallet", API: "/wallet/app/v1"}); err != nil {
					http.Error(w, "internal error", http.StatusInternalServerError)
					return
				}
				setPageHeaders(w)
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, _ = w.Write(buf.Bytes())
			}},
		{Method: "GET", Path: "/wallet/assets/{file}", API: httpx.APIPublic, Summary: "The wallet app's script and style",
			Handler: func(w http.ResponseWriter, r *http.Request) {
				name := path.Base(r.PathValue("file"))
				if name == "index.html" {
					http.NotFound(w, r)
					return
				}
				b, err := fs.ReadFile(static, name)
				if err != nil {
					http.NotFound(w, r)
					return
				}
				setPageHeaders(w)
				w.Header().Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
				w.Header().Set("Cache-Control", "no-cache")
				_, _ = w.Write(b)
			}},
	}
}

// setPageHeaders forbids framing and foreign scripts.
func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}
