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
// Without the header the request simply runs (with a slot, so an answer the
// handler committed is the one sent). With it (1 to 255 printable ASCII
// characters), per tenant and key:
//
//   - the first request claims the key for Config.IdempotencyLease under a
//     claim token and runs; a handler under the write contract stores its
//     answer with httpx.Reply inside the transaction of its effects, and only
//     while its claim still holds the key (else that transaction rolls back);
//   - the same request again (same method, path with query, and body) gets
//     the stored answer byte for byte, with "Idempotent-Replayed: true";
//   - another request with the same key is 422 (apperr.IdempotencyMismatch);
//   - a duplicate arriving while the first runs waits up to
//     Config.IdempotencyWait for it and replays its answer, else 409
//     (apperr.IdempotencyInFlight); once the lease has run out (the holder
//     died: it committed nothing) the duplicate takes the key over and runs;
//   - an answer not committed by the handler: 4xx is stored afterwards; 5xx,
//     499, a panic or "Cache-Control: no-store" (the token endpoint) release
//     the key, so a retry runs afresh;
//   - stored answers are sealed under Config.IdempotencyKEK;
//   - keys are remembered for Config.IdempotencyTTL (at least 24 hours);
//     PurgeIdempotencyKeys removes older ones.
func (s *Service) IdempotencyFor(errw httpx.ErrorWriter, tenantOf func(r *http.Request) (tenantID string, ok bool)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key, present := r.Header[http.CanonicalHeaderKey(HeaderIdempotencyKey)]
			if !httpx.IsWrite(r.Method) {
				next.ServeHTTP(w, r)
				return
			}
			if !present {
				// No claim, but the write contract still holds: an answer
				// committed with the effects is the one sent (httpx.Respond).
				ctx, slot := httpx.WithIdemSlot(r.Context(), nil, s.log)
				rec := &captureWriter{header: http.Header{}}
				next.ServeHTTP(rec, r.WithContext(ctx))
				s.checkContract(r, errw, slot, rec)
				send(w, rec)
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
			body, err := httpx.ReadBody(r, httpx.BodyLimit(r)) // the route's limit (httpx.Route.MaxBody)
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
	claim       string    // the claim token of the request holding it (in progress)
	leaseUntil  time.Time // in progress: after it, a retry may take the key over
}

func (s *Service) idempotent(w http.ResponseWriter, r *http.Request, next http.Handler, errw httpx.ErrorWriter, tenant, key string, body []byte) {
	ctx := r.Context()
	target := requestTarget(r)
	hash := requestHash(r.Method, target, body)
	deadline := time.Now().Add(s.cfg.IdempotencyWait) // real time: this is waiting, not business time
	for {
		claim, rec, err := s.claimIdempotency(ctx, tenant, key, r.Method, target, hash)
		if err != nil {
			errw(w, r, err)
			return
		}
		if claim != "" {
			s.runRecorded(w, r, next, errw, tenant, key, claim)
			return
		}
		// Someone holds the key: wait for it while its lease runs.
		for rec != nil {
			if rec.hash != hash {
				errw(w, r, apperr.New(apperr.IdempotencyMismatch, "Idempotency-Key %q was already used for a different request", key))
				return
			}
			if rec.done {
				s.replay(w, r, errw, tenant, key, rec)
				return
			}
			if !s.clk.Now().Before(rec.leaseUntil) {
				break // the holder died (or overran its lease): take the key over
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
			if rec, err = s.loadIdempotency(ctx, s.db.Read(), tenant, key, false); err != nil {
				errw(w, r, err)
				return
			}
		}
		// The record vanished (the first request failed) or its lease ran
		// out: try to claim the key for this request.
	}
}

// claimIdempotency claims the key for this request for one lease and returns
// the claim token, or returns the record holding it. An expired record is
// replaced; a record in progress whose lease ran out (its process died: it
// committed nothing, since its answer would have been committed with its
// effects) is taken over with a new token.
func (s *Service) claimIdempotency(ctx context.Context, tenant, key, method, target, hash string) (claim string, rec *idemRecord, err error) {
	now := s.clk.Now()
	token := hex.EncodeToString(s.gen.Bytes(16))
	lease := micros(now.Add(s.cfg.IdempotencyLease))
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		claim, rec = "", nil
		// One statement claims a free key or replaces an expired record
		// (every column of it: a new record, as if the old one had been
		// deleted first); a record that has not expired is left alone.
		res, err := tx.ExecContext(ctx,
			`INSERT INTO idempotency_keys (tenant_id, key, method, path, request_hash, state, created_at, expires_at, claim_token, lease_until)
			 VALUES ($1, $2, $3, $4, $5, 'in_progress', $6, $7, $8, $9)
			 ON CONFLICT (tenant_id, key) DO UPDATE SET method = excluded.method, path = excluded.path,
			   request_hash = excluded.request_hash, state = excluded.state, status = NULL, content_type = NULL,
			   response_body = NULL, created_at = excluded.created_at, expires_at = excluded.expires_at,
			   claim_token = excluded.claim_token, lease_until = excluded.lease_until, sealed = FALSE
			 WHERE idempotency_keys.expires_at <= excluded.created_at`,
			tenant, key, method, target, hash, micros(now), micros(now.Add(s.cfg.IdempotencyTTL)), token, lease)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			claim = token
			return nil
		}
		if rec, err = s.loadIdempotency(ctx, tx, tenant, key, true); err != nil || rec == nil {
			return err
		}
		if rec.done || rec.hash != hash || now.Before(rec.leaseUntil) {
			return nil
		}
		res, err = tx.ExecContext(ctx,
			`UPDATE idempotency_keys SET claim_token = $3, lease_until = $4
			 WHERE tenant_id = $1 AND key = $2 AND state = 'in_progress' AND claim_token = $5`,
			tenant, key, token, lease, rec.claim)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			claim, rec = token, nil
		}
		return nil
	})
	if err != nil {
		return "", nil, fmt.Errorf("platform: claim idempotency key: %w", err)
	}
	return claim, rec, nil
}

