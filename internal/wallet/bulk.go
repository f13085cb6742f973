package wallet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// Bulk money requests (issue 13, seed 000's "Input of customer data in
// bulk", a Corporate+ feature): a merchant uploads a CSV file of money
// requests, one per row, through the merchant API or the back office. The
// file is checked as a whole when it arrives (a malformed file is refused
// with its line number and nothing is stored); its rows are stored as a
// batch and the job JobProcessBatch makes each row a money request through
// the single request's own code path (prepareRequest, insertRequest):
// limits and rules apply per row exactly as they do to POST
// /wallet/api/v1/requests. Rows commit one by one: a row's request, its
// expiry job, its created event and the row's result commit in one
// transaction; a row that fails records its error in the wallet API's error
// format, and the other rows go on. The batch's counts show the progress.
//
// The file format (text/csv, UTF-8, an optional byte-order mark, comma
// separated, RFC 4180 quoting, CRLF or LF line ends):
//
//	username,amount,description,reference
//	alice,12.50,Invoice 2026-118,INV-118
//	bob,7.00,"Membership, December",
//
// The header row is required, with exactly these four columns in this
// order. amount is a decimal in the batch's currency exactly as the single
// request's "amount" ("12.50"; JPY "1200"); reference is the request's
// orderId (may be empty). Fields must not contain control characters
// (line breaks inside quotes included). At most MaxBatchRows rows and
// MaxBatchBytes bytes.

// Bulk limits.
const (
	MaxBatchRows  = 1000
	MaxBatchBytes = 1_000_000
	// batchChunk rows are processed per run of the job; it then reschedules
	// itself at once, so a long file never holds a worker's lease for long.
	batchChunk = 100
	// batchInsertRows rows go into one INSERT statement when a batch is stored.
	batchInsertRows = 100
)

// Batch states and the batch job and event.
const (
	BatchQueued     = "queued"
	BatchProcessing = "processing"
	BatchCompleted  = "completed"

	JobProcessBatch     = "wallet.batch.process"
	EventBatchCompleted = "wallet.batch.completed"
)

// Batch row states.
const (
	RowPending = "pending"
	RowCreated = "created"
	RowFailed  = "failed"
)

// BatchSpec is an upload: the CSV file and the options every row shares.
type BatchSpec struct {
	FileName string
	CSV      []byte
	// Currency of the rows' amounts (default EUR; another is converted as
	// a single request's is).
	Currency string
	// CallbackURL receives each request's decision (required, as for a
	// single request).
	CallbackURL string
	// TimeFrame in seconds, as a single request's (0: the default).
	TimeFrame int
}

// Batch is a stored bulk upload and its progress.
type Batch struct {
	ID          string     `json:"batchId"`
	Status      string     `json:"status" doc:"queued, processing or completed"`
	FileName    string     `json:"fileName,omitempty"`
	Currency    string     `json:"currency"`
	CallbackURL string     `json:"callbackUrl"`
	TimeFrame   int        `json:"timeFrame,omitempty"`
	Total       int        `json:"total" doc:"rows in the file"`
	Created     int        `json:"created" doc:"rows that became a money request so far"`
	Failed      int        `json:"failed" doc:"rows refused so far (each with its error)"`
	Pending     int        `json:"pending" doc:"rows not processed yet"`
	CreatedAt   time.Time  `json:"createdAt"`
	CompletedAt *time.Time `json:"completedAt,omitempty"`
	Rows        []BatchRow `json:"rows,omitempty" doc:"per-row results (GET of one batch)"`
}

// BatchRow is one row of a batch and its result.
type BatchRow struct {
	Line        int    `json:"line" doc:"the row's line in the file (the header is line 1)"`
	Username    string `json:"username"`
	Amount      string `json:"amount"`
	Description string `json:"description"`
	Reference   string `json:"reference"`
	Status      string `json:"status" doc:"pending, created or failed"`
	RequestID   string `json:"requestId,omitempty"`
	// Error is the row's refusal in the wallet API's error format.
	Error *httpx.WalletErrorDetail `json:"error,omitempty"`
}

