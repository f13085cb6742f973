package gateway

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
)

// Hosted checkout templates (issue 12: "the merchant's logo, colours and
// text on the hosted pages, previewed in the portal"). A tenant keeps
// payment page templates, each named by a reference (summer-sale): a logo
// (logo.go), a primary and a background colour, a header and a footer
// text, and whether it is the tenant's default. A payment job picks one by
// parameters.paymentPageReference (pagerefs.go); a job naming none, or
// default, gets the tenant's default template, and without one cashgate's
// own look. The hosted card page, the 3-D Secure simulator and the return
// page render with it, as it is when they are shown (an edited template
// shows on the pages of jobs made before; a deleted one gives them the
// default). Owners manage templates in the back office
// (office_templates.go), with a preview of the hosted page.

// PageTemplate is a payment page template.
type PageTemplate struct {
	Reference                       string
	HeaderText, FooterText          string
	PrimaryColour, BackgroundColour string
	Default                         bool
	// LogoID names the logo's URL (LogoURL); "" without a logo.
	LogoID, LogoType     string
	CreatedAt, UpdatedAt time.Time
}

// LogoURL is the path the logo is served at ("" without one).
func (t PageTemplate) LogoURL() string {
	if t.LogoID == "" {
		return ""
	}
	return logoPath + t.LogoID
}

// PageTemplateSpec is a template to save: its fields and, optionally, a
// new logo (the upload's bytes, checked by checkLogo) or its removal.
type PageTemplateSpec struct {
	Reference                       string
	HeaderText, FooterText          string
	PrimaryColour, BackgroundColour string
	Default                         bool
	Logo                            []byte
	RemoveLogo                      bool
}

// Limits of a template.
const (
	MaxPageTemplates  = 20  // per tenant
	MaxHeaderText     = 120 // characters
	MaxFooterText     = 300
	DefaultPrimary    = "#1a3c6e" // cashgate's own look
	DefaultBackground = "#f4f6fa"
)

var (
	pageRefRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,49}$`)
	colourRE  = regexp.MustCompile(`^#[0-9a-f]{6}$`)
)

// normPageRef is a payment page reference as templates are stored: trimmed,
// lower case (a job's "Summer-Sale" is the template summer-sale).
func normPageRef(ref string) string { return strings.ToLower(strings.TrimSpace(ref)) }

// checkSpec validates and normalises a template to save.
func checkSpec(in *PageTemplateSpec) error {
	in.Reference = normPageRef(in.Reference)
	if !pageRefRE.MatchString(in.Reference) || in.Reference == DefaultPaymentPage {
		return apperr.InvalidField("reference", "A template reference is 1 to 50 lower-case letters, digits, - and _ (starting with a letter or digit), and not %q.", DefaultPaymentPage)
	}
	in.HeaderText, in.FooterText = strings.TrimSpace(in.HeaderText), strings.TrimSpace(in.FooterText)
	for _, f := range []struct {
		name, v string
		max     int
	}{{"headerText", in.HeaderText, MaxHeaderText}, {"footerText", in.FooterText, MaxFooterText}} {
		if err := httpx.CheckText(f.name, f.v); err != nil {
			return err
		}
		if !utf8.ValidString(f.v) || utf8.RuneCountInString(f.v) > f.max {
			return apperr.InvalidField(f.name, "The %s may be at most %d characters.", f.name, f.max)
		}
	}
	for _, c := range []struct {
		name string
		v    *string
	}{{"primaryColour", &in.PrimaryColour}, {"backgroundColour", &in.BackgroundColour}} {
		*c.v = strings.ToLower(strings.TrimSpace(*c.v))
		if !colourRE.MatchString(*c.v) {
			return apperr.InvalidField(c.name, "A colour is written #rrggbb, six hexadecimal digits such as #1a3c6e.")
		}
	}
	return nil
}

const sqlTemplateCols = `reference, header_text, footer_text, primary_colour, background_colour, is_default, COALESCE(logo_id, ''), logo_type, created_at, updated_at`

func scanTemplate(sc interface{ Scan(...any) error }) (PageTemplate, error) {
	var t PageTemplate
	var created, updated int64
	err := sc.Scan(&t.Reference, &t.HeaderText, &t.FooterText, &t.PrimaryColour, &t.BackgroundColour, &t.Default, &t.LogoID, &t.LogoType, &created, &updated)
	t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
	return t, err
}