// loadIdempotency returns the record, or nil when there is none; lock adds
// FOR UPDATE (PostgreSQL) inside a transaction.
func (s *Service) loadIdempotency(ctx context.Context, q store.Querier, tenant, key string, lock bool) (*idemRecord, error) {
	var rec idemRecord
	var state string
	var status sql.NullInt64
	var ct sql.NullString
	var lease int64
	suffix := ""
	if lock {
		suffix = s.db.ForUpdate()
	}
	err := q.QueryRowContext(ctx,
		`SELECT request_hash, state, status, content_type, response_body, claim_token, lease_until FROM idempotency_keys WHERE tenant_id = $1 AND key = $2`+suffix,
		tenant, key).Scan(&rec.hash, &state, &status, &ct, &rec.body, &rec.claim, &lease)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("platform: load idempotency key: %w", err)
	}
	rec.done, rec.status, rec.contentType, rec.leaseUntil = state == "done", int(status.Int64), ct.String, fromMicros(lease)
	return &rec, nil
}

func (s *Service) replay(w http.ResponseWriter, r *http.Request, errw httpx.ErrorWriter, tenant, key string, rec *idemRecord) {
	body, err := s.unsealAnswer(tenant, key, rec.body)
	if err != nil {
		errw(w, r, err)
		return
	}
	w.Header().Set(HeaderIdempotentReplayed, "true")
	httpx.WriteResponse(w, httpx.Response{Status: rec.status, ContentType: rec.contentType, Body: body})
}

// sealAnswer encrypts a stored answer under the idempotency KEK (bound to its
// tenant and key); unsealAnswer reverses it. Without a KEK they pass bodies
// through (a leading 0 byte marks plain, 1 sealed, so either reads back).
func (s *Service) sealAnswer(tenant, key string, body []byte) []byte {
	if s.idemKEK == nil {
		return append([]byte{0}, body...)
	}
	nonce := s.gen.Bytes(s.idemKEK.NonceSize())
	out := append([]byte{1}, nonce...)
	return s.idemKEK.Seal(out, nonce, body, []byte("idempotency:"+tenant+":"+key))
}

func (s *Service) unsealAnswer(tenant, key string, stored []byte) ([]byte, error) {
	switch {
	case len(stored) == 0:
		return nil, nil
	case stored[0] == 0:
		return stored[1:], nil
	case stored[0] == 1 && s.idemKEK != nil && len(stored) > 1+s.idemKEK.NonceSize():
		n := s.idemKEK.NonceSize()
		pt, err := s.idemKEK.Open(nil, stored[1:1+n], stored[1+n:], []byte("idempotency:"+tenant+":"+key))
		if err == nil {
			return pt, nil
		}
	}
	return nil, errors.New("platform: a stored idempotent answer cannot be opened (was the key-encryption key changed?)")
}

// recorder stores the answer of the request holding claim, in the
// transaction tx that makes the request's effects (httpx.Reply). It fails
// when the claim was lost, which rolls the effects back.
func (s *Service) recorder(tenant, key, claim string) httpx.Recorder {
	return func(ctx context.Context, tx *store.Tx, status int, contentType string, body []byte) error {
		return s.storeAnswer(ctx, tx, tenant, key, claim, status, contentType, body)
	}
}

