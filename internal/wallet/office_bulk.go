package wallet

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The back office's bulk page (issue 13): a Corporate+ merchant uploads a
// CSV file of money requests (the API's CreateBatch, audited in its
// transaction), follows its progress and reads each row's result; a
// Corporate merchant sees the upgrade path instead of the form.

const officeBulkPath = "/office/wallet/bulk"

// maxOfficeUpload bounds the page's multipart body: the file and the form.
const maxOfficeUpload = MaxBatchBytes + 64<<10

type officeBulk struct {
	s           *Service
	o           *backoffice.Office
	list, batch *webkit.Page
}

// withBulk adds the bulk page to the wallet's module (OfficeModule).
func (m *office) withBulk(mod backoffice.Module) (backoffice.Module, error) {
	b := &officeBulk{s: m.s, o: m.o}
	var err error
	if b.list, err = m.o.Page(officeFiles, "office/bulk.html"); err != nil {
		return backoffice.Module{}, err
	}
	if b.batch, err = m.o.Page(officeFiles, "office/batch.html"); err != nil {
		return backoffice.Module{}, err
	}
	mod.Nav = append(mod.Nav, backoffice.NavItem{Label: "Bulk requests", Href: officeBulkPath, Order: 31})
	mod.Routes = append(mod.Routes,
		backoffice.Route{Method: http.MethodGet, Path: officeBulkPath, Summary: "bulk money requests: upload a CSV file (Corporate+), the latest uploads", Handler: b.show},
		backoffice.Route{Method: http.MethodPost, Path: officeBulkPath, Upload: maxOfficeUpload,
			Summary: "bulk money requests: upload a CSV file of money requests", Handler: b.upload},
		backoffice.Route{Method: http.MethodGet, Path: officeBulkPath + "/{id}", Summary: "bulk money requests: one upload's progress and per-row results", Handler: b.show1},
	)
	return mod, nil
}

// bulkData is the list page.
type bulkData struct {
	Allowed bool   // Corporate+
	Refusal string // why not (the upgrade path)
	Form    *webkit.Form
	Table   webkit.Table
	Columns string
	MaxRows int
}

func (b *officeBulk) show(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	b.render(w, r, a, http.StatusOK, webkit.NewForm(nil))
}

func (b *officeBulk) render(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, status int, f *webkit.Form) {
	ctx := r.Context()
	d := bulkData{Form: f, Columns: "username,amount,description,reference", MaxRows: MaxBatchRows}
	err := b.s.bulkAllowed(ctx, a.TenantID)
	d.Allowed = err == nil
	if apperr.Is(err, apperr.Forbidden) || apperr.Is(err, apperr.NotFound) {
		d.Refusal, err = upperFirstWord(apperr.From(err).Message), nil
	}
	if err != nil {
		b.o.Fail(w, r, a, "bulk requests", err)
		return
	}
	list, err := b.s.MerchantBatches(ctx, a.TenantID, 20)
	if err != nil {
		b.o.Fail(w, r, a, "bulk requests", err)
		return
	}
	d.Table = webkit.Table{Caption: "Latest uploads", Columns: []string{"Uploaded", "File", "Status", "Rows", "Created", "Failed", "Pending"}, Empty: "No uploads yet."}
	for _, x := range list {
		name := x.FileName
		if name == "" {
			name = x.ID
		}
		d.Table.Rows = append(d.Table.Rows, []webkit.Cell{{Text: a.Time(x.CreatedAt)}, {Text: name, Href: officeBulkPath + "/" + x.ID}, {Text: x.Status},
			{Text: strconv.Itoa(x.Total)}, {Text: strconv.Itoa(x.Created)}, {Text: strconv.Itoa(x.Failed)}, {Text: strconv.Itoa(x.Pending)}})
	}
	b.o.Render(w, r, a, status, b.list, webkit.View{Title: "Bulk money requests", Data: d, Form: f})
}

