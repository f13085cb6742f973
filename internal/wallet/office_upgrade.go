package wallet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The corporate wallet's Corporate+ and account details pages in the back
// office (seed 000's FAQ): the owner uploads the company's documents and
// asks for Corporate+, sees the operator's message and sends more; edits
// the company name (held for the operator) and the bank account (applied,
// its verification reset). Each action is the service's method, audited in
// its transaction (backoffice.Office.Do); agents see the pages read-only.

const (
	officeUpgradePath = officeAccountPath + "/upgrade"
	officeDetailsPath = officeAccountPath + "/details"
	// uploadLimit bounds an upload form: one document and the form's
	// fields; a file between MaxDocumentBytes and this is refused beside
	// the field, a bigger body with a 413 page.
	uploadLimit = MaxDocumentBytes + 64<<10
)

type officeUpgrade struct {
	acc            *officeAccount
	upgrade, edits *webkit.Page
}

// withUpgrade adds the Corporate+ and details pages to the module.
func (m *officeAccount) withUpgrade(mod backoffice.Module) (backoffice.Module, error) {
	up, err := m.o.Page(officeFiles, "office/upgrade.html")
	if err != nil {
		return backoffice.Module{}, err
	}
	ed, err := m.o.Page(officeFiles, "office/details.html")
	if err != nil {
		return backoffice.Module{}, err
	}
	u := &officeUpgrade{acc: m, upgrade: up, edits: ed}
	mod.Routes = append(mod.Routes,
		backoffice.Route{Method: http.MethodGet, Path: officeUpgradePath, Summary: "corporate wallet: Corporate+ upgrade, its documents and the operator's message", Handler: u.show},
		backoffice.Route{Method: http.MethodPost, Path: officeUpgradePath, Owner: true,
			Summary: "corporate wallet: send the documents and ask for Corporate+", Handler: u.send},
		backoffice.Route{Method: http.MethodPost, Path: officeUpgradePath + "/documents", Owner: true, Upload: uploadLimit,
			Summary: "corporate wallet: upload a document for Corporate+ (PDF, PNG or JPEG, at most 5 MiB)", Handler: u.upload},
		backoffice.Route{Method: http.MethodPost, Path: officeUpgradePath + "/documents/{id}/delete", Owner: true,
			Summary: "corporate wallet: remove a document not sent yet", Handler: u.remove},
		backoffice.Route{Method: http.MethodGet, Path: officeDetailsPath, Summary: "corporate wallet: account details and a change waiting for approval", Handler: u.details},
		backoffice.Route{Method: http.MethodPost, Path: officeDetailsPath, Owner: true,
			Summary: "corporate wallet: edit the company name (approved by the operator) or the bank account (verified again)", Handler: u.edit},
	)
	return mod, nil
}

// upgradeData is the Corporate+ page.
type upgradeData struct {
	Open      bool
	Owner     bool
	Account   CorporateAccount
	Upgrade   Upgrade
	PlusFee   string
	MaxMiB    int
	Max       int
	Documents webkit.Table
	Upload    *webkit.Form
	Send      *webkit.Form
}

func (u *officeUpgrade) show(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	u.render(w, r, a, http.StatusOK, nil, nil)
}

// render shows the Corporate+ page with a refused upload or send form.
func (u *officeUpgrade) render(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, status int, upload, send *webkit.Form) {
	d := upgradeData{Owner: a.Owner(), PlusFee: receiveFee(TierCorporatePlus), MaxMiB: MaxDocumentBytes >> 20, Max: MaxDocuments, Upload: upload, Send: send}
	if d.Upload == nil {
		d.Upload = webkit.NewForm(nil)
	}
	if d.Send == nil {
		d.Send = webkit.NewForm(nil)
	}
	view := webkit.View{Title: "Corporate+", Data: &d, Form: webkit.NewForm(nil)}
	uid, err := u.acc.s.TenantUser(r.Context(), a.TenantID)
	if apperr.Is(err, apperr.NotFound) {
		u.acc.o.Render(w, r, a, status, u.upgrade, view)
		return
	}
	if err == nil {
		d.Account, err = u.acc.s.CorporateOf(r.Context(), uid)
	}
	if err == nil {
		d.Upgrade, err = u.acc.s.UpgradeOf(r.Context(), uid)
	}
	if err != nil {
		u.acc.o.Fail(w, r, a, "corporate+ upgrade", err)
		return
	}
	d.Open = true
	d.Documents = webkit.Table{Caption: "Documents", Empty: "No document uploaded yet.", Columns: []string{"Kind", "File", "Type", "Size", "Uploaded", "State"}}
	for _, doc := range d.Upgrade.Documents {
		state := "waiting to be sent"
		if doc.Sent {
			state = "sent"
		}
		d.Documents.Rows = append(d.Documents.Rows, []webkit.Cell{{Text: doc.KindLabel}, {Text: doc.Filename}, {Text: typeWord(doc.ContentType)},
			{Text: sizeText(doc.Size)}, {Text: a.Time(doc.CreatedAt)}, {Text: state}})
	}
	u.acc.o.Render(w, r, a, status, u.upgrade, view)
}

