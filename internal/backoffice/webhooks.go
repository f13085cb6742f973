package backoffice

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/webkit"
)

// webhooksData is the Webhooks page: the endpoints (a secret shown once,
// after creation or rotation), the form to add one, and the delivery log.
type webhooksData struct {
	Owner      bool
	Endpoints  []endpointView
	Secret     string // the secret just made, shown this once
	SecretFor  string // its endpoint's id
	Deliveries webkit.Table
	Older      string
	First      bool
}

type endpointView struct {
	outbox.Endpoint
	Types   string
	Created string
}

func (o *Office) webhooksPage(w http.ResponseWriter, r *http.Request, a *Admin) {
	o.renderWebhooks(w, r, a, http.StatusOK, webkit.NewForm(map[string]string{"types": "*"}), nil)
}

// renderWebhooks renders the page; made, when not nil, is an endpoint whose
// secret was just made.
func (o *Office) renderWebhooks(w http.ResponseWriter, r *http.Request, a *Admin, status int, f *webkit.Form, made *outbox.EndpointWithSecret) {
	ctx := r.Context()
	eps, err := o.hooks.ListEndpoints(ctx, a.TenantID)
	if err != nil {
		o.Fail(w, r, a, "webhook endpoints", err)
		return
	}
	after := r.URL.Query().Get("after")
	if httpx.CheckText("after", after) != nil || len(after) > 200 {
		after = ""
	}
	page, err := o.hooks.ListDeliveries(ctx, a.TenantID, outbox.DeliveryFilter{PageRequest: outbox.PageRequest{Limit: 25, After: after}})
	if apperr.Is(err, apperr.Invalid) { // a cursor that is not one: the first page
		page, err = o.hooks.ListDeliveries(ctx, a.TenantID, outbox.DeliveryFilter{PageRequest: outbox.PageRequest{Limit: 25}})
	}
	if err != nil {
		o.Fail(w, r, a, "webhook deliveries", err)
		return
	}
	d := webhooksData{Owner: a.Owner(), First: after == ""}
	for _, ep := range eps {
		d.Endpoints = append(d.Endpoints, endpointView{Endpoint: ep, Types: strings.Join(ep.EventTypes, ", "), Created: a.Time(ep.CreatedAt)})
	}
	if made != nil {
		d.Secret, d.SecretFor = made.Secret, made.ID
	}
	d.Deliveries = deliveriesTable(a, page.Items)
	if page.NextCursor != "" {
		d.Older = "/office/webhooks?after=" + page.NextCursor + "#deliveries"
	}
	o.Render(w, r, a, status, o.pages.webhooks, webkit.View{Title: "Webhooks", Data: d, Form: f})
}

func deliveriesTable(a *Admin, items []outbox.Delivery) webkit.Table {
	t := webkit.Table{Caption: "Delivery log", Columns: []string{"Created", "Event", "To", "State", "Attempts", "Last answer"},
		Empty: "No deliveries yet."}
	for _, dl := range items {
		t.Rows = append(t.Rows, []webkit.Cell{{Text: a.Time(dl.CreatedAt), Href: "/office/webhooks/deliveries/" + dl.ID},
			{Text: dl.EventType, Mono: true}, {Text: target(dl), Mono: true}, {Text: string(dl.State)},
			{Text: fmt.Sprint(dl.Attempts)}, {Text: lastAnswer(dl)}})
	}
	return t
}

func target(d outbox.Delivery) string {
	if d.TargetURL != "" {
		return d.TargetURL
	}
	return "endpoint " + d.EndpointID
}

func lastAnswer(d outbox.Delivery) string {
	switch {
	case d.LastStatusCode != 0:
		return fmt.Sprintf("HTTP %d", d.LastStatusCode)
	case d.LastError != "":
		return d.LastError
	}
	return "—"
}

// addEndpoint (owners) creates an endpoint with the outbox's CreateEndpoint
// (the API's) and shows its secret once.
func (o *Office) addEndpoint(w http.ResponseWriter, r *http.Request, a *Admin) {
	f := webkit.FormOf(r)
	f.Required("url", "types")
	var made outbox.EndpointWithSecret
	if f.OK() {
		req := outbox.CreateEndpointRequest{URL: f.Get("url"), Description: f.Get("description"), EventTypes: strings.Fields(strings.ReplaceAll(f.Get("types"), ",", " "))}
		err := o.Do(r, a, Action{Name: "webhooks.add_endpoint", Subject: req.URL, Detail: strings.Join(req.EventTypes, " ")}, func(ctx context.Context) error {
			var err error
			made, err = o.hooks.CreateEndpoint(ctx, a.TenantID, req)
			return err
		})
		if err == nil {
			o.renderWebhooks(w, r, a, http.StatusCreated, webkit.NewForm(map[string]string{"types": "*"}), &made)
			return
		}
		o.logUnexpected(r, "add endpoint", err)
		f.FailWith(err, map[string]string{"url": "url", "description": "description", "eventTypes": "types"})
	}
	o.renderWebhooks(w, r, a, http.StatusUnprocessableEntity, f, nil)
}

