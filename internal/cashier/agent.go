package cashier

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
)

// The Agent API (/cashier/v1/agent/…) is for named back-office agents: an
// admin user of the tenant, authenticated with an access token of the
// password grant (POST /auth/oauth/token, grant_type=password). The APP key
// alone, or a client-credentials token, is refused: every agent action is
// audited under the agent's name.

// agentOf is the request's agent, or the refusal.
func (s *Service) agentOf(r *http.Request) (string, Agent, error) {
	p, ok := httpx.PrincipalFrom(r.Context())
	if !ok || p.TenantID == "" {
		return "", Agent{}, apperr.New(apperr.Unauthenticated, "Authorization field missing")
	}
	if p.UserID == "" {
		return "", Agent{}, apperr.New(apperr.Forbidden, "the Agent API needs a back-office agent: an access token of the password grant of one of the tenant's admin users")
	}
	u, err := s.tenants.AdminUser(r.Context(), p.TenantID, p.UserID)
	if apperr.Is(err, apperr.NotFound) {
		return "", Agent{}, apperr.New(apperr.Unauthenticated, "Invalid access token")
	}
	if err != nil {
		return "", Agent{}, err
	}
	return p.TenantID, Agent{ID: u.ID, Username: u.Username}, nil
}

// audit records an agent's action in tx.
func (s *Service) audit(ctx context.Context, tx *store.Tx, tenantID string, ag Agent, action, objectID, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO cashier_audit (id, tenant_id, agent_id, agent, action, object_id, detail, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, s.ids.ID("cau"), tenantID, ag.ID, ag.Username, action, objectID, detail, micros(s.now()))
	if err != nil {
		return fmt.Errorf("cashier: audit: %w", err)
	}
	return nil
}

// AuditEntry is one agent action.
type AuditEntry struct {
	ID        string    `json:"id"`
	Agent     string    `json:"agent"`
	Action    string    `json:"action"`
	ObjectID  string    `json:"objectId"`
	Detail    string    `json:"detail"`
	CreatedAt time.Time `json:"createdAt"`
}

// AuditList is a page of the audit log, newest first.
type AuditList struct {
	Data []AuditEntry `json:"data"`
	Next string       `json:"next,omitempty"`
}

// Audit lists the tenant's agent actions, newest first.
func (s *Service) Audit(ctx context.Context, tenantID string, p Page) (AuditList, error) {
	k, err := p.keyset()
	if err != nil {
		return AuditList{}, err
	}
	q := `SELECT id, agent, action, object_id, detail, created_at FROM cashier_audit WHERE tenant_id = $1`
	args := []any{tenantID}
	if k.id != "" {
		q += ` AND (created_at, id) < ($2, $3)`
		args = append(args, k.at, k.id)
	}
	rows, err := s.db.Read().QueryContext(ctx, q+fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT %d`, p.Limit+1), args...)
	if err != nil {
		return AuditList{}, fmt.Errorf("cashier: audit log: %w", err)
	}
	defer rows.Close()
	out := AuditList{Data: []AuditEntry{}}
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &e.Agent, &e.Action, &e.ObjectID, &e.Detail, &at); err != nil {
			return AuditList{}, err
		}
		e.CreatedAt = fromMicros(at)
		if len(out.Data) == p.Limit {
			last := out.Data[len(out.Data)-1]
			out.Next = cursorOf(last.CreatedAt, last.ID)
			break
		}
		out.Data = append(out.Data, e)
	}
	return out, rows.Err()
}
