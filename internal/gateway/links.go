package gateway

// Payment links (issue 10; the guide's "Managing payment links": "You can
// use an action URL from a request response as a payment link … Generate a
// QR code for an invoice. Turn it into a payment button"). A payment link
// is a payment job created without card details, through Create's own path
// (createOpts.link), flagged paymentLink and listed in gateway_links: its
// URL is the job's hosted card page, which every attempt of the job shares,
// so the URL, its QR code and its "Pay now" button stay the same until the
// job is paid, cancelled or expires (links expire with their job). The
// hosted page says when a link is over (pages.go, linkOver).

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
)

// MaxLinkDescription is the longest description of a payment link, in characters.
const MaxLinkDescription = 200

// linkSpec is what a payment link adds to its job.
type linkSpec struct {
	Description string
}

// CreatePaymentLinkRequest is the body of POST /platform/gateway/payment-links:
// the payment job's amount, currency, order number and expiry under the
// gateway API's names, and what the payment is for.
type CreatePaymentLinkRequest struct {
	AmountToCollect Flex   `json:"amountToCollect"`
	Currency        string `json:"currency"`
	Description     string `json:"description,omitempty"`
	OrderNumber     string `json:"orderNumber,omitempty"`
	// ExpirationDateTimeUtc: the job's expiry (default and latest: six months).
	ExpirationDateTimeUtc string `json:"expirationDateTimeUtc,omitempty"`
}

// PaymentLink is a payment link on the wire (platform API).
type PaymentLink struct {
	ID                  string `json:"id"` // the payment job's reference
	PaymentJobReference string `json:"paymentJobReference"`
	URL                 string `json:"url"`    // the hosted card page
	Status              string `json:"status"` // the job's: Pending, Authorised, Paid, Cancelled, Expired
	AmountToCollect     string `json:"amountToCollect"`
	AmountCollected     string `json:"amountCollected,omitempty"`
	Currency            string `json:"currency"`
	Description         string `json:"description,omitempty"`
	OrderNumber         string `json:"orderNumber,omitempty"`
	CreatedAt           string `json:"createdAt"`
	CreatedAtLocal      string `json:"createdAtLocal"`
	ExpiresAt           string `json:"expiresAt"`
	ExpiresAtLocal      string `json:"expiresAtLocal"`
	PaidAt              string `json:"paidAt,omitempty"`
	PaidAtLocal         string `json:"paidAtLocal,omitempty"`
	QRPNG               string `json:"qrPng"` // the QR code of URL (APP key)
	QRSVG               string `json:"qrSvg"`
	// ButtonHTML is a "Pay now" button to paste into a web page or an
	// HTML e-mail: a link to URL, escaped, styled inline.
	ButtonHTML string `json:"buttonHtml"`
	PaymentJob string `json:"paymentJob"` // the job in the gateway API
}

// PaymentLinkList is a page of payment links, newest first.
type PaymentLinkList struct {
	Data []PaymentLink `json:"data"`
	// Next is the cursor of the following page (?after=), absent on the last page.
	Next string `json:"next,omitempty"`
}

func linkNotFound() error { return apperr.New(apperr.NotFound, "Payment link not found.") }

