package cashier

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The cashier's back-office pages (issue 11), for agents and owners alike
// (the seed's back-office agents): the payout approval queue, the deposits
// (searched, each with its timeline, captured or voided when authorised,
// refunded when captured), the MOTO and offline deposit forms and the
// customer view, under "Cashier"; and the deposits and payouts in the
// unified Payments list (two kinds, officeDeposits and officePayouts).
// Every action is the service method the Agent API calls, via the back
// office (ByBackOffice: the tenant's payoutManagement and
// depositManagement say which of the two may act), run through Office.Do
// so that the back office's audit row commits in the method's transaction,
// beside the cashier's own audit row naming the agent.

//go:embed office/*.html
var officeFiles embed.FS

// The kinds of the cashier's items in the unified list.
const (
	OfficeKindDeposit = "deposit"
	OfficeKindPayout  = "payout"
)

// officePages are the cashier's parsed back-office pages.
type officePages struct {
	queue, payout, deposits, deposit, moto, customers, customer *webkit.Page
}

type office struct {
	s     *Service
	o     *backoffice.Office
	pages officePages
}

// OfficeModule returns the cashier's back-office module on o.
func (s *Service) OfficeModule(o *backoffice.Office) (backoffice.Module, error) {
	m := &office{s: s, o: o}
	for _, pg := range []struct {
		dst  **webkit.Page
		file string
	}{{&m.pages.queue, "queue"}, {&m.pages.payout, "payout"}, {&m.pages.deposits, "deposits"}, {&m.pages.deposit, "deposit"},
		{&m.pages.moto, "moto"}, {&m.pages.customers, "customers"}, {&m.pages.customer, "customer"}} {
		p, err := o.Page(officeFiles, "office/"+pg.file+".html")
		if err != nil {
			return backoffice.Module{}, err
		}
		*pg.dst = p
	}
	const pay, dep = "/office/cashier/payouts/{id}", "/office/cashier/deposits/{id}"
	get, post := http.MethodGet, http.MethodPost
	return backoffice.Module{
		Name: "cashier",
		Nav:  []backoffice.NavItem{{Label: "Cashier", Href: officeHome, Order: 40}},
		Routes: []backoffice.Route{
			{Method: get, Path: officeHome, Summary: "cashier: the payout approval queue (requested payouts, oldest first)", Query: []string{"after"}, Handler: m.queuePage},
			{Method: get, Path: pay, Summary: "cashier payout: timeline, notifications and its approval", Handler: m.payoutPage},
			{Method: post, Path: pay + "/approve", Summary: "approve a requested payout (confirmed first)", Handler: m.approve},
			{Method: post, Path: pay + "/reject", Summary: "reject a requested payout with a reason (confirmed first)", Handler: m.reject},
			{Method: get, Path: "/office/cashier/deposits", Summary: "cashier deposits, searched and filtered, newest first",
				Query: []string{"q", "status", "psp", "customer", "cursor"}, Handler: m.depositsPage},
			{Method: get, Path: dep, Summary: "cashier deposit: timeline, notifications and actions", Handler: m.depositPage},
			{Method: post, Path: dep + "/capture", Summary: "capture an authorised deposit, all or part (confirmed first)", Handler: m.capture},
			{Method: post, Path: dep + "/void", Summary: "void an authorised deposit (confirmed first)", Handler: m.void},
			{Method: post, Path: dep + "/refund", Summary: "refund a captured deposit (confirmed first)", Handler: m.refund},
			{Method: get, Path: "/office/cashier/moto", Summary: "cashier: MOTO and offline deposits on behalf of a customer", Handler: m.motoPage},
			{Method: post, Path: "/office/cashier/moto", Summary: "cashier: take a MOTO deposit (the customer's card, no 3-D Secure)", Handler: m.takeMOTO},
			{Method: post, Path: "/office/cashier/offline", Summary: "cashier: record an offline deposit", Handler: m.takeOffline},
			{Method: get, Path: "/office/cashier/customers", Summary: "cashier customers in id order", Query: []string{"q", "cursor"}, Handler: m.customersPage},
			{Method: get, Path: "/office/cashier/customers/{id}", Summary: "cashier customer: balance, limits, deposits and payouts", Handler: m.customerPage},
		},
		Payments:     officeDeposits{s},
		MorePayments: []backoffice.PaymentSource{officePayouts{s}},
	}, nil
}

// officeHome is the cashier's first page: the payout approval queue.
const officeHome = "/office/cashier"

// agentOfAdmin is the signed-in admin user as the cashier's agent.
func agentOfAdmin(a *backoffice.Admin) Agent { return Agent{ID: a.ID, Username: a.Username} }

// subNav is the cashier pages' own navigation.
type subNav struct {
	Href, Label string
	Current     bool
}

func cashierNav(current string) []subNav {
	out := []subNav{{officeHome, "Payout approvals", false}, {"/office/cashier/deposits", "Deposits", false},
		{"/office/cashier/moto", "MOTO deposit", false}, {"/office/cashier/customers", "Customers", false}}
	for i := range out {
		out[i].Current = out[i].Href == current
	}
	return out
}

