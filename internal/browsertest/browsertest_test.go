package browsertest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/cashgate/cashgate/internal/browsertest"
)

// TestHarness proves the browser half runs: a page with a form, a click, a
// redirect, and the text the browser ends up showing.
func TestHarness(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><form method="post" action="/done"><input id="who" name="who"><button id="go">Go</button></form>`)
	})
	mux.HandleFunc("POST /done", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/thanks?who="+r.FormValue("who"), http.StatusSeeOther)
	})
	mux.HandleFunc("GET /thanks", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><p id="msg">thanks %s</p>`, r.URL.Query().Get("who"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx := browsertest.New(t, 0)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL),
		chromedp.SendKeys(chromedp.CSS("#who"), "ada"),
		chromedp.Click(chromedp.CSS("#go")),
		chromedp.WaitVisible(chromedp.CSS("#msg")),
	); err != nil {
		t.Fatal(err)
	}
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#msg")))
	if err != nil {
		t.Fatal(err)
	}
	url, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if msg != "thanks ada" || url != srv.URL+"/thanks?who=ada" {
		t.Fatalf("ended on %s showing %q", url, msg)
	}
}

// TestAxeFindsViolations: axe-core runs on a page whose CSP forbids every
// script and reports its serious and critical violations (an image without
// alternative text, an input without a label), and none on a clean page.
func TestAxeFindsViolations(t *testing.T) {
	mux := http.NewServeMux()
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'none'")
			fmt.Fprint(w, `<!doctype html><html lang="en"><head><title>t</title></head><body><main>`+body+`</main></body></html>`)
		}
	}
	mux.HandleFunc("GET /bad", page(`<img src="/x.png"><input id="q">`))
	mux.HandleFunc("GET /good", page(`<h1>Hello</h1><label for="q">Query</label><input id="q">`))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := browsertest.New(t, 0)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/bad")); err != nil {
		t.Fatal(err)
	}
	vs, err := browsertest.Axe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, v := range vs {
		found[v.ID] = true
	}
	if !found["image-alt"] || !found["label"] {
		t.Fatalf("violations %v, want image-alt and label", vs)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/good")); err != nil {
		t.Fatal(err)
	}
	if vs, err := browsertest.Axe(ctx); err != nil || len(vs) != 0 {
		t.Fatalf("clean page: %v %v", vs, err)
	}
}
