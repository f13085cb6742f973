package outbox

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/store"
)

// WebhookOptions configure Webhooks.
type WebhookOptions struct {
	// Client sends deliveries (default: a client of its own). Its transport
	// must be an *http.Transport unless AllowPrivateTargets is set: it is
	// cloned and its dialer replaced by the SSRF guard. Redirects are never
	// followed (a 3xx is not an acknowledgement).
	Client *http.Client
	// Timeout bounds each delivery request, response body included (default 10s).
	Timeout time.Duration
	// Lease is how long a worker's claim of a delivery job lasts (default
	// Timeout + 30s; at least Timeout). When a worker dies with an attempt
	// in flight, the delivery is claimed again after the lease: the
	// attempt is then marked interrupted in the log and a new one is made.
	Lease time.Duration
	// Schedule is the retry schedule (default DefaultSchedule()).
	Schedule Schedule
	// AllowPrivateTargets lets endpoints point at loopback, private and
	// link-local addresses (the server's explicit flag; tests and local
	// demos). Off by default: see the SSRF guard in ssrf.go.
	AllowPrivateTargets bool
	// Resolver resolves endpoint hosts at creation (default net.DefaultResolver).
	Resolver Resolver
	// Cipher encrypts signing secrets at rest. Required.
	Cipher SecretCipher
	// RotationOverlap is how long the previous secret still signs after a
	// rotation, so receivers can switch without losing messages (default 24h).
	RotationOverlap time.Duration
	// OnAttempt, when set, sees the outcome of every recorded delivery
	// attempt: the endpoint's id ("callback" for a callback URL) and
	// whether the response acknowledged it (metrics).
	OnAttempt func(endpoint string, acknowledged bool)
	// Tracer makes a client span per delivery attempt (nil: none); the
	// request carries its traceparent.
	Tracer trace.Tracer
}

// Acknowledger decides whether a response acknowledges a delivery of ev:
// status is the HTTP status and body the start of the response body (up to
// 64 KiB).
type Acknowledger func(ev Event, status int, body []byte) bool

// Ack2xx is the default Acknowledger: any 2xx status.
func Ack2xx(_ Event, status int, _ []byte) bool { return status >= 200 && status <= 299 }

// Webhooks manages webhook endpoints and delivers events to them, signed per
// the Standard Webhooks specification (headers webhook-id — the delivery id,
// the same on every attempt —, webhook-timestamp and webhook-signature; the
// body is by default the JSON event {"id","type","tenantId","createdAt","data"},
// and whatever the Renderer registered for the event type makes it).
// Callback delivers an event to a URL the caller supplies instead of to an
// endpoint (see Callback for how those differ). Each delivery is retried on
// the Schedule until acknowledged.
type Webhooks struct {
	ob     *Outbox
	db     *store.DB
	clk    clock.Clock
	ids    *ids.Gen
	log    *slog.Logger
	opt    WebhookOptions
	client *http.Client
	tracer trace.Tracer

	mu        sync.RWMutex
	acks      map[string]Acknowledger // by event type prefix
	renderers map[string]Renderer     // by event type prefix
}

// NewWebhooks returns the webhooks of ob's database.
func NewWebhooks(ob *Outbox, log *slog.Logger, opt WebhookOptions) (*Webhooks, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opt.Cipher == nil {
		return nil, errors.New("outbox: WebhookOptions.Cipher is required: webhook signing secrets are stored encrypted")
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Lease == 0 {
		opt.Lease = opt.Timeout + DefaultLeaseMargin
	}
	if opt.Lease < opt.Timeout {
		return nil, fmt.Errorf("outbox: WebhookOptions.Lease %s is shorter than the request Timeout %s: a delivery would be claimed again while its request runs", opt.Lease, opt.Timeout)
	}
	if opt.Schedule == nil {
		opt.Schedule = DefaultSchedule()
	}
	if err := opt.Schedule.Validate(); err != nil {
		return nil, err
	}
	if opt.Resolver == nil {
		opt.Resolver = net.DefaultResolver
	}
	if opt.RotationOverlap <= 0 {
		opt.RotationOverlap = 24 * time.Hour
	}
	client, err := deliveryClient(opt.Client, opt.AllowPrivateTargets)
	if err != nil {
		return nil, err
	}
	tracer := opt.Tracer
	if tracer == nil {
		tracer = noop.NewTracerProvider().Tracer("")
	}
	return &Webhooks{ob: ob, db: ob.db, clk: ob.clk, ids: ob.ids, log: log, opt: opt, client: client, tracer: tracer,
		acks: map[string]Acknowledger{}, renderers: map[string]Renderer{}}, nil
}

// DefaultLeaseMargin is how much longer than the request timeout a
// delivery claim lasts by default (the time to record the attempt before
// the request and its result after).
const DefaultLeaseMargin = 30 * time.Second

// Register installs the delivery handler (job kind KindWebhookDelivery) on
// r, with WebhookOptions.Lease as its claim lease.
func (w *Webhooks) Register(r *Runner) { r.HandleLease(KindWebhookDelivery, w.opt.Lease, w.deliver) }

// Acknowledge makes ack decide success for events whose type starts with
// typePrefix (e.g. "gateway."); the longest matching prefix wins, and Ack2xx
// applies to types no prefix matches.
func (w *Webhooks) Acknowledge(typePrefix string, ack Acknowledger) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.acks[typePrefix] = ack
}

