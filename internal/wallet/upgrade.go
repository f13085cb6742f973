package wallet

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// A Corporate+ upgrade request (seed 000's FAQ): the corporate uploads its
// documents, then asks; the operator approves (the tier becomes
// Corporate+), asks for more documents with a message the corporate sees
// (it uploads more and sends them) or rejects with a reason. Each state
// change is one transaction with its review log row and its event.
//
//	(none) → pending → more_documents → pending … → approved | rejected
const (
	UpgradePending       = "pending"
	UpgradeMoreDocuments = "more_documents"
	UpgradeApproved      = "approved"
	UpgradeRejected      = "rejected"
)

// Events of an upgrade request (outbox, the corporate tenant's).
const (
	EventUpgradeRequested = "wallet.upgrade.requested"
	EventUpgradeDecided   = "wallet.upgrade.decided"
)

// Upgrade is a corporate's view of its upgrade: the open or last request
// and the documents (those of the open request and those not sent yet).
type Upgrade struct {
	Tier      Tier           `json:"tier"`
	RequestID string         `json:"requestId,omitempty"`
	Status    string         `json:"status"`            // none, pending, more_documents, approved, rejected
	Message   string         `json:"message,omitempty"` // the operator's, for more_documents and rejected
	Documents []Document     `json:"documents"`
	Kinds     []DocumentKind `json:"kinds"`
	CanUpload bool           `json:"canUpload"`
	CanSend   bool           `json:"canSend"` // documents wait to be sent and the request may be sent
	UpdatedAt *time.Time     `json:"updatedAt,omitempty"`
}

// upgradeRow is a wallet_upgrades row.
type upgradeRow struct {
	ID, TenantID, Status, Message, DecidedBy string
	CreatedAt, UpdatedAt                     int64
}

const upgradeCols = `id, tenant_id, status, message, decided_by, created_at, updated_at`

func scanUpgrade(r interface{ Scan(...any) error }) (upgradeRow, error) {
	var u upgradeRow
	err := r.Scan(&u.ID, &u.TenantID, &u.Status, &u.Message, &u.DecidedBy, &u.CreatedAt, &u.UpdatedAt)
	return u, err
}

func (u upgradeRow) open() bool {
	return u.Status == UpgradePending || u.Status == UpgradeMoreDocuments
}

