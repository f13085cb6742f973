package outbox

import (
	"context"
	"net/http"
	"strconv"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
)

// EndpointList is the response of GET /platform/webhooks/endpoints.
type EndpointList struct {
	Items []Endpoint `json:"items"`
}

// Routes returns the platform API routes of events and webhooks. Errors are
// written by errw; the tenant is the authenticated principal's.
func (w *Webhooks) Routes(errw httpx.ErrorWriter) []httpx.Route {
	h := handlers{w: w, errw: errw}
	const (
		endpoints  = "/platform/webhooks/endpoints"
		endpoint   = endpoints + "/{id}"
		deliveries = "/platform/webhooks/deliveries"
		delivery   = deliveries + "/{id}"
		events     = "/platform/events"
	)
	pageQuery := []string{"limit", "after"}
	return []httpx.Route{
		{Method: http.MethodPost, Path: endpoints, API: httpx.APIPlatform, Status: http.StatusCreated,
			Summary: "Create a webhook endpoint (the response shows its signing secret, this once)",
			Request: CreateEndpointRequest{}, Response: EndpointWithSecret{}, Handler: h.createEndpoint},
		{Method: http.MethodGet, Path: endpoints, API: httpx.APIPlatform,
			Summary: "List webhook endpoints", Response: EndpointList{}, Handler: h.listEndpoints},
		{Method: http.MethodGet, Path: endpoint, API: httpx.APIPlatform,
			Summary: "Get a webhook endpoint", Response: Endpoint{}, Handler: h.getEndpoint},
		{Method: http.MethodPatch, Path: endpoint, API: httpx.APIPlatform,
			Summary: "Update a webhook endpoint (URL, description, event types, enabled)",
			Request: UpdateEndpointRequest{}, Response: Endpoint{}, Handler: h.updateEndpoint},
		{Method: http.MethodDelete, Path: endpoint, API: httpx.APIPlatform, Status: http.StatusNoContent,
			Summary: "Delete a webhook endpoint (its pending deliveries fail)", Handler: h.deleteEndpoint},
		{Method: http.MethodPost, Path: endpoint + "/disable", API: httpx.APIPlatform,
			Summary: "Disable a webhook endpoint", Response: Endpoint{}, Handler: h.disableEndpoint},
		{Method: http.MethodPost, Path: endpoint + "/rotate-secret", API: httpx.APIPlatform,
			Summary:  "Rotate the signing secret of a webhook endpoint (the previous one keeps signing for 24 hours)",
			Response: EndpointWithSecret{}, Handler: h.rotateSecret},
		{Method: http.MethodGet, Path: deliveries, API: httpx.APIPlatform,
			Summary: "List webhook deliveries, newest first", Response: DeliveryPage{},
			Query: append([]string{"endpointId", "eventId", "state"}, pageQuery...), Handler: h.listDeliveries},
		{Method: http.MethodGet, Path: delivery, API: httpx.APIPlatform,
			Summary: "Get a webhook delivery with its attempt log", Response: DeliveryDetail{}, Handler: h.getDelivery},
		{Method: http.MethodPost, Path: delivery + "/resend", API: httpx.APIPlatform, Status: http.StatusAccepted,
			Summary: "Resend a webhook delivery now (in any state)", Response: Delivery{}, Handler: h.resend},
		{Method: http.MethodGet, Path: events, API: httpx.APIPlatform,
			Summary: "List events, newest first", Response: EventPage{},
			Query: append([]string{"type", "subject"}, pageQuery...), Handler: h.listEvents},
		{Method: http.MethodGet, Path: events + "/{id}", API: httpx.APIPlatform,
			Summary: "Get an event", Response: Event{}, Handler: h.getEvent},
	}
}

type handlers struct {
	w    *Webhooks
	errw httpx.ErrorWriter
}

// tenant returns the authenticated tenant or writes an error.
func (h handlers) tenant(rw http.ResponseWriter, r *http.Request) (string, bool) {
	p, ok := httpx.PrincipalFrom(r.Context())
	if !ok || p.TenantID == "" {
		h.errw(rw, r, apperr.New(apperr.Unauthenticated, "authentication required"))
		return "", false
	}
	return p.TenantID, true
}

// serve runs fn for the authenticated tenant and writes its result.
func (h handlers) serve(rw http.ResponseWriter, r *http.Request, status int, fn func(tenant string) (any, error)) {
	tenant, ok := h.tenant(rw, r)
	if !ok {
		return
	}
	v, err := fn(tenant)
	if err == nil && status == http.StatusNoContent {
		rw.WriteHeader(status)
		return
	}
	httpx.Respond(rw, r, h.errw, status, v, err) // an answer committed with the write wins
}