func (s *Service) storeAnswer(ctx context.Context, tx *store.Tx, tenant, key, claim string, status int, contentType string, body []byte) error {
	res, err := tx.ExecContext(ctx,
		`UPDATE idempotency_keys SET state = 'done', status = $4, content_type = $5, response_body = $6, sealed = $7
		 WHERE tenant_id = $1 AND key = $2 AND claim_token = $3 AND state = 'in_progress'`,
		tenant, key, claim, status, contentType, s.sealAnswer(tenant, key, body), s.idemKEK != nil)
	if err != nil {
		return fmt.Errorf("platform: store idempotent answer: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return &apperr.Error{Code: apperr.IdempotencyInFlight, RetryAfterSeconds: 1,
			Message: fmt.Sprintf("The request with Idempotency-Key %q outlived its lease and was taken over by a retry; retry to learn its outcome", key)}
	}
	return nil
}

// runRecorded runs the handler on a claimed key. A handler that follows the
// write contract (httpx.Reply) stores its answer with its effects. Otherwise
// the answer is stored here afterwards — 4xx answers, which commit nothing —
// or, for 5xx, 499 (the client went away) and no-store answers, the claim is
// released so that a retry runs afresh.
func (s *Service) runRecorded(w http.ResponseWriter, r *http.Request, next http.Handler, errw httpx.ErrorWriter, tenant, key, claim string) {
	storeCtx := context.WithoutCancel(r.Context()) // recording must happen even if the client went away
	ctx, slot := httpx.WithIdemSlot(r.Context(), s.recorder(tenant, key, claim), s.log)
	rec := &captureWriter{header: http.Header{}}
	func() {
		defer func() {
			if p := recover(); p != nil {
				if _, ok := slot.Committed(); !ok {
					s.releaseIdempotency(storeCtx, tenant, key, claim)
				}
				panic(p)
			}
		}()
		next.ServeHTTP(rec, r.WithContext(ctx))
	}()
	s.checkContract(r, errw, slot, rec)
	status := rec.statusCode()
	if _, committed := slot.Committed(); !committed {
		if status >= 500 || status == httpx.StatusClientClosed || rec.noStore() {
			s.releaseIdempotency(storeCtx, tenant, key, claim)
		} else {
			err := s.db.Transact(storeCtx, func(ctx context.Context, tx *store.Tx) error {
				return s.storeAnswer(ctx, tx, tenant, key, claim, status, rec.header.Get("Content-Type"), rec.buf.Bytes())
			})
			if err != nil {
				// Nothing was committed with this answer (4xx): after the
				// lease a retry simply runs again.
				s.log.WarnContext(storeCtx, "platform: could not store idempotent answer", "tenant", tenant, "key", key, "err", err)
			}
		}
	}
	send(w, rec)
}

// checkContract checks the write contract on the handler's captured
// answer: a successful answer (that a retry may replay) of a handler that
// committed a transaction must have been committed with it (httpx.Reply).
// A handler that breaks it is logged; under Config.StrictWriteContract (the
// tests) its answer becomes a 500 (and is not stored), so the test that
// takes that path fails.
func (s *Service) checkContract(r *http.Request, errw httpx.ErrorWriter, slot *httpx.IdemSlot, rec *captureWriter) {
	if rec.statusCode() >= 400 || rec.noStore() || !slot.Unanswered() {
		return
	}
	err := fmt.Errorf("platform: %s %s committed a write without answering from inside its transaction (httpx.Reply); a crash after the commit loses its answer", r.Method, r.URL.Path)
	if !s.cfg.StrictWriteContract {
		s.log.ErrorContext(r.Context(), "write contract broken", "err", err)
		return
	}
	*rec = captureWriter{header: http.Header{}}
	errw(rec, r, err)
}

// send writes the handler's captured answer.
func send(w http.ResponseWriter, rec *captureWriter) {
	dst := w.Header()
	for k, v := range rec.header {
		dst[k] = v
	}
	w.WriteHeader(rec.statusCode())
	_, _ = w.Write(rec.buf.Bytes())
}

// releaseIdempotency deletes this request's claim, so a retry runs afresh.
func (s *Service) releaseIdempotency(ctx context.Context, tenant, key, claim string) {
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND claim_token = $3 AND state = 'in_progress'`, tenant, key, claim)
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

// noStore reports an answer marked "Cache-Control: no-store" (it carries a
// credential, like the token endpoint's): never stored nor replayed.
func (c *captureWriter) noStore() bool {
	return strings.Contains(strings.ToLower(c.header.Get("Cache-Control")), "no-store")
}

func (c *captureWriter) statusCode() int {
	if c.status == 0 {
		return http.StatusOK
	}
	return c.status
}