// errBulkNeedsPlus refuses bulk input to a Corporate account (the guide's
// table: Corporate+ only), with the upgrade path of errAPINeedsPlus.
func errBulkNeedsPlus(merchantID string) error {
	e := apperr.From(errAPINeedsPlus(merchantID))
	return apperr.New(apperr.Forbidden, "%s", strings.Replace(e.Message, "communication via API is", "input of customer data in bulk (CSV money requests) is", 1))
}

// CreateBatch checks an upload and stores it as a batch whose rows the job
// JobProcessBatch makes money requests. The same file with the same
// options (by SHA-256) gives the batch stored first, also when both
// uploads arrive at once. A Corporate account is refused (Corporate+
// only).
func (s *Service) CreateBatch(ctx context.Context, tenantID string, spec BatchSpec) (Batch, error) {
	if err := s.bulkAllowed(ctx, tenantID); err != nil {
		return Batch{}, err
	}
	spec, err := s.checkBatchSpec(ctx, spec)
	if err != nil {
		return Batch{}, err
	}
	rows, err := ParseBatchCSV(spec.CSV)
	if err != nil {
		return Batch{}, err
	}
	hash := batchHash(spec)
	var out Batch
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		id, err := s.storeBatch(ctx, tx, tenantID, hash, spec, rows)
		if err != nil {
			return err
		}
		if out, err = s.batch(ctx, tx, tenantID, id); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusAccepted, out) // the answer commits with the batch
	})
	return out, err
}

// bulkAllowed refuses a corporate account that is not Corporate+.
func (s *Service) bulkAllowed(ctx context.Context, tenantID string) error {
	corp, err := s.corporateOf(ctx, s.db.Read(), "tenant_id", tenantID)
	if err != nil {
		return err
	}
	u, err := s.userByID(ctx, s.db.Read(), corp.UserID)
	if err != nil {
		return err
	}
	if u.Tier != TierCorporatePlus {
		return errBulkNeedsPlus(corp.MerchantID)
	}
	return nil
}

// checkBatchSpec checks the options every row shares, with the single
// request's rules (callback URL, time frame), and the currency.
func (s *Service) checkBatchSpec(ctx context.Context, spec BatchSpec) (BatchSpec, error) {
	spec.Currency = strings.ToUpper(strings.TrimSpace(spec.Currency))
	if spec.Currency == "" {
		spec.Currency = Currency
	}
	if _, err := money.ParseCurrency(spec.Currency); err != nil {
		return spec, apperr.InvalidField("currency", "%v", err)
	}
	if err := checkText("fileName", spec.FileName, 0, 255); err != nil {
		return spec, err
	}
	one := MoneyRequestSpec{CallbackURL: spec.CallbackURL, TimeFrame: spec.TimeFrame}
	if err := s.checkCallbackURL(ctx, one); err != nil {
		return spec, err
	}
	if _, err := s.timeFrame(one); err != nil {
		return spec, err
	}
	return spec, nil
}

// batchHash identifies an upload: the file's bytes and the options.
func batchHash(spec BatchSpec) string {
	opts, _ := json.Marshal([]any{spec.Currency, spec.CallbackURL, spec.TimeFrame})
	h := sha256.New()
	h.Write(opts)
	h.Write([]byte{'\n'})
	h.Write(spec.CSV)
	return hex.EncodeToString(h.Sum(nil))
}