// answered returns r's context under which the service answers its result
// from inside its transaction (httpx.Answering, the result as it is).
func answered[T any](r *http.Request, status int) context.Context {
	var out T
	return httpx.Answering(r.Context(), status, &out, func(_ context.Context, v T) (T, error) { return v, nil })
}

func page(r *http.Request) (PageRequest, error) {
	p := PageRequest{After: r.URL.Query().Get("after")}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return PageRequest{}, apperr.InvalidField("limit", "limit must be a whole number between 1 and %d", MaxPageSize)
		}
		p.Limit = n
	}
	return p, nil
}

func (h handlers) createEndpoint(rw http.ResponseWriter, r *http.Request) {
	h.serve(rw, r, http.StatusCreated, func(tenant string) (any, error) {
		var req CreateEndpointRequest
		if _, err := httpx.Decode(r, &req, httpx.DecodeOptions{}); err != nil {
			return nil, err
		}
		return h.w.CreateEndpoint(answered[EndpointWithSecret](r, http.StatusCreated), tenant, req)
	})
}

func (h handlers) listEndpoints(rw http.ResponseWriter, r *http.Request) {
	h.serve(rw, r, http.StatusOK, func(tenant string) (any, error) {
		items, err := h.w.ListEndpoints(r.Context(), tenant)
		return EndpointList{Items: items}, err
	})
}

func (h handlers) getEndpoint(rw http.ResponseWriter, r *http.Request) {
	h.serve(rw, r, http.StatusOK, func(tenant string) (any, error) {
		return h.w.GetEndpoint(r.Context(), tenant, r.PathValue("id"))
	})
}

func (h handlers) updateEndpoint(rw http.ResponseWriter, r *http.Request) {
	h.serve(rw, r, http.StatusOK, func(tenant string) (any, error) {
		var req UpdateEndpointRequest
		if _, err := httpx.Decode(r, &req, httpx.DecodeOptions{}); err != nil {
			return nil, err
		}
		return h.w.UpdateEndpoint(answered[Endpoint](r, http.StatusOK), tenant, r.PathValue("id"), req)
	})
}

func (h handlers) deleteEndpoint(rw http.ResponseWriter, r *http.Request) {
	h.serve(rw, r, http.StatusNoContent, func(tenant string) (any, error) {
		return nil, h.w.DeleteEndpoint(r.Context(), tenant, r.PathValue("id"))
	})
}

func (h handlers) disableEndpoint(rw http.ResponseWriter, r *http.Request) {
	h.serve(rw, r, http.StatusOK, func(tenant string) (any, error) {
		return h.w.DisableEndpoint(answered[Endpoint](r, http.StatusOK), tenant, r.PathValue("id"))
	})
}

func (h handlers) rotateSecret(rw http.ResponseWriter, r *http.Request) {
	h.serve(rw, r, http.StatusOK, func(tenant string) (any, error) {
		return h.w.RotateSecret(answered[EndpointWithSecret](r, http.StatusOK), tenant, r.PathValue("id"))
	})
}

func (h handlers) listDeliveries(rw http.ResponseWriter, r *http.Request) {
	h.serve(rw, r, http.StatusOK, func(tenant string) (any, error) {
		p, err := page(r)
		if err != nil {
			return nil, err
		}
		q := r.URL.Query()
		return h.w.ListDeliveries(r.Context(), tenant, DeliveryFilter{
			EndpointID: q.Get("endpointId"), EventID: q.Get("eventId"), State: DeliveryState(q.Get("state")), PageRequest: p})
	})
}

func (h handlers) getDelivery(rw http.ResponseWriter, r *http.Request) {
	h.serve(rw, r, http.StatusOK, func(tenant string) (any, error) {
		return h.w.GetDelivery(r.Context(), tenant, r.PathValue("id"))
	})
}

func (h handlers) resend(rw http.ResponseWriter, r *http.Request) {
	h.serve(rw, r, http.StatusAccepted, func(tenant string) (any, error) {
		return h.w.Resend(answered[Delivery](r, http.StatusAccepted), tenant, r.PathValue("id"))
	})
}

func (h handlers) listEvents(rw http.ResponseWriter, r *http.Request) {
	h.serve(rw, r, http.StatusOK, func(tenant string) (any, error) {
		p, err := page(r)
		if err != nil {
			return nil, err
		}
		q := r.URL.Query()
		return h.w.ob.ListEvents(r.Context(), tenant, EventFilter{Type: q.Get("type"), Subject: q.Get("subject"), PageRequest: p})
	})
}

func (h handlers) getEvent(rw http.ResponseWriter, r *http.Request) {
	h.serve(rw, r, http.StatusOK, func(tenant string) (any, error) {
		return h.w.ob.GetEvent(r.Context(), tenant, r.PathValue("id"))
	})
}
