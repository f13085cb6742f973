package backoffice

import (
	"context"

	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/webkit"
)

// Notification is one webhook or callback delivery of an event about a
// payment, with every attempt ("notifications" partial).
type Notification struct {
	Event     string // the event's type
	Created   string // when the event was emitted, in the user's zone
	Delivery  string // the delivery's id
	To        string // the endpoint or the callback URL
	State     string
	Attempts  webkit.Table
	DetailURL string // the delivery's page
	ResendURL string // where its Resend button posts
}

// NotificationsView is what the "notifications" partial shows: a detail
// page's Data embeds it and its template calls {{template "notifications" $}}.
type NotificationsView struct {
	Notifications []Notification
	Owner         bool   // whether the Resend buttons are shown (owners only)
	Back          string // the page a resend comes back to
}

// maxNotifications bounds the events read for one subject.
const maxNotifications = 50

// Notifications returns the deliveries, with their attempts, of the
// tenant's events about each subject (a payment's reference: the subject
// its product emits its events with), newest event first.
func (o *Office) Notifications(ctx context.Context, a *Admin, subjects ...string) ([]Notification, error) {
	var out []Notification
	for _, subj := range subjects {
		evs, err := o.events.ListEvents(ctx, a.TenantID, outbox.EventFilter{Subject: subj, PageRequest: outbox.PageRequest{Limit: maxNotifications}})
		if err != nil {
			return nil, err
		}
		for _, ev := range evs.Items {
			dls, err := o.hooks.ListDeliveries(ctx, a.TenantID, outbox.DeliveryFilter{EventID: ev.ID})
			if err != nil {
				return nil, err
			}
			for _, dl := range dls.Items {
				dd, err := o.hooks.GetDelivery(ctx, a.TenantID, dl.ID)
				if err != nil {
					return nil, err
				}
				out = append(out, Notification{Event: ev.Type, Created: a.Time(ev.CreatedAt), Delivery: dl.ID, To: target(dl),
					State: string(dl.State), Attempts: attemptsTable(a, dd.AttemptLog),
					DetailURL: "/office/webhooks/deliveries/" + dl.ID, ResendURL: "/office/webhooks/deliveries/" + dl.ID + "/resend"})
			}
		}
	}
	return out, nil
}

// Events returns the tenant's events about subject (a payment's
// reference), oldest first, at most 50: a detail page's timeline of the
// state changes its product emitted.
func (o *Office) Events(ctx context.Context, tenantID, subject string) ([]outbox.Event, error) {
	evs, err := o.events.ListEvents(ctx, tenantID, outbox.EventFilter{Subject: subject, PageRequest: outbox.PageRequest{Limit: maxNotifications}})
	if err != nil {
		return nil, err
	}
	out := make([]outbox.Event, 0, len(evs.Items))
	for i := len(evs.Items) - 1; i >= 0; i-- {
		out = append(out, evs.Items[i])
	}
	return out, nil
}
