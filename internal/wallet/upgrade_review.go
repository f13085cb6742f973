package wallet

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// The operator's side of the Corporate+ upgrade: the requests waiting, one
// request with its documents and history, a document's bytes, and the
// decision.

// UpgradeReview is an upgrade request as the operator checks it.
type UpgradeReview struct {
	ID            string        `json:"id"`
	TenantID      string        `json:"tenantId"`
	MerchantID    string        `json:"merchantId"`
	CompanyName   string        `json:"companyName"`
	IBAN          string        `json:"iban"`
	BIC           string        `json:"bic"`
	BankVerified  bool          `json:"bankVerified"`
	Tier          Tier          `json:"tier"`
	Status        string        `json:"status"`
	Message       string        `json:"message,omitempty"`
	DecidedBy     string        `json:"decidedBy,omitempty"`
	CreatedAt     time.Time     `json:"createdAt"`
	UpdatedAt     time.Time     `json:"updatedAt"`
	DocumentCount int           `json:"documentCount"`
	Documents     []Document    `json:"documents,omitempty"`
	History       []ReviewEntry `json:"history,omitempty"`
}

const reviewSelect = `SELECT r.id, r.tenant_id, c.merchant_id, c.company_name, c.iban, c.bic, c.bank_verified, u.tier, r.status, r.message, r.decided_by,
r.created_at, r.updated_at, (SELECT COUNT(*) FROM wallet_documents d WHERE d.upgrade_id = r.id)
FROM wallet_upgrades r JOIN wallet_corporates c ON c.tenant_id = r.tenant_id JOIN wallet_users u ON u.id = c.user_id `

func scanReview(r interface{ Scan(...any) error }) (UpgradeReview, error) {
	var v UpgradeReview
	var created, updated int64
	err := r.Scan(&v.ID, &v.TenantID, &v.MerchantID, &v.CompanyName, &v.IBAN, &v.BIC, &v.BankVerified, &v.Tier, &v.Status, &v.Message, &v.DecidedBy,
		&created, &updated, &v.DocumentCount)
	v.CreatedAt, v.UpdatedAt = fromMicros(created), fromMicros(updated)
	return v, err
}

// PendingUpgrades are the requests waiting for the operator (pending) and
// for the customer's further documents (more_documents), the longest
// waiting first.
func (s *Service) PendingUpgrades(ctx context.Context) ([]UpgradeReview, error) {
	rows, err := s.db.Read().QueryContext(ctx, reviewSelect+`WHERE r.status IN ('pending', 'more_documents') ORDER BY r.status DESC, r.updated_at, r.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []UpgradeReview{}
	for rows.Next() {
		v, err := scanReview(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// UpgradeReviewOf is one request with its documents and history.
func (s *Service) UpgradeReviewOf(ctx context.Context, id string) (UpgradeReview, error) {
	return s.upgradeReview(ctx, s.db.Read(), id)
}

func (s *Service) upgradeReview(ctx context.Context, q store.Querier, id string) (UpgradeReview, error) {
	v, err := scanReview(q.QueryRowContext(ctx, reviewSelect+`WHERE r.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return UpgradeReview{}, apperr.New(apperr.NotFound, "no upgrade request %q", id)
	}
	if err != nil {
		return UpgradeReview{}, err
	}
	rows, err := q.QueryContext(ctx, `SELECT id, kind, filename, content_type, size, sha256, upgrade_id, created_at FROM wallet_documents
WHERE upgrade_id = $1 ORDER BY created_at, id`, id)
	if err != nil {
		return UpgradeReview{}, err
	}
	if v.Documents, err = scanDocuments(rows); err != nil {
		return UpgradeReview{}, err
	}
	v.History, err = reviewLog(ctx, q, id)
	return v, err
}

// DocumentFile is a sent document and its bytes, for the operator.
func (s *Service) DocumentFile(ctx context.Context, docID string) (Document, []byte, error) {
	var d Document
	var req string
	var at int64
	var data []byte
	err := s.db.Read().QueryRowContext(ctx, `SELECT id, kind, filename, content_type, size, sha256, upgrade_id, created_at, data FROM wallet_documents
WHERE id = $1 AND upgrade_id <> ''`, docID).Scan(&d.ID, &d.Kind, &d.Filename, &d.ContentType, &d.Size, &d.SHA256, &req, &at, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return Document{}, nil, apperr.New(apperr.NotFound, "no document %q", docID)
	}
	if err != nil {
		return Document{}, nil, err
	}
	d.KindLabel, _ = documentKindLabel(d.Kind)
	d.Sent, d.CreatedAt = true, fromMicros(at)
	return d, data, nil
}