// CreateLink creates a payment link for the tenant: a payment job for the
// amount whose action URL opens the hosted card page.
func (s *Service) CreateLink(ctx context.Context, tenantID string, req CreatePaymentLinkRequest) (*job, error) {
	desc := strings.TrimSpace(req.Description)
	if err := httpx.CheckText("description", desc); err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(desc) > MaxLinkDescription {
		return nil, apperr.InvalidField("description", "description must be at most %d characters.", MaxLinkDescription)
	}
	if err := httpx.CheckText("orderNumber", req.OrderNumber); err != nil {
		return nil, err
	}
	cfg, err := s.configurationOf(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	jr := CreatePaymentJobRequest{Currency: req.Currency, AmountToCollect: req.AmountToCollect, ExpirationDateTimeUtc: req.ExpirationDateTimeUtc}
	if n := strings.TrimSpace(req.OrderNumber); n != "" {
		jr.Order = &PaymentOrder{OrderNumber: n}
	}
	return s.create(ctx, tenantID, cfg, jr, createOpts{link: &linkSpec{Description: desc}})
}

// configurationOf is the tenant's (first) gateway configuration, which the
// jobs the gateway makes itself belong to.
func (s *Service) configurationOf(ctx context.Context, tenantID string) (string, error) {
	var cfg string
	err := s.DB.Read().QueryRowContext(ctx, `SELECT id FROM gateway_configurations WHERE tenant_id = $1 ORDER BY created_at, id LIMIT 1`, tenantID).Scan(&cfg)
	if errors.Is(err, sql.ErrNoRows) {
		return "", apperr.New(apperr.Conflict, "The business has no card gateway configuration.")
	}
	if err != nil {
		return "", fmt.Errorf("gateway: configuration: %w", err)
	}
	return cfg, nil
}

func insertLink(ctx context.Context, tx *store.Tx, j *job, token string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO gateway_links (job_reference, tenant_id, page_token, status, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, j.Ref, j.TenantID, token, j.Status, j.CreatedAt.UnixMicro(), j.ExpiresAt.UnixMicro())
	if err != nil {
		return fmt.Errorf("gateway: insert link: %w", err)
	}
	return nil
}

// Link returns the tenant's payment link ref (its job).
func (s *Service) Link(ctx context.Context, tenantID, ref string) (*job, error) {
	j, err := s.readJob(ctx, tenantID, ref)
	if apperr.Is(err, apperr.NotFound) || err == nil && !j.isLink() {
		return nil, linkNotFound()
	}
	return j, err
}

// CancelLink cancels the payment link ref: its job is cancelled (the
// guide's job cancellation: a paid or authorised one cannot be), and its
// page says so.
func (s *Service) CancelLink(ctx context.Context, tenantID, ref string) (*job, error) {
	j, err := s.mutate(ctx, tenantID, ref, func(tx *store.Tx, j *job, st settings, now time.Time) error {
		if !j.isLink() {
			return linkNotFound()
		}
		return s.cancelJob(ctx, tx, j, st, now)
	})
	if apperr.Is(err, apperr.NotFound) {
		return nil, linkNotFound()
	}
	return j, err
}

func (j *job) isLink() bool { return j.Flags["paymentLink"] }

// linkToken is the hosted page ref of a link (all its attempts share it).
func (j *job) linkToken() string {
	if len(j.Payments) == 0 {
		return ""
	}
	return j.Payments[0].PageToken
}

// linkStatus is the job's status, Expired once its expiry has passed
// (before the expiry job has run).
func linkStatus(j *job, now time.Time) string {
	if j.Status == StPending && !now.Before(j.ExpiresAt) {
		return StExpired
	}
	return j.Status
}

// LinkURL is the address of the hosted card page with ref token.
func (s *Service) LinkURL(token string) string {
	return s.PublicURL + "/payment/form-post?ref=" + token
}

// PayButton is the "Pay now" HTML snippet for a link's URL.
func PayButton(url string) string {
	return `<a href="` + html.EscapeString(url) + `" style="display:inline-block;padding:12px 24px;border-radius:6px;` +
		`background:#1a3c6e;color:#ffffff;font:600 16px/1.2 system-ui,sans-serif;text-decoration:none">Pay now</a>`
}

// link is the wire form of the link j with page ref token.
func (v viewCtx) link(j *job, token string) PaymentLink {
	url := v.base + "/payment/form-post?ref=" + token
	self := v.base + "/platform/gateway/payment-links/" + j.Ref
	out := PaymentLink{ID: j.Ref, PaymentJobReference: j.Ref, URL: url, Status: linkStatus(j, v.now),
		AmountToCollect: amount(j.Amount, j.Currency), Currency: j.Currency.Code(), Description: j.Params.Description,
		OrderNumber: j.OrderNumber, QRPNG: self + "/qr.png", QRSVG: self + "/qr.svg", ButtonHTML: PayButton(url),
		PaymentJob: v.base + "/api/gateway/payment-jobs/" + j.Ref}
	out.CreatedAt, out.CreatedAtLocal = platform.FormatUTC(j.CreatedAt), platform.FormatInZone(j.CreatedAt, v.zone)
	out.ExpiresAt, out.ExpiresAtLocal = platform.FormatUTC(j.ExpiresAt), platform.FormatInZone(j.ExpiresAt, v.zone)
	if j.Collected > 0 {
		out.AmountCollected = amount(j.Collected, j.Currency)
	}
	if !j.PaidAt.IsZero() {
		out.PaidAt, out.PaidAtLocal = platform.FormatUTC(j.PaidAt), platform.FormatInZone(j.PaidAt, v.zone)
	}
	return out
}

// LinkView renders the link j (from CreateLink, Link, CancelLink).
func (s *Service) LinkView(ctx context.Context, j *job) (PaymentLink, error) {
	v, err := s.viewIn(ctx, nil, j)
	if err != nil {
		return PaymentLink{}, err
	}
	return v.link(j, j.linkToken()), nil
}

// ---- the list ----

// LinkFilter selects a page of a tenant's payment links.
type LinkFilter struct {
	Status string // a job status ("" = any)
	Limit  int    // 1..MaxLinkPage, default DefaultLinkPage
	After  string // the Next of the previous page

	afterAt  int64
	afterRef string
}

// Page sizes of the list of links.
const (
	DefaultLinkPage = 20
	MaxLinkPage     = 100
)

// LinkStatuses are the statuses a link can have (the list's filter).
func LinkStatuses() []string {
	return []string{StPending, StAuthorised, StPaid, StCancelled, StExpired}
}

func (f *LinkFilter) check() error {
	if f.Status != "" {
		st := ""
		for _, s := range LinkStatuses() {
			if strings.EqualFold(s, f.Status) {
				st = s
			}
		}
		if st == "" {
			return apperr.InvalidField("status", "status must be one of %s.", strings.Join(LinkStatuses(), ", "))
		}
		f.Status = st
	}
	if f.Limit == 0 {
		f.Limit = DefaultLinkPage
	}
	if f.Limit < 1 || f.Limit > MaxLinkPage {
		return apperr.InvalidField("limit", "limit must be between 1 and %d.", MaxLinkPage)
	}
	if f.After != "" {
		b, err := base64.RawURLEncoding.DecodeString(f.After)
		at, ref, ok := strings.Cut(string(b), ":")
		n, perr := strconv.ParseInt(at, 10, 64)
		if err != nil || !ok || perr != nil || !isReference(ref) {
			return apperr.InvalidField("after", "after must be the next cursor of a previous page.")
		}
		f.afterAt, f.afterRef = n, ref
	}
	return nil
}

func linkCursor(j *job) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(j.CreatedAt.UnixMicro(), 10) + ":" + j.Ref))
}

