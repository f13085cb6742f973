package webkit_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/store/storetest"
)

// upload posts a multipart form with a file.
func (b *browser) upload(token, name, file string, header map[string]string) (int, string) {
	b.h.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf", token)
	_ = mw.WriteField("name", name)
	fw, _ := mw.CreateFormFile("file", "rows.csv")
	_, _ = io.WriteString(fw, file)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", b.h.srv.URL+"/upload", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// TestProtectUpload: a multipart form with a file passes the same checks
// as a plain form (cross-site refused, this browser's token required,
// control characters refused beside the field) and is bounded: a body
// over the limit is a 413 page saying it.
func TestProtectUpload(t *testing.T) {
	h := newHarness(t, storetest.SQLite(t))
	alice, mallory := h.browser(), h.browser()
	tok, other := alice.token(), mallory.token()
	for _, c := range []struct {
		name, token, field, file string
		header                   map[string]string
		want                     int
		says                     string
	}{
		{"own token", tok, "Ada", "a,b\n", sameOrigin, 200, "ok Ada rows.csv a,b\n"},
		{"cross-site", tok, "Ada", "a,b\n", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "another site"},
		{"no token", "", "Ada", "a,b\n", sameOrigin, 403, "expired"},
		{"another browser's token", other, "Ada", "a,b\n", sameOrigin, 403, "expired"},
		{"control character", tok, "A\x00da", "a,b\n", sameOrigin, 400, `id="name-error"`},
		{"too large", tok, "Ada", strings.Repeat("x", 2000), sameOrigin, 413, "at most 1 KB"},
	} {
		code, body := alice.upload(c.token, c.field, c.file, c.header)
		if code != c.want || !strings.Contains(body, c.says) {
			t.Errorf("%s: %d %s", c.name, code, body)
		}
	}
}
