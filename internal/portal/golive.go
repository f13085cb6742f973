package portal

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/webkit"
)

// Going live (seed 001: "When you are ready to put a real account on the
// Cloud Payments platform, please contact … sales"): a sandbox developer
// with a business profile and an admin user asks, with its website and a
// short reason; one open request per tenant. An operator approves it in the
// console (a production account is created next to the sandbox: a new
// tenant in production mode with the sandbox's business profile, copies of
// its admin users and its first APP key, sealed for Settings; the sandbox
// stays for testing, as the guide keeps a separate sandbox host) or rejects
// it with a note the developer sees.

// The states of a go-live request.
const (
	goLivePending  = "pending"
	goLiveApproved = "approved"
	goLiveRejected = "rejected"
)

// goLive is a go-live request.
type goLive struct {
	ID, DeveloperID, TenantID, Website, Reason, Status, Note string
	ProdTenantID                                             string
	CreatedAt                                                time.Time
	DecidedAt                                                *time.Time
	// Email and Company are the developer's and the sandbox's (lists).
	Email, Company string
}

const goLiveCols = `g.id, g.developer_id, g.tenant_id, g.website, g.reason, g.status, g.note, COALESCE(g.production_tenant_id, ''), g.created_at, g.decided_at, d.email, t.name`

const goLiveFrom = ` FROM go_live_requests g JOIN developers d ON d.id = g.developer_id JOIN tenants t ON t.id = g.tenant_id`

func scanGoLive(row interface{ Scan(...any) error }) (goLive, error) {
	var g goLive
	var created int64
	var decided sql.NullInt64
	err := row.Scan(&g.ID, &g.DeveloperID, &g.TenantID, &g.Website, &g.Reason, &g.Status, &g.Note, &g.ProdTenantID, &created, &decided, &g.Email, &g.Company)
	g.CreatedAt = time.UnixMicro(created).UTC()
	if decided.Valid {
		t := time.UnixMicro(decided.Int64).UTC()
		g.DecidedAt = &t
	}
	return g, err
}

// queryGoLives runs a go-live query.
func (s *Service) queryGoLives(ctx context.Context, where string, args ...any) ([]goLive, error) {
	rows, err := s.db.Reader(ctx).QueryContext(ctx, `SELECT `+goLiveCols+goLiveFrom+` WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("portal: go-live requests: %w", err)
	}
	defer rows.Close()
	var out []goLive
	for rows.Next() {
		g, err := scanGoLive(rows)
		if err != nil {
			return nil, fmt.Errorf("portal: go-live requests: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// latestGoLive is the sandbox's newest request, if any.
func (s *Service) latestGoLive(ctx context.Context, tenantID string) (*goLive, error) {
	l, err := s.queryGoLives(ctx, `g.tenant_id = $1 ORDER BY g.created_at DESC, g.id DESC LIMIT 1`, tenantID)
	if err != nil || len(l) == 0 {
		return nil, err
	}
	return &l[0], nil
}

// goLiveData is the developer's Go live page.
type goLiveData struct {
	account
	Latest  *goLive
	Form    *webkit.Form
	CanAsk  bool   // the form is shown
	Missing string // why it is disabled ("" when it is not)
}

func (s *Service) goLiveView(r *http.Request, d developer) (webkit.View, *goLiveData, error) {
	sb, err := s.accountOf(r, d, d.TenantID) // going live is the sandbox's matter
	if err != nil {
		return webkit.View{}, nil, err
	}
	data := &goLiveData{account: sb, Form: webkit.NewForm(nil)}
	if data.Latest, err = s.latestGoLive(r.Context(), d.TenantID); err != nil {
		return webkit.View{}, nil, err
	}
	data.CanAsk = d.ProdTenantID == "" && (data.Latest == nil || data.Latest.Status == goLiveRejected)
	switch {
	case !sb.Tenant.HasProfile():
		data.Missing = "Create your business profile first (Settings → CREATE COMPANY)."
	case sb.Admin == nil:
		data.Missing = "Create your admin user first (Settings → CREATE ADMIN USER)."
	}
	t, err := s.plat.Tenant(r.Context(), d.tenant())
	if err != nil {
		return webkit.View{}, nil, err
	}
	v := s.devView(d, t, "Go live", "/dashboard/go-live")
	v.Data = data
	return v, data, nil
}

func (s *Service) goLivePage(w http.ResponseWriter, r *http.Request, d developer) {
	v, _, err := s.goLiveView(r, d)
	if err != nil {
		s.fail(w, r, "go live", err)
		return
	}
	s.kit.Render(w, r, http.StatusOK, s.pages.goLive, v)
}

// askGoLive records the developer's go-live request.
func (s *Service) askGoLive(w http.ResponseWriter, r *http.Request, d developer) {
	v, data, err := s.goLiveView(r, d)
	if err != nil {
		s.fail(w, r, "go live", err)
		return
	}
	f := webkit.FormOf(r)
	data.Form = f
	website, reason := checkGoLiveForm(f)
	switch {
	case !data.CanAsk && data.Latest != nil && data.Latest.Status == goLivePending:
		f.Message = "Your request is waiting for an operator already."
	case !data.CanAsk:
		f.Message = "Your account is live already."
	case data.Missing != "":
		f.Message = data.Missing
	}
	if f.OK() {
		err := s.insertGoLive(r.Context(), d, website, reason)
		if err == nil {
			s.kit.Flash(w, r, "Your go-live request is sent: an operator will look at it.")
			s.kit.Redirect(w, r, "/dashboard/go-live")
			return
		}
		s.logUnexpected(r, "go-live request", err)
		f.FailWith(err, nil)
	}
	s.kit.Render(w, r, http.StatusUnprocessableEntity, s.pages.goLive, v)
}

// checkGoLiveForm validates the website (an http(s) address) and the reason.
func checkGoLiveForm(f *webkit.Form) (website, reason string) {
	f.Required("website", "reason")
	website, reason = f.Get("website"), f.Get("reason")
	if u, err := url.Parse(website); website != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(website) > 200) {
		f.Fail("website", "Enter your website's address, such as https://shop.example.com.")
	}
	if utf8.RuneCountInString(reason) > 500 {
		f.Fail("reason", "At most 500 characters.")
	}
	return website, reason
}

func (s *Service) insertGoLive(ctx context.Context, d developer, website, reason string) error {
	id := s.gen.ID("glr")
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO go_live_requests (id, developer_id, tenant_id, website, reason, status, created_at)
			VALUES ($1, $2, $3, $4, $5, 'pending', $6)`, id, d.ID, d.TenantID, website, reason, s.clk.Now().UnixMicro())
		return err
	})
	if store.IsUniqueViolation(err) {
		return apperr.New(apperr.Conflict, "your request is waiting for an operator already")
	}
	if err != nil {
		return fmt.Errorf("portal: go-live request: %w", err)
	}
	s.log.InfoContext(ctx, "go-live requested", "developer", d.ID, "tenant", d.TenantID, "request", id)
	return nil
}