func (w *Webhooks) acknowledger(typ string) Acknowledger {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return longestPrefix(w.acks, typ, Ack2xx)
}

// longestPrefix returns the value of m whose key is the longest prefix of
// typ, or def when no key is.
func longestPrefix[T any](m map[string]T, typ string, def T) T {
	best, v := -1, def
	for p, x := range m {
		if strings.HasPrefix(typ, p) && len(p) > best {
			best, v = len(p), x
		}
	}
	return v
}

// Endpoint is a tenant's webhook endpoint. Its secret is never part of it.
type Endpoint struct {
	ID          string `json:"id"`
	TenantID    string `json:"tenantId"`
	URL         string `json:"url"`
	Description string `json:"description"`
	// EventTypes are the subscribed types: exact types, "payment.*" for a
	// prefix, "*" for all.
	EventTypes []string  `json:"eventTypes"`
	Enabled    bool      `json:"enabled"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// EndpointWithSecret is an endpoint with its signing secret, returned only
// when the endpoint is created and when its secret is rotated.
type EndpointWithSecret struct {
	Endpoint
	// Secret is the Standard Webhooks signing secret: "whsec_" + base64 of 32 random bytes.
	Secret string `json:"secret"`
}

// CreateEndpointRequest is the body of POST /platform/webhooks/endpoints.
type CreateEndpointRequest struct {
	URL         string   `json:"url"`
	Description string   `json:"description,omitempty"`
	EventTypes  []string `json:"eventTypes"`
	// Enabled defaults to true.
	Enabled *bool `json:"enabled,omitempty"`
}

// UpdateEndpointRequest is the body of PATCH /platform/webhooks/endpoints/{id};
// absent fields are left as they are.
type UpdateEndpointRequest struct {
	URL         *string  `json:"url,omitempty"`
	Description *string  `json:"description,omitempty"`
	EventTypes  []string `json:"eventTypes,omitempty"`
	Enabled     *bool    `json:"enabled,omitempty"`
}

const (
	maxEventTypes  = 50
	maxDescription = 500
)

// checkEventTypes validates and normalises an endpoint's event filter.
func checkEventTypes(types []string) ([]string, error) {
	if len(types) == 0 {
		return nil, apperr.InvalidField("eventTypes", `eventTypes must list at least one event type ("*" for all)`)
	}
	if len(types) > maxEventTypes {
		return nil, apperr.InvalidField("eventTypes", "eventTypes may list at most %d types", maxEventTypes)
	}
	out := make([]string, 0, len(types))
	for _, t := range types {
		t = strings.TrimSpace(t)
		ok := t == "*" || (len(t) <= 100 && (eventTypeRE.MatchString(t) ||
			(strings.HasSuffix(t, ".*") && eventTypeRE.MatchString(strings.TrimSuffix(t, ".*")))))
		if !ok {
			return nil, apperr.InvalidField("eventTypes", `event type %q is not valid: use a type such as "payment.status_changed", a prefix such as "payment.*", or "*"`, t)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func checkDescription(d string) (string, error) {
	d = strings.TrimSpace(d)
	if len(d) > maxDescription {
		return "", apperr.InvalidField("description", "description must be at most %d characters", maxDescription)
	}
	return d, nil
}

// newSecret returns a fresh Standard Webhooks secret.
func (w *Webhooks) newSecret() string {
	return "whsec_" + base64.StdEncoding.EncodeToString(w.ids.Bytes(32))
}

func (w *Webhooks) seal(secret, endpointID string) (string, error) {
	ct, err := w.opt.Cipher.Seal([]byte(secret), []byte(endpointID))
	if err != nil {
		return "", fmt.Errorf("outbox: encrypt webhook secret: %w", err)
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

func (w *Webhooks) unseal(sealed, endpointID string) (string, error) {
	ct, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return "", fmt.Errorf("outbox: webhook secret of %s: %w", endpointID, err)
	}
	pt, err := w.opt.Cipher.Open(ct, []byte(endpointID))
	if err != nil {
		return "", fmt.Errorf("outbox: decrypt webhook secret of %s: %w", endpointID, err)
	}
	return string(pt), nil
}

// CreateEndpoint adds an endpoint for the tenant and returns it with its
// secret (shown this once).
func (w *Webhooks) CreateEndpoint(ctx context.Context, tenantID string, req CreateEndpointRequest) (EndpointWithSecret, error) {
	u, err := w.checkURL(ctx, req.URL)
	if err != nil {
		return EndpointWithSecret{}, err
	}
	types, err := checkEventTypes(req.EventTypes)
	if err != nil {
		return EndpointWithSecret{}, err
	}
	desc, err := checkDescription(req.Description)
	if err != nil {
		return EndpointWithSecret{}, err
	}
	now := w.ob.now()
	ep := Endpoint{ID: w.ids.ID("we"), TenantID: tenantID, URL: u, Description: desc, EventTypes: types,
		Enabled: req.Enabled == nil || *req.Enabled, CreatedAt: now, UpdatedAt: now}
	secret := w.newSecret()
	sealed, err := w.seal(secret, ep.ID)
	if err != nil {
		return EndpointWithSecret{}, err
	}
	typesJSON, _ := json.Marshal(ep.EventTypes)
	err = w.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO webhook_endpoints (id, tenant_id, url, description, secret, event_types, enabled, created_at, updated_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
			ep.ID, ep.TenantID, ep.URL, ep.Description, sealed, string(typesJSON), ep.Enabled, micros(now))
		if err != nil {
			return err
		}
		w.ob.endpointsChanged(tx, ep.TenantID)
		return httpx.Answer(ctx, tx, EndpointWithSecret{Endpoint: ep, Secret: secret}) // the answer commits with the endpoint
	})
	if err != nil {
		return EndpointWithSecret{}, fmt.Errorf("outbox: create endpoint: %w", err)
	}
	return EndpointWithSecret{Endpoint: ep, Secret: secret}, nil
}

// endpointRow is an endpoint with its sealed secrets.
type endpointRow struct {
	Endpoint
	secret, previous string
	previousUntil    sql.NullInt64
}

const endpointColumns = `id, tenant_id, url, description, event_types, enabled, created_at, updated_at, secret, previous_secret, previous_secret_expires_at`

func scanEndpoint(s interface{ Scan(...any) error }) (endpointRow, error) {
	var e endpointRow
	var types string
	var created, updated int64
	if err := s.Scan(&e.ID, &e.TenantID, &e.URL, &e.Description, &types, &e.Enabled, &created, &updated,
		&e.secret, &e.previous, &e.previousUntil); err != nil {
		return endpointRow{}, err
	}
	if err := json.Unmarshal([]byte(types), &e.EventTypes); err != nil {
		return endpointRow{}, fmt.Errorf("endpoint %s event types: %w", e.ID, err)
	}
	e.CreatedAt, e.UpdatedAt = fromMicros(created), fromMicros(updated)
	return e, nil
}

func (w *Webhooks) endpoint(ctx context.Context, q store.Querier, tenantID, id, lock string) (endpointRow, error) {
	e, err := scanEndpoint(q.QueryRowContext(ctx,
		"SELECT "+endpointColumns+" FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2"+lock, id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return endpointRow{}, apperr.New(apperr.NotFound, "webhook endpoint %q not found", id)
	}
	if err != nil {
		return endpointRow{}, fmt.Errorf("outbox: get endpoint: %w", err)
	}
	return e, nil
}

// GetEndpoint returns one endpoint of the tenant.
func (w *Webhooks) GetEndpoint(ctx context.Context, tenantID, id string) (Endpoint, error) {
	e, err := w.endpoint(ctx, w.db.Read(), tenantID, id, "")
	return e.Endpoint, err
}

// sqlEndpointsOfTenant lists a tenant's endpoints, oldest first.
const sqlEndpointsOfTenant = "SELECT " + endpointColumns + " FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY created_at, id"

// ListEndpoints returns the tenant's endpoints, oldest first.
func (w *Webhooks) ListEndpoints(ctx context.Context, tenantID string) ([]Endpoint, error) {
	rows, err := w.db.Read().QueryContext(ctx, sqlEndpointsOfTenant, tenantID)
	if err != nil {
		return nil, fmt.Errorf("outbox: list endpoints: %w", err)
	}
	defer rows.Close()
	out := []Endpoint{}
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("outbox: list endpoints: %w", err)
		}
		out = append(out, e.Endpoint)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox: list endpoints: %w", err)
	}
	return out, nil
}

// UpdateEndpoint changes the given fields of an endpoint. A new URL passes
// the same checks as at creation.
func (w *Webhooks) UpdateEndpoint(ctx context.Context, tenantID, id string, req UpdateEndpointRequest) (Endpoint, error) {
	var (
		u, desc string
		types   []string
		err     error
	)
	if req.URL != nil {
		if u, err = w.checkURL(ctx, *req.URL); err != nil {
			return Endpoint{}, err
		}
	}
	if req.EventTypes != nil {
		if types, err = checkEventTypes(req.EventTypes); err != nil {
			return Endpoint{}, err
		}
	}
	if req.Description != nil {
		if desc, err = checkDescription(*req.Description); err != nil {
			return Endpoint{}, err
		}
	}
	var ep Endpoint
	err = w.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		row, err := w.endpoint(ctx, tx, tenantID, id, w.db.ForUpdate())
		if err != nil {
			return err
		}
		ep = row.Endpoint
		if req.URL != nil {
			ep.URL = u
		}
		if req.EventTypes != nil {
			ep.EventTypes = types
		}
		if req.Description != nil {
			ep.Description = desc
		}
		if req.Enabled != nil {
			ep.Enabled = *req.Enabled
		}
		ep.UpdatedAt = w.ob.now()
		typesJSON, _ := json.Marshal(ep.EventTypes)
		_, err = tx.ExecContext(ctx,
			`UPDATE webhook_endpoints SET url = $1, description = $2, event_types = $3, enabled = $4, updated_at = $5
			 WHERE id = $6 AND tenant_id = $7`,
			ep.URL, ep.Description, string(typesJSON), ep.Enabled, micros(ep.UpdatedAt), id, tenantID)
		if err != nil {
			return err
		}
		w.ob.endpointsChanged(tx, tenantID)
		return httpx.Answer(ctx, tx, ep) // the answer commits with the change
	})
	if err != nil {
		return Endpoint{}, err
	}
	return ep, nil
}

// DisableEndpoint stops deliveries to an endpoint: new events get no
// delivery for it, and its pending deliveries fail at their next scheduled
// attempt (they can be resent once it is enabled again).
func (w *Webhooks) DisableEndpoint(ctx context.Context, tenantID, id string) (Endpoint, error) {
	off := false
	return w.UpdateEndpoint(ctx, tenantID, id, UpdateEndpointRequest{Enabled: &off})
}

// DeleteEndpoint deletes an endpoint. Its deliveries stay, for the record;
// the pending ones are failed.
func (w *Webhooks) DeleteEndpoint(ctx context.Context, tenantID, id string) error {
	return w.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2`, id, tenantID)
		if err != nil {
			return fmt.Errorf("outbox: delete endpoint: %w", err)
		}
		w.ob.endpointsChanged(tx, tenantID)
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return apperr.New(apperr.NotFound, "webhook endpoint %q not found", id)
		}
		_, err = tx.ExecContext(ctx,
			`UPDATE webhook_deliveries SET state = 'failed', last_error = $1, next_attempt_at = NULL, updated_at = $2
			 WHERE endpoint_id = $3 AND tenant_id = $4 AND state = 'pending'`,
			"endpoint deleted", micros(w.ob.now()), id, tenantID)
		if err != nil {
			return err
		}
		return httpx.ReplyRaw(ctx, tx, httpx.Response{Status: http.StatusNoContent}) // the answer commits with the deletion
	})
}

