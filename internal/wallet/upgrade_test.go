package wallet_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"sync"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// Test documents: small but complete files of each accepted type.
func pdfDoc(body string) []byte {
	return []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% " + body + "\ntrailer << /Root 1 0 R >>\n%%EOF\n")
}

func pngDoc(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegDoc(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 4)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// verifiedCorporate opens the app tenant's corporate wallet (PIN 4321)
// with a verified bank account and returns its user id.
func verifiedCorporate(t *testing.T, h *apptest.App) string {
	t.Helper()
	ctx := context.Background()
	w := h.App.Wallet.Service
	if _, err := w.OpenCorporate(ctx, h.Tenant.TenantID, wallet.CorporateSpec{CompanyName: "Acme Ltd", Username: "acme", Password: "acme-password",
		PIN: "4321", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"}); err != nil {
		t.Fatal(err)
	}
	uid, err := w.TenantUser(ctx, h.Tenant.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	verifyBank(t, h, uid)
	return uid
}

// verifyBank runs the 2-cent verification of the bank account.
func verifyBank(t *testing.T, h *apptest.App, uid string) {
	t.Helper()
	ctx := context.Background()
	w := h.App.Wallet.Service
	if _, err := w.RequestVerification(ctx, uid); err != nil {
		t.Fatal(err)
	}
	if _, err := w.VerifyBankAccount(ctx, uid, verificationCode(t, h)); err != nil {
		t.Fatal(err)
	}
}

// TestUpgradeDocumentChecks: a document is refused when too big, empty, of
// a type other than PDF, PNG or JPEG, disguised (its name or declared type
// says another type than its bytes), truncated, or named with a control
// character; accepted files keep the type their bytes show.
func TestUpgradeDocumentChecks(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			ctx := context.Background()
			w := h.App.Wallet.Service
			uid := verifiedCorporate(t, h)
			pdf, pngB, jpg := pdfDoc("statement"), pngDoc(t), jpegDoc(t)
			big := append(pdfDoc(strings.Repeat("x", wallet.MaxDocumentBytes)), []byte("%%EOF")...)
			refused := []struct {
				name string
				up   wallet.DocumentUpload
				code apperr.Code
				msg  string
			}{
				{"too big", wallet.DocumentUpload{Kind: "bank_statement", Filename: "big.pdf", Data: big}, apperr.TooLarge, "larger than 5 MiB"},
				{"empty", wallet.DocumentUpload{Kind: "bank_statement", Filename: "e.pdf"}, apperr.Invalid, "empty"},
				{"text", wallet.DocumentUpload{Kind: "other", Filename: "notes.txt", Data: []byte("plain words")}, apperr.UnsupportedMedia, "only PDF, PNG and JPEG"},
				{"html named pdf", wallet.DocumentUpload{Kind: "other", Filename: "x.pdf", Data: []byte("<html><script>alert(1)</script>")}, apperr.UnsupportedMedia, "only PDF"},
				{"png named pdf", wallet.DocumentUpload{Kind: "id_card", Filename: "id.pdf", Data: pngB}, apperr.UnsupportedMedia, "name says a PDF but its content is a PNG image"},
				{"pdf declared png", wallet.DocumentUpload{Kind: "id_card", Filename: "id.pdf", ContentType: "image/png", Data: pdf}, apperr.UnsupportedMedia, "sent as image/png"},
				{"pdf without its end", wallet.DocumentUpload{Kind: "bank_statement", Filename: "s.pdf", Data: []byte("%PDF-1.4\n<script>")}, apperr.UnsupportedMedia, "not a complete"},
				{"png header only", wallet.DocumentUpload{Kind: "id_card", Filename: "id.png", Data: pngB[:12]}, apperr.UnsupportedMedia, "not a complete"},
				{"NUL in the name", wallet.DocumentUpload{Kind: "id_card", Filename: "id\x00.png", Data: pngB}, apperr.Invalid, "control character"},
				{"unknown kind", wallet.DocumentUpload{Kind: "selfie", Filename: "id.png", Data: pngB}, apperr.Invalid, "document kind"},
			}
			for _, c := range refused {
				_, err := w.UploadDocument(ctx, uid, c.up)
				if apperr.CodeOf(err) != c.code || !strings.Contains(err.Error(), c.msg) {
					t.Fatalf("%s: want %s %q, got %v", c.name, c.code, c.msg, err)
				}
			}
			accepted := []struct {
				up   wallet.DocumentUpload
				want string
			}{
				{wallet.DocumentUpload{Kind: "trade_register_extract", Filename: `C:\scans\register.PDF`, ContentType: "application/pdf", Data: pdf}, "application/pdf"},
				{wallet.DocumentUpload{Kind: "id_card", Filename: "id.png", ContentType: "application/octet-stream", Data: pngB}, "image/png"},
				{wallet.DocumentUpload{Kind: "proof_of_address", Filename: "bill.jpeg", Data: jpg}, "image/jpeg"},
			}
			for _, c := range accepted {
				d, err := w.UploadDocument(ctx, uid, c.up)
				if err != nil || d.ContentType != c.want || d.Sent || d.Size != int64(len(c.up.Data)) {
					t.Fatalf("%s: %+v %v", c.up.Filename, d, err)
				}
			}
			up, err := w.UpgradeOf(ctx, uid)
			if err != nil || len(up.Documents) != 3 || !hasDocument(up.Documents, "register.PDF") || !up.CanSend || up.Status != "none" {
				t.Fatalf("the upgrade: %+v %v", up, err)
			}
		})
	}
}