// ParseBatchCSV reads a bulk file (the format above). A malformed file is
// an Invalid error naming its line (field "file"); a file of more than
// MaxBatchRows rows or MaxBatchBytes bytes is TooLarge.
func ParseBatchCSV(b []byte) ([]BatchRow, error) {
	if len(b) > MaxBatchBytes {
		return nil, &apperr.Error{Code: apperr.TooLarge, Field: "file", Message: fmt.Sprintf("the file is larger than %d bytes (at most %d rows)", MaxBatchBytes, MaxBatchRows)}
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(b) {
		return nil, badFile(lineOfInvalidUTF8(b), "the file is not UTF-8")
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = len(batchColumns)
	if err := readBatchHeader(r); err != nil {
		return nil, err
	}
	var rows []BatchRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := r.FieldPos(0)
		if len(rows) == MaxBatchRows {
			return nil, &apperr.Error{Code: apperr.TooLarge, Field: "file", Message: fmt.Sprintf("line %d: the file has more than %d rows; split it", line, MaxBatchRows)}
		}
		if err := checkBatchFields(line, rec); err != nil {
			return nil, err
		}
		rows = append(rows, BatchRow{Line: line, Username: strings.TrimSpace(rec[0]), Amount: strings.TrimSpace(rec[1]),
			Description: rec[2], Reference: strings.TrimSpace(rec[3]), Status: RowPending})
	}
	if len(rows) == 0 {
		return nil, badFile(2, "the file has a header and no rows")
	}
	return rows, nil
}

var batchColumns = []string{"username", "amount", "description", "reference"}

func readBatchHeader(r *csv.Reader) error {
	h, err := r.Read()
	if errors.Is(err, io.EOF) {
		return badFile(1, "the file is empty; the header row %q is required", strings.Join(batchColumns, ","))
	}
	if err != nil {
		return csvError(err)
	}
	for i, c := range h {
		if !strings.EqualFold(strings.TrimSpace(c), batchColumns[i]) {
			return badFile(1, "the header row must be %q, not %q", strings.Join(batchColumns, ","), strings.Join(h, ","))
		}
	}
	return nil
}

func checkBatchFields(line int, rec []string) error {
	for i, f := range rec {
		if httpx.CheckText(batchColumns[i], f) != nil { // C0, DEL and C1 controls, bidirectional overrides
			return badFile(line, "column %s contains a control character (a line break inside quotes, a tab, NUL…)", batchColumns[i])
		}
		if len(f) > 1000 {
			return badFile(line, "column %s is longer than 1000 bytes", batchColumns[i])
		}
	}
	return nil
}

func badFile(line int, format string, args ...any) error {
	return &apperr.Error{Code: apperr.Invalid, Field: "file", Message: fmt.Sprintf("line %d: ", line) + fmt.Sprintf(format, args...)}
}

// csvError turns the csv reader's error into badFile's form.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return badFile(pe.Line, "want %d columns (%s)", len(batchColumns), strings.Join(batchColumns, ","))
		}
		return badFile(pe.Line, "%v", pe.Err)
	}
	return apperr.Wrap(err, apperr.Invalid, "the file cannot be read")
}

func lineOfInvalidUTF8(b []byte) int {
	line := 1
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		b = b[n:]
	}
	return line
}

// storeBatch inserts the batch, its rows and its job, unless the same
// upload is stored already; it returns the batch's id either way.
func (s *Service) storeBatch(ctx context.Context, tx *store.Tx, tenantID, hash string, spec BatchSpec, rows []BatchRow) (string, error) {
	id, now := s.ids.ID("mrb"), micros(s.now())
	res, err := tx.ExecContext(ctx, `INSERT INTO wallet_batches (id, tenant_id, file_hash, file_name, currency, callback_url, time_frame, status, total, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $8, $9, $9) ON CONFLICT (tenant_id, file_hash) DO NOTHING`,
		id, tenantID, hash, spec.FileName, spec.Currency, spec.CallbackURL, spec.TimeFrame, len(rows), now)
	if err != nil {
		return "", fmt.Errorf("wallet: insert batch: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		// The same upload: the batch stored first (committed, or just
		// committed by the upload this one waited for).
		err = tx.QueryRowContext(ctx, `SELECT id FROM wallet_batches WHERE tenant_id = $1 AND file_hash = $2`, tenantID, hash).Scan(&id)
		return id, err
	}
	for i := 0; i < len(rows); i += batchInsertRows {
		if err := insertBatchRows(ctx, tx, id, rows[i:min(i+batchInsertRows, len(rows))]); err != nil {
			return "", err
		}
	}
	_, _, err = s.outbox.Enqueue(ctx, tx, outbox.JobSpec{Kind: JobProcessBatch, TenantID: tenantID, Payload: batchPayload{BatchID: id},
		UniqueKey: JobProcessBatch + ":" + id})
	return id, err
}

func insertBatchRows(ctx context.Context, tx *store.Tx, id string, rows []BatchRow) error {
	var q strings.Builder
	q.WriteString(`INSERT INTO wallet_batch_rows (batch_id, line, username, amount, description, reference, status) VALUES `)
	args := make([]any, 0, 6*len(rows))
	for i, r := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		n := 6 * i
		fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, 'pending')", n+1, n+2, n+3, n+4, n+5, n+6)
		args = append(args, id, r.Line, r.Username, r.Amount, r.Description, r.Reference)
	}
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("wallet: insert batch rows: %w", err)
	}
	return nil
}

