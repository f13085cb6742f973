package wallet_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// rawCall sends body as it is with its content type.
func rawCall(t *testing.T, base, method, path, ctype string, body []byte, hdr map[string]string) resp {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), method, base+path, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	return send(t, req, hdr)
}

// TestUpgradeOverAPI: the wallet app API's corporate user uploads a
// document as the request body (replayed with its Idempotency-Key;
// refused when too big, of another type or disguised), sees it, asks for
// Corporate+; edits the bank account (its verification reset) and the
// company name (held), a control character refused.
func TestUpgradeOverAPI(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			verifiedCorporate(t, h)
			base := h.Server.URL
			var sess wallet.WalletSession
			r := rawCall(t, base, "POST", "/wallet/app/v1/login", "application/json", []byte(`{"username":"acme","password":"acme-password"}`), nil)
			r.decode(t, &sess)
			auth := func(key string) map[string]string {
				m := map[string]string{"Authorization": "Bearer " + sess.Token}
				if key != "" {
					m["Idempotency-Key"] = key
				}
				return m
			}
			const docs = "/wallet/app/v1/upgrade/documents?kind=bank_statement&filename=statement.pdf"
			pdf := pdfDoc("statement")
			first := rawCall(t, base, "POST", docs, "application/pdf", pdf, auth("doc-1"))
			again := rawCall(t, base, "POST", docs, "application/pdf", pdf, auth("doc-1"))
			if first.status != 201 || again.status != 201 || !bytes.Equal(first.body, again.body) || !strings.Contains(string(first.body), `"contentType":"application/pdf"`) {
				t.Fatalf("upload: %d %s, replay %d %s", first.status, first.body, again.status, again.body)
			}
			// Past the API's usual 1 MiB, with a key: the route's limit holds for the key's middleware too.
			scan := pdfDoc(strings.Repeat("x", 2<<20))
			if r := rawCall(t, base, "POST", docs, "application/pdf", scan, auth("doc-2")); r.status != 201 {
				t.Fatalf("a 2 MiB document with an Idempotency-Key: %d %s", r.status, r.body)
			}
			big := append(pdfDoc(strings.Repeat("x", wallet.MaxDocumentBytes)), "%%EOF"...)
			if r := rawCall(t, base, "POST", docs, "application/pdf", big, auth("doc-3")); r.status != 413 {
				t.Fatalf("a document past 5 MiB with an Idempotency-Key: %d %s", r.status, r.body)
			}
			for _, c := range []struct {
				name, path, ctype string
				body              []byte
				status            int
				msg               string
			}{
				{"too big", docs, "application/pdf", big, 413, "larger than"},
				{"png sent as pdf", docs, "application/pdf", pngDoc(t), 415, "name says a PDF"},
				{"declared type lies", "/wallet/app/v1/upgrade/documents?kind=id_card&filename=id.png", "image/jpeg", pngDoc(t), 415, "sent as image/jpeg"},
				{"text", "/wallet/app/v1/upgrade/documents?kind=other&filename=a.txt", "text/plain", []byte("hello"), 415, "only PDF"},
				{"control character", "/wallet/app/v1/upgrade/documents?kind=other&filename=a%00.pdf", "application/pdf", pdf, 400, "control character"},
			} {
				if r := rawCall(t, base, "POST", c.path, c.ctype, c.body, auth("")); r.status != c.status || !strings.Contains(string(r.body), c.msg) {
					t.Fatalf("%s: %d %s", c.name, r.status, r.body)
				}
			}
			var up wallet.Upgrade
			rawCall(t, base, "GET", "/wallet/app/v1/upgrade", "", nil, auth("")).decode(t, &up)
			if len(up.Documents) != 2 || !up.CanSend || up.Status != "none" || len(up.Kinds) != 6 {
				t.Fatalf("the upgrade: %+v", up)
			}
			if r := rawCall(t, base, "POST", "/wallet/app/v1/upgrade", "", nil, auth("up-1")); r.status != 200 || !strings.Contains(string(r.body), `"upgradeStatus":"requested"`) {
				t.Fatalf("request: %d %s", r.status, r.body)
			}
			if r := rawCall(t, base, "POST", "/wallet/app/v1/account/details", "application/json", []byte(`{"companyName":"Acme\u0000GmbH"}`), auth("")); r.status != 400 ||
				!strings.Contains(string(r.body), `"field":"companyName"`) {
				t.Fatalf("a NUL in the company name: %d %s", r.status, r.body)
			}
			var d wallet.AccountDetails
			r = rawCall(t, base, "POST", "/wallet/app/v1/account/details", "application/json",
				[]byte(`{"companyName":"Acme GmbH","iban":"GB82WEST12345698765432","bic":"NWBKGB2L"}`), auth("details-1"))
			r.decode(t, &d)
			if r.status != 200 || !d.BankReset || d.Account.BankVerified || d.Account.CompanyName != "Acme Ltd" || d.Change == nil || d.Change.Status != "pending" {
				t.Fatalf("edit: %d %s", r.status, r.body)
			}
			if r := rawCall(t, base, "POST", "/wallet/app/v1/withdrawals", "application/json", []byte(`{"amount":"1.00","pin":"4321"}`), auth("")); r.status != 409 {
				t.Fatalf("a withdrawal after the IBAN change: %d %s", r.status, r.body)
			}
		})
	}
}
