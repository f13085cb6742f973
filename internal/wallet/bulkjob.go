package wallet

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// ProcessBatch is the handler of JobProcessBatch: it makes up to batchChunk
// pending rows of the batch money requests, one transaction per row, then
// reschedules itself for the next rows, or completes the batch (its
// wallet.batch.completed event) when none is left. A failure that is not
// the row's own (the database) leaves the row pending for the retry.
func (s *Service) ProcessBatch(ctx context.Context, job outbox.Job) error {
	var p batchPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return outbox.Permanent(err)
	}
	b, err := s.batchRecord(ctx, s.db.Read(), `WHERE id = $1`, p.BatchID)
	if apperr.Is(err, apperr.NotFound) {
		return outbox.Permanent(err)
	}
	if err != nil || b.Status == BatchCompleted {
		return err
	}
	rows, err := s.batchRows(ctx, s.db.Read(), `WHERE batch_id = $1 AND status = 'pending' ORDER BY line LIMIT `+strconv.Itoa(batchChunk), b.ID)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := s.processRow(ctx, b, r); err != nil {
			// Not the row's fault (the database): the row stays pending and
			// the job comes back, without running out of attempts.
			s.log.Warn("wallet: batch row could not be processed; retrying", "batch", b.ID, "line", r.Line, "err", err)
			return &outbox.Retry{At: s.now().Add(batchRetry), Reason: err}
		}
	}
	if len(rows) == batchChunk {
		return outbox.RetryAt(s.now())
	}
	return s.completeBatch(ctx, b)
}

// batchRetry is how soon a batch whose row could not be processed (not
// the row's fault) is taken up again.
const batchRetry = time.Minute

// processRow makes one row a money request through the single request's
// code path; the request, its job and event, and the row's result commit
// together. A refusal of the row (an apperr) is recorded as its result.
func (s *Service) processRow(ctx context.Context, b batchRecord, r BatchRow) error {
	spec := MoneyRequestSpec{Username: r.Username, Amount: r.Amount, Currency: b.Currency, Description: r.Description,
		OrderID: r.Reference, CallbackURL: b.CallbackURL, TimeFrame: b.TimeFrame}
	p, err := s.prepareRequest(ctx, spec)
	if err == nil {
		err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			x, err := s.insertRequest(ctx, tx, b.TenantID, p)
			if err != nil {
				return err
			}
			return s.rowDone(ctx, tx, b.ID, r.Line, x.ID, nil)
		})
	}
	var ae *apperr.Error
	if err == nil || !errors.As(err, &ae) || ae.Code == apperr.Unavailable || ae.Code == apperr.Internal || ae.Code == apperr.RateLimited {
		return err // not the row's fault: retried
	}
	detail := rowError(err)
	return s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		return s.rowDone(ctx, tx, b.ID, r.Line, "", &detail)
	})
}

// rowError is a row's refusal in the wallet API's error format.
func rowError(err error) httpx.WalletErrorDetail {
	e := apperr.From(err)
	d := httpx.WalletErrorDetail{Code: string(e.Code), Message: e.Message, Field: e.Field}
	var ln interface{ LimitName() string }
	if errors.As(err, &ln) {
		d.Limit = ln.LimitName()
	}
	return d
}

// rowDone records a row's result and counts it on the batch. The row must
// still be pending (a second run of the job changes nothing).
func (s *Service) rowDone(ctx context.Context, tx *store.Tx, batchID string, line int, requestID string, e *httpx.WalletErrorDetail) error {
	st, created, failed := RowCreated, 1, 0
	var d httpx.WalletErrorDetail
	if e != nil {
		st, created, failed, d = RowFailed, 0, 1, *e
	}
	if err := exec1(ctx, tx, `UPDATE wallet_batch_rows SET status = $1, request_id = $2, error_code = $3, error_message = $4, error_field = $5, error_limit = $6
WHERE batch_id = $7 AND line = $8 AND status = 'pending'`, st, requestID, d.Code, d.Message, d.Field, d.Limit, batchID, line); err != nil {
		return err
	}
	return exec1(ctx, tx, `UPDATE wallet_batches SET created = created + $1, failed = failed + $2, status = 'processing', updated_at = $3 WHERE id = $4`,
		created, failed, micros(s.now()), batchID)
}

// completeBatch marks the batch completed and emits its event (the
// tenant's webhook endpoints receive it).
func (s *Service) completeBatch(ctx context.Context, b batchRecord) error {
	return s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		now := micros(s.now())
		res, err := tx.ExecContext(ctx, `UPDATE wallet_batches SET status = 'completed', completed_at = $1, updated_at = $1
WHERE id = $2 AND status <> 'completed' AND created + failed = total`, now, b.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		done, err := s.batch(ctx, tx, b.TenantID, b.ID)
		if err != nil {
			return err
		}
		_, err = s.outbox.Emit(ctx, tx, outbox.Event{TenantID: b.TenantID, Type: EventBatchCompleted, Subject: b.ID, Data: done})
		return err
	})
}
