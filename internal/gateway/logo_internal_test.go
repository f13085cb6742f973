package gateway

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

func encoded(t *testing.T, w, h int, enc func(*bytes.Buffer, image.Image) error) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.RGBA{200, 10, 60, 255})
	var b bytes.Buffer
	if err := enc(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestCheckLogo: a logo's type is read from its bytes (PNG, JPEG, a plain
// SVG); other types, files lying about their type, raster images too large,
// and SVGs with scripts, event handlers, styles, entities, foreign content
// or links out are refused.
func TestCheckLogo(t *testing.T) {
	pngOf := func(w, h int) []byte {
		return encoded(t, w, h, func(b *bytes.Buffer, i image.Image) error { return png.Encode(b, i) })
	}
	jpg := encoded(t, 20, 10, func(b *bytes.Buffer, i image.Image) error { return jpeg.Encode(b, i, nil) })
	gifb := encoded(t, 20, 10, func(b *bytes.Buffer, i image.Image) error { return gif.Encode(b, i, nil) })
	const svgOpen = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10">`
	for _, c := range []struct {
		name     string
		in       []byte
		wantType string
		wantErr  string
	}{
		{"png", pngOf(40, 20), "image/png", ""},
		{"jpeg", jpg, "image/jpeg", ""},
		{"plain svg", []byte(`<?xml version="1.0"?>` + svgOpen + `<defs><linearGradient id="g"><stop offset="0" stop-color="#a04"/></linearGradient></defs>` +
			`<rect width="10" height="10" fill="url(#g)"/><use href="#g"/><text x="1" y="8">Acme</text></svg>`), "image/svg+xml", ""},
		{"gif", gifb, "", msgLogoType},
		{"html named png", []byte(`<html><script>alert(1)</script></html>`), "", msgLogoType},
		{"pdf", []byte("%PDF-1.4\n1 0 obj"), "", msgLogoType},
		{"empty", []byte{}, "", msgLogoType},
		{"truncated png", pngOf(40, 20)[:30], "", msgLogoType},
		{"png too wide", pngOf(MaxLogoSide+1, 1), "", msgLogoSize},
		{"too big", append(pngOf(4, 4), make([]byte, MaxLogoBytes)...), "", msgLogoTooBig},
		{"svg script", []byte(svgOpen + `<script>alert(1)</script></svg>`), "", msgLogoSVG},
		{"svg onload", []byte(strings.Replace(svgOpen, "<svg ", `<svg onload="alert(1)" `, 1) + `</svg>`), "", msgLogoSVG},
		{"svg foreignObject", []byte(svgOpen + `<foreignObject><p>x</p></foreignObject></svg>`), "", msgLogoSVG},
		{"svg style", []byte(svgOpen + `<style>@import url(https://x.example/a.css)</style></svg>`), "", msgLogoSVG},
		{"svg link out", []byte(svgOpen + `<use xlink:href="https://x.example/a.svg#x"/></svg>`), "", msgLogoSVG},
		{"svg javascript href", []byte(svgOpen + `<a href="javascript:alert(1)"><rect/></a></svg>`), "", msgLogoSVG},
		{"svg image", []byte(svgOpen + `<image href="#x"/></svg>`), "", msgLogoSVG},
		{"svg url out", []byte(svgOpen + `<rect style="fill:url(https://x.example/p)"/></svg>`), "", msgLogoSVG},
		{"svg entity", []byte(`<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]>` + svgOpen + `</svg>`), "", msgLogoSVG},
		{"not svg root", []byte(`<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"/>`), "", msgLogoType},
		{"broken xml", []byte(svgOpen + `<rect>`), "", msgLogoType},
	} {
		t.Run(c.name, func(t *testing.T) {
			typ, err := checkLogo(c.in)
			switch {
			case c.wantErr == "" && (err != nil || typ != c.wantType):
				t.Errorf("got %q, %v; want %q", typ, err, c.wantType)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("got %q, %v; want the refusal %q", typ, err, c.wantErr)
			}
		})
	}
}

// TestCheckSpec: references, colours and texts of a template.
func TestCheckSpec(t *testing.T) {
	ok := PageTemplateSpec{Reference: " Summer-Sale ", PrimaryColour: "#AA0044", BackgroundColour: "#fffaf0", HeaderText: " Acme "}
	if err := checkSpec(&ok); err != nil || ok.Reference != "summer-sale" || ok.PrimaryColour != "#aa0044" || ok.HeaderText != "Acme" {
		t.Fatalf("%+v %v", ok, err)
	}
	for name, mutate := range map[string]func(*PageTemplateSpec){
		"default ref":     func(s *PageTemplateSpec) { s.Reference = "Default" },
		"bad ref":         func(s *PageTemplateSpec) { s.Reference = "summer sale!" },
		"long ref":        func(s *PageTemplateSpec) { s.Reference = strings.Repeat("a", 51) },
		"empty ref":       func(s *PageTemplateSpec) { s.Reference = "" },
		"colour name":     func(s *PageTemplateSpec) { s.PrimaryColour = "red" },
		"css injection":   func(s *PageTemplateSpec) { s.BackgroundColour = "#fff;}body{x" },
		"short colour":    func(s *PageTemplateSpec) { s.BackgroundColour = "#fff" },
		"NUL in header":   func(s *PageTemplateSpec) { s.HeaderText = "Acme\x00" },
		"tab in footer":   func(s *PageTemplateSpec) { s.FooterText = "a\tb" },
		"header too long": func(s *PageTemplateSpec) { s.HeaderText = strings.Repeat("é", MaxHeaderText+1) },
		"footer too long": func(s *PageTemplateSpec) { s.FooterText = strings.Repeat("x", MaxFooterText+1) },
		"invalid utf-8":   func(s *PageTemplateSpec) { s.FooterText = "\xff" },
	} {
		s := PageTemplateSpec{Reference: "a", PrimaryColour: "#000000", BackgroundColour: "#ffffff"}
		mutate(&s)
		if err := checkSpec(&s); err == nil {
			t.Errorf("%s accepted: %+v", name, s)
		}
	}
	if onColour("#ffeeaa") != "#111111" || onColour("#1a3c6e") != "#ffffff" {
		t.Error("onColour")
	}
}