// lastUpgrade is the tenant's open request, else its last decided one (ok
// false: none).
func lastUpgrade(ctx context.Context, q store.Querier, tenantID string) (upgradeRow, bool, error) {
	u, err := scanUpgrade(q.QueryRowContext(ctx, `SELECT `+upgradeCols+` FROM wallet_upgrades WHERE tenant_id = $1
ORDER BY CASE WHEN status IN ('pending', 'more_documents') THEN 0 ELSE 1 END, updated_at DESC, id DESC LIMIT 1`, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return upgradeRow{}, false, nil
	}
	return u, err == nil, err
}

// corporateUser is userID's user when it is a corporate's.
func (s *Service) corporateUser(ctx context.Context, q store.Querier, userID string) (user, error) {
	u, err := s.userByID(ctx, q, userID)
	if err != nil {
		return user{}, err
	}
	if u.Kind != KindCorporate {
		return user{}, apperr.New(apperr.Forbidden, "only corporate accounts upgrade to Corporate+")
	}
	return u, active("the wallet", u)
}

// UpgradeOf is the corporate's upgrade as it sees it.
func (s *Service) UpgradeOf(ctx context.Context, userID string) (Upgrade, error) {
	return s.upgradeOf(ctx, s.db.Read(), userID)
}

func (s *Service) upgradeOf(ctx context.Context, q store.Querier, userID string) (Upgrade, error) {
	u, err := s.corporateUser(ctx, q, userID)
	if err != nil {
		return Upgrade{}, err
	}
	out := Upgrade{Tier: u.Tier, Status: "none", Kinds: DocumentKinds(), Documents: []Document{}}
	last, ok, err := lastUpgrade(ctx, q, u.TenantID)
	if err != nil {
		return Upgrade{}, err
	}
	shownID := "" // the request whose documents are shown with those not sent
	if ok {
		t := fromMicros(last.UpdatedAt)
		out.RequestID, out.Status, out.Message, out.UpdatedAt = last.ID, last.Status, last.Message, &t
		if last.open() || last.Status == UpgradeApproved { // a rejected request's documents are not shown: the next starts afresh
			shownID = last.ID
		}
	}
	if out.Documents, err = documentsOf(ctx, q, u.TenantID, shownID); err != nil {
		return Upgrade{}, err
	}
	unsent := 0
	for _, d := range out.Documents {
		if !d.Sent {
			unsent++
		}
	}
	out.CanUpload = u.Tier != TierCorporatePlus && out.Status != UpgradePending && len(out.Documents) < MaxDocuments
	out.CanSend = u.Tier != TierCorporatePlus && out.Status != UpgradePending && unsent > 0
	return out, nil
}

// documentsOf lists the tenant's documents not sent yet and those of the
// request reqID ("" none), oldest first.
func documentsOf(ctx context.Context, q store.Querier, tenantID, reqID string) ([]Document, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, kind, filename, content_type, size, sha256, upgrade_id, created_at FROM wallet_documents
WHERE tenant_id = $1 AND (upgrade_id = '' OR upgrade_id = $2) ORDER BY created_at, id`, tenantID, reqID)
	if err != nil {
		return nil, err
	}
	return scanDocuments(rows)
}

func scanDocuments(rows *sql.Rows) ([]Document, error) {
	defer rows.Close()
	out := []Document{}
	for rows.Next() {
		var d Document
		var req string
		var at int64
		if err := rows.Scan(&d.ID, &d.Kind, &d.Filename, &d.ContentType, &d.Size, &d.SHA256, &req, &at); err != nil {
			return nil, err
		}
		d.KindLabel, _ = documentKindLabel(d.Kind)
		d.Sent, d.CreatedAt = req != "", fromMicros(at)
		out = append(out, d)
	}
	return out, rows.Err()
}

// lockCorporate takes the corporate's row for the transaction (a write
// lock on PostgreSQL, the database's on SQLite): counts checked after it
// hold until the commit.
func lockCorporate(ctx context.Context, tx *store.Tx, tenantID string) error {
	return exec1(ctx, tx, `UPDATE wallet_corporates SET upgrade_requested_at = upgrade_requested_at WHERE tenant_id = $1`, tenantID)
}

// UploadDocument keeps one document for the upgrade, to be sent with the
// request (RequestUpgrade). Refused while the operator checks a request,
// past MaxDocuments, and for a file that is not what it says.
func (s *Service) UploadDocument(ctx context.Context, userID string, up DocumentUpload) (Document, error) {
	name, ctype, err := checkDocument(up)
	if err != nil {
		return Document{}, err
	}
	u, err := s.corporateUser(ctx, s.db.Read(), userID)
	if err != nil {
		return Document{}, err
	}
	if u.Tier == TierCorporatePlus {
		return Document{}, apperr.New(apperr.Conflict, "the account is Corporate+ already")
	}
	now := s.now()
	d := Document{ID: s.ids.ID("wdo"), Kind: up.Kind, Filename: name, ContentType: ctype, Size: int64(len(up.Data)), SHA256: digest(up.Data), CreatedAt: now}
	d.KindLabel, _ = documentKindLabel(d.Kind)
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := s.checkRoom(ctx, tx, u.TenantID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO wallet_documents (id, tenant_id, upgrade_id, kind, filename, content_type, size, sha256, data, created_at)
VALUES ($1, $2, '', $3, $4, $5, $6, $7, $8, $9)`, d.ID, u.TenantID, d.Kind, d.Filename, d.ContentType, d.Size, d.SHA256, up.Data, micros(now)); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusCreated, d) // the answer commits with the document
	})
	if err != nil {
		return Document{}, err
	}
	return d, nil
}

// checkRoom refuses a document while the operator checks the request or
// past MaxDocuments; the corporate's row is locked first, so concurrent
// uploads cannot both take the last place.
func (s *Service) checkRoom(ctx context.Context, tx *store.Tx, tenantID string) error {
	if err := lockCorporate(ctx, tx, tenantID); err != nil {
		return err
	}
	last, ok, err := lastUpgrade(ctx, tx, tenantID)
	if err != nil {
		return err
	}
	openID := ""
	if ok && last.Status == UpgradePending {
		return apperr.New(apperr.Conflict, "the operator is checking the documents sent; add more when asked for them")
	}
	if ok && last.open() {
		openID = last.ID
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM wallet_documents WHERE tenant_id = $1 AND (upgrade_id = '' OR upgrade_id = $2)`,
		tenantID, openID).Scan(&n); err != nil {
		return err
	}
	if n >= MaxDocuments {
		return limitErr(LimitDocuments, TierCorporate, int64(MaxDocuments), "at most %d documents per upgrade request", MaxDocuments)
	}
	return nil
}

// DeleteDocument removes a document not sent yet.
func (s *Service) DeleteDocument(ctx context.Context, userID, docID string) error {
	u, err := s.corporateUser(ctx, s.db.Read(), userID)
	if err != nil {
		return err
	}
	return s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM wallet_documents WHERE id = $1 AND tenant_id = $2 AND upgrade_id = ''`, docID, u.TenantID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errors.Join(err, apperr.New(apperr.NotFound, "no document %q waiting to be sent", docID))
		}
		return httpx.Reply(ctx, tx, http.StatusOK, WalletOK{WalletOK: true})
	})
}

