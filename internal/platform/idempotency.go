package platform

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
)

// Idempotency headers.
const (
	HeaderIdempotencyKey     = "Idempotency-Key"
	HeaderIdempotentReplayed = "Idempotent-Replayed"
)

// idempotencyPoll is how often a duplicate polls for the first request's
// completion.
const idempotencyPoll = 25 * time.Millisecond

// Idempotency is IdempotencyFor with the tenant of the authenticated
// principal (httpx.PrincipalFrom): mount it after Authenticate.
func (s *Service) Idempotency(errw httpx.ErrorWriter) func(http.Handler) http.Handler {
	return s.IdempotencyFor(errw, func(r *http.Request) (string, bool) {
		p, ok := httpx.PrincipalFrom(r.Context())
		return p.TenantID, ok && p.TenantID != ""
	})
}

// IdempotencyFor returns the Idempotency-Key middleware for write requests
// (POST, PUT, PATCH, DELETE; other methods pass through) of an API whose
// tenant tenantOf finds (the gateway finds it from its ConfigurationId).
//
// Without the header the request simply runs. With it (1 to 255 printable
// ASCII characters), per tenant and key:
//
//   - the first request is recorded in progress, runs, and its status,
//     Content-Type and body are stored and sent;
//   - the same request again (same method, path with query, and body) gets
//     the stored response byte for byte, with "Idempotent-Replayed: true";
//   - another request with the same key is 422 (apperr.IdempotencyMismatch);
//   - a duplicate arriving while the first runs waits up to
//     Config.IdempotencyWait for it and replays its response, else 409
//     (apperr.IdempotencyInFlight) — the handler never runs twice;
//   - a 5xx answer, a panic, or a response marked "Cache-Control: no-store"
//     (the token endpoint's, which must not be stored) is not kept: the record
//     is deleted and the same key may be retried (a 5xx means nothing was
//     committed);
//   - keys are remembered for Config.IdempotencyTTL (at least 24 hours);
//     PurgeIdempotencyKeys removes older ones. A record left in progress by a
//     crashed process blocks its key (409) until then.
func (s *Service) IdempotencyFor(errw httpx.ErrorWriter, tenantOf func(r *http.Request) (tenantID string, ok bool)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key, present := r.Header[http.CanonicalHeaderKey(HeaderIdempotencyKey)]
			if !present || !isWrite(r.Method) {
				next.ServeHTTP(w, r)
				return
			}
			if len(key) != 1 || !validIdempotencyKey(key[0]) {
				errw(w, r, apperr.InvalidField(HeaderIdempotencyKey, "Idempotency-Key must be one header of 1 to 255 printable ASCII characters"))
				return
			}
			tenant, ok := tenantOf(r)
			if !ok {
				errw(w, r, errors.New("platform: idempotency middleware mounted without a tenant (before authentication?)"))
				return
			}
			body, err := httpx.ReadBody(r, 0)
			if err != nil {
				errw(w, r, err)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			s.idempotent(w, r, next, errw, tenant, key[0], body)
		})
	}
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

func validIdempotencyKey(k string) bool {
	if len(k) < 1 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// requestTarget is the path with its query, as the request hash sees it.
func requestTarget(r *http.Request) string {
	t := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		t += "?" + r.URL.RawQuery
	}
	return t
}

func requestHash(method, target string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write([]byte(target))
	h.Write([]byte{0})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// idemRecord is a stored idempotency record.
type idemRecord struct {
	hash        string
	done        bool
	status      int
	contentType string
	body        []byte
}

func (s *Service) idempotent(w http.ResponseWriter, r *http.Request, next http.Handler, errw httpx.ErrorWriter, tenant, key string, body []byte) {
	ctx := r.Context()
	target := requestTarget(r)
	hash := requestHash(r.Method, target, body)
	deadline := time.Now().Add(s.cfg.IdempotencyWait) // real time: this is waiting, not business time
	for {
		claimed, rec, err := s.claimIdempotency(ctx, tenant, key, r.Method, target, hash)
		if err != nil {
			errw(w, r, err)
			return
		}
		if claimed {
			s.runRecorded(w, r, next, tenant, key)
			return
		}
		// Someone holds the key: wait for it while it is in progress.
		for rec != nil {
			if rec.hash != hash {
				errw(w, r, apperr.New(apperr.IdempotencyMismatch, "Idempotency-Key %q was already used for a different request", key))
				return
			}
			if rec.done {
				replay(w, rec)
				return
			}
			if !time.Now().Before(deadline) {
				errw(w, r, &apperr.Error{Code: apperr.IdempotencyInFlight, RetryAfterSeconds: 1,
					Message: fmt.Sprintf("A request with Idempotency-Key %q is still being processed; retry later", key)})
				return
			}
			t := time.NewTimer(idempotencyPoll)
			select {
			case <-ctx.Done():
				t.Stop()
				errw(w, r, apperr.Wrap(ctx.Err(), apperr.Unavailable, "request cancelled"))
				return
			case <-t.C:
			}
			if rec, err = s.loadIdempotency(ctx, s.db.Read(), tenant, key); err != nil {
				errw(w, r, err)
				return
			}
		}
		// The record vanished (the first request failed with a 5xx): try to
		// claim the key for this request.
	}
}

// claimIdempotency records the key in progress for this request, or returns
// the record holding it. An expired record is replaced.
func (s *Service) claimIdempotency(ctx context.Context, tenant, key, method, target, hash string) (claimed bool, rec *idemRecord, err error) {
	now := s.clk.Now()
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		claimed, rec = false, nil
		if _, err := tx.ExecContext(ctx,
			`DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND expires_at <= $3`,
			tenant, key, micros(now)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx,
			`INSERT INTO idempotency_keys (tenant_id, key, method, path, request_hash, state, created_at, expires_at)
			 VALUES ($1, $2, $3, $4, $5, 'in_progress', $6, $7)
			 ON CONFLICT (tenant_id, key) DO NOTHING`,
			tenant, key, method, target, hash, micros(now), micros(now.Add(s.cfg.IdempotencyTTL)))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			claimed = true
			return nil
		}
		rec, err = s.loadIdempotency(ctx, tx, tenant, key)
		return err
	})
	if err != nil {
		return false, nil, fmt.Errorf("platform: claim idempotency key: %w", err)
	}
	return claimed, rec, nil
}