// upload stores the file as a batch (CreateBatch) and shows it.
func (b *officeBulk) upload(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	f := webkit.FormOf(r)
	spec, err := officeBatchSpec(r, f)
	if err == nil {
		var x Batch
		err = b.o.Do(r, a, backoffice.Action{Name: "wallet.bulk", Subject: spec.FileName, Detail: fmt.Sprintf("%d bytes", len(spec.CSV))}, func(ctx context.Context) error {
			var err error
			x, err = b.s.CreateBatch(ctx, a.TenantID, spec)
			return err
		})
		if err == nil {
			b.o.Redirect(w, r, officeBulkPath+"/"+x.ID, fmt.Sprintf("%s: %d rows queued.", spec.FileName, x.Total))
			return
		}
	}
	if c := apperr.CodeOf(err); c == apperr.Internal || c == apperr.Unavailable {
		b.o.Fail(w, r, a, "bulk upload", err)
		return
	}
	f.FailWith(err, map[string]string{"file": "file", "callbackUrl": "callbackUrl", "timeFrame": "timeFrame", "currency": "currency"})
	b.render(w, r, a, http.StatusUnprocessableEntity, f)
}

// officeBatchSpec reads the page's form: the file and the options.
func officeBatchSpec(r *http.Request, f *webkit.Form) (BatchSpec, error) {
	if !f.OK() {
		return BatchSpec{}, apperr.New(apperr.Invalid, "a field holds a control character")
	}
	file, hdr, err := r.FormFile("file")
	if err != nil {
		return BatchSpec{}, apperr.InvalidField("file", "choose the CSV file to upload")
	}
	defer file.Close()
	ct := hdr.Header.Get("Content-Type")
	if !isCSVType(ct) {
		return BatchSpec{}, &apperr.Error{Code: apperr.UnsupportedMedia, Field: "file", Message: "the file must be a CSV file (.csv), not " + ct}
	}
	body, err := io.ReadAll(io.LimitReader(file, MaxBatchBytes+1))
	if err != nil {
		return BatchSpec{}, apperr.Wrap(err, apperr.Invalid, "the file cannot be read")
	}
	spec := BatchSpec{FileName: hdr.Filename, CSV: body, Currency: f.Get("currency"), CallbackURL: f.Get("callbackUrl")}
	if t := f.Get("timeFrame"); t != "" {
		if spec.TimeFrame, err = strconv.Atoi(t); err != nil {
			return BatchSpec{}, apperr.InvalidField("timeFrame", "the time frame is a number of seconds")
		}
	}
	return spec, nil
}

// batchData is one upload's page.
type batchData struct {
	B     Batch
	When  string
	Done  string
	Table webkit.Table
}

func (b *officeBulk) show1(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	x, err := b.s.MerchantBatch(r.Context(), a.TenantID, r.PathValue("id"))
	if b.o.Refused(w, r, a, "bulk upload", err) {
		return
	}
	d := batchData{B: x, When: a.Time(x.CreatedAt)}
	if x.CompletedAt != nil {
		d.Done = a.Time(*x.CompletedAt)
	}
	d.Table = webkit.Table{Caption: "Rows", Columns: []string{"Line", "Customer", "Amount", "Description", "Reference", "Result"}}
	for _, row := range x.Rows {
		res := webkit.Cell{Text: row.Status}
		switch {
		case row.RequestID != "":
			res = webkit.Cell{Text: row.RequestID, Mono: true, Href: "/office/wallet/requests/" + row.RequestID}
		case row.Error != nil:
			res.Text = row.Error.Code + ": " + row.Error.Message
		}
		d.Table.Rows = append(d.Table.Rows, []webkit.Cell{{Text: strconv.Itoa(row.Line)}, {Text: row.Username}, {Text: row.Amount + " " + x.Currency},
			{Text: row.Description}, {Text: row.Reference}, res})
	}
	b.o.Render(w, r, a, http.StatusOK, b.batch, webkit.View{Title: "Bulk upload " + x.ID, Data: d})
}
