package httpx_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestReplyCommitsWithTheTransaction: the answer Reply renders is recorded in
// the handler's transaction and sent only if that transaction committed; an
// error after the commit does not replace it, an error before it does.
func TestReplyCommitsWithTheTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		errw := httpx.PlatformErrors(nil)
		cases := []struct {
			name       string
			failInTx   bool
			afterErr   error
			wantStatus int
			wantRecord bool
		}{
			{"committed", false, nil, 201, true},
			{"error after the commit", false, errors.New("a read after the commit failed"), 201, true},
			{"rolled back after Reply", true, nil, 409, false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var recorded int
				ctx, slot := httpx.WithIdemSlot(context.Background(), func(ctx context.Context, tx *store.Tx, status int, ct string, body []byte) error {
					recorded++
					_, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value, created_at) VALUES ($1, $2, 0)`, "answer-"+c.name, string(body))
					return err
				}, nil)
				err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
					if err := httpx.Reply(ctx, tx, 201, map[string]string{"result": "ok"}); err != nil {
						return err
					}
					if c.failInTx {
						return apperr.New(apperr.Conflict, "refused after rendering")
					}
					return nil
				})
				err = errors.Join(err, c.afterErr)
				w := httptest.NewRecorder()
				r := httptest.NewRequest(http.MethodPost, "/x", nil).WithContext(ctx)
				httpx.Respond(w, r, errw, 201, nil, err)
				if w.Code != c.wantStatus {
					t.Fatalf("status %d, want %d: %s", w.Code, c.wantStatus, w.Body)
				}
				_, committed := slot.Committed()
				var n int
				if err := db.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM settings WHERE name = $1`, "answer-"+c.name).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if committed != c.wantRecord || (n == 1) != c.wantRecord || recorded == 0 {
					t.Fatalf("committed=%v stored rows=%d recorder calls=%d, want committed=%v", committed, n, recorded, c.wantRecord)
				}
				if c.wantRecord && w.Body.String() != "{\"result\":\"ok\"}\n" {
					t.Fatalf("body %q", w.Body)
				}
			})
		}
	})
}