// loadIdempotency returns the record, or nil when there is none.
func (s *Service) loadIdempotency(ctx context.Context, q store.Querier, tenant, key string) (*idemRecord, error) {
	var rec idemRecord
	var state string
	var status sql.NullInt64
	var ct sql.NullString
	err := q.QueryRowContext(ctx,
		`SELECT request_hash, state, status, content_type, response_body FROM idempotency_keys WHERE tenant_id = $1 AND key = $2`,
		tenant, key).Scan(&rec.hash, &state, &status, &ct, &rec.body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("platform: load idempotency key: %w", err)
	}
	rec.done, rec.status, rec.contentType = state == "done", int(status.Int64), ct.String
	return &rec, nil
}

func replay(w http.ResponseWriter, rec *idemRecord) {
	if rec.contentType != "" {
		w.Header().Set("Content-Type", rec.contentType)
	}
	w.Header().Set(HeaderIdempotentReplayed, "true")
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body)
}

// runRecorded runs the handler on a claimed key, buffering its response,
// stores the outcome and then sends it.
func (s *Service) runRecorded(w http.ResponseWriter, r *http.Request, next http.Handler, tenant, key string) {
	// Recording must happen even if the client has gone away meanwhile.
	storeCtx := context.WithoutCancel(r.Context())
	rec := &captureWriter{header: http.Header{}}
	func() {
		defer func() {
			if p := recover(); p != nil {
				s.forgetIdempotency(storeCtx, tenant, key)
				panic(p)
			}
		}()
		next.ServeHTTP(rec, r)
	}()
	status := rec.statusCode()
	if status >= 500 || strings.Contains(strings.ToLower(rec.header.Get("Cache-Control")), "no-store") {
		s.forgetIdempotency(storeCtx, tenant, key)
	} else {
		body := rec.buf.Bytes()
		err := s.db.Transact(storeCtx, func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.ExecContext(storeCtx,
				`UPDATE idempotency_keys SET state = 'done', status = $3, content_type = $4, response_body = $5
				 WHERE tenant_id = $1 AND key = $2 AND state = 'in_progress'`,
				tenant, key, status, rec.header.Get("Content-Type"), body)
			return err
		})
		if err != nil {
			// The side effect happened: leave the record in progress so a
			// retry gets 409 rather than running the handler again.
			s.log.ErrorContext(storeCtx, "platform: could not store idempotent response", "tenant", tenant, "key", key, "err", err)
		}
	}
	dst := w.Header()
	for k, v := range rec.header {
		dst[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(rec.buf.Bytes())
}

func (s *Service) forgetIdempotency(ctx context.Context, tenant, key string) {
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND state = 'in_progress'`, tenant, key)
		return err
	})
	if err != nil {
		s.log.ErrorContext(ctx, "platform: could not release idempotency key", "tenant", tenant, "key", key, "err", err)
	}
}

// PurgeIdempotencyKeys deletes idempotency records created more than
// olderThan ago (values below Config.IdempotencyTTL, at least 24 hours, are
// raised to it) and returns how many it deleted. A periodic job calls it.
func (s *Service) PurgeIdempotencyKeys(ctx context.Context, olderThan time.Duration) (int64, error) {
	olderThan = max(olderThan, s.cfg.IdempotencyTTL)
	cutoff := s.clk.Now().Add(-olderThan)
	var n int64
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, micros(cutoff))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("platform: purge idempotency keys: %w", err)
	}
	return n, nil
}

// captureWriter buffers a handler's response.
type captureWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (c *captureWriter) Header() http.Header { return c.header }

func (c *captureWriter) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.buf.Write(b)
}

func (c *captureWriter) statusCode() int {
	if c.status == 0 {
		return http.StatusOK
	}
	return c.status
}
