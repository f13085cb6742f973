package backoffice

import (
	"net/http"

	"github.com/cashgate/cashgate/internal/webkit"
)

// pages are the kit's parsed page templates.
type pages struct {
	login, home, payments, users, audit, errorPage *webkit.Page
	webhooks, delivery, confirm                    *webkit.Page
}

func parsePages(o *Office) (pages, error) {
	var p pages
	var err error
	for _, pg := range []struct {
		dst  **webkit.Page
		file string
	}{{&p.login, "login"}, {&p.home, "home"}, {&p.payments, "payments"}, {&p.users, "users"}, {&p.audit, "audit"},
		{&p.errorPage, "error"}, {&p.webhooks, "webhooks"}, {&p.delivery, "delivery"}, {&p.confirm, "confirm"}} {
		if *pg.dst, err = o.Page(templates, "templates/"+pg.file+".html"); err != nil {
			return pages{}, err
		}
	}
	return p, nil
}

// kitRoutes are the kit's own signed-in pages and actions.
func (o *Office) kitRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/office", Summary: "home: balances, today's volume and success rate, the last 30 days", Handler: o.homePage},
		{Method: http.MethodGet, Path: "/office/payments", Summary: "payments: every product's payments in one searchable, filterable list",
			Query: []string{"q", "kind", "status", "from", "to", "before"}, Handler: o.paymentsPage},
		{Method: http.MethodGet, Path: "/office/users", Summary: "users: the admin users and their roles", Handler: o.usersPage},
		{Method: http.MethodPost, Path: "/office/users", Summary: "users: add an agent or an owner (owners only)", Owner: true, Handler: o.addUser},
		{Method: http.MethodGet, Path: "/office/audit", Summary: "audit log: every back-office action, read-only", Query: []string{"before"}, Handler: o.auditPage},
		{Method: http.MethodGet, Path: "/office/webhooks", Summary: "webhooks: endpoints and the delivery log", Query: []string{"after"}, Handler: o.webhooksPage},
		{Method: http.MethodPost, Path: "/office/webhooks/endpoints", Summary: "webhooks: add an endpoint (owners only)", Owner: true, Handler: o.addEndpoint},
		{Method: http.MethodPost, Path: "/office/webhooks/endpoints/{id}/rotate", Summary: "webhooks: rotate an endpoint's secret (owners only)", Owner: true, Handler: o.rotateSecret},
		{Method: http.MethodPost, Path: "/office/webhooks/endpoints/{id}/enabled", Summary: "webhooks: enable or disable an endpoint (owners only)", Owner: true, Handler: o.setEnabled},
		{Method: http.MethodGet, Path: "/office/webhooks/deliveries/{id}", Summary: "webhooks: a delivery with every attempt", Handler: o.deliveryPage},
		{Method: http.MethodPost, Path: "/office/webhooks/deliveries/{id}/resend", Summary: "webhooks: resend a delivery (owners only)", Owner: true, Handler: o.resend},
	}
}

// Confirm is the confirmation step of a back-office action: the question,
// the form's action and button, where "go back" leads, and the fields the
// form carries over.
type Confirm struct {
	Question, Action, Button, Back string
	Hidden                         map[string]string
}

// Confirmed reports whether the form of r is the answer to a confirmation
// step (Ask).
func Confirmed(r *http.Request) bool { return webkit.FormOf(r).Get("confirm") == "yes" }

// Ask shows the confirmation step c; its form posts again with confirm=yes.
func (o *Office) Ask(w http.ResponseWriter, r *http.Request, a *Admin, c Confirm) {
	o.Render(w, r, a, http.StatusOK, o.pages.confirm, webkit.View{Title: "Confirm", Data: c})
}
