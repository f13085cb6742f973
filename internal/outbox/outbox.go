// Package outbox is cashgate's transactional outbox: domain events written in
// the same database transaction as the state change that caused them, a jobs
// table claimed by workers (so several server processes can share one
// PostgreSQL), and signed webhook delivery with a long retry schedule.
//
// The pieces:
//
//   - Outbox (New): Emit writes an event and, in the same transaction, one
//     webhook delivery plus its job per enabled endpoint of the tenant that
//     subscribes to the event type. Enqueue adds a job, optionally
//     deduplicated by a unique key. ListEvents/GetEvent read events of one
//     tenant.
//   - Runner (NewRunner): claims due jobs with a lease and runs the
//     HandlerFunc registered for their kind. RunDue runs everything due now
//     (tests drive it with a fake clock); Run is the server's polling loop.
//   - Webhooks (NewWebhooks): endpoints, deliveries, the attempt log, manual
//     resend, Standard Webhooks signing, the SSRF guard and the platform API
//     routes. Register installs its delivery handler on a Runner. Each
//     delivery is retried on a Schedule (DefaultSchedule: every minute for
//     10 minutes, daily through day 7, weekly to day 28; failed when the last
//     attempt is not acknowledged, so never more than 30 days) until an
//     Acknowledger (default: any 2xx) accepts the response. A Renderer
//     (default: the Standard Webhooks JSON envelope) makes the body, per
//     event type prefix like the Acknowledger.
//   - Callbacks (Webhooks.Callback): Emit plus one more delivery of the
//     event, to a URL the caller supplies rather than to an endpoint (the
//     card gateway's payment job webhookUrl, the e-wallet's merchant
//     callback URL), with the same schedule, acknowledgement, rendering,
//     attempt log, resend and SSRF guard, but unsigned (no endpoint secret).
//
// Every row that belongs to a tenant carries tenant_id and every read of the
// API is scoped by it.
package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/store"
)

// Outbox writes events and jobs. It is safe for concurrent use.
type Outbox struct {
	db   *store.DB
	clk  clock.Clock
	ids  *ids.Gen
	subs *subscriptions // each tenant's webhook endpoints, for fan-out
	// observe sees every event once its transaction is durable (metrics).
	observe func(Event)
}

// ObserveCommitted makes f see every event Emit writes, once its
// transaction is durable (a rolled-back event is never seen). Call it
// before the first Emit; f must be quick and safe for concurrent use.
func (o *Outbox) ObserveCommitted(f func(Event)) { o.observe = f }

// New returns an Outbox on db. clk and gen are required.
func New(db *store.DB, clk clock.Clock, gen *ids.Gen) *Outbox {
	return &Outbox{db: db, clk: clk, ids: gen, subs: newSubscriptions()}
}

// now returns the clock's time truncated to what the database stores (µs).
func (o *Outbox) now() time.Time { return o.clk.Now().UTC().Truncate(time.Microsecond) }

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(n int64) time.Time { return time.UnixMicro(n).UTC() }

func nullMicros(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMicros(n.Int64)
	return &t
}

// marshalJSON turns v into JSON text: a json.RawMessage (or []byte) is
// checked and used as is, nil becomes "{}", anything else is marshalled.
func marshalJSON(v any, field string) (string, error) {
	var b []byte
	switch x := v.(type) {
	case nil:
		return "{}", nil
	case json.RawMessage:
		b = x
	case []byte:
		b = x
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			return "", apperr.Wrap(err, apperr.Invalid, "%s cannot be encoded as JSON", field)
		}
	}
	if len(b) == 0 {
		return "{}", nil
	}
	if !json.Valid(b) {
		return "", apperr.New(apperr.Invalid, "%s is not valid JSON", field)
	}
	return string(b), nil
}

// query builds a WHERE clause with $n placeholders.
type query struct {
	where []string
	args  []any
}

// arg adds v as the next argument and returns its placeholder.
func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

// and adds a condition; "?" in cond are replaced by the placeholders of args.
func (q *query) and(cond string, args ...any) {
	var b strings.Builder
	for _, a := range args {
		i := strings.IndexByte(cond, '?')
		b.WriteString(cond[:i])
		b.WriteString(q.arg(a))
		cond = cond[i+1:]
	}
	b.WriteString(cond)
	q.where = append(q.where, b.String())
}

func (q *query) sql() string {
	if len(q.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(q.where, " AND ")
}

// Page limits for list reads.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// PageRequest asks for one page of a list, newest first.
type PageRequest struct {
	// Limit is the page size (DefaultPageSize when 0, at most MaxPageSize).
	Limit int
	// After is the NextCursor of the previous page ("" for the first page).
	After string
}

func (p PageRequest) limit() (int, error) {
	switch {
	case p.Limit == 0:
		return DefaultPageSize, nil
	case p.Limit < 0 || p.Limit > MaxPageSize:
		return 0, apperr.InvalidField("limit", "limit must be between 1 and %d", MaxPageSize)
	}
	return p.Limit, nil
}

// keyset is where a page continues: after the row created at at with id id
// (newest first: the rows that sort before it by (created_at, id)).
type keyset struct {
	at int64
	id string
}

// page returns the page size and, for a cursor p.After (the id of a row of
// the tenant in table), the keyset it continues after; nil for the first page.
func (p PageRequest) page(ctx context.Context, q store.Querier, table, tenantID string) (int, *keyset, error) {
	n, err := p.limit()
	if err != nil {
		return 0, nil, err
	}
	if p.After == "" {
		return n, nil, nil
	}
	var at int64
	err = q.QueryRowContext(ctx, "SELECT created_at FROM "+table+" WHERE id = $1 AND tenant_id = $2", p.After, tenantID).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, apperr.InvalidField("after", "unknown cursor %q", p.After)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("outbox: page cursor: %w", err)
	}
	return n, &keyset{at: at, id: p.After}, nil
}

// and adds the keyset condition for newest-first pagination over
// (created_at, id) to qb; nothing for the first page.
func (k *keyset) and(qb *query) {
	if k != nil {
		qb.and("(created_at, id) < (?, ?)", k.at, k.id) // a row value: the index walk starts at the cursor
	}
}

// nextCursor returns the cursor for the page after items (fetched with
// limit+1 rows) and the items trimmed to limit.
func nextCursor[T any](items []T, limit int, id func(T) string) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, id(items[limit-1])
}