// officeView is what every cashier page's Data embeds.
type officeView struct {
	backoffice.NotificationsView
	Sub     []subNav
	Message string // an action's refusal, at the top of the page
}

func (m *office) view(a *backoffice.Admin, current, back string) officeView {
	return officeView{Sub: cashierNav(current), NotificationsView: backoffice.NotificationsView{Owner: a.Owner(), Back: back}}
}

// entry is one line of a timeline.
type entry struct {
	at         time.Time
	rank       int // the order of lines at one instant: the state machine's
	When, What string
}

// lifecycle orders the statuses of deposits and payouts, for lines of a
// timeline at one instant (a fake clock's, or one transaction's).
var lifecycle = []string{DepositCreated, PayoutRequested, DepositPending, DepositAuthorised, PayoutApproved, PayoutRejected,
	PayoutProcessing, DepositCaptured, DepositVoided, DepositDeclined, DepositFailed, PayoutPaid, PayoutReturned, DepositRefunded}

// actionLeadsTo is the status an agent's action moves its object to.
var actionLeadsTo = map[string]string{"deposit.capture": DepositCaptured, "deposit.void": DepositVoided, "deposit.refund": DepositRefunded,
	"deposit.moto": DepositCreated, "deposit.offline": DepositCreated, "bank_transfer.credit": DepositCaptured,
	"payout.approved": PayoutApproved, "payout.rejected": PayoutRejected, "payout.returned": PayoutReturned, "payouts.paid": PayoutPaid}

// rankOf is a status's line's rank; the action leading to it comes just before.
func rankOf(status string) int { return 2*slices.Index(lifecycle, status) + 1 }

// timeline is an object's life: the events the cashier emitted about it
// (each state change) and the agents' actions on it, oldest first.
func (m *office) timeline(ctx context.Context, a *backoffice.Admin, id string, say func(typ string, data []byte) string) ([]entry, error) {
	evs, err := m.o.Events(ctx, a.TenantID, id)
	if err != nil {
		return nil, err
	}
	var tl []entry
	for _, ev := range evs {
		b, _ := ev.Data.(json.RawMessage)
		tl = append(tl, entry{at: ev.CreatedAt, rank: rankOf(ev.Type[strings.LastIndexByte(ev.Type, '.')+1:]), What: say(ev.Type, b)})
	}
	acts, err := m.s.auditOf(ctx, a.TenantID, id)
	if err != nil {
		return nil, err
	}
	for _, x := range acts {
		what := "Agent " + x.Agent + ": " + x.Action
		if x.Detail != "" {
			what += " (" + x.Detail + ")"
		}
		tl = append(tl, entry{at: x.CreatedAt, rank: rankOf(actionLeadsTo[x.Action]) - 1, What: what})
	}
	slices.SortStableFunc(tl, func(x, y entry) int {
		if c := x.at.Compare(y.at); c != 0 {
			return c
		}
		return x.rank - y.rank
	})
	for i := range tl {
		tl[i].When = a.Time(tl[i].at)
	}
	return tl, nil
}

// sqlAuditOfObject lists the agents' actions on one object (cashier_audit_object).
const sqlAuditOfObject = `SELECT id, agent, action, object_id, detail, created_at FROM cashier_audit WHERE tenant_id = $1 AND object_id = $2
ORDER BY created_at, id LIMIT 100`

// auditOf lists the agents' actions on object id, oldest first.
func (s *Service) auditOf(ctx context.Context, tenantID, id string) ([]AuditEntry, error) {
	rows, err := s.db.Read().QueryContext(ctx, sqlAuditOfObject, tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("cashier: audit of %s: %w", id, err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &e.Agent, &e.Action, &e.ObjectID, &e.Detail, &at); err != nil {
			return nil, err
		}
		e.CreatedAt = fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// act shows the confirmation step, or with confirm=yes runs the action
// through Office.Do and goes back; a refusal is shown on the object's page
// (again, by again).
func (m *office) act(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, act backoffice.Action, c backoffice.Confirm, back string,
	run func(ctx context.Context) error, done string, again func(msg string)) {
	if !backoffice.Confirmed(r) {
		c.Action, c.Back = r.URL.Path, back
		m.o.Ask(w, r, a, c)
		return
	}
	err := m.o.Do(r, a, act, run)
	switch apperr.CodeOf(err) {
	case "":
		m.o.Redirect(w, r, back, done)
	case apperr.Invalid, apperr.Conflict, apperr.InsufficientFunds, apperr.Forbidden:
		again(upperFirst(apperr.From(err).Message))
	default:
		m.o.Refused(w, r, a, act.Name, err)
	}
}

// load reads one of the tenant's objects for a page: a NotFound is the
// back office's "no such page".
func load[T any](m *office, w http.ResponseWriter, r *http.Request, a *backoffice.Admin, what string, get func(q store.Querier) (T, error)) (T, bool) {
	v, err := get(m.s.db.Read())
	if apperr.Is(err, apperr.NotFound) {
		m.o.NotFound(w, r, a)
		return v, false
	}
	if err != nil {
		m.o.Fail(w, r, a, what, err)
		return v, false
	}
	return v, true
}
