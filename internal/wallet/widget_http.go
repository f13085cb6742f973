package wallet

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
)

//go:embed widget
var widgetFiles embed.FS

var widgetFrameTmpl = template.Must(template.ParseFS(widgetFiles, "widget/frame.html"))

// WidgetPayRequest is the username the shopper typed in the widget.
type WidgetPayRequest struct {
	Username string `json:"username"`
}

func widgetOf(r *http.Request) (httpx.Principal, error) {
	p, ok := httpx.PrincipalFrom(r.Context())
	if !ok || p.KeyID != principalWidget {
		return p, apperr.New(apperr.Unauthenticated, "widget token missing: send Authorization: Bearer <widget token>")
	}
	return p, nil
}

// widgetRoutes: the merchant API's token minting and origins, the frame's
// own API (authorised by the widget token), the platform API's origins
// (APP key), the script and the frame page.
func (s *Service) widgetRoutes(errw, platformErrs httpx.ErrorWriter) []httpx.Route {
	W, api := httpx.APIWallet, "/wallet/api/v1/widget"
	merchant := func(fn func(r *http.Request, tenantID string) (any, error)) func(r *http.Request) (any, error) {
		return func(r *http.Request) (any, error) {
			p, err := merchantOf(r)
			if err != nil {
				return nil, err
			}
			return fn(r, p.TenantID)
		}
	}
	rs := []httpx.Route{
		{Method: "POST", Path: api + "/tokens", API: W, Status: 201, Request: WidgetTokenSpec{}, Response: WidgetToken{},
			Summary: "Mint a short-lived, single-use widget token for the \"Pay with cashgate wallet\" iframe, bound to the amount, currency, reference, callback URL and one registered origin",
			Handler: handler(errw, 201, merchant(func(r *http.Request, tid string) (any, error) {
				var in WidgetTokenSpec
				if err := decode(r, &in); err != nil {
					return nil, err
				}
				return s.MintWidgetToken(r.Context(), tid, in)
			}))},
		{Method: "GET", Path: api + "/origins", API: W, Response: WidgetOrigins{}, Summary: "The origins the widget may be embedded on",
			Handler: handler(errw, 200, merchant(func(r *http.Request, tid string) (any, error) { return s.WidgetOriginsOf(r.Context(), tid) }))},
		{Method: "PUT", Path: api + "/origins", API: W, Request: WidgetOrigins{}, Response: WidgetOrigins{},
			Summary: "Replace the origins the widget may be embedded on (https://host[:port]; http only for localhost)",
			Handler: handler(errw, 200, merchant(func(r *http.Request, tid string) (any, error) {
				var in WidgetOrigins
				if err := decode(r, &in); err != nil {
					return nil, err
				}
				return s.SetWidgetOrigins(r.Context(), tid, in.Origins)
			}))},
		{Method: "GET", Path: "/wallet/widget/v1/status", API: W, Response: WidgetStatus{},
			Summary: "The widget's payment: ready, pending (approve in the wallet app), approved, denied or expired (Authorization: Bearer <widget token>)",
			Handler: handler(errw, 200, func(r *http.Request) (any, error) {
				p, err := widgetOf(r)
				if err != nil {
					return nil, err
				}
				return s.WidgetStatusOf(r.Context(), p.UserID)
			})},
		{Method: "POST", Path: "/wallet/widget/v1/requests", API: W, Status: 201, Request: WidgetPayRequest{}, Response: WidgetStatus{},
			Summary: "Ask the customer (by username) to approve the widget's payment; once per token, at most 5 usernames per token and 10 unknown ones per address in 15 minutes",
			Handler: handler(errw, 201, func(r *http.Request) (any, error) {
				p, err := widgetOf(r)
				if err != nil {
					return nil, err
				}
				var in WidgetPayRequest
				if err := decode(r, &in); err != nil {
					return nil, err
				}
				return s.WidgetPay(r.Context(), p.UserID, in.Username, httpx.ClientAddr(r))
			})},
	}
	rs = append(rs, s.widgetPlatformRoutes(platformErrs)...)
	return append(rs, s.widgetPages()...)
}