// The status filter applies at read time, as the list shows it
// (linkStatus): a Pending link whose expiry has passed is Expired before
// the expiry job marks it so. ?status=Pending leaves such links out;
// ?status=Expired adds them (lateExpiredQuery) to the links marked Expired.

// query is the SELECT of one page (one row more than the limit, to know
// whether another follows): the tenant's links newest first from
// gateway_links_tenant (gateway_links_status with a status), each with
// its job.
func (f LinkFilter) query(tenantID string, now time.Time) (string, []any) {
	where, args := []string{"l.tenant_id = $1"}, []any{tenantID}
	if f.Status != "" {
		args = append(args, f.Status)
		where = append(where, "l.status = $"+strconv.Itoa(len(args)))
	}
	if f.Status == StPending {
		args = append(args, now.UnixMicro())
		where = append(where, "l.expires_at > $"+strconv.Itoa(len(args)))
	}
	where, args = f.afterCursor(where, args)
	return linkSelect() + strings.Join(where, " AND ") + ` ORDER BY l.created_at DESC, l.job_reference DESC LIMIT ` + strconv.Itoa(f.Limit+1), args
}

// lateExpiredQuery (for ?status=Expired) selects the tenant's links still
// marked Pending whose expiry has passed through gateway_links_expiry: only
// those the expiry job has not reached yet, so few whatever the size of the
// table. The cursor and the order apply to them in Go (afterCursorRow), so
// that no planner walks the Pending links by creation instead.
func (f LinkFilter) lateExpiredQuery(tenantID string, now time.Time) (string, []any) {
	return linkSelect() + "l.tenant_id = $1 AND l.status = $2 AND l.expires_at <= $3", []any{tenantID, StPending, now.UnixMicro()}
}

