package gateway_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// pageHeaders opens a job's hosted page and returns its CSP and
// X-Frame-Options.
func (h *harness) pageHeaders(action string) (csp, xfo string) {
	h.T.Helper()
	resp, err := h.NoRedirect.Get(action)
	if err != nil {
		h.T.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		h.T.Fatalf("page %s: %d", action, resp.StatusCode)
	}
	return resp.Header.Get("Content-Security-Policy"), resp.Header.Get("X-Frame-Options")
}

func frameAncestors(csp string) string {
	_, fa, _ := strings.Cut(csp, "frame-ancestors ")
	fa, _, _ = strings.Cut(fa, ";")
	return fa
}

// TestEmbeddingPaymentPage: the hosted page refuses every frame by default;
// a tenant's embeddingDomains become its frame-ancestors; a job may narrow
// them (parentFrameDomains) but not go beyond ("It is not allowed to set
// parent frame domains for embedding the payment page."); a domain the
// tenant removes stops framing pages of jobs made before; bad origins are
// refused.
func TestEmbeddingPaymentPage(t *testing.T) {
	const notAllowed = `"message":"It is not allowed to set parent frame domains for embedding the payment page."`
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			link := func(order, frames string) reply {
				body := `{"currency":"GBP","amountToCollect":"5.00","order":{"orderNumber":"` + order + `"}`
				if frames != "" {
					body += `,"parentFrameDomains":` + frames
				}
				return h.call("POST", "/api/gateway/payment-jobs", body+"}")
			}
			r := link("f-1", "")
			csp, xfo := h.pageHeaders(actionURL(r.JSON(t)))
			if frameAncestors(csp) != "'none'" || xfo != "DENY" {
				t.Errorf("default: %q, %q", csp, xfo)
			}
			if r := link("f-2", `["https://shop.example"]`); r.Status != 400 || !bytes.Contains(r.Body, []byte(notAllowed)) ||
				!bytes.Contains(r.Body, []byte(`"code":"ParentFrameDomainsNotAllowed"`)) || !bytes.Contains(r.Body, []byte(`"field":"parentFrameDomains"`)) {
				t.Errorf("domains without the tenant's leave: %d %s", r.Status, r.Body)
			}

			domains := []string{"https://shop.example", "https://*.brand.example", "http://127.0.0.1:8081"}
			h.settings(gateway.GatewaySettings{AutoCapture: true, EmbeddingDomains: &domains})
			if s := h.getSettings(); s.EmbeddingDomains == nil || strings.Join(*s.EmbeddingDomains, " ") != strings.Join(domains, " ") {
				t.Errorf("settings: %+v", s.EmbeddingDomains)
			}
			h.settings(gateway.GatewaySettings{AutoCapture: true}) // left out: unchanged
			csp, xfo = h.pageHeaders(actionURL(link("f-3", "").JSON(t)))
			if frameAncestors(csp) != strings.Join(domains, " ") || xfo != "" {
				t.Errorf("tenant's domains: %q, %q", csp, xfo)
			}
			r = link("f-4", `["HTTPS://Shop.Example/"]`)
			if r.Status != 201 {
				t.Fatalf("a job's own domain: %d %s", r.Status, r.Body)
			}
			m := r.JSON(t)
			if got, _ := json.Marshal(data(m)["parentFrameDomains"]); string(got) != `["https://shop.example"]` {
				t.Errorf("echoed domains: %s", got)
			}
			narrowed := actionURL(m)
			if csp, _ := h.pageHeaders(narrowed); frameAncestors(csp) != "https://shop.example" {
				t.Errorf("job's domains: %q", csp)
			}
			for _, frames := range []string{`["https://evil.example"]`, `["https://shop.example","https://other.brand.example"]`} {
				if r := link("f-5", frames); r.Status != 400 || !bytes.Contains(r.Body, []byte(notAllowed)) {
					t.Errorf("%s: %d %s", frames, r.Status, r.Body)
				}
			}
			for _, frames := range []string{`["shop.example"]`, `["https://shop.example/pay"]`, `["ftp://shop.example"]`, `["https://shop.example; script-src *"]`} {
				if r := link("f-6", frames); r.Status != 400 || !bytes.Contains(r.Body, []byte(`"field":"parentFrameDomains"`)) {
					t.Errorf("bad origin %s: %d %s", frames, r.Status, r.Body)
				}
				var put map[string]any // every setting, as PUT wants, with the bad list
				b, _ := json.Marshal(gateway.GatewaySettings{AutoCapture: true})
				_ = json.Unmarshal(b, &put)
				put["embeddingDomains"] = json.RawMessage(frames)
				b, _ = json.Marshal(put)
				if r := h.Do("PUT", "/platform/gateway/settings", b, map[string]string{"api-key": h.Tenant.APIKey}); r.Status != 400 || !bytes.Contains(r.Body, []byte("embeddingDomains")) {
					t.Errorf("settings with %s: %d %s", frames, r.Status, r.Body)
				}
			}

			// The tenant takes shop.example off: the narrowed page refuses frames.
			rest := domains[1:]
			h.settings(gateway.GatewaySettings{AutoCapture: true, EmbeddingDomains: &rest})
			if csp, xfo := h.pageHeaders(narrowed); frameAncestors(csp) != "'none'" || xfo != "DENY" {
				t.Errorf("after the tenant removed the domain: %q, %q", csp, xfo)
			}
		})
	}
}