// UpgradeDecision is the operator's decision on a pending request.
type UpgradeDecision struct {
	// Action is approve, more_documents or reject.
	Action string `json:"action"`
	// Message tells the customer what is missing (more_documents) or why
	// (reject); required for those, optional for approve.
	Message string `json:"message,omitempty"`
	// Operator names who decided (the review log's actor).
	Operator string `json:"-"`
}

// decisions map an action to the request's new status.
var decisions = map[string]string{"approve": UpgradeApproved, "more_documents": UpgradeMoreDocuments, "reject": UpgradeRejected}

// DecideUpgrade applies the operator's decision on a pending request: one
// transaction with the tier (approve: Corporate+), the corporate's upgrade
// status, the review log row and the event. A request decided meanwhile
// (another operator, a concurrent click) is a Conflict: one outcome only.
func (s *Service) DecideUpgrade(ctx context.Context, id string, d UpgradeDecision) (UpgradeReview, error) {
	status, ok := decisions[d.Action]
	if !ok {
		return UpgradeReview{}, apperr.InvalidField("action", "the decision is approve, more_documents or reject")
	}
	msg := d.Message
	var err error
	if status != UpgradeApproved || msg != "" {
		if msg, err = reviewText("message", msg); err != nil {
			return UpgradeReview{}, err
		}
	}
	var out UpgradeReview
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		cur, err := s.upgradeReview(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := exec1(ctx, tx, `UPDATE wallet_upgrades SET status = $1, message = $2, decided_by = $3, updated_at = $4 WHERE id = $5 AND status = 'pending'`,
			status, msg, d.Operator, micros(s.now()), id); err != nil {
			return apperr.New(apperr.Conflict, "the request is %s, not waiting for a decision", cur.Status)
		}
		if err := s.applyDecision(ctx, tx, cur.TenantID, status); err != nil {
			return err
		}
		if err := s.logReview(ctx, tx, cur.TenantID, id, d.Action, d.Operator, msg); err != nil {
			return err
		}
		if _, err := s.outbox.Emit(ctx, tx, outbox.Event{TenantID: cur.TenantID, Type: EventUpgradeDecided, Subject: id,
			Data: map[string]string{"requestId": id, "status": status, "message": msg}}); err != nil {
			return err
		}
		if out, err = s.upgradeReview(ctx, tx, id); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusOK, out)
	})
	return out, err
}

// applyDecision sets the corporate's upgrade status (and tier) for a
// request's new status.
func (s *Service) applyDecision(ctx context.Context, tx *store.Tx, tenantID, status string) error {
	switch status {
	case UpgradeApproved:
		if _, err := tx.ExecContext(ctx, `UPDATE wallet_corporates SET upgrade_status = 'approved' WHERE tenant_id = $1`, tenantID); err != nil {
			return err
		}
		return exec1(ctx, tx, `UPDATE wallet_users SET tier = 'corporate_plus' WHERE tenant_id = $1 AND kind = 'corporate'`, tenantID)
	case UpgradeRejected:
		_, err := tx.ExecContext(ctx, `UPDATE wallet_corporates SET upgrade_status = 'none' WHERE tenant_id = $1`, tenantID)
		return err
	}
	return nil // more documents: still requested
}

// closeOpenUpgrade marks the tenant's open request approved when the
// command line approves the upgrade (ApproveUpgrade), with its log row.
func (s *Service) closeOpenUpgrade(ctx context.Context, tx *store.Tx, tenantID string, force bool) error {
	last, ok, err := lastUpgrade(ctx, tx, tenantID)
	if err != nil || !ok || !last.open() {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE wallet_upgrades SET status = 'approved', decided_by = 'command line', updated_at = $1 WHERE id = $2`,
		micros(s.now()), last.ID); err != nil {
		return err
	}
	detail := ""
	if force {
		detail = "forced"
	}
	return s.logReview(ctx, tx, tenantID, last.ID, "approve", "command line", detail)
}