// RotateSecret gives the endpoint a new secret and returns it. For
// RotationOverlap the previous secret keeps signing too (webhook-signature
// then carries both signatures), so the receiver can switch without
// rejecting messages.
func (w *Webhooks) RotateSecret(ctx context.Context, tenantID, id string) (EndpointWithSecret, error) {
	secret := w.newSecret()
	sealed, err := w.seal(secret, id)
	if err != nil {
		return EndpointWithSecret{}, err
	}
	var ep Endpoint
	err = w.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		row, err := w.endpoint(ctx, tx, tenantID, id, w.db.ForUpdate())
		if err != nil {
			return err
		}
		now := w.ob.now()
		ep = row.Endpoint
		ep.UpdatedAt = now
		_, err = tx.ExecContext(ctx,
			`UPDATE webhook_endpoints SET secret = $1, previous_secret = $2, previous_secret_expires_at = $3, updated_at = $4
			 WHERE id = $5 AND tenant_id = $6`,
			sealed, row.secret, micros(now.Add(w.opt.RotationOverlap)), micros(now), id, tenantID)
		if err != nil {
			return err
		}
		return httpx.Answer(ctx, tx, EndpointWithSecret{Endpoint: ep, Secret: secret}) // the answer commits with the rotation
	})
	if err != nil {
		return EndpointWithSecret{}, err
	}
	return EndpointWithSecret{Endpoint: ep, Secret: secret}, nil
}