// rotateSecret (owners) rotates an endpoint's secret (the API's
// RotateSecret: the old one keeps signing for a grace period) and shows the
// new one once.
func (o *Office) rotateSecret(w http.ResponseWriter, r *http.Request, a *Admin) {
	id := r.PathValue("id")
	var made outbox.EndpointWithSecret
	err := o.Do(r, a, Action{Name: "webhooks.rotate_secret", Subject: id}, func(ctx context.Context) error {
		var err error
		made, err = o.hooks.RotateSecret(ctx, a.TenantID, id)
		return err
	})
	if o.Refused(w, r, a, "rotate secret", err) {
		return
	}
	o.renderWebhooks(w, r, a, http.StatusOK, webkit.NewForm(map[string]string{"types": "*"}), &made)
}

// setEnabled (owners) enables or disables an endpoint (the API's UpdateEndpoint).
func (o *Office) setEnabled(w http.ResponseWriter, r *http.Request, a *Admin) {
	id, on := r.PathValue("id"), webkit.FormOf(r).Get("enabled") == "true"
	name := "webhooks.disable_endpoint"
	if on {
		name = "webhooks.enable_endpoint"
	}
	err := o.Do(r, a, Action{Name: name, Subject: id}, func(ctx context.Context) error {
		_, err := o.hooks.UpdateEndpoint(ctx, a.TenantID, id, outbox.UpdateEndpointRequest{Enabled: &on})
		return err
	})
	if o.Refused(w, r, a, "update endpoint", err) {
		return
	}
	o.Redirect(w, r, "/office/webhooks", map[bool]string{true: "Endpoint enabled.", false: "Endpoint disabled."}[on])
}

// deliveryData is a delivery's page: its attempts and the Resend button.
type deliveryData struct {
	outbox.DeliveryDetail
	Target   string
	Attempts webkit.Table
	Owner    bool
	Created  string
	Next     string
}

func (o *Office) deliveryPage(w http.ResponseWriter, r *http.Request, a *Admin) {
	dd, err := o.hooks.GetDelivery(r.Context(), a.TenantID, r.PathValue("id"))
	if apperr.Is(err, apperr.NotFound) {
		o.NotFound(w, r, a)
		return
	}
	if err != nil {
		o.Fail(w, r, a, "delivery", err)
		return
	}
	d := deliveryData{DeliveryDetail: dd, Target: target(dd.Delivery), Owner: a.Owner(), Created: a.Time(dd.CreatedAt),
		Attempts: attemptsTable(a, dd.AttemptLog)}
	if dd.NextAttemptAt != nil {
		d.Next = a.Time(*dd.NextAttemptAt)
	}
	o.Render(w, r, a, http.StatusOK, o.pages.delivery, webkit.View{Title: "Delivery " + dd.ID, Data: d})
}

func attemptsTable(a *Admin, log []outbox.Attempt) webkit.Table {
	t := webkit.Table{Caption: "Attempts", Columns: []string{"#", "When", "State", "Answer", "Took", "Sent by"}, Empty: "No attempt yet."}
	for _, at := range log {
		answer := "—"
		switch {
		case at.StatusCode != 0:
			answer = fmt.Sprintf("HTTP %d", at.StatusCode)
			if at.Acknowledged {
				answer += " (acknowledged)"
			}
		case at.Error != "":
			answer = at.Error
		}
		by := "schedule"
		if at.Manual {
			by = "resend"
		}
		t.Rows = append(t.Rows, []webkit.Cell{{Text: fmt.Sprint(at.Attempt)}, {Text: a.Time(at.AttemptedAt)}, {Text: string(at.State)},
			{Text: answer}, {Text: fmt.Sprintf("%d ms", at.DurationMS)}, {Text: by}})
	}
	return t
}

// resend (owners) queues a manual attempt of a delivery (the API's Resend).
func (o *Office) resend(w http.ResponseWriter, r *http.Request, a *Admin) {
	id := r.PathValue("id")
	err := o.Do(r, a, Action{Name: "webhooks.resend", Subject: id}, func(ctx context.Context) error {
		_, err := o.hooks.Resend(ctx, a.TenantID, id)
		return err
	})
	if o.Refused(w, r, a, "resend", err) {
		return
	}
	back := webkit.FormOf(r).Get("back")
	if !strings.HasPrefix(back, "/office/") || strings.HasPrefix(back, "//") {
		back = "/office/webhooks/deliveries/" + id
	}
	o.Redirect(w, r, back, "Delivery "+id+" queued to be sent again.")
}

// Refused answers an action's error: not found (404), a refusal the user
// can act on (the page with its message) or an unexpected failure; false
// when err is nil.
func (o *Office) Refused(w http.ResponseWriter, r *http.Request, a *Admin, what string, err error) bool {
	switch c := apperr.CodeOf(err); {
	case err == nil:
		return false
	case c == apperr.NotFound:
		o.NotFound(w, r, a)
	case c == apperr.Internal || c == apperr.Unavailable:
		o.Fail(w, r, a, what, err)
	default:
		o.Error(w, r, a, http.StatusConflict, upperFirst(apperr.From(err).Message))
	}
	return true
}

func (o *Office) logUnexpected(r *http.Request, what string, err error) {
	if c := apperr.CodeOf(err); c == apperr.Internal || c == apperr.Unavailable {
		o.log.ErrorContext(r.Context(), "backoffice: "+what, "err", err)
	}
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
