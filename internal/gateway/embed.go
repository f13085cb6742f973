package gateway

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
)

// Embedding the hosted payment page in a merchant's page (an iframe):
//
//   - a tenant lists the parent-frame origins its pages may be embedded in
//     (settings embeddingDomains, e.g. ["https://shop.example"]; none by
//     default: the pages refuse every frame, CSP frame-ancestors 'none' and
//     X-Frame-Options DENY);
//   - a payment job may narrow them for its own page (parentFrameDomains);
//     a domain the tenant does not allow is the guide's "It is not allowed
//     to set parent frame domains for embedding the payment page.";
//   - the job's hosted page answers with CSP frame-ancestors of the job's
//     domains, or the tenant's when the job gave none — always within what
//     the tenant allows now (a domain the tenant removes stops framing the
//     pages of jobs made before).

// MsgFrameNotAllowed is the guide's refusal of parent frame domains.
var MsgFrameNotAllowed = GuideMsg{Code: "ParentFrameDomainsNotAllowed", Message: "It is not allowed to set parent frame domains for embedding the payment page."}

// maxFrameDomains bounds a list of parent-frame origins.
const maxFrameDomains = 10

// parseFrameDomains validates origins ("https://shop.example",
// "http://localhost:8081", "https://*.shop.example"): scheme http or https,
// a host, an optional port, nothing else. It returns them normalised
// (lower case, no trailing slash), without repeats.
func parseFrameDomains(field string, in []string) ([]string, error) {
	if len(in) > maxFrameDomains {
		return nil, apperr.InvalidField(field, "%s may list at most %d origins.", field, maxFrameDomains)
	}
	out := []string{}
	for _, raw := range in {
		o, ok := frameOrigin(raw)
		if !ok {
			return nil, apperr.InvalidField(field, "%s must list origins such as https://shop.example (scheme, host and port only), not %q.", field, raw)
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out, nil
}

func frameOrigin(raw string) (string, bool) {
	s := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(raw)), "/")
	wild := false
	if rest, ok := strings.CutPrefix(s, "https://*."); ok {
		s, wild = "https://"+rest, true
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" ||
		u.Fragment != "" || strings.ContainsAny(u.Host, "*;, '\"") || len(s) > 200 {
		return "", false
	}
	o := u.Scheme + "://" + u.Host
	if wild {
		o = "https://*." + u.Host
	}
	return o, true
}

// embedDomains are the parent-frame origins the tenant allows.
func embedDomains(ctx context.Context, q store.Querier, tenantID string) ([]string, error) {
	var raw string
	err := q.QueryRowContext(ctx, `SELECT embed_domains FROM gateway_settings WHERE tenant_id = $1`, tenantID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("gateway: embed domains: %w", err)
	}
	out := []string{}
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, fmt.Errorf("gateway: embed domains: %w", err)
	}
	return out, nil
}

// putEmbedDomains sets the tenant's allowed origins in tx (after its
// settings row was written); nil leaves them unchanged.
func putEmbedDomains(ctx context.Context, tx *store.Tx, tenantID string, domains *[]string) error {
	if domains == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE gateway_settings SET embed_domains = $1 WHERE tenant_id = $2`, mustJSON(*domains), tenantID); err != nil {
		return fmt.Errorf("gateway: embed domains: %w", err)
	}
	return nil
}

// jobFrameDomains checks a job's parentFrameDomains against what the
// tenant allows and returns them normalised (nil when none were given).
func (s *Service) jobFrameDomains(ctx context.Context, tenantID string, in *[]string) ([]string, error) {
	if in == nil || len(*in) == 0 {
		return nil, nil
	}
	want, err := parseFrameDomains("parentFrameDomains", *in)
	if err != nil {
		return nil, err
	}
	allowed, err := embedDomains(ctx, s.DB.Read(), tenantID)
	if err != nil {
		return nil, err
	}
	for _, d := range want {
		if !slices.Contains(allowed, d) {
			return nil, MsgFrameNotAllowed.Invalid("parentFrameDomains")
		}
	}
	return want, nil
}

// frameAncestors are the origins the hosted page of j may be framed by now:
// the job's domains (or the tenant's, when it gave none) that the tenant
// still allows.
func (s *Service) frameAncestors(ctx context.Context, j *job) ([]string, error) {
	allowed, err := embedDomains(ctx, s.DB.Read(), j.TenantID)
	if err != nil || len(j.Params.FrameDomains) == 0 {
		return allowed, err
	}
	var out []string
	for _, d := range j.Params.FrameDomains {
		if slices.Contains(allowed, d) {
			out = append(out, d)
		}
	}
	return out, nil
}

// pageCSP is the hosted page's Content-Security-Policy with its
// frame-ancestors, and whether X-Frame-Options DENY goes with it (no
// framing allowed).
func pageCSP(frames []string) (csp string, deny bool) {
	fa := "'none'"
	if len(frames) > 0 {
		fa = strings.Join(frames, " ")
	}
	return "default-src 'self'; style-src 'unsafe-inline'; form-action 'self' http: https:; frame-ancestors " + fa, len(frames) == 0
}
