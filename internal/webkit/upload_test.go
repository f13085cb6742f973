package webkit_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/webkit"
)

// uploaded answers the field "note" (or its refusal) and the file's size.
func uploaded(w http.ResponseWriter, r *http.Request) {
	f := webkit.FormOf(r)
	file, _, err := r.FormFile("file")
	if err != nil {
		http.Error(w, "no file", http.StatusBadRequest)
		return
	}
	defer file.Close()
	b, _ := io.ReadAll(file)
	_, _ = io.WriteString(w, "note="+f.Get("note")+" error="+f.Errors["note"]+" size="+strings.Repeat("#", len(b)))
}

// multipartBody is a form with the fields and a file of n bytes.
func multipartBody(t *testing.T, fields map[string]string, n int) (string, *bytes.Buffer) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	part, err := mw.CreateFormFile("file", "a.pdf")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = part.Write(bytes.Repeat([]byte("x"), n))
	_ = mw.Close()
	return mw.FormDataContentType(), &body
}

// TestProtectUpload: a multipart form is CSRF-checked as a plain one (no
// token, another browser's token, another site: 403), bounded (a bigger
// body: 413) and its fields' control characters refused beside them.
func TestProtectUpload(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		alice, bob := h.browser(), h.browser()
		tok := alice.token()
		bob.token()
		send := func(b *browser, fields map[string]string, n int, site string) (int, string) {
			t.Helper()
			ct, body := multipartBody(t, fields, n)
			req, _ := http.NewRequest("POST", h.srv.URL+"/upload", body)
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Sec-Fetch-Site", site)
			resp, err := b.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			out, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(out)
		}
		cases := []struct {
			name   string
			b      *browser
			fields map[string]string
			n      int
			site   string
			status int
			want   string
		}{
			{"ok", alice, map[string]string{"csrf": tok, "note": "hi"}, 10, "same-origin", 200, "note=hi error= size=##########"},
			{"control character", alice, map[string]string{"csrf": tok, "note": "h\x00i"}, 1, "same-origin", 200, "error=This field holds a control character"},
			{"no token", alice, map[string]string{"note": "hi"}, 1, "same-origin", 403, "expired"},
			{"another browser's token", bob, map[string]string{"csrf": tok}, 1, "same-origin", 403, "expired"},
			{"another site", alice, map[string]string{"csrf": tok}, 1, "cross-site", 403, "another site"},
			{"too big", alice, map[string]string{"csrf": tok}, 2 << 10, "same-origin", 413, "larger than"},
		}
		for _, c := range cases {
			if code, body := send(c.b, c.fields, c.n, c.site); code != c.status || !strings.Contains(body, c.want) {
				t.Fatalf("%s: %d %s", c.name, code, body)
			}
		}
	})
}
