package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
)

// Event is a domain event of one tenant, e.g. "payment.status_changed".
type Event struct {
	ID       string `json:"id"`
	TenantID string `json:"tenantId"`
	// Type is lower-case dotted words: "payment.status_changed".
	Type string `json:"type"`
	// Subject is the id of the object the event is about (optional).
	Subject string `json:"subject,omitempty"`
	// Data is the event body. Emit accepts a json.RawMessage or any value
	// that encodes to JSON; events read back carry a json.RawMessage.
	Data      any       `json:"data"`
	CreatedAt time.Time `json:"createdAt"`
	// Outcome is what happened, for the metrics of committed events
	// (ObserveCommitted); not stored. Empty: the type's last word
	// ("remote.payment.paid": "paid").
	Outcome string `json:"-"`
}

// DecodeData unmarshals the event's Data into v, whichever form it has.
func (e Event) DecodeData(v any) error {
	s, err := marshalJSON(e.Data, "event data")
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(s), v)
}

// rawData returns Data as JSON text.
func (e Event) rawData() json.RawMessage {
	s, err := marshalJSON(e.Data, "event data")
	if err != nil {
		return json.RawMessage("null")
	}
	return json.RawMessage(s)
}

var eventTypeRE = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)*$`)

// KindWebhookDelivery is the job kind of webhook delivery attempts.
const KindWebhookDelivery = "webhook.deliver"

// deliverPayload is the payload of a KindWebhookDelivery job.
type deliverPayload struct {
	DeliveryID string `json:"deliveryId"`
	Manual     bool   `json:"manual,omitempty"`
}

// Emit writes ev in the caller's transaction tx and, in the same
// transaction, one pending webhook delivery (and its delivery job, due now)
// for every enabled endpoint of the tenant whose event filter matches the
// type. If tx rolls back, nothing of this remains. It returns the stored
// event with its ID and CreatedAt set (an ID given by the caller is kept).
func (o *Outbox) Emit(ctx context.Context, tx *store.Tx, ev Event) (Event, error) {
	if ev.TenantID == "" {
		return Event{}, apperr.InvalidField("tenantId", "event tenant id is required")
	}
	if !eventTypeRE.MatchString(ev.Type) || len(ev.Type) > 100 {
		return Event{}, apperr.InvalidField("type", "event type %q must be lower-case dotted words such as payment.status_changed", ev.Type)
	}
	data, err := marshalJSON(ev.Data, "event data")
	if err != nil {
		return Event{}, err
	}
	if ev.ID == "" {
		ev.ID = o.ids.ID("evt")
	}
	ev.Data = json.RawMessage(data)
	ev.CreatedAt = o.now()
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO events (id, tenant_id, type, subject, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		ev.ID, ev.TenantID, ev.Type, ev.Subject, data, micros(ev.CreatedAt)); err != nil {
		return Event{}, fmt.Errorf("outbox: insert event: %w", err)
	}
	if o.observe != nil {
		committed := ev
		tx.OnCommit(func() { o.observe(committed) })
	}
	targets, err := o.subscribedEndpoints(ctx, tx, ev.TenantID, ev.Type)
	if err != nil {
		return Event{}, err
	}
	for _, endpointID := range targets {
		if _, err := o.addDelivery(ctx, tx, ev, endpointID, ""); err != nil {
			return Event{}, err
		}
	}
	return ev, nil
}

// addDelivery writes, in tx, one pending delivery of the stored event ev and
// its delivery job, due when the event was created: to the endpoint
// endpointID, or — endpointID "" — a callback to targetURL. It returns the
// delivery id.
func (o *Outbox) addDelivery(ctx context.Context, tx *store.Tx, ev Event, endpointID, targetURL string) (string, error) {
	id := o.ids.ID("msg")
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, target_url, event_id, event_type, state, attempts, next_attempt_at, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7, $7)`,
		id, ev.TenantID, endpointID, targetURL, ev.ID, ev.Type, micros(ev.CreatedAt)); err != nil {
		return "", fmt.Errorf("outbox: insert webhook delivery: %w", err)
	}
	if _, _, err := o.Enqueue(ctx, tx, JobSpec{
		Kind:     KindWebhookDelivery,
		TenantID: ev.TenantID,
		Payload:  deliverPayload{DeliveryID: id},
		RunAt:    ev.CreatedAt,
	}); err != nil {
		return "", err
	}
	return id, nil
}