// goLiveByID loads a request for the console.
func (s *Service) goLiveByID(ctx context.Context, id string) (goLive, error) {
	l, err := s.queryGoLives(ctx, `g.id = $1`, id)
	if err != nil {
		return goLive{}, err
	}
	if len(l) == 0 {
		return goLive{}, apperr.New(apperr.NotFound, "go-live request %q not found", id)
	}
	return l[0], nil
}

// ApproveGoLive approves a pending request: in one transaction a
// production tenant is created next to the sandbox (its business profile,
// copies of its admin users, its first APP key sealed for the developer),
// the request marked approved with the operator's note, and the developer's
// pages switched to production.
func (s *Service) ApproveGoLive(ctx context.Context, requestID, operatorID, note string) (string, error) {
	g, err := s.goLiveByID(ctx, requestID)
	if err != nil {
		return "", err
	}
	if g.Status != goLivePending {
		return "", apperr.New(apperr.Conflict, "this request was %s already", g.Status)
	}
	sb, err := s.plat.Tenant(ctx, g.TenantID)
	if err != nil {
		return "", err
	}
	created, err := s.plat.CreateTenant(ctx, platform.TenantSpec{Name: sb.Name, Mode: platform.Production, Timezone: sb.Timezone, AdminsFrom: sb.ID,
		InTx: func(ctx context.Context, tx *store.Tx, c platform.TenantCreated) error {
			if err := decide(ctx, tx, g.ID, goLiveApproved, note, operatorID, c.TenantID, s.clk.Now()); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `UPDATE developers SET production_tenant_id = $1, production_key_id = $2, production_key_sealed = $3,
				environment = 'production' WHERE id = $4 AND production_tenant_id IS NULL`, c.TenantID, c.KeyID, s.sealKey(g.DeveloperID, c.KeyID, c.APIKey), g.DeveloperID)
			return oneRow(res, err, "this developer is live already")
		}})
	if err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "go-live approved", "request", g.ID, "operator", operatorID, "production_tenant", created.TenantID)
	return created.TenantID, nil
}

// RejectGoLive rejects a pending request with the operator's note.
func (s *Service) RejectGoLive(ctx context.Context, requestID, operatorID, note string) error {
	if strings.TrimSpace(note) == "" {
		return apperr.InvalidField("note", "say why, for the developer")
	}
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		return decide(ctx, tx, requestID, goLiveRejected, note, operatorID, "", s.clk.Now())
	})
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "go-live rejected", "request", requestID, "operator", operatorID)
	return nil
}

// decide moves a pending request to status (Conflict when it is no longer
// pending).
func decide(ctx context.Context, tx *store.Tx, id, status, note, operatorID, prodTenant string, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE go_live_requests SET status = $1, note = $2, operator_id = $3, production_tenant_id = $4, decided_at = $5
		WHERE id = $6 AND status = 'pending'`, status, note, nullable(operatorID), nullable(prodTenant), now.UnixMicro(), id)
	return oneRow(res, err, "this request was decided already")
}

// nullable is NULL for "".
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// oneRow turns an update that changed no row into a Conflict.
func oneRow(res sql.Result, err error, conflict string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return apperr.New(apperr.Conflict, "%s", conflict)
	}
	return nil
}
