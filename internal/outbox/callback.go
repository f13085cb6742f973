package outbox

import (
	"context"
	"encoding/json"

	"github.com/cashgate/cashgate/internal/store"
)

// Renderer renders the HTTP body of a delivery of ev (to endpoints and callbacks alike).
type Renderer func(ev Event) (body []byte, contentType string, err error)

// Render registers the body format for events whose type starts with typePrefix
// (longest prefix wins, like Acknowledge). Default: the current Standard Webhooks envelope JSON.
//
// The body is rendered again at every attempt from the stored event, so it
// must depend on the event only. An empty contentType means
// "application/json". An error is recorded as a failed attempt (no request
// is made) and the delivery keeps its schedule.
func (w *Webhooks) Render(typePrefix string, r Renderer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.renderers[typePrefix] = r
}

func (w *Webhooks) renderer(typ string) Renderer {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return longestPrefix(w.renderers, typ, Renderer(envelope))
}

// envelope is the default Renderer: the Standard Webhooks style JSON event
// {"id","type","tenantId","createdAt","data"}.
func envelope(ev Event) ([]byte, string, error) {
	b, err := json.Marshal(webhookBody{ID: ev.ID, Type: ev.Type, TenantID: ev.TenantID, CreatedAt: ev.CreatedAt, Data: ev.rawData()})
	return b, "application/json", err
}

// Callback emits ev in tx exactly like Outbox.Emit (the events row and the usual
// fan-out to the tenant's matching endpoints) and, in the same transaction, one
// extra delivery of ev to url — a "callback" — due now. The URL is validated with
// the same SSRF rules as endpoint URLs (apperr.Invalid when refused, unless
// AllowPrivateTargets). Returns the event and the callback delivery's id.
//
// A callback is a delivery like any other — same Schedule, Acknowledger and
// Renderer for its event type, attempt log, Resend, delivery-time SSRF dial
// guard, listed by ListDeliveries with its TargetURL and an empty
// EndpointID — except that it has no endpoint: nothing is looked up or
// checked for enabled at an attempt, and, having no endpoint secret, it is
// sent unsigned: webhook-id (the delivery id, the same on every attempt)
// and webhook-timestamp are set, webhook-signature is not. A product that
// needs integrity puts its own in the body through its Renderer (the
// e-wallet's hashed control parameter).
//
// Validating url may resolve its host (at most 5 seconds) while tx is open.
// If tx rolls back, neither the event nor any delivery remains.
func (w *Webhooks) Callback(ctx context.Context, tx *store.Tx, ev Event, url string) (Event, string, error) {
	u, err := w.checkURL(ctx, url)
	if err != nil {
		return Event{}, "", err
	}
	ev, err = w.ob.Emit(ctx, tx, ev)
	if err != nil {
		return Event{}, "", err
	}
	id, err := w.ob.addDelivery(ctx, tx, ev, "", u)
	if err != nil {
		return Event{}, "", err
	}
	return ev, id, nil
}