// PageTemplates lists the tenant's templates, the default first.
func (s *Service) PageTemplates(ctx context.Context, tenantID string) ([]PageTemplate, error) {
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT `+sqlTemplateCols+` FROM gateway_page_templates WHERE tenant_id = $1
		ORDER BY is_default DESC, reference`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("gateway: page templates: %w", err)
	}
	defer rows.Close()
	var out []PageTemplate
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, fmt.Errorf("gateway: page templates: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// MsgTemplateNotFound answers a template reference the tenant has not.
const MsgTemplateNotFound = "No payment page template has this reference."

// PageTemplate returns one of the tenant's templates.
func (s *Service) PageTemplate(ctx context.Context, tenantID, ref string) (PageTemplate, error) {
	t, err := scanTemplate(s.DB.Read().QueryRowContext(ctx, `SELECT `+sqlTemplateCols+` FROM gateway_page_templates
		WHERE tenant_id = $1 AND reference = $2`, tenantID, normPageRef(ref)))
	if errors.Is(err, sql.ErrNoRows) {
		return PageTemplate{}, apperr.New(apperr.NotFound, MsgTemplateNotFound)
	}
	if err != nil {
		return PageTemplate{}, fmt.Errorf("gateway: page template: %w", err)
	}
	return t, nil
}

// SavePageTemplate creates (create) or replaces the tenant's template in
// one transaction: the logo when a new one is given (checkLogo sniffs and
// checks it) or removed, and the default moved to it when it is made the
// default. The caller's answer hook (the back office's audit row) commits
// with it.
func (s *Service) SavePageTemplate(ctx context.Context, tenantID string, in PageTemplateSpec, create bool) (PageTemplate, error) {
	if err := checkSpec(&in); err != nil {
		return PageTemplate{}, err
	}
	var logoType string
	if in.Logo != nil {
		var err error
		if logoType, err = checkLogo(in.Logo); err != nil {
			return PageTemplate{}, err
		}
	}
	now := s.now().UnixMicro()
	err := s.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		// One save of the tenant's templates at a time (PostgreSQL; SQLite
		// writes one at a time anyway): the count of templates and the one
		// default stay right when two owners save at once.
		var id string
		if err := tx.QueryRowContext(ctx, `SELECT id FROM tenants WHERE id = $1`+s.DB.ForUpdate(), tenantID).Scan(&id); err != nil {
			return err
		}
		if err := saveTemplateRow(ctx, tx, tenantID, in, create, now); err != nil {
			return err
		}
		if err := saveTemplateLogo(ctx, tx, tenantID, in, logoType, s.IDs.Secret(16)); err != nil {
			return err
		}
		if in.Default {
			if _, err := tx.ExecContext(ctx, `UPDATE gateway_page_templates SET is_default = FALSE
				WHERE tenant_id = $1 AND is_default AND reference <> $2`, tenantID, in.Reference); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE gateway_page_templates SET is_default = TRUE WHERE tenant_id = $1 AND reference = $2`,
				tenantID, in.Reference); err != nil {
				return err
			}
		}
		return httpx.Answer(ctx, tx, in.Reference)
	})
	if err != nil {
		if apperr.CodeOf(err) != apperr.Internal {
			return PageTemplate{}, err
		}
		return PageTemplate{}, fmt.Errorf("gateway: save page template: %w", err)
	}
	return s.PageTemplate(ctx, tenantID, in.Reference)
}

// saveTemplateRow inserts (create: refused when the reference is taken or
// the tenant has MaxPageTemplates) or updates the template's fields.
func saveTemplateRow(ctx context.Context, tx *store.Tx, tenantID string, in PageTemplateSpec, create bool, now int64) error {
	if !create {
		res, err := tx.ExecContext(ctx, `UPDATE gateway_page_templates SET header_text = $3, footer_text = $4, primary_colour = $5,
			background_colour = $6, is_default = (is_default AND $7), updated_at = $8 WHERE tenant_id = $1 AND reference = $2`,
			tenantID, in.Reference, in.HeaderText, in.FooterText, in.PrimaryColour, in.BackgroundColour, in.Default, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, MsgTemplateNotFound)
		}
		return nil
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM gateway_page_templates WHERE tenant_id = $1`, tenantID).Scan(&n); err != nil {
		return err
	}
	if n >= MaxPageTemplates {
		return apperr.InvalidField("reference", "A tenant may keep at most %d payment page templates; delete one first.", MaxPageTemplates)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO gateway_page_templates (tenant_id, reference, header_text, footer_text, primary_colour,
		background_colour, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (tenant_id, reference) DO NOTHING`,
		tenantID, in.Reference, in.HeaderText, in.FooterText, in.PrimaryColour, in.BackgroundColour, now)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return apperr.InvalidField("reference", "A payment page template with this reference exists already.")
	}
	return nil
}