func sizeText(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
}

// upload (owners) keeps one document (UploadDocument); a refused file is
// shown beside the file field.
func (u *officeUpgrade) upload(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	uid, ok := u.acc.corporateUser(w, r, a)
	if !ok {
		return
	}
	f := webkit.FormOf(r)
	f.Required("kind")
	up, err := uploadedFile(r)
	if err != nil {
		f.Fail("file", "Choose the file to upload.")
	}
	if !f.OK() {
		u.render(w, r, a, http.StatusUnprocessableEntity, f, nil)
		return
	}
	up.Kind = f.Get("kind")
	var doc Document
	err = u.acc.o.Do(r, a, backoffice.Action{Name: "wallet.upgrade.document", Subject: uid, Detail: up.Kind + " " + up.Filename}, func(ctx context.Context) error {
		var err error
		doc, err = u.acc.s.UploadDocument(ctx, uid, up)
		return err
	})
	if err == nil {
		u.acc.o.Redirect(w, r, officeUpgradePath, doc.Filename+" is uploaded; send the documents when all are there.")
		return
	}
	if u.acc.refusal(w, r, a, err, f, map[string]string{"kind": "kind", "file": "file", "filename": "file"}) {
		if f.Message != "" && apperr.From(err).Field == "" {
			f.Errors["file"], f.Message = upperFirstWord(f.Message), ""
		}
		u.render(w, r, a, http.StatusUnprocessableEntity, f, nil)
	}
}

// uploadedFile reads the form's file (at most MaxDocumentBytes+1 bytes:
// the service refuses more).
func uploadedFile(r *http.Request) (DocumentUpload, error) {
	file, hdr, err := r.FormFile("file")
	if err != nil {
		return DocumentUpload{}, err
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, MaxDocumentBytes+1))
	if err != nil {
		return DocumentUpload{}, err
	}
	if len(data) == 0 && hdr.Filename == "" {
		return DocumentUpload{}, errors.New("no file")
	}
	return DocumentUpload{Filename: hdr.Filename, ContentType: hdr.Header.Get("Content-Type"), Data: data}, nil
}

// remove (owners) deletes a document not sent yet.
func (u *officeUpgrade) remove(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	uid, ok := u.acc.corporateUser(w, r, a)
	if !ok {
		return
	}
	id := r.PathValue("id")
	err := u.acc.o.Do(r, a, backoffice.Action{Name: "wallet.upgrade.document.delete", Subject: uid, Detail: id}, func(ctx context.Context) error {
		return u.acc.s.DeleteDocument(ctx, uid, id)
	})
	if err == nil {
		u.acc.o.Redirect(w, r, officeUpgradePath, "The document is removed.")
		return
	}
	u.acc.o.Refused(w, r, a, "wallet.upgrade.document.delete", err)
}

// send (owners) sends the documents with the request (RequestUpgrade).
func (u *officeUpgrade) send(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	uid, ok := u.acc.corporateUser(w, r, a)
	if !ok {
		return
	}
	err := u.acc.o.Do(r, a, backoffice.Action{Name: "wallet.upgrade", Subject: uid}, func(ctx context.Context) error {
		_, err := u.acc.s.RequestUpgrade(ctx, uid)
		return err
	})
	if err == nil {
		u.acc.o.Redirect(w, r, officeUpgradePath, "Corporate+ requested; the operator approves it after checking the company's documents.")
		return
	}
	f := webkit.NewForm(nil)
	if u.acc.refusal(w, r, a, err, f, nil) {
		u.render(w, r, a, http.StatusUnprocessableEntity, nil, f)
	}
}