// TestUpgradeRequestFlow: no request without documents; at most
// MaxDocuments; none added while the operator checks; the operator asks for
// more (the message refused with a control character, required), the
// customer sees it and sends more; the operator's concurrent approve and
// reject give one outcome; the approval makes the account Corporate+ with
// its history and events.
func TestUpgradeRequestFlow(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{})
			ctx := context.Background()
			w := h.App.Wallet.Service
			uid := verifiedCorporate(t, h)
			if _, err := w.RequestUpgrade(ctx, uid); apperr.CodeOf(err) != apperr.Conflict || !strings.Contains(err.Error(), "upload the company's documents first") {
				t.Fatalf("a request without documents: %v", err)
			}
			for i := range wallet.MaxDocuments {
				if _, err := w.UploadDocument(ctx, uid, wallet.DocumentUpload{Kind: "other", Filename: "d.pdf", Data: pdfDoc(string(rune('a' + i)))}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := w.UploadDocument(ctx, uid, wallet.DocumentUpload{Kind: "other", Filename: "d.pdf", Data: pdfDoc("one too many")}); apperr.CodeOf(err) != apperr.LimitExceeded {
				t.Fatalf("document %d: %v", wallet.MaxDocuments+1, err)
			}
			up, _ := w.UpgradeOf(ctx, uid)
			if up.CanUpload {
				t.Fatal("the page offers an upload past the limit")
			}
			if err := w.DeleteDocument(ctx, uid, up.Documents[9].ID); err != nil {
				t.Fatal(err)
			}
			if c, err := w.RequestUpgrade(ctx, uid); err != nil || c.UpgradeStatus != "requested" {
				t.Fatalf("request: %+v %v", c, err)
			}
			if _, err := w.UploadDocument(ctx, uid, wallet.DocumentUpload{Kind: "other", Filename: "d.pdf", Data: pdfDoc("late")}); apperr.CodeOf(err) != apperr.Conflict {
				t.Fatalf("upload while the operator checks: %v", err)
			}
			if _, err := w.RequestUpgrade(ctx, uid); apperr.CodeOf(err) != apperr.Conflict {
				t.Fatalf("a second request: %v", err)
			}
			pending, err := w.PendingUpgrades(ctx)
			if err != nil || len(pending) != 1 || pending[0].DocumentCount != 9 || pending[0].Status != wallet.UpgradePending {
				t.Fatalf("pending: %+v %v", pending, err)
			}
			id := pending[0].ID
			if err := w.DeleteDocument(ctx, uid, up.Documents[0].ID); apperr.CodeOf(err) != apperr.NotFound {
				t.Fatalf("deleting a sent document: %v", err)
			}
			for _, msg := range []string{"", "bad\x00message", "two\nlines"} {
				if _, err := w.DecideUpgrade(ctx, id, wallet.UpgradeDecision{Action: "more_documents", Message: msg, Operator: "ops"}); apperr.CodeOf(err) != apperr.Invalid {
					t.Fatalf("message %q: %v", msg, err)
				}
			}
			if _, err := w.DecideUpgrade(ctx, id, wallet.UpgradeDecision{Action: "more_documents", Message: "Please add the ID card of the second director.", Operator: "ops"}); err != nil {
				t.Fatal(err)
			}
			up, _ = w.UpgradeOf(ctx, uid)
			if up.Status != wallet.UpgradeMoreDocuments || up.Message != "Please add the ID card of the second director." || !up.CanUpload || up.CanSend {
				t.Fatalf("the customer's view: %+v", up)
			}
			if _, err := w.UploadDocument(ctx, uid, wallet.DocumentUpload{Kind: "id_card", Filename: "director2.png", Data: pngDoc(t)}); err != nil {
				t.Fatal(err)
			}
			if _, err := w.RequestUpgrade(ctx, uid); err != nil {
				t.Fatal(err)
			}
			outcome := decideConcurrently(t, w, id)
			r, err := w.UpgradeReviewOf(ctx, id)
			if err != nil || r.Status != outcome || r.DocumentCount != 10 || len(r.History) != 4 {
				t.Fatalf("the request after the decision: %+v %v", r, err)
			}
			c, _ := w.CorporateOf(ctx, uid)
			if (outcome == wallet.UpgradeApproved) != (c.Tier == wallet.TierCorporatePlus) {
				t.Fatalf("outcome %s, tier %s", outcome, c.Tier)
			}
			wantStatus := map[string]string{wallet.UpgradeApproved: "approved", wallet.UpgradeRejected: "none"}[outcome]
			if c.UpgradeStatus != wantStatus {
				t.Fatalf("upgrade status %q after %s", c.UpgradeStatus, outcome)
			}
			d, data, err := w.DocumentFile(ctx, documentNamed(r.Documents, "director2.png").ID)
			if err != nil || d.ContentType != "image/png" || !bytes.Equal(data, pngDoc(t)) {
				t.Fatalf("the document's bytes: %+v %v", d, err)
			}
			var events int
			if err := h.App.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE tenant_id = $1 AND type IN ($2, $3)`,
				h.Tenant.TenantID, wallet.EventUpgradeRequested, wallet.EventUpgradeDecided).Scan(&events); err != nil || events != 4 {
				t.Fatalf("%d upgrade events, want 4 (requested, more documents, sent again, decided): %v", events, err)
			}
		})
	}
}

// decideConcurrently races an approval against a rejection of request id:
// exactly one wins, the other is a Conflict. It returns the outcome.
func decideConcurrently(t *testing.T, w *wallet.Service, id string) string {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, d := range []wallet.UpgradeDecision{{Action: "approve", Operator: "ops-1"}, {Action: "reject", Message: "Documents unreadable.", Operator: "ops-2"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = w.DecideUpgrade(context.Background(), id, d)
		}()
	}
	wg.Wait()
	switch {
	case errs[0] == nil && apperr.CodeOf(errs[1]) == apperr.Conflict:
		return wallet.UpgradeApproved
	case errs[1] == nil && apperr.CodeOf(errs[0]) == apperr.Conflict:
		return wallet.UpgradeRejected
	}
	t.Fatalf("concurrent decisions: %v", errs)
	return ""
}

func documentNamed(ds []wallet.Document, name string) wallet.Document {
	for _, d := range ds {
		if d.Filename == name {
			return d
		}
	}
	return wallet.Document{}
}

func hasDocument(ds []wallet.Document, name string) bool { return documentNamed(ds, name).ID != "" }
