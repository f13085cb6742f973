package wallet

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
)

// BatchList is the merchant's latest batches.
type BatchList struct {
	Batches []Batch `json:"batches"`
}

// batchOptions are the upload's options (query parameters of a text/csv
// upload, form fields of a multipart one).
var batchOptions = []string{"currency", "callbackUrl", "timeFrame", "fileName"}

// batchRoutes are the merchant API's bulk routes.
func (s *Service) batchRoutes(errw httpx.ErrorWriter) []httpx.Route {
	api := "/wallet/api/v1/batches"
	W := httpx.APIWallet
	return []httpx.Route{
		{Method: "POST", Path: api, API: W, Status: 202, Response: Batch{}, Query: batchOptions, RequestMedia: []string{"text/csv", "multipart/form-data"},
			Summary: "Corporate+: upload a CSV file of money requests (username,amount,description,reference), as text/csv (options in the query) or multipart/form-data (field file and the options); processed row by row in the background; the same file gives the same batch",
			Handler: handler(errw, 202, func(r *http.Request) (any, error) {
				p, err := merchantOf(r)
				if err != nil {
					return nil, err
				}
				spec, err := readBatchUpload(r)
				if err != nil {
					return nil, err
				}
				return s.CreateBatch(r.Context(), p.TenantID, spec)
			})},
		{Method: "GET", Path: api, API: W, Summary: "The merchant's latest bulk uploads, newest first (without rows)", Response: BatchList{}, Query: []string{"limit"},
			Handler: handler(errw, 200, func(r *http.Request) (any, error) {
				p, err := merchantOf(r)
				if err != nil {
					return nil, err
				}
				limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
				list, err := s.MerchantBatches(r.Context(), p.TenantID, limit)
				return BatchList{Batches: list}, err
			})},
		{Method: "GET", Path: api + "/{id}", API: W, Summary: "A bulk upload: its status, counts and per-row results (request id, or the row's error)", Response: Batch{},
			Handler: handler(errw, 200, func(r *http.Request) (any, error) {
				p, err := merchantOf(r)
				if err != nil {
					return nil, err
				}
				return s.MerchantBatch(r.Context(), p.TenantID, r.PathValue("id"))
			})},
	}
}

// readBatchUpload reads a bulk upload: a text/csv body with the options
// in the query, or a multipart/form-data body with the file in the part
// "file" and the options as fields.
func readBatchUpload(r *http.Request) (BatchSpec, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mt = ""
	}
	body, err := httpx.ReadBody(r, httpx.MaxBodyBytes)
	if err != nil {
		return BatchSpec{}, err
	}
	switch mt {
	case "text/csv":
		return batchSpecOf(r.URL.Query(), "", body)
	case "multipart/form-data":
		return readMultipartBatch(body, params["boundary"])
	}
	return BatchSpec{}, apperr.New(apperr.UnsupportedMedia, "Content-Type must be text/csv or multipart/form-data (with the file in the field \"file\")")
}

func batchSpecOf(v url.Values, fileName string, file []byte) (BatchSpec, error) {
	for k := range v {
		if !slices.Contains(batchOptions, k) {
			return BatchSpec{}, apperr.InvalidField(k, "unknown option %q (options: %s)", k, strings.Join(batchOptions, ", "))
		}
	}
	for _, k := range batchOptions {
		if err := httpx.CheckText(k, v.Get(k)); err != nil {
			return BatchSpec{}, err
		}
	}
	spec := BatchSpec{CSV: file, Currency: v.Get("currency"), CallbackURL: v.Get("callbackUrl"), FileName: fileName}
	if f := v.Get("fileName"); f != "" {
		spec.FileName = f
	}
	if t := v.Get("timeFrame"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			return BatchSpec{}, apperr.InvalidField("timeFrame", "timeFrame must be a number of seconds")
		}
		spec.TimeFrame = n
	}
	return spec, nil
}

// uploadTypes are the Content-Types a CSV file part may have (browsers
// send .csv files as any of them, or none).
var uploadTypes = []string{"", "text/csv", "application/csv", "text/plain", "application/vnd.ms-excel", "application/octet-stream"}

// isCSVType reports whether a file's Content-Type is one a CSV file may have.
func isCSVType(raw string) bool {
	ct, _, _ := mime.ParseMediaType(raw)
	return raw == "" || (ct != "" && slices.Contains(uploadTypes, ct))
}

func readMultipartBatch(body []byte, boundary string) (BatchSpec, error) {
	if boundary == "" {
		return BatchSpec{}, apperr.New(apperr.Invalid, "multipart/form-data without a boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	v := url.Values{}
	var file []byte
	var name string
	seen := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return BatchSpec{}, apperr.Wrap(err, apperr.Invalid, "the multipart body cannot be read")
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return BatchSpec{}, apperr.Wrap(err, apperr.Invalid, "the multipart body cannot be read")
		}
		if part.FormName() != "file" {
			v.Add(part.FormName(), string(b))
			continue
		}
		ct := part.Header.Get("Content-Type")
		if !isCSVType(part.Header.Get("Content-Type")) {
			return BatchSpec{}, &apperr.Error{Code: apperr.UnsupportedMedia, Field: "file", Message: "the file must be a CSV file (text/csv), not " + ct}
		}
		if seen {
			return BatchSpec{}, apperr.InvalidField("file", "send one file per upload")
		}
		file, name, seen = b, part.FileName(), true
	}
	if !seen {
		return BatchSpec{}, apperr.InvalidField("file", "the CSV file is missing: send it in the form field \"file\"")
	}
	return batchSpecOf(v, name, file)
}
