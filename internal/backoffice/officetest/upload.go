package officetest

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// File is a file of a multipart form.
type File struct {
	Field, Name, ContentType string
	Data                     []byte
}

// Upload loads from (for the form's token) and posts form with file to
// path as multipart/form-data, as a browser sends a form with a file.
func (b *Browser) Upload(from, path string, form url.Values, file File) Page {
	b.T.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	form.Set("csrf", b.Token(from))
	for k, vs := range form {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	hdr := textproto.MIMEHeader{}
	hdr.Set("Content-Disposition", `form-data; name="`+file.Field+`"; filename="`+file.Name+`"`)
	if file.ContentType != "" {
		hdr.Set("Content-Type", file.ContentType)
	}
	part, err := mw.CreatePart(hdr)
	if err != nil {
		b.T.Fatal(err)
	}
	_, _ = part.Write(file.Data)
	_ = mw.Close()
	req, _ := http.NewRequestWithContext(context.Background(), "POST", b.H.Server.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := b.c.Do(req)
	if err != nil {
		b.T.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return Page{Status: resp.StatusCode, Body: string(out), Location: strings.TrimPrefix(resp.Header.Get("Location"), b.H.Server.URL), Header: resp.Header}
}