// matchesType reports whether an endpoint filter subscribes to typ: "*"
// matches every type, "payment.*" every type starting with "payment.", any
// other entry only itself.
func matchesType(filter []string, typ string) bool {
	for _, f := range filter {
		switch {
		case f == "*", f == typ:
			return true
		case strings.HasSuffix(f, ".*") && strings.HasPrefix(typ, strings.TrimSuffix(f, "*")):
			return true
		}
	}
	return false
}

// EventFilter selects events of a tenant.
type EventFilter struct {
	Type    string // exact type, optional
	Subject string // optional
	PageRequest
}

// EventPage is one page of events, newest first.
type EventPage struct {
	Items []Event `json:"items"`
	// NextCursor is passed as "after" to get the next page; "" on the last page.
	NextCursor string `json:"nextCursor,omitempty"`
}

const eventColumns = `id, tenant_id, type, subject, data, created_at`

func scanEvent(s interface{ Scan(...any) error }) (Event, error) {
	var ev Event
	var data string
	var at int64
	if err := s.Scan(&ev.ID, &ev.TenantID, &ev.Type, &ev.Subject, &data, &at); err != nil {
		return Event{}, err
	}
	ev.Data = json.RawMessage(data)
	ev.CreatedAt = fromMicros(at)
	return ev, nil
}

// ListEvents returns the tenant's events, newest first.
func (o *Outbox) ListEvents(ctx context.Context, tenantID string, f EventFilter) (EventPage, error) {
	q := o.db.Read()
	limit, after, err := f.page(ctx, q, "events", tenantID)
	if err != nil {
		return EventPage{}, err
	}
	query, args := eventsQuery(tenantID, f, limit, after)
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return EventPage{}, fmt.Errorf("outbox: list events: %w", err)
	}
	defer rows.Close()
	items := []Event{}
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return EventPage{}, fmt.Errorf("outbox: list events: %w", err)
		}
		items = append(items, ev)
	}
	if err := rows.Err(); err != nil {
		return EventPage{}, fmt.Errorf("outbox: list events: %w", err)
	}
	var p EventPage
	p.Items, p.NextCursor = nextCursor(items, limit, func(e Event) string { return e.ID })
	return p, nil
}

// eventsQuery is the SELECT of one page of events (one row more than
// limit, to know whether another page follows).
func eventsQuery(tenantID string, f EventFilter, limit int, after *keyset) (string, []any) {
	var qb query
	qb.and("tenant_id = ?", tenantID)
	if f.Type != "" {
		qb.and("type = ?", f.Type)
	}
	if f.Subject != "" {
		qb.and("subject = ?", f.Subject)
	}
	after.and(&qb)
	return "SELECT " + eventColumns + " FROM events" + qb.sql() +
		" ORDER BY created_at DESC, id DESC LIMIT " + qb.arg(limit+1), qb.args
}

// GetEvent returns one event of the tenant (NotFound for another tenant's).
func (o *Outbox) GetEvent(ctx context.Context, tenantID, id string) (Event, error) {
	ev, err := scanEvent(o.db.Read().QueryRowContext(ctx,
		"SELECT "+eventColumns+" FROM events WHERE id = $1 AND tenant_id = $2", id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return Event{}, apperr.New(apperr.NotFound, "event %q not found", id)
	}
	if err != nil {
		return Event{}, fmt.Errorf("outbox: get event: %w", err)
	}
	return ev, nil
}
