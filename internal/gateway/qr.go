package gateway

import (
	"bytes"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"strconv"

	qr "github.com/piglig/go-qr"
)

// QR codes of payment links. The symbol is encoded by github.com/piglig/go-qr
// (MIT, no dependencies: segment modes, Reed–Solomon, mask selection) at
// error correction level Medium; both images are drawn here from its module
// matrix with the standard quiet zone of 4 modules, so the PNG and the SVG
// are the same symbol: a two-colour PNG of QRScale pixels per module, and an
// SVG of one path whose viewBox is in modules (it scales without blur).
const (
	QRQuietZone = 4
	QRScale     = 8
)

// qrSymbol encodes text.
func qrSymbol(text string) (*qr.QrCode, error) {
	q, err := qr.EncodeText(text, qr.Medium)
	if err != nil {
		return nil, fmt.Errorf("gateway: QR code: %w", err)
	}
	return q, nil
}

// QRPNG is the QR code of text as a PNG.
func QRPNG(text string) ([]byte, error) {
	q, err := qrSymbol(text)
	if err != nil {
		return nil, err
	}
	n := q.Size() + 2*QRQuietZone
	img := image.NewPaletted(image.Rect(0, 0, n*QRScale, n*QRScale), color.Palette{color.White, color.Black})
	for y := 0; y < q.Size(); y++ {
		for x := 0; x < q.Size(); x++ {
			if !q.Module(x, y) {
				continue
			}
			x0, y0 := (x+QRQuietZone)*QRScale, (y+QRQuietZone)*QRScale
			for dy := 0; dy < QRScale; dy++ {
				row := img.Pix[(y0+dy)*img.Stride+x0:]
				for dx := 0; dx < QRScale; dx++ {
					row[dx] = 1
				}
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("gateway: QR code: %w", err)
	}
	return b.Bytes(), nil
}

// QRSVG is the QR code of text as an SVG image; title is its accessible
// name.
func QRSVG(text, title string) ([]byte, error) {
	q, err := qrSymbol(text)
	if err != nil {
		return nil, err
	}
	n := strconv.Itoa(q.Size() + 2*QRQuietZone)
	px := strconv.Itoa((q.Size() + 2*QRQuietZone) * QRScale)
	var b bytes.Buffer
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + n + ` ` + n + `" width="` + px + `" height="` + px +
		`" shape-rendering="crispEdges" role="img" aria-label="` + html.EscapeString(title) + `"><title>` + html.EscapeString(title) +
		`</title><rect width="` + n + `" height="` + n + `" fill="#fff"/><path fill="#000" d="`)
	for y := 0; y < q.Size(); y++ {
		for x := 0; x < q.Size(); {
			if !q.Module(x, y) {
				x++
				continue
			}
			run := 1
			for x+run < q.Size() && q.Module(x+run, y) {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x+QRQuietZone, y+QRQuietZone, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>` + "\n")
	return b.Bytes(), nil
}