// beforeCursor reports whether the link j comes after the page's cursor
// (newest first).
func (f LinkFilter) beforeCursor(j *job) bool {
	if f.afterRef == "" {
		return true
	}
	at := j.CreatedAt.UnixMicro()
	return at < f.afterAt || at == f.afterAt && j.Ref < f.afterRef
}

func (f LinkFilter) afterCursor(where []string, args []any) ([]string, []any) {
	if f.afterRef == "" {
		return where, args
	}
	args = append(args, f.afterAt, f.afterRef)
	return append(where, fmt.Sprintf("(l.created_at, l.job_reference) < ($%d, $%d)", len(args)-1, len(args))), args
}

// linkSelect is the SELECT of links with their jobs, up to its WHERE.
func linkSelect() string {
	cols := strings.Split(jobCols, ",")
	for i, c := range cols {
		cols[i] = "j." + strings.TrimSpace(c)
	}
	return `SELECT ` + strings.Join(cols, ", ") + `, l.page_token FROM gateway_links l JOIN gateway_jobs j ON j.reference = l.job_reference
		WHERE `
}

// LinkPage is one page of links with their hosted page refs.
type LinkPage struct {
	Jobs   []*job
	Tokens []string
	Next   string
}

// ListLinks returns a page of the tenant's payment links, newest first.
func (s *Service) ListLinks(ctx context.Context, tenantID string, f LinkFilter) (LinkPage, error) {
	if err := f.check(); err != nil {
		return LinkPage{}, err
	}
	now := s.now()
	q, args := f.query(tenantID, now)
	all, err := s.scanLinks(ctx, q, args)
	if err != nil {
		return LinkPage{}, err
	}
	if f.Status == StExpired {
		q, args = f.lateExpiredQuery(tenantID, now)
		late, err := s.scanLinks(ctx, q, args)
		if err != nil {
			return LinkPage{}, err
		}
		for _, l := range late {
			if f.beforeCursor(l.job) {
				all = append(all, l)
			}
		}
		slices.SortFunc(all, func(a, b linkRow) int {
			if c := b.job.CreatedAt.Compare(a.job.CreatedAt); c != 0 {
				return c
			}
			return strings.Compare(b.job.Ref, a.job.Ref)
		})
	}
	var out LinkPage
	for _, l := range all {
		if len(out.Jobs) == f.Limit {
			out.Next = linkCursor(out.Jobs[len(out.Jobs)-1])
			break
		}
		out.Jobs, out.Tokens = append(out.Jobs, l.job), append(out.Tokens, l.token)
	}
	return out, nil
}

// linkRow is a link read by a list query: its job and hosted page ref.
type linkRow struct {
	job   *job
	token string
}

func (s *Service) scanLinks(ctx context.Context, q string, args []any) ([]linkRow, error) {
	rows, err := s.DB.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("gateway: list links: %w", err)
	}
	defer rows.Close()
	var out []linkRow
	for rows.Next() {
		var l linkRow
		if l.job, err = scanJob(scanPlus{rows, &l.token}); err != nil {
			return nil, fmt.Errorf("gateway: list links: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// scanPlus scans a row whose columns are a scanner's followed by extra.
type scanPlus struct {
	row   interface{ Scan(...any) error }
	extra any
}

func (p scanPlus) Scan(dst ...any) error { return p.row.Scan(append(dst, p.extra)...) }

// LinkListView renders a page of links (one time zone and settings read
// for the page).
func (s *Service) LinkListView(ctx context.Context, tenantID string, page LinkPage) (PaymentLinkList, error) {
	out := PaymentLinkList{Data: []PaymentLink{}, Next: page.Next}
	if len(page.Jobs) == 0 {
		return out, nil
	}
	v, err := s.viewIn(ctx, nil, page.Jobs[0])
	if err != nil {
		return PaymentLinkList{}, err
	}
	for i, j := range page.Jobs {
		out.Data = append(out.Data, v.link(j, page.Tokens[i]))
	}
	return out, nil
}
