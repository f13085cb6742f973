package wallet_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/backoffice/officetest"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// TestOfficeUpgradeReview: the owner uploads documents on the back
// office's Corporate+ page (refused beside the file field when of another
// type or disguised, 413 past the upload limit, a control character
// refused; agents refused) and asks; only a signed-in operator reaches the
// review: the documents download as attachments with nosniff, a request
// for more documents needs a message the owner then sees; the owner sends
// one more, the operator approves (audited, history with the operator).
func TestOfficeUpgradeReview(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			ctx := context.Background()
			w := h.App.Wallet.Service
			uid := verifiedCorporate(t, h)
			owner := officetest.Owner(t, h)
			agent := owner.AddUser("agent", "ann.agent", "agent password 1")
			const page, docs = "/office/wallet/upgrade", "/office/wallet/upgrade/documents"
			file := func(name, ctype string, data []byte) officetest.File {
				return officetest.File{Field: "file", Name: name, ContentType: ctype, Content: data}
			}
			kind := url.Values{"kind": {"bank_statement"}}
			if p := agent.Upload(page, docs, kind, file("s.pdf", "application/pdf", pdfDoc("s"))); p.Status != http.StatusForbidden {
				t.Fatalf("agent's upload: %d", p.Status)
			}
			for _, c := range []struct {
				name   string
				form   url.Values
				f      officetest.File
				status int
				want   string
			}{
				{"text", kind, file("notes.txt", "text/plain", []byte("hello")), 422, `id="file-error">Only PDF, PNG and JPEG`},
				{"disguised", kind, file("s.pdf", "application/pdf", pngDoc(t)), 422, `id="file-error">The file&#39;s name says a PDF`},
				{"NUL in the kind", url.Values{"kind": {"bank\x00statement"}}, file("s.pdf", "application/pdf", pdfDoc("s")), 422, "control character"},
				{"too big", kind, file("s.pdf", "application/pdf", bytes.Repeat([]byte("%PDF-"), 1<<20+20000)), 413, "larger than 5 MiB"},
			} {
				if p := owner.Upload(page, docs, c.form, c.f); p.Status != c.status || !strings.Contains(p.Body, c.want) {
					t.Fatalf("%s: %d %s", c.name, p.Status, p.Body)
				}
			}
			if p := owner.Upload(page, docs, kind, file("statement.pdf", "application/pdf", pdfDoc("s"))); p.Status != http.StatusSeeOther {
				t.Fatalf("upload: %d %s", p.Status, p.Body)
			}
			if p := owner.Post(page, page, url.Values{}); p.Status != http.StatusSeeOther {
				t.Fatalf("ask: %d %s", p.Status, p.Body)
			}
			ups, _ := w.PendingUpgrades(ctx)
			review := "/operator/wallet/upgrades/" + ups[0].ID
			if p := owner.Get(review); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/operator/login") {
				t.Fatalf("the office's owner on the operator's review: %d %s", p.Status, p.Location)
			}
			ops := operatorConsole(t, h)
			if p := ops.do("GET", "/operator/wallet", nil); !strings.Contains(p.body, `href="`+review+`"`) {
				t.Fatalf("the console lists no request: %s", p.body)
			}
			p := ops.do("GET", review, nil)
			m := regexp.MustCompile(`href="(/operator/wallet/documents/wdo_[^"]+)"`).FindStringSubmatch(p.body)
			if p.status != 200 || m == nil || !strings.Contains(p.body, "statement.pdf") {
				t.Fatalf("review page: %d %s", p.status, p.body)
			}
			dl := ops.do("GET", m[1], nil)
			if dl.status != 200 || dl.ct != "application/pdf" || !strings.HasPrefix(dl.header.Get("Content-Disposition"), "attachment;") ||
				dl.header.Get("X-Content-Type-Options") != "nosniff" || dl.body != string(pdfDoc("s")) {
				t.Fatalf("download: %d %v", dl.status, dl.header)
			}
			decide := review + "/decide"
			if r := ops.post(review, decide, url.Values{"action": {"more_documents"}}); r.status != 422 || !strings.Contains(r.body, `id="message-error"`) {
				t.Fatalf("more documents without a message: %d %s", r.status, r.body)
			}
			if msg := ops.flash(ops.post(review, decide, url.Values{"action": {"more_documents"}, "message": {"Please add the trade register extract."}})); !strings.Contains(msg, "asked for more documents") {
				t.Fatalf("flash %q", msg)
			}
			if p := owner.Get(page); !strings.Contains(p.Body, "Please add the trade register extract.") || !strings.Contains(p.Body, `id="upload-form"`) {
				t.Fatalf("the owner's page after the operator's message: %s", p.Body)
			}
			if p := owner.Upload(page, docs, url.Values{"kind": {"trade_register_extract"}}, file("register.png", "image/png", pngDoc(t))); p.Status != http.StatusSeeOther {
				t.Fatalf("second upload: %d %s", p.Status, p.Body)
			}
			if p := owner.Post(page, page, url.Values{}); p.Status != http.StatusSeeOther {
				t.Fatalf("send again: %d %s", p.Status, p.Body)
			}
			if msg := ops.flash(ops.post(review, decide, url.Values{"action": {"approve"}})); !strings.Contains(msg, "is Corporate&#43; now") {
				t.Fatalf("approve: %q", msg)
			}
			if r := ops.post(review, decide, url.Values{"action": {"reject"}, "message": {"late"}}); r.status == http.StatusSeeOther {
				t.Fatal("a decided request was decided again")
			}
			if c, _ := w.CorporateOf(ctx, uid); c.Tier != wallet.TierCorporatePlus {
				t.Fatalf("tier %s", c.Tier)
			}
			rv, _ := w.UpgradeReviewOf(ctx, ups[0].ID)
			if rv.DecidedBy != "ops" || len(rv.History) != 4 {
				t.Fatalf("the request's history: %+v", rv)
			}
			acts := officetest.AuditActions(t, h)
			for _, want := range []string{"wallet.upgrade.document", "wallet.upgrade"} {
				if !slices.ContainsFunc(acts, func(a string) bool { return strings.HasPrefix(a, want+" ") }) {
					t.Fatalf("audit lacks %s: %q", want, acts)
				}
			}
		})
	}
}

