package gateway_test

import (
	"bytes"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/backoffice/officetest"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestOfficeVirtualTerminal: an agent takes a MOTO payment on the Virtual
// Terminal page (the outcome shown after a redirect, the card as its first
// 6 and last 4 digits, a link to the job's page); a refused one is shown
// beside its field with the card number and security code emptied; a
// declined one says why; each payment is in the audit log; the card number
// is in no page and no log line.
func TestOfficeVirtualTerminal(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logs := &lockedBuffer{}
			a := apptest.New(t, e, apptest.Options{Seed: 3, LogAll: logs})
			h := &harness{App: a, app: a.App}
			agent := officetest.Owner(t, h.App).AddUser("agent", "ann.agent", "agent password 1")
			const term = "/office/gateway/terminal"
			var pages []string
			form := func(pan, cvc, order string) url.Values {
				return url.Values{"amount": {"40.00"}, "currency": {"GBP"}, "cardNumber": {pan}, "expiryMonth": {"12"}, "expiryYear": {"30"},
					"cvc": {cvc}, "cardHolder": {"Ada Lovelace"}, "orderNumber": {order}}
			}
			// Refused: a bad number, then a bad security code.
			for _, c := range []struct{ pan, cvc, field string }{{"4000000000000011", "123", "cardNumber"}, {"4000000000000010", "12", "cvc"}} {
				p := agent.Post(term, term, form(c.pan, c.cvc, "VT-0"))
				if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="`+c.field+`-error"`) {
					t.Fatalf("refused %s: %d %s", c.field, p.Status, p.Body)
				}
				if strings.Contains(p.Body, c.pan) || strings.Contains(p.Body, `name="cardNumber" type="text" value=`) ||
					strings.Contains(p.Body, `name="cvc" type="password" value=`) || !strings.Contains(p.Body, `value="VT-0"`) {
					t.Errorf("refused %s: the card number or the code is sent back, or the order number is lost", c.field)
				}
				pages = append(pages, p.Body)
			}
			p := agent.Post(term, term, form("4000000000000010", "123", "VT-1"))
			if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, term+"?done=") {
				t.Fatalf("take payment: %d %s", p.Status, p.Body)
			}
			jobRef := strings.TrimPrefix(p.Location, term+"?done=")
			p = agent.Get(p.Location)
			if p.Status != 200 || !strings.Contains(p.Body, "Payment taken") || !strings.Contains(p.Body, `<code id="result-card">400000******0010</code>`) ||
				!strings.Contains(p.Body, `href="/office/gateway/jobs/`+jobRef+`"`) || !strings.Contains(p.Body, "Paid") {
				t.Fatalf("outcome: %d %s", p.Status, p.Body)
			}
			pages = append(pages, p.Body, agent.Get("/office/gateway/jobs/"+jobRef).Body)
			p = agent.Post(term, term, form("4000000000000044", "123", "VT-2"))
			p = agent.Get(p.Location)
			if !strings.Contains(p.Body, "Payment declined") || !strings.Contains(p.Body, "Payment has been refused.") {
				t.Fatalf("declined: %s", p.Body)
			}
			pages = append(pages, p.Body)
			var got []string
			for _, act := range officetest.AuditActions(t, h.App) {
				if strings.HasPrefix(act, "gateway.") {
					got = append(got, act)
				}
			}
			slices.Sort(got)
			if want := []string{"gateway.terminal_payment order VT-1, card 400000******0010", "gateway.terminal_payment order VT-2, card 400000******0044"}; !slices.Equal(got, want) {
				t.Errorf("audit: %q", got)
			}
			// A job that is not the terminal's, or another tenant's, is not shown as an outcome.
			other, _ := h.motoJob("API-1", "1.00")
			if p := agent.Get(term + "?done=" + other); p.Status != http.StatusNotFound {
				t.Errorf("outcome of an API job: %d", p.Status)
			}
			if p := officetest.OtherTenant(t, h.App).Get(term + "?done=" + jobRef); p.Status != http.StatusNotFound {
				t.Errorf("another tenant's outcome: %d", p.Status)
			}
			for _, pan := range []string{"4000000000000010", "4000000000000044", "4000000000000011"} {
				for _, body := range pages {
					if strings.Contains(body, pan) {
						t.Errorf("a page shows %s", pan)
					}
				}
				if strings.Contains(logs.String(), pan) {
					t.Errorf("the log has %s", pan)
				}
			}
		})
	}
}

// TestOfficePaymentLinks: an agent creates a payment link (a refusal is
// shown beside its field), finds it in the list (filtered by status), opens
// its page (URL, QR code that decodes to it, the Pay now HTML), cancels it
// after a confirmation; another tenant sees none of it.
func TestOfficePaymentLinks(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			agent := officetest.Owner(t, h.App).AddUser("agent", "ann.agent", "agent password 1")
			const links = "/office/gateway/links"
			if p := agent.Post(links, links, url.Values{"amount": {"12,50"}, "currency": {"GBP"}}); p.Status != http.StatusUnprocessableEntity ||
				!strings.Contains(p.Body, `id="amount-error"`) {
				t.Fatalf("bad amount: %d %s", p.Status, p.Body)
			}
			if p := agent.Post(links, links, url.Values{"amount": {"12.50"}, "currency": {"GBP"}, "expires": {"2020-01-01"}}); p.Status != http.StatusUnprocessableEntity ||
				!strings.Contains(p.Body, `id="expires-error"`) {
				t.Fatalf("past expiry: %d %s", p.Status, p.Body)
			}
			p := agent.Post(links, links, url.Values{"amount": {"12.50"}, "currency": {"GBP"}, "description": {"Invoice 7"}, "orderNumber": {"INV-7"},
				"expires": {"2026-12-31"}})
			if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, links+"/") {
				t.Fatalf("create: %d %s", p.Status, p.Body)
			}
			page := p.Location
			id := strings.TrimPrefix(page, links+"/")
			link := h.mustPlatform("GET", "/platform/gateway/payment-links/"+id, "", 200)
			if link["expiresAt"] != "2026-12-31T23:59:59Z" || link["description"] != "Invoice 7" {
				t.Errorf("link made: %v", link)
			}
			p = agent.Get(page)
			if p.Status != 200 || !strings.Contains(p.Body, `value="`+link["url"].(string)+`"`) || !strings.Contains(p.Body, "Payment link created.") ||
				!strings.Contains(p.Body, `src="`+page+`/qr.svg"`) || !strings.Contains(p.Body, "&lt;a href=&#34;"+link["url"].(string)+"&#34;") {
				t.Fatalf("link page: %d %s", p.Status, p.Body)
			}
			qr := agent.Get(page + "/qr.png")
			img, err := png.Decode(bytes.NewReader([]byte(qr.Body)))
			if err != nil || decodeQR(t, img) != link["url"] {
				t.Fatalf("QR code of the page: %v", err)
			}
			if svg := agent.Get(page + "/qr.svg"); decodeQR(t, rasterSVG(t, []byte(svg.Body))) != link["url"] {
				t.Fatalf("SVG QR code of the page")
			}
			if p := agent.Get(links + "?status=Pending"); !strings.Contains(p.Body, `href="`+page+`"`) {
				t.Fatalf("pending links: %s", p.Body)
			}
			if p := agent.Get(links + "?status=Paid"); strings.Contains(p.Body, `href="`+page+`"`) {
				t.Fatalf("paid links show a pending one")
			}
			ob := officetest.OtherTenant(t, h.App)
			for _, path := range []string{page, page + "/qr.png", page + "/qr.svg"} {
				if p := ob.Get(path); p.Status != http.StatusNotFound {
					t.Errorf("another tenant's %s: %d", path, p.Status)
				}
			}
			if p := ob.Post("/office", page+"/cancel", url.Values{"confirm": {"yes"}}); p.Status != http.StatusNotFound {
				t.Errorf("another tenant cancels: %d", p.Status)
			}
			if p := ob.Get(links); strings.Contains(p.Body, id) {
				t.Errorf("another tenant's list shows the link")
			}
			q, p := agent.Confirm(page, page+"/cancel", url.Values{})
			if !strings.Contains(q, "Cancel payment link "+id) || p.Status != http.StatusSeeOther || p.Location != page {
				t.Fatalf("cancel: %q %d %s", q, p.Status, p.Body)
			}
			if p := agent.Get(page); !strings.Contains(p.Body, `<dd id="link-status">Cancelled</dd>`) || strings.Contains(p.Body, `id="cancel-link"`) {
				t.Fatalf("cancelled link page: %s", p.Body)
			}
			if a := officetest.AuditActions(t, h.App); !slices.Contains(a, "gateway.create_link INV-7") || !slices.Contains(a, "gateway.cancel_link "+id) {
				t.Errorf("audit: %q", a)
			}
			if n := len(regexp.MustCompile(`href="/office/gateway/links/\d+"`).FindAllString(agent.Get(links).Body, -1)); n != 1 {
				t.Errorf("%d links listed", n)
			}
		})
	}
}

// TestOfficeJobSource: the payments list and a job's page say what made a
// card payment job: the Virtual Terminal, a payment link (the back office's
// or the links API's, its page linked) or the gateway API.
func TestOfficeJobSource(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			b := officetest.Owner(t, h.App)
			const term, links = "/office/gateway/terminal", "/office/gateway/links"
			p := b.Post(term, term, url.Values{"amount": {"40.00"}, "currency": {"GBP"}, "cardNumber": {"4000000000000010"}, "expiryMonth": {"12"},
				"expiryYear": {"30"}, "cvc": {"123"}, "cardHolder": {"Ada Lovelace"}, "orderNumber": {"VT-1"}})
			vt := strings.TrimPrefix(p.Location, term+"?done=")
			h.Clock.Advance(time.Second)
			p = b.Post(links, links, url.Values{"amount": {"12.50"}, "currency": {"GBP"}, "orderNumber": {"INV-7"}})
			officeLink := strings.TrimPrefix(p.Location, links+"/")
			h.Clock.Advance(time.Second)
			apiLink := h.mustPlatform("POST", linksPath, `{"amountToCollect":"3.00","currency":"GBP","orderNumber":"INV-8"}`, 201)["id"].(string)
			h.Clock.Advance(time.Second)
			api, _ := h.motoJob("API-1", "1.00")
			want := map[string]string{vt: "Virtual Terminal", officeLink: "Payment link", apiLink: "Payment link", api: "API"}
			list := b.Get("/office/payments?kind=card").Body
			for ref, source := range want {
				row := regexp.MustCompile(`<td data-label="Source">([^<]*)</td>\s*<td data-label="Reference"[^>]*><a href="/office/gateway/jobs/` + ref + `"`).FindStringSubmatch(list)
				if row == nil || row[1] != source {
					t.Errorf("list: job %s source %v, want %s", ref, row, source)
				}
				page := b.Get("/office/gateway/jobs/" + ref).Body
				shown := regexp.MustCompile(`<dd id="job-source">(?:<a href="([^"]+)">)?([^<]+)`).FindStringSubmatch(page)
				if shown == nil || shown[2] != source {
					t.Errorf("job page %s: source %v, want %s", ref, shown, source)
				} else if isLink := source == "Payment link"; isLink != (shown[1] == links+"/"+ref) {
					t.Errorf("job page %s: link to the payment link's page %q", ref, shown[1])
				}
			}
		})
	}
}
