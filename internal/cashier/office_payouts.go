package cashier

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The payout approval queue and a payout's page. Approving and rejecting
// are ApprovePayout and RejectPayout via the back office, the Agent API's
// methods: the payout's row is locked and its status checked in their
// transaction, so of two approvals at once one wins and the payout is sent
// once (one JobSendPayout per payout); the other is told the payout is
// approved already.

// QueuePageSize is the approval queue's page length.
const QueuePageSize = 25

// The approval queue: the tenant's requested payouts, oldest first
// (cashier_payouts_status), from a keyset cursor (created_at, id).
const (
	sqlQueueFirst = `SELECT ` + payoutCols + ` FROM cashier_payouts WHERE tenant_id = $1 AND status = 'requested'
ORDER BY created_at, id LIMIT $2`
	sqlQueueAfter = `SELECT ` + payoutCols + ` FROM cashier_payouts WHERE tenant_id = $1 AND status = 'requested'
AND (created_at, id) > ($2, $3) ORDER BY created_at, id LIMIT $4`
)

// queue returns up to limit requested payouts after the cursor (nil: the
// oldest) and the next page's cursor ("" on the last).
func (s *Service) queue(ctx context.Context, tenantID string, after *keyset, limit int) ([]*payout, string, error) {
	q, args := sqlQueueFirst, []any{tenantID, limit + 1}
	if after != nil {
		q, args = sqlQueueAfter, []any{tenantID, after.at, after.id, limit + 1}
	}
	rows, err := s.db.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("cashier: approval queue: %w", err)
	}
	defer rows.Close()
	var out []*payout
	for rows.Next() {
		p, err := scanPayout(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil || len(out) <= limit {
		return out, "", err
	}
	last := out[limit-1]
	return out[:limit], strconv.FormatInt(micros(last.CreatedAt), 10) + "." + last.ID, nil
}

// parseQueueCursor reads the queue's "after" parameter.
func parseQueueCursor(s string) (*keyset, bool) {
	if s == "" {
		return nil, true
	}
	at, id, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || n <= 0 || !strings.HasPrefix(id, "cpo_") || len(id) > 64 {
		return nil, false
	}
	return &keyset{at: n, id: id}, true
}

// payoutView is one payout on the queue and on its page.
type payoutView struct {
	P                            Payout
	Amount, Requested, Decided   string
	Destination, Funds, Customer string
	CanDecide                    bool
}

func (m *office) payoutView(a *backoffice.Admin, p *payout, manage bool) payoutView {
	v := payoutView{P: viewPayout(p), Amount: backoffice.FormatAmount(p.Amount, p.Currency), Requested: a.Time(p.CreatedAt),
		Decided: a.Time(p.DecidedAt), Destination: destinationText(p.PSP, p.Destination), Customer: "/office/cashier/customers/" + p.CustomerID,
		CanDecide: manage && p.Status == PayoutRequested}
	if p.FromPlatform > 0 {
		v.Funds = backoffice.FormatAmount(p.FromBalance, p.Currency) + " from the customer's balance, " +
			backoffice.FormatAmount(p.FromPlatform, p.Currency) + " from the Platform's funds"
	}
	return v
}

// destinationText says where a payout goes.
func destinationText(psp string, d Destination) string {
	if d.IBAN != "" {
		s := "bank account of " + d.Name + ", IBAN " + d.IBAN
		if d.BIC != "" {
			s += " (BIC " + d.BIC + ")"
		}
		return s
	}
	return psp + " account " + d.Account
}

// queueData is the approval queue's page.
type queueData struct {
	officeView
	Payouts  []payoutView
	Managed  bool   // the back office approves (settings.payoutManagement)
	Next     string // the next page's link
	NotFirst bool
}

func (m *office) queuePage(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	after, ok := parseQueueCursor(r.URL.Query().Get("after"))
	if !ok {
		m.o.Error(w, r, a, http.StatusBadRequest, "That page of the queue does not exist; start again from the oldest.")
		return
	}
	st, err := m.s.settings(r.Context(), m.s.db.Read(), a.TenantID)
	if err != nil {
		m.o.Fail(w, r, a, "cashier settings", err)
		return
	}
	ps, next, err := m.s.queue(r.Context(), a.TenantID, after, QueuePageSize)
	if err != nil {
		m.o.Fail(w, r, a, "approval queue", err)
		return
	}
	d := queueData{officeView: m.view(a, officeHome, officeHome), Managed: st.PayoutManagement == ByBackOffice, NotFirst: after != nil}
	for _, p := range ps {
		d.Payouts = append(d.Payouts, m.payoutView(a, p, d.Managed))
	}
	if next != "" {
		d.Next = officeHome + "?after=" + next
	}
	m.o.Render(w, r, a, http.StatusOK, m.pages.queue, webkit.View{Title: "Payout approvals", Data: d})
}

// payoutPage is a payout's page.
type payoutPage struct {
	officeView
	payoutView
	Managed  bool
	Timeline []entry
}

func (m *office) loadPayout(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) (*payout, bool) {
	return load(m, w, r, a, "cashier payout", func(q store.Querier) (*payout, error) {
		return m.s.loadPayout(r.Context(), q, a.TenantID, r.PathValue("id"), false)
	})
}

func (m *office) payoutPage(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	if p, ok := m.loadPayout(w, r, a); ok {
		m.renderPayout(w, r, a, http.StatusOK, p, "")
	}
}

func (m *office) renderPayout(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, status int, p *payout, msg string) {
	ctx := r.Context()
	st, err := m.s.settings(ctx, m.s.db.Read(), a.TenantID)
	if err != nil {
		m.o.Fail(w, r, a, "cashier settings", err)
		return
	}
	d := payoutPage{officeView: m.view(a, "", "/office/cashier/payouts/"+p.ID), Managed: st.PayoutManagement == ByBackOffice}
	d.payoutView, d.Message = m.payoutView(a, p, d.Managed), msg
	if d.Timeline, err = m.timeline(ctx, a, p.ID, payoutWords); err != nil {
		m.o.Fail(w, r, a, "payout timeline", err)
		return
	}
	if d.Notifications, err = m.o.Notifications(ctx, a, p.ID); err != nil {
		m.o.Fail(w, r, a, "notifications", err)
		return
	}
	m.o.Render(w, r, a, status, m.pages.payout, webkit.View{Title: "Payout " + p.ID, Data: d})
}

// payoutWords says what a payout's event was.
func payoutWords(typ string, data []byte) string {
	var p Payout
	_ = json.Unmarshal(data, &p)
	st := strings.TrimPrefix(typ, "cashier.payout.")
	what := upperFirst(st)
	switch st {
	case PayoutRequested:
		what = "Requested: " + p.Amount + " " + p.Currency + " through " + p.PSP
	case PayoutApproved, PayoutRejected:
		if p.DecidedBy != nil {
			what += " by " + *p.DecidedBy
		}
	case PayoutProcessing:
		what = "Sent to " + p.PSP
	}
	if p.Reason != nil && st != PayoutRequested && st != PayoutApproved && st != PayoutProcessing {
		what += ": " + strings.ReplaceAll(*p.Reason, "_", " ")
	}
	return what
}

// back is where a decision returns: the queue when it was made there.
func decisionBack(r *http.Request, id string) string {
	if webkit.FormOf(r).Get("from") == "queue" {
		return officeHome
	}
	return "/office/cashier/payouts/" + id
}

func (m *office) approve(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	p, ok := m.loadPayout(w, r, a)
	if !ok {
		return
	}
	amount := backoffice.FormatAmount(p.Amount, p.Currency)
	hidden := map[string]string{"from": webkit.FormOf(r).Get("from")}
	m.act(w, r, a, backoffice.Action{Name: "cashier.payout_approve", Subject: p.ID, Detail: amount},
		backoffice.Confirm{Question: "Approve payout " + p.ID + " of " + amount + " to customer " + p.CustomerID + " (" + destinationText(p.PSP, p.Destination) +
			")? It is sent through " + p.PSP + " at once.", Button: "Confirm approval", Hidden: hidden},
		decisionBack(r, p.ID), func(ctx context.Context) error {
			_, err := m.s.ApprovePayout(ctx, a.TenantID, p.ID, agentOfAdmin(a), ByBackOffice)
			return err
		}, "Payout "+p.ID+" of "+amount+" approved: it is being sent.", m.refusedPayout(w, r, a, p.ID))
}

func (m *office) reject(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	p, ok := m.loadPayout(w, r, a)
	if !ok {
		return
	}
	f := webkit.FormOf(r)
	reason := f.Get("reason")
	if reason == "" || len([]rune(reason)) > 200 {
		m.refusedPayout(w, r, a, p.ID)("To reject a payout, give the reason (at most 200 characters): the customer's Platform hears it.")
		return
	}
	amount := backoffice.FormatAmount(p.Amount, p.Currency)
	m.act(w, r, a, backoffice.Action{Name: "cashier.payout_reject", Subject: p.ID, Detail: amount + ": " + reason},
		backoffice.Confirm{Question: "Reject payout " + p.ID + " of " + amount + " to customer " + p.CustomerID + " because \u201c" + reason +
			"\u201d? The money goes back to where it came from.", Button: "Confirm rejection", Hidden: map[string]string{"reason": reason, "from": f.Get("from")}},
		decisionBack(r, p.ID), func(ctx context.Context) error {
			_, err := m.s.RejectPayout(ctx, a.TenantID, p.ID, agentOfAdmin(a), ByBackOffice, reason)
			return err
		}, "Payout "+p.ID+" rejected.", m.refusedPayout(w, r, a, p.ID))
}

// refusedPayout shows the payout's page again with msg.
func (m *office) refusedPayout(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, id string) func(msg string) {
	return func(msg string) {
		p, err := m.s.loadPayout(r.Context(), m.s.db.Read(), a.TenantID, id, false)
		if err != nil {
			m.o.Fail(w, r, a, "cashier payout", err)
			return
		}
		m.renderPayout(w, r, a, http.StatusUnprocessableEntity, p, msg)
	}
}