// RequestUpgrade sends the documents waiting to be sent with a request for
// Corporate+ (a new one, or the open one the operator asked more documents
// for), for the operator to check. The bank account must be verified and
// at least one document uploaded.
func (s *Service) RequestUpgrade(ctx context.Context, userID string) (CorporateAccount, error) {
	c, err := s.CorporateOf(ctx, userID)
	if err != nil {
		return CorporateAccount{}, err
	}
	if c.Tier == TierCorporatePlus {
		return CorporateAccount{}, apperr.New(apperr.Conflict, "the account is Corporate+ already")
	}
	if !c.BankVerified {
		return CorporateAccount{}, apperr.New(apperr.Conflict, "verify your bank account before asking for Corporate+")
	}
	var out CorporateAccount
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		id, err := s.sendUpgrade(ctx, tx, c.TenantID)
		if err != nil {
			return err
		}
		if out, err = s.corporateAccount(ctx, tx, userID); err != nil {
			return err
		}
		if _, err := s.outbox.Emit(ctx, tx, outbox.Event{TenantID: c.TenantID, Type: EventUpgradeRequested, Subject: id,
			Data: map[string]string{"requestId": id, "merchantId": c.MerchantID}}); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusOK, out) // the answer commits with the request
	})
	return out, err
}

// sendUpgrade opens the request (or reopens the one waiting for more
// documents) with the documents not sent yet, and returns its id.
func (s *Service) sendUpgrade(ctx context.Context, tx *store.Tx, tenantID string) (string, error) {
	if err := lockCorporate(ctx, tx, tenantID); err != nil {
		return "", err
	}
	last, ok, err := lastUpgrade(ctx, tx, tenantID)
	if err != nil {
		return "", err
	}
	now := micros(s.now())
	id, action := s.ids.ID("wup"), "requested"
	switch {
	case ok && last.Status == UpgradePending:
		return "", apperr.New(apperr.Conflict, "an upgrade is requested already")
	case ok && last.Status == UpgradeMoreDocuments:
		id, action = last.ID, "documents_sent"
		err = exec1(ctx, tx, `UPDATE wallet_upgrades SET status = 'pending', updated_at = $1 WHERE id = $2 AND status = 'more_documents'`, now, id)
	default:
		_, err = tx.ExecContext(ctx, `INSERT INTO wallet_upgrades (id, tenant_id, status, created_at, updated_at) VALUES ($1, $2, 'pending', $3, $3)`, id, tenantID, now)
	}
	if err != nil {
		return "", err
	}
	res, err := tx.ExecContext(ctx, `UPDATE wallet_documents SET upgrade_id = $1 WHERE tenant_id = $2 AND upgrade_id = ''`, id, tenantID)
	if err != nil {
		return "", err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return "", errors.Join(err, apperr.New(apperr.Conflict, "upload the company's documents first (trade register extract, business registration, bank statement, ID cards…)"))
	}
	if _, err := tx.ExecContext(ctx, `UPDATE wallet_corporates SET upgrade_status = 'requested', upgrade_requested_at = $1 WHERE tenant_id = $2`, now, tenantID); err != nil {
		return "", err
	}
	return id, s.logReview(ctx, tx, tenantID, id, action, "customer", "")
}

// logReview writes a review log row in tx.
func (s *Service) logReview(ctx context.Context, tx *store.Tx, tenantID, subject, action, actor, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO wallet_review_log (id, tenant_id, subject, action, actor, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		s.ids.ID("wrl"), tenantID, subject, action, actor, detail, micros(s.now()))
	return err
}

// ReviewEntry is one row of a request's history.
type ReviewEntry struct {
	Action string    `json:"action"`
	Actor  string    `json:"actor"`
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
}

// reviewLog is subject's history, oldest first.
func reviewLog(ctx context.Context, q store.Querier, subject string) ([]ReviewEntry, error) {
	rows, err := q.QueryContext(ctx, `SELECT action, actor, detail, created_at FROM wallet_review_log WHERE subject = $1 ORDER BY created_at, id`, subject)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ReviewEntry{}
	for rows.Next() {
		var e ReviewEntry
		var at int64
		if err := rows.Scan(&e.Action, &e.Actor, &e.Detail, &at); err != nil {
			return nil, err
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// reviewText is a message of the operator's: required, one line.
func reviewText(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	if err := httpx.CheckText(field, v); err != nil {
		return "", err
	}
	if err := checkText(field, v, 1, 500); err != nil {
		return "", err
	}
	return v, nil
}