// TestOfficeDetails: the owner changes the company name (held: shown
// waiting, the account keeps its name) and the bank account (applied, not
// verified any more) on the details page; the operator rejects (a reason
// required) or approves the change in the console.
func TestOfficeDetails(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			ctx := context.Background()
			w := h.App.Wallet.Service
			uid := verifiedCorporate(t, h)
			owner := officetest.Owner(t, h)
			const page = "/office/wallet/details"
			bad := url.Values{"companyName": {"Acme GmbH"}, "iban": {"DE00 1234"}, "bic": {"COBADEFFXXX"}}
			if p := owner.Post(page, page, bad); p.Status != 422 || !strings.Contains(p.Body, `id="iban-error"`) {
				t.Fatalf("a bad IBAN: %d %s", p.Status, p.Body)
			}
			edit := url.Values{"companyName": {"Acme GmbH"}, "iban": {"GB82WEST12345698765432"}, "bic": {"NWBKGB2L"}}
			if p := owner.Post(page, page, edit); p.Status != http.StatusSeeOther {
				t.Fatalf("edit: %d %s", p.Status, p.Body)
			}
			p := owner.Get(page)
			for _, want := range []string{`id="pending-change"`, `id="company-name">Acme Ltd<`, `id="bank-status">not verified`, `id="verify-again"`} {
				if !strings.Contains(p.Body, want) {
					t.Fatalf("details page lacks %q: %s", want, p.Body)
				}
			}
			ops := operatorConsole(t, h)
			changes, _ := w.PendingChanges(ctx)
			decide := "/operator/wallet/changes/" + changes[0].ID + "/decide"
			if r := ops.post("/operator/wallet", decide, url.Values{"decision": {"reject"}}); r.status != 422 {
				t.Fatalf("reject without a reason: %d", r.status)
			}
			if msg := ops.flash(ops.post("/operator/wallet", decide, url.Values{"decision": {"approve"}})); !strings.Contains(msg, "Acme GmbH is applied") {
				t.Fatalf("approve: %q", msg)
			}
			if c, _ := w.CorporateOf(ctx, uid); c.CompanyName != "Acme GmbH" || c.BankVerified {
				t.Fatalf("after the approval: %+v", c)
			}
		})
	}
}
