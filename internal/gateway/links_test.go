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
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/backoffice/officetest"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

const linksPath = "/platform/gateway/payment-links"

// platform sends a platform API request with the tenant's APP key; hdr are
// extra header name/value pairs.
func (h *harness) platform(method, path, body string, hdr ...string) reply {
	h.T.Helper()
	headers := map[string]string{"api-key": h.Tenant.APIKey}
	for i := 0; i+1 < len(hdr); i += 2 {
		headers[hdr[i]] = hdr[i+1]
	}
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	return h.Do(method, path, b, headers)
}

func (h *harness) mustPlatform(method, path, body string, want int) map[string]any {
	h.T.Helper()
	r := h.platform(method, path, body)
	if r.Status != want {
		h.T.Fatalf("%s %s = %d %s, want %d", method, path, r.Status, r.Body, want)
	}
	return r.JSON(h.T)
}

// page fetches a hosted page (no redirects followed) and returns its status and body.
func (h *harness) page(u string) (int, string) {
	h.T.Helper()
	resp, err := h.NoRedirect.Get(u)
	if err != nil {
		h.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPaymentLinks: a link made through the platform API is a payment job
// of the gateway whose URL is the hosted card page; it is read, listed
// (filtered by status, paged), cancelled (its page then says so, a second
// cancel is refused), and the JSON answers are pinned by golden files.
func TestPaymentLinks(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			r := h.platform("POST", linksPath, `{"amountToCollect":"12.50","currency":"GBP","description":"Invoice 7 <b>& co</b>","orderNumber":"INV-7"}`)
			if r.Status != 201 {
				t.Fatalf("create = %d %s", r.Status, r.Body)
			}
			h.golden("link_created", r.Body)
			link := r.JSON(t)
			id, u := link["id"].(string), link["url"].(string)
			if !strings.HasPrefix(u, h.Server.URL+"/payment/form-post?ref=") {
				t.Errorf("url %s is not the hosted card page on the public URL", u)
			}
			wantButton := `<a href="` + strings.ReplaceAll(u, "&", "&amp;") + `" style=`
			if b := link["buttonHtml"].(string); !strings.HasPrefix(b, wantButton) || !strings.HasSuffix(b, `>Pay now</a>`) {
				t.Errorf("buttonHtml = %s", b)
			}
			// The link is a payment job of the gateway API, whose action is the link.
			m := h.must("GET", "/api/gateway/payment-jobs/"+id, "", 200)
			if data(m)["flags"].(map[string]any)["paymentLink"] != true || actionURL(m) != u {
				t.Errorf("job of the link: flags %v, action %s", data(m)["flags"], actionURL(m))
			}
			// Its page shows the description, escaped.
			if st, body := h.page(u); st != 200 || !strings.Contains(body, "Invoice 7 &lt;b&gt;&amp; co&lt;/b&gt;") || !strings.Contains(body, `id="card-form"`) {
				t.Errorf("link page = %d %s", st, body)
			}
			if got := h.mustPlatform("GET", linksPath+"/"+id, "", 200); got["url"] != u || got["status"] != "Pending" {
				t.Errorf("GET link = %v", got)
			}
			// A second link, then a job of the API that is not a link.
			h.Clock.Advance(time.Minute)
			second := h.mustPlatform("POST", linksPath, `{"amountToCollect":"3","currency":"EUR"}`, 201)
			job := h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"1.00"}`, 201)
			if r := h.platform("GET", linksPath+"/"+data(job)["reference"].(string), ""); r.Status != 404 || !strings.Contains(string(r.Body), `"error":"Payment link not found."`) {
				t.Errorf("a job that is not a link = %d %s", r.Status, r.Body)
			}
			page1 := h.mustPlatform("GET", linksPath+"?limit=1", "", 200)
			if ids := linkIDs(page1); len(ids) != 1 || ids[0] != second["id"] || page1["next"] == nil {
				t.Fatalf("page 1 = %v", page1)
			}
			page2 := h.mustPlatform("GET", linksPath+"?limit=1&after="+page1["next"].(string), "", 200)
			if ids := linkIDs(page2); len(ids) != 1 || ids[0] != id || page2["next"] != nil {
				t.Errorf("page 2 = %v", page2)
			}
			// Cancelled: the answer, the list's filter, the page, a second cancel.
			r = h.platform("POST", linksPath+"/"+id+"/cancel", "")
			if r.Status != 200 {
				t.Fatalf("cancel = %d %s", r.Status, r.Body)
			}
			h.golden("link_cancelled", r.Body)
			if ids := linkIDs(h.mustPlatform("GET", linksPath+"?status=cancelled", "", 200)); len(ids) != 1 || ids[0] != id {
				t.Errorf("cancelled links = %v", ids)
			}
			if ids := linkIDs(h.mustPlatform("GET", linksPath+"?status=Pending", "", 200)); len(ids) != 1 || ids[0] != second["id"] {
				t.Errorf("pending links = %v", ids)
			}
			if st, body := h.page(u); st != 200 || !strings.Contains(body, "This payment link has been cancelled.") || strings.Contains(body, "card-form") {
				t.Errorf("cancelled link page = %d %s", st, body)
			}
			if r := h.platform("POST", linksPath+"/"+id+"/cancel", ""); r.Status != 409 {
				t.Errorf("second cancel = %d %s", r.Status, r.Body)
			}
			r = h.platform("GET", linksPath, "")
			h.golden("link_list", r.Body)
		})
	}
}

func linkIDs(m map[string]any) []string {
	var out []string
	for _, l := range m["data"].([]any) {
		out = append(out, l.(map[string]any)["id"].(string))
	}
	return out
}

// TestPaymentLinkRefusals: bad input is refused in the platform API's
// format and makes nothing; another tenant's link is unknown; the same
// Idempotency-Key replays the first link.
func TestPaymentLinkRefusals(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			for _, c := range []struct{ name, body, want string }{
				{"no amount", `{"currency":"GBP"}`, "amountToCollect is required."},
				{"zero", `{"amountToCollect":"0","currency":"GBP"}`, "Invalid amount for payment method."},
				{"currency", `{"amountToCollect":"1","currency":"XAU"}`, "currency"},
				{"control character", `{"amountToCollect":"1","currency":"GBP","description":"a\u0007b"}`, "control character"},
				{"long description", `{"amountToCollect":"1","currency":"GBP","description":"` + strings.Repeat("é", 201) + `"}`, "at most 200"},
				{"past expiry", `{"amountToCollect":"1","currency":"GBP","expirationDateTimeUtc":"2020-01-01T00:00:00Z"}`, "in the future"},
				{"unknown field", `{"amountToCollect":"1","currency":"GBP","cardNumber":"4000000000000010"}`, "cardNumber"},
			} {
				r := h.platform("POST", linksPath, c.body)
				if r.Status != 400 || !strings.Contains(string(r.Body), c.want) {
					t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
				}
			}
			if n := h.count(`SELECT COUNT(*) FROM gateway_links`); n != 0 {
				t.Fatalf("%d links after refusals", n)
			}
			for _, q := range []string{"?status=Open", "?limit=0", "?limit=101", "?after=bogus"} {
				if r := h.platform("GET", linksPath+q, ""); r.Status != 400 {
					t.Errorf("list %s = %d %s", q, r.Status, r.Body)
				}
			}
			const body = `{"amountToCollect":"9.99","currency":"GBP","orderNumber":"ORD-9"}`
			first := h.platform("POST", linksPath, body, "Idempotency-Key", "link-1")
			again := h.platform("POST", linksPath, body, "Idempotency-Key", "link-1")
			if first.Status != 201 || again.Status != 201 || !bytes.Equal(first.Body, again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("replay: %d %s / %d %s", first.Status, first.Body, again.Status, again.Body)
			}
			if r := h.platform("POST", linksPath, body); r.Status != 400 || !strings.Contains(string(r.Body), "not unique") {
				t.Errorf("same order number again = %d %s", r.Status, r.Body)
			}
			other, err := h.app.Platform.CreateTenant(context.Background(), platform.TenantSpec{Name: "Other Ltd", Mode: platform.Production, Timezone: "UTC"})
			if err != nil {
				t.Fatal(err)
			}
			id := first.JSON(t)["id"].(string)
			for _, p := range []string{"", "/qr.png", "/cancel"} {
				method := "GET"
				if p == "/cancel" {
					method = "POST"
				}
				if r := h.Do(method, linksPath+"/"+id+p, nil, map[string]string{"api-key": other.APIKey}); r.Status != 404 {
					t.Errorf("another tenant's %s %s = %d %s", method, p, r.Status, r.Body)
				}
			}
			if r := h.Do("GET", linksPath, nil, map[string]string{"api-key": other.APIKey}); r.Status != 200 || len(linkIDs(r.JSON(t))) != 0 {
				t.Errorf("another tenant's list = %d %s", r.Status, r.Body)
			}
			if r := h.Do("GET", linksPath, nil, nil); r.Status != 401 {
				t.Errorf("without a key = %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestPaymentLinkQR: the PNG and the SVG QR codes of a link decode (with
// gozxing, an independent decoder) to the link's URL.
func TestPaymentLinkQR(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			link := h.mustPlatform("POST", linksPath, `{"amountToCollect":"20.00","currency":"GBP","description":"Deposit"}`, 201)
			r := h.platform("GET", linksPath+"/"+link["id"].(string)+"/qr.png", "")
			if r.Status != 200 || r.Header.Get("Content-Type") != "image/png" {
				t.Fatalf("qr.png = %d %s", r.Status, r.Header)
			}
			img, err := png.Decode(bytes.NewReader(r.Body))
			if err != nil {
				t.Fatal(err)
			}
			if got := decodeQR(t, img); got != link["url"] {
				t.Errorf("PNG decodes to %q, want %q", got, link["url"])
			}
			r = h.platform("GET", linksPath+"/"+link["id"].(string)+"/qr.svg", "")
			if r.Status != 200 || r.Header.Get("Content-Type") != "image/svg+xml" {
				t.Fatalf("qr.svg = %d %s", r.Status, r.Header)
			}
			if got := decodeQR(t, rasterSVG(t, r.Body)); got != link["url"] {
				t.Errorf("SVG decodes to %q, want %q", got, link["url"])
			}
			if link["qrPng"] != h.Server.URL+linksPath+"/"+link["id"].(string)+"/qr.png" {
				t.Errorf("qrPng = %v", link["qrPng"])
			}
		})
	}
}

// decodeQR reads the QR code of img with gozxing.
func decodeQR(t testing.TB, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("decode QR code: %v", err)
	}
	return res.GetText()
}

var (
	svgViewBox = regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`)
	svgRun     = regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)
)