// saveTemplateLogo stores the new logo (with a new id: its URL changes, so
// caches never show the old one) or removes it.
func saveTemplateLogo(ctx context.Context, tx *store.Tx, tenantID string, in PageTemplateSpec, logoType, id string) error {
	var err error
	switch {
	case in.Logo != nil:
		_, err = tx.ExecContext(ctx, `UPDATE gateway_page_templates SET logo_id = $3, logo_type = $4, logo = $5 WHERE tenant_id = $1 AND reference = $2`,
			tenantID, in.Reference, id, logoType, in.Logo)
	case in.RemoveLogo:
		_, err = tx.ExecContext(ctx, `UPDATE gateway_page_templates SET logo_id = NULL, logo_type = '', logo = NULL WHERE tenant_id = $1 AND reference = $2`,
			tenantID, in.Reference)
	}
	return err
}

// DeletePageTemplate deletes the tenant's template: jobs naming it get the
// default template from then on.
func (s *Service) DeletePageTemplate(ctx context.Context, tenantID, ref string) error {
	return s.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM gateway_page_templates WHERE tenant_id = $1 AND reference = $2`, tenantID, normPageRef(ref))
		if err != nil {
			return fmt.Errorf("gateway: delete page template: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, MsgTemplateNotFound)
		}
		return httpx.Answer(ctx, tx, ref)
	})
}

// pageTemplateExists reports whether the tenant has the template ref.
func pageTemplateExists(ctx context.Context, q store.Querier, tenantID, ref string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM gateway_page_templates WHERE tenant_id = $1 AND reference = $2`, tenantID, ref).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("gateway: page template: %w", err)
	}
	return true, nil
}

// pageBrand is what a hosted page shows of its template.
type pageBrand struct {
	Reference                      string
	Primary, OnPrimary, Background string
	Header, Footer, LogoURL        string
}

// defaultBrand is cashgate's own look.
func defaultBrand() pageBrand {
	return brandOf(PageTemplate{PrimaryColour: DefaultPrimary, BackgroundColour: DefaultBackground})
}

func brandOf(t PageTemplate) pageBrand {
	return pageBrand{Reference: t.Reference, Primary: t.PrimaryColour, OnPrimary: onColour(t.PrimaryColour), Background: t.BackgroundColour,
		Header: t.HeaderText, Footer: t.FooterText, LogoURL: t.LogoURL()}
}

// onColour is the text colour that reads on a background c (#rrggbb):
// black on light colours, white on dark ones (relative luminance).
func onColour(c string) string {
	var r, g, b int
	if _, err := fmt.Sscanf(c, "#%02x%02x%02x", &r, &g, &b); err != nil {
		return "#ffffff"
	}
	if 299*r+587*g+114*b > 150*1000 {
		return "#111111"
	}
	return "#ffffff"
}

// brandFor is the template of the tenant's hosted page for a job naming
// ref: that template, else the tenant's default, else cashgate's look.
func (s *Service) brandFor(ctx context.Context, tenantID, ref string) (pageBrand, error) {
	t, err := scanTemplate(s.DB.Read().QueryRowContext(ctx, `SELECT `+sqlTemplateCols+` FROM gateway_page_templates
		WHERE tenant_id = $1 AND (reference = $2 OR is_default) ORDER BY CASE WHEN reference = $3 THEN 0 ELSE 1 END LIMIT 1`,
		tenantID, ref, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return defaultBrand(), nil
	}
	if err != nil {
		return pageBrand{}, fmt.Errorf("gateway: page template: %w", err)
	}
	return brandOf(t), nil
}

// brandOfJob is the template a page of j renders with (cashgate's look for
// a page without a job).
func brandOfJob(j *job) pageBrand {
	if j == nil || j.brand == nil {
		return defaultBrand()
	}
	return *j.brand
}
