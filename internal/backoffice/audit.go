package backoffice

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/webkit"
)

// Action is what an audit row says was done.
type Action struct {
	Name    string // e.g. "gateway.refund"; a module's actions start with its name
	Subject string // what it was done to, e.g. a payment's reference
	Detail  string // e.g. "5.00 GBP"
}

// ErrNotAudited is returned by Do when the action committed without its
// audit row: the service method it called did not answer from inside its
// transaction (httpx.Answer or httpx.Reply), which every write must.
var ErrNotAudited = errors.New("backoffice: the action committed without its audit row")

// Do runs fn, which calls the one service method that makes the action (the
// one the API calls), with a context under which that method's transaction
// also writes the action's audit row (httpx.WithAnswerHook): the row commits
// with the effects or not at all. When fn succeeds but no row was committed
// (a service method that does not answer from inside its transaction), Do
// logs it and returns ErrNotAudited.
func (o *Office) Do(r *http.Request, a *Admin, act Action, fn func(ctx context.Context) error) error {
	var written atomic.Bool
	ctx := httpx.WithAnswerHook(r.Context(), func(ctx context.Context, tx *store.Tx) error {
		if err := o.Record(ctx, tx, r, a, act); err != nil {
			return err
		}
		tx.OnCommit(func() { written.Store(true) })
		return nil
	})
	if err := fn(ctx); err != nil {
		return err
	}
	if !written.Load() {
		o.log.ErrorContext(r.Context(), "backoffice: action committed without its audit row", "action", act.Name, "subject", act.Subject)
		return ErrNotAudited
	}
	return nil
}

// Record writes the audit row of act by a in tx (for a write the caller
// makes in its own transaction).
func (o *Office) Record(ctx context.Context, tx *store.Tx, r *http.Request, a *Admin, act Action) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO office_audit (id, tenant_id, user_id, username, action, subject, detail, remote_addr, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, o.gen.ID("aud"), a.TenantID, a.ID, a.Username, act.Name, act.Subject,
		act.Detail, httpx.ClientAddr(r), o.clk.Now().UnixMicro())
	if err != nil {
		return fmt.Errorf("backoffice: audit: %w", err)
	}
	return nil
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID, UserID, Username, Action, Subject, Detail, RemoteAddr string
	CreatedAt                                                 time.Time
}

// auditPageSize is the audit page's length.
const auditPageSize = 50

// The pages of a tenant's audit log, newest first: the first, and one after
// a keyset cursor (created_at, id), where the index walk starts.
const (
	auditCols      = `id, user_id, username, action, subject, detail, remote_addr, created_at`
	sqlAuditNewest = `SELECT ` + auditCols + ` FROM office_audit WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`
	sqlAuditBefore = `SELECT ` + auditCols + ` FROM office_audit WHERE tenant_id = $1 AND (created_at, id) < ($2, $3)
ORDER BY created_at DESC, id DESC LIMIT $4`
)

// Audit returns a page of the tenant's audit log, newest first, from the
// cursor (nil: the newest), and the cursor of the next page (nil: none).
func (o *Office) Audit(ctx context.Context, tenantID string, before *Cursor, limit int) ([]AuditEntry, *Cursor, error) {
	q, args := sqlAuditNewest, []any{tenantID, limit + 1}
	if before != nil {
		q, args = sqlAuditBefore, []any{tenantID, before.At.UnixMicro(), before.Ref, limit + 1}
	}
	rows, err := o.db.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("backoffice: audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var created int64
		if err := rows.Scan(&e.ID, &e.UserID, &e.Username, &e.Action, &e.Subject, &e.Detail, &e.RemoteAddr, &created); err != nil {
			return nil, nil, fmt.Errorf("backoffice: audit log: %w", err)
		}
		e.CreatedAt = time.UnixMicro(created).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("backoffice: audit log: %w", err)
	}
	if len(out) <= limit {
		return out, nil, nil
	}
	out = out[:limit]
	last := out[limit-1]
	return out, &Cursor{At: last.CreatedAt, Ref: last.ID}, nil
}

// encodeCursor and decodeCursor carry a cursor in a query parameter:
// "<unix micros>.<ref>" (with the kind, for the unified list, in front).
func encodeCursor(c Cursor) string { return strconv.FormatInt(c.At.UnixMicro(), 10) + "." + c.Ref }

func decodeCursor(s string) (*Cursor, bool) {
	if s == "" {
		return nil, true
	}
	at, ref, ok := strings.Cut(s, ".")
	us, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || us <= 0 || httpx.CheckText("before", ref) != nil || len(ref) > 100 {
		return nil, false
	}
	return &Cursor{At: time.UnixMicro(us).UTC(), Ref: ref}, true
}

// auditData is the audit page.
type auditData struct {
	Table  webkit.Table
	Older  string // the next page's link, "" when none
	Newest bool   // whether this is the first page
}

func (o *Office) auditPage(w http.ResponseWriter, r *http.Request, a *Admin) {
	before, ok := decodeCursor(r.URL.Query().Get("before"))
	if !ok {
		o.Error(w, r, a, http.StatusBadRequest, "That page of the audit log does not exist; start again from the newest.")
		return
	}
	rows, next, err := o.Audit(r.Context(), a.TenantID, before, auditPageSize)
	if err != nil {
		o.Fail(w, r, a, "audit log", err)
		return
	}
	d := auditData{Newest: before == nil, Table: webkit.Table{Caption: "Audit log",
		Columns: []string{"When", "Who", "Action", "Subject", "Detail", "From"},
		Empty:   "Nothing has been done in the back office yet."}}
	for _, e := range rows {
		d.Table.Rows = append(d.Table.Rows, []webkit.Cell{{Text: a.Time(e.CreatedAt)}, {Text: e.Username}, {Text: e.Action, Mono: true},
			{Text: e.Subject, Mono: true}, {Text: e.Detail}, {Text: e.RemoteAddr, Mono: true}})
	}
	if next != nil {
		d.Older = "/office/audit?before=" + encodeCursor(*next)
	}
	o.Render(w, r, a, http.StatusOK, o.pages.audit, webkit.View{Title: "Audit log", Data: d})
}
