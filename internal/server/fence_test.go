package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/server"
)

// fence is a ReadFence whose AwaitReads returns what the test sends.
type fence struct {
	release chan error
	fenced  chan bool // whether the handler's context carried the fence
}

type fenceKey struct{}

func (f *fence) FenceReads(ctx context.Context) context.Context {
	return context.WithValue(ctx, fenceKey{}, true)
}
func (f *fence) AwaitReads(ctx context.Context) error { return <-f.release }

// TestResponsesWaitForTheReadFence: no byte of a response leaves before the
// fence of its request's reads is passed, and a failed fence turns the
// response into a 500 without the handler's body.
func TestResponsesWaitForTheReadFence(t *testing.T) {
	f := &fence{release: make(chan error, 1), fenced: make(chan bool, 1)}
	srv, err := server.New(server.Deps{Fence: f, Routes: []httpx.Route{{
		Method: http.MethodGet, Path: "/secret", API: httpx.APIPublic, Summary: "test",
		Handler: func(w http.ResponseWriter, r *http.Request) {
			f.fenced <- r.Context().Value(fenceKey{}) == true
			_, _ = w.Write([]byte("balance: 100"))
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		fenceErr error
		status   int
		body     string
	}{
		{"passed", nil, 200, "balance: 100"},
		{"failed", errors.New("fsync failed"), 500, `{"error":"internal error"}` + "\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			done := make(chan struct{})
			go func() { srv.ServeHTTP(rec, httptest.NewRequest("GET", "/secret", nil)); close(done) }()
			if !<-f.fenced {
				t.Fatal("the handler's context carries no read fence")
			}
			select {
			case <-done:
				t.Fatal("the response was finished before the fence was passed")
			case <-time.After(50 * time.Millisecond): // a missing fence finishes within microseconds
			}
			f.release <- c.fenceErr
			<-done
			if rec.Code != c.status || rec.Body.String() != c.body {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body.String(), c.status, c.body)
			}
		})
	}
}