// widgetPlatformRoutes let the tenant manage its widget origins with its
// APP key.
func (s *Service) widgetPlatformRoutes(errw httpx.ErrorWriter) []httpx.Route {
	const p = "/platform/wallet/corporate/widget-origins"
	tenant := func(r *http.Request) (string, error) {
		pr, ok := httpx.PrincipalFrom(r.Context())
		if !ok || pr.TenantID == "" {
			return "", apperr.New(apperr.Unauthenticated, "Authorization field missing")
		}
		return pr.TenantID, nil
	}
	return []httpx.Route{
		{Method: "GET", Path: p, API: httpx.APIPlatform, Response: WidgetOrigins{}, Summary: "The origins the wallet widget may be embedded on",
			Handler: httpx.Handle(errw, 200, func(r *http.Request, _ httpx.NoBody) (WidgetOrigins, error) {
				tid, err := tenant(r)
				if err != nil {
					return WidgetOrigins{}, err
				}
				return s.WidgetOriginsOf(r.Context(), tid)
			})},
		{Method: "PUT", Path: p, API: httpx.APIPlatform, Request: WidgetOrigins{}, Response: WidgetOrigins{},
			Summary: "Replace the origins the wallet widget may be embedded on (https://host[:port]; http only for localhost; at most 10)",
			Handler: httpx.Handle(errw, 200, func(r *http.Request, in WidgetOrigins) (WidgetOrigins, error) {
				tid, err := tenant(r)
				if err != nil {
					return WidgetOrigins{}, err
				}
				return s.SetWidgetOrigins(r.Context(), tid, in.Origins)
			})},
	}
}

// widgetPages serve the script a shop includes, the frame it inserts and
// the frame's script and style.
func (s *Service) widgetPages() []httpx.Route {
	return []httpx.Route{
		{Method: "GET", Path: "/wallet/widget.js", API: httpx.APIPublic, Summary: "The \"Pay with cashgate wallet\" script: <script src=…/wallet/widget.js data-token=…> inserts the widget's iframe",
			Handler: s.serveWidgetScript},
		{Method: "GET", Path: "/wallet/widget/frame", API: httpx.APIPublic, Query: []string{"w"},
			Summary: "The widget's iframe page (framed only by the token's registered origin)", Handler: s.serveWidgetFrame},
		{Method: "GET", Path: "/wallet/widget/assets/{file}", API: httpx.APIPublic, Summary: "The widget frame's script and style",
			Handler: serveWidgetAsset},
	}
}

// serveWidgetScript serves widget.js with the installation's public URL in
// it (the frame's address and the origin its messages must come from).
func (s *Service) serveWidgetScript(w http.ResponseWriter, r *http.Request) {
	b, err := fs.ReadFile(widgetFiles, "widget/widget.js")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	base, _ := json.Marshal(s.cfg.PublicURL)
	b = bytes.Replace(b, []byte(`"__CASHGATE_PUBLIC_URL__"`), base, 1)
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin") // included by shops' pages
	_, _ = w.Write(b)
}

// widgetFrameData fills frame.html.
type widgetFrameData struct {
	WidgetID, Origin string
}

// serveWidgetFrame renders the frame page. Its CSP's frame-ancestors is
// the token's origin while the corporate has it registered; otherwise the
// page may not be framed at all and says so.
func (s *Service) serveWidgetFrame(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("w")
	origin := ""
	if validWidgetID(id) {
		var err error
		if origin, err = s.WidgetFrameOrigin(r.Context(), id); err != nil {
			s.log.ErrorContext(r.Context(), "wallet: widget frame", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
	}
	var buf bytes.Buffer
	if err := widgetFrameTmpl.Execute(&buf, widgetFrameData{WidgetID: id, Origin: origin}); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	ancestors := "'none'"
	if origin != "" {
		ancestors = origin
	} else {
		w.Header().Set("X-Frame-Options", "DENY")
	}
	widgetHeaders(w, ancestors)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	status := http.StatusOK
	if origin == "" {
		status = http.StatusNotFound
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func serveWidgetAsset(w http.ResponseWriter, r *http.Request) {
	name := path.Base(r.PathValue("file"))
	if name != "frame.js" && name != "frame.css" {
		http.NotFound(w, r)
		return
	}
	b, err := fs.ReadFile(widgetFiles, "widget/"+name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	widgetHeaders(w, "'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}

// widgetHeaders: the frame runs only its own script and style, talks only
// to this site, and may be framed by ancestors.
func widgetHeaders(w http.ResponseWriter, ancestors string) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "+
		"form-action 'none'; base-uri 'none'; frame-ancestors "+ancestors)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}