type batchPayload struct {
	BatchID string `json:"batchId"`
}

// batchRecord is a wallet_batches row.
type batchRecord struct {
	Batch
	TenantID string
}

const batchSelect = `SELECT id, tenant_id, file_name, currency, callback_url, time_frame, status, total, created, failed, created_at, completed_at FROM wallet_batches `

func scanBatch(r interface{ Scan(...any) error }) (batchRecord, error) {
	var b batchRecord
	var created, completed int64
	err := r.Scan(&b.ID, &b.TenantID, &b.FileName, &b.Currency, &b.CallbackURL, &b.TimeFrame, &b.Status, &b.Total, &b.Created, &b.Failed, &created, &completed)
	b.Pending = b.Total - b.Created - b.Failed
	b.CreatedAt = fromMicros(created)
	if completed > 0 {
		t := fromMicros(completed)
		b.CompletedAt = &t
	}
	return b, err
}

func (s *Service) batchRecord(ctx context.Context, q store.Querier, where string, args ...any) (batchRecord, error) {
	b, err := scanBatch(q.QueryRowContext(ctx, batchSelect+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return batchRecord{}, apperr.New(apperr.NotFound, "batch not found")
	}
	if err != nil {
		return batchRecord{}, fmt.Errorf("wallet: batch: %w", err)
	}
	return b, nil
}

// batch returns a tenant's batch without its rows.
func (s *Service) batch(ctx context.Context, q store.Querier, tenantID, id string) (Batch, error) {
	b, err := s.batchRecord(ctx, q, `WHERE id = $1 AND tenant_id = $2`, id, tenantID)
	return b.Batch, err
}

// MerchantBatch returns a batch of the merchant with its per-row results.
func (s *Service) MerchantBatch(ctx context.Context, tenantID, id string) (Batch, error) {
	q := s.db.Read()
	b, err := s.batch(ctx, q, tenantID, id)
	if err != nil {
		return Batch{}, err
	}
	b.Rows, err = s.batchRows(ctx, q, `WHERE batch_id = $1 ORDER BY line`, id)
	return b, err
}

// MerchantBatches lists the merchant's latest batches (without rows), newest first.
func (s *Service) MerchantBatches(ctx context.Context, tenantID string, limit int) ([]Batch, error) {
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	rows, err := s.db.Read().QueryContext(ctx, batchSelect+fmt.Sprintf(`WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT %d`, limit), tenantID)
	if err != nil {
		return nil, fmt.Errorf("wallet: batches: %w", err)
	}
	defer rows.Close()
	out := []Batch{}
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, fmt.Errorf("wallet: batches: %w", err)
		}
		out = append(out, b.Batch)
	}
	return out, rows.Err()
}

const batchRowSelect = `SELECT line, username, amount, description, reference, status, request_id, error_code, error_message, error_field, error_limit FROM wallet_batch_rows `

func (s *Service) batchRows(ctx context.Context, q store.Querier, where string, args ...any) ([]BatchRow, error) {
	rows, err := q.QueryContext(ctx, batchRowSelect+where, args...)
	if err != nil {
		return nil, fmt.Errorf("wallet: batch rows: %w", err)
	}
	defer rows.Close()
	out := []BatchRow{}
	for rows.Next() {
		var r BatchRow
		var e httpx.WalletErrorDetail
		if err := rows.Scan(&r.Line, &r.Username, &r.Amount, &r.Description, &r.Reference, &r.Status, &r.RequestID, &e.Code, &e.Message, &e.Field, &e.Limit); err != nil {
			return nil, fmt.Errorf("wallet: batch rows: %w", err)
		}
		if e.Code != "" {
			r.Error = &e
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
