package gateway

import (
	"bytes"
	"database/sql"
	"encoding/xml"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
)

// A template's logo. The upload's name and declared type are not trusted:
// the type is read from the bytes. PNG and JPEG must decode (their
// header) and be at most MaxLogoSide pixels a side. An SVG, which a
// browser would run scripts in if opened on its own, is accepted only when
// it is plain drawing: XML whose root is <svg>, elements from a short list
// of shapes, text, gradients and groups, no DOCTYPE or entities, no event
// handler attributes, no links but to the image's own fragments (#id), no
// url() but of a fragment, no <style>, <script> or <foreignObject>. Every
// logo is served with nosniff and a CSP that runs nothing (sandbox), so
// even an SVG that slipped through would run no script.

// MaxLogoBytes bounds a logo's size.
const MaxLogoBytes = 200 << 10

// MaxLogoSide bounds a raster logo's width and height, in pixels.
const MaxLogoSide = 2000

// logoPath is where logos are served (+ the logo's id).
const logoPath = "/payment/logos/"

// The refusals of a logo (field "logo").
const (
	msgLogoTooBig = "The logo may be at most 200 KB."
	msgLogoType   = "The logo must be a PNG, JPEG or SVG image (the file's content is checked, not its name)."
	msgLogoSVG    = "This SVG holds scripts, links, styles or other content that is not plain drawing; upload a PNG or a plain SVG."
	msgLogoSize   = "The logo may be at most 2000 × 2000 pixels."
)

// checkLogo returns the content type of a logo read from its bytes, or
// the reason it is refused.
func checkLogo(b []byte) (string, error) {
	if len(b) > MaxLogoBytes {
		return "", apperr.InvalidField("logo", msgLogoTooBig)
	}
	if len(b) == 0 {
		return "", apperr.InvalidField("logo", msgLogoType)
	}
	switch http.DetectContentType(b) {
	case "image/png":
		return "image/png", checkRaster(b, png.DecodeConfig)
	case "image/jpeg":
		return "image/jpeg", checkRaster(b, jpeg.DecodeConfig)
	}
	if looksLikeXML(b) {
		return "image/svg+xml", checkSVG(b)
	}
	return "", apperr.InvalidField("logo", msgLogoType)
}

func checkRaster(b []byte, decode func(io.Reader) (image.Config, error)) error {
	c, err := decode(bytes.NewReader(b))
	if err != nil {
		return apperr.InvalidField("logo", msgLogoType)
	}
	if c.Width < 1 || c.Height < 1 || c.Width > MaxLogoSide || c.Height > MaxLogoSide {
		return apperr.InvalidField("logo", msgLogoSize)
	}
	return nil
}

func looksLikeXML(b []byte) bool {
	s := strings.TrimSpace(strings.TrimPrefix(string(b[:min(len(b), 512)]), "\ufeff"))
	return strings.HasPrefix(s, "<?xml") || strings.HasPrefix(s, "<svg") || strings.HasPrefix(s, "<!--")
}

// svgElements are the elements a plain drawing may use.
var svgElements = map[string]bool{
	"svg": true, "g": true, "path": true, "rect": true, "circle": true, "ellipse": true, "line": true, "polyline": true,
	"polygon": true, "text": true, "tspan": true, "defs": true, "lineargradient": true, "radialgradient": true, "stop": true,
	"title": true, "desc": true, "clippath": true, "mask": true, "use": true, "symbol": true,
}

// checkSVG accepts an SVG that is plain drawing (see above).
func checkSVG(b []byte) error {
	bad := apperr.InvalidField("logo", msgLogoSVG)
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	root := true
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			if root {
				return apperr.InvalidField("logo", msgLogoType)
			}
			return nil
		}
		if err != nil {
			return apperr.InvalidField("logo", msgLogoType)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return bad // DOCTYPE, entities
		case xml.ProcInst:
			if t.Target != "xml" {
				return bad
			}
		case xml.StartElement:
			if root && t.Name.Local != "svg" {
				return apperr.InvalidField("logo", msgLogoType)
			}
			root = false
			if !svgElements[strings.ToLower(t.Name.Local)] || !plainAttrs(t.Attr) {
				return bad
			}
		case xml.CharData:
			if strings.Contains(strings.ToLower(string(t)), "javascript:") {
				return bad
			}
		}
	}
}

// plainAttrs refuses event handlers, links to anything but a fragment,
// url() of anything but a fragment, and script URLs.
func plainAttrs(attrs []xml.Attr) bool {
	for _, a := range attrs {
		name, v := strings.ToLower(a.Name.Local), strings.ToLower(strings.TrimSpace(a.Value))
		switch {
		case strings.HasPrefix(name, "on"):
			return false
		case name == "href" || name == "src":
			if !strings.HasPrefix(v, "#") {
				return false
			}
		case strings.Contains(v, "javascript:") || strings.Contains(v, "data:") || strings.Contains(v, "@import"):
			return false
		}
		for rest := v; ; {
			_, after, ok := strings.Cut(rest, "url(")
			if !ok {
				break
			}
			if !strings.HasPrefix(strings.TrimLeft(after, " '\""), "#") {
				return false
			}
			rest = after
		}
	}
	return true
}

// handleLogo serves a template's logo: its sniffed type, nosniff, a CSP
// that runs nothing, cached for a year (a new upload has a new URL).
func (s *Service) handleLogo(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		http.NotFound(w, r)
		return
	}
	var typ string
	var b []byte
	err := s.DB.Read().QueryRowContext(r.Context(), `SELECT logo_type, logo FROM gateway_page_templates WHERE logo_id = $1`, id).Scan(&typ, &b)
	if errors.Is(err, sql.ErrNoRows) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.Log.Error("gateway: logo", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", typ)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", `"`+id+`"`)
	if r.Header.Get("If-None-Match") == `"`+id+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(b)
}