// rasterSVG paints the QR code's SVG (one path of horizontal runs, in
// modules) at 4 pixels a module.
func rasterSVG(t testing.TB, svg []byte) image.Image {
	t.Helper()
	vb := svgViewBox.FindSubmatch(svg)
	if vb == nil {
		t.Fatalf("no viewBox: %s", svg)
	}
	n, _ := strconv.Atoi(string(vb[1]))
	const px = 4
	img := image.NewGray(image.Rect(0, 0, n*px, n*px))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	runs := svgRun.FindAllSubmatch(svg, -1)
	if len(runs) == 0 {
		t.Fatalf("no modules: %s", svg)
	}
	for _, m := range runs {
		x, _ := strconv.Atoi(string(m[1]))
		y, _ := strconv.Atoi(string(m[2]))
		w, _ := strconv.Atoi(string(m[3]))
		for yy := y * px; yy < (y+1)*px; yy++ {
			for xx := x * px; xx < (x+w)*px; xx++ {
				img.SetGray(xx, yy, color.Gray{})
			}
		}
	}
	return img
}

// TestPaymentLinkLifecycle: a link paid on its hosted page is Paid (its page
// then says so); a link past its expiry refuses a card before the expiry
// job has run, and is Expired after it, and its page says so.
func TestPaymentLinkLifecycle(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			paid := h.mustPlatform("POST", linksPath, `{"amountToCollect":"7.00","currency":"GBP"}`, 201)
			if loc := payOnLink(t, h, paid["url"].(string), "4000000000000010"); !strings.Contains(loc, "paymentjobref="+paid["id"].(string)) {
				t.Fatalf("paid on the page: sent to %s", loc)
			}
			got := h.mustPlatform("GET", linksPath+"/"+paid["id"].(string), "", 200)
			if got["status"] != "Paid" || got["amountCollected"] != "7.00" || got["paidAt"] != apptest.Epoch.Format(time.RFC3339) {
				t.Errorf("paid link = %v", got)
			}
			if ids := linkIDs(h.mustPlatform("GET", linksPath+"?status=Paid", "", 200)); len(ids) != 1 || ids[0] != paid["id"] {
				t.Errorf("paid links = %v", ids)
			}
			if st, body := h.page(paid["url"].(string)); st != 200 || !strings.Contains(body, "This payment link has been paid.") {
				t.Errorf("paid link page = %d %s", st, body)
			}
			exp := h.Clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
			soon := h.mustPlatform("POST", linksPath, fmt.Sprintf(`{"amountToCollect":"5.00","currency":"GBP","expirationDateTimeUtc":%q}`, exp), 201)
			if soon["expiresAt"] != exp {
				t.Errorf("expiresAt = %v, want %s", soon["expiresAt"], exp)
			}
			h.Clock.Advance(time.Hour)
			resp, err := h.NoRedirect.PostForm(soon["url"].(string), url.Values{"cardNumber": {"4000000000000010"}, "cardExpiryMonth": {"12"},
				"cardExpiryYear": {"30"}, "cardCvc": {"321"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusConflict {
				t.Errorf("card past the expiry = %d", resp.StatusCode)
			}
			if got := h.mustPlatform("GET", linksPath+"/"+soon["id"].(string), "", 200); got["status"] != "Expired" {
				t.Errorf("link past its expiry, before the job: %v", got["status"])
			}
			h.RunDue()
			if ids := linkIDs(h.mustPlatform("GET", linksPath+"?status=Expired", "", 200)); len(ids) != 1 || ids[0] != soon["id"] {
				t.Errorf("expired links = %v", ids)
			}
			if st, body := h.page(soon["url"].(string)); st != 200 || !strings.Contains(body, "This payment link has expired.") {
				t.Errorf("expired link page = %d %s", st, body)
			}
			if r := h.platform("POST", linksPath+"/"+soon["id"].(string)+"/cancel", ""); r.Status != 409 {
				t.Errorf("cancel an expired link = %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestLinkStatusAtReadTime: a link whose expiry has passed is Expired in
// the lists and for ?status= at once, before the expiry job marks it (and
// after): ?status=Expired finds it with the links marked so, in order and
// paged; ?status=Pending leaves it out; so does the back office's list.
func TestLinkStatusAtReadTime(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			mk := func(expiresIn time.Duration) string {
				t.Helper()
				body := `{"amountToCollect":"5.00","currency":"GBP"}`
				if expiresIn > 0 {
					body = fmt.Sprintf(`{"amountToCollect":"5.00","currency":"GBP","expirationDateTimeUtc":%q}`, h.Clock.Now().Add(expiresIn).UTC().Format(time.RFC3339))
				}
				id := h.mustPlatform("POST", linksPath, body, 201)["id"].(string)
				h.Clock.Advance(time.Second)
				return id
			}
			marked := mk(30 * time.Minute)
			late := mk(time.Hour)
			later := mk(2 * time.Hour)
			open := mk(0)
			h.Clock.Advance(31 * time.Minute)
			h.RunDue() // marked is marked Expired by its job
			h.Clock.Advance(30 * time.Minute)
			ids := func(q string) []string { return linkIDs(h.mustPlatform("GET", linksPath+q, "", 200)) }
			check := func(when string) {
				t.Helper()
				if got := ids("?status=Expired"); !slices.Equal(got, []string{late, marked}) {
					t.Errorf("%s: Expired = %v, want %v", when, got, []string{late, marked})
				}
				if got := ids("?status=Pending"); !slices.Equal(got, []string{open, later}) {
					t.Errorf("%s: Pending = %v, want %v", when, got, []string{open, later})
				}
				page := h.mustPlatform("GET", linksPath+"?status=Expired&limit=1", "", 200)
				next, _ := page["next"].(string)
				if got := linkIDs(page); !slices.Equal(got, []string{late}) || next == "" {
					t.Fatalf("%s: first page of Expired = %v next %q", when, got, next)
				}
				page = h.mustPlatform("GET", linksPath+"?status=Expired&limit=1&after="+next, "", 200)
				if got := linkIDs(page); !slices.Equal(got, []string{marked}) || page["next"] != nil {
					t.Errorf("%s: second page of Expired = %v next %v", when, got, page["next"])
				}
				for _, l := range h.mustPlatform("GET", linksPath, "", 200)["data"].([]any) {
					if m := l.(map[string]any); m["id"] == late && m["status"] != "Expired" {
						t.Errorf("%s: the list shows %s %v", when, late, m["status"])
					}
				}
				b := officetest.Owner(t, h.App)
				if p := b.Get("/office/gateway/links?status=Expired"); !strings.Contains(p.Body, "/office/gateway/links/"+late) {
					t.Errorf("%s: the office's Expired links lack %s", when, late)
				}
				if p := b.Get("/office/gateway/links?status=Pending"); strings.Contains(p.Body, "/office/gateway/links/"+late) ||
					!strings.Contains(p.Body, "/office/gateway/links/"+later) {
					t.Errorf("%s: the office's Pending links: %s", when, p.Body)
				}
			}
			check("before the expiry job")
			h.RunDue()
			check("after the expiry job")
		})
	}
}
