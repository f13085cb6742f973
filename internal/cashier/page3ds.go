package cashier

import (
	"context"
	"embed"
	"net/http"
	"net/url"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The 3-D Secure challenge page of a card deposit, /cashier/3ds/{id}?c=…
// (cashgate's simulator of the issuer's page, on the web kit): the
// customer authenticates or fails; the page then shows the outcome with a
// link back to the Platform (the deposit's returnUrl, or its session's,
// with depositId and status added to its query). Its form needs no cookie
// (the challenge's token is its credential; pagePost refuses other
// origins), so it works inside the hosted cashier's iframe.

//go:embed templates
var templates embed.FS

// Pages are the cashier's server-rendered pages.
type Pages struct {
	kit     *webkit.Kit
	threeDS *webkit.Page
	cashier *webkit.Page
}

// NewPages parses the pages on the kit.
func NewPages(kit *webkit.Kit) (*Pages, error) {
	p, err := kit.Page(templates, "templates/3ds.html")
	if err != nil {
		return nil, err
	}
	c, err := kit.Page(templates, "templates/cashier.html")
	if err != nil {
		return nil, err
	}
	return &Pages{kit: kit, threeDS: p, cashier: c}, nil
}

type challengeView struct {
	Title, Text, Amount, Currency, Card string
	Action, Challenge, Back, Merchant   string
}

// PageRoutes are the cashier's pages (API public).
func (s *Service) PageRoutes(pg *Pages) []httpx.Route {
	P := httpx.APIPublic
	return append([]httpx.Route{
		{Method: "GET", Path: "/cashier/3ds/{id}", API: P, Summary: "The 3-D Secure challenge of a card deposit (simulator)", Handler: s.show3DS(pg)},
		{Method: "POST", Path: "/cashier/3ds/{id}", API: P, Summary: "Complete or fail the 3-D Secure challenge of a card deposit",
			Handler: s.pagePost(pg, s.post3DS(pg))},
	}, s.cashierRoutes(pg)...)
}

func (s *Service) show3DS(pg *Pages) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, err := s.depositByID(r.Context(), r.PathValue("id"))
		if err != nil {
			pg.kit.Error(w, r, http.StatusNotFound, "This payment does not exist.")
			return
		}
		v := challengeView{Amount: format(d.Amount, d.Currency), Currency: d.Currency, Card: d.Payer, Action: "/cashier/3ds/" + d.ID}
		tok := r.URL.Query().Get("c")
		var n int
		err = s.db.Read().QueryRowContext(r.Context(), `SELECT COUNT(*) FROM cashier_challenges WHERE token_hash = $1 AND deposit_id = $2`,
			hashToken(tok), d.ID).Scan(&n)
		if err == nil && n == 1 {
			v.Challenge = tok
		} else {
			v = s.outcome(r.Context(), d, v)
		}
		var frames []string // framed where the tenant's hosted cashier may be
		if st, err := s.settings(r.Context(), s.db.Read(), d.TenantID); err == nil {
			frames = st.FrameAncestors
		}
		pg.kit.Render(w, r, http.StatusOK, pg.threeDS, webkit.View{Title: "3-D Secure", Data: v, FrameAncestors: frames})
	}
}

func (s *Service) post3DS(pg *Pages) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		_, _, err := s.Complete3DS(r.Context(), id, r.PostForm.Get("c"), r.PostForm.Get("result") == "success")
		if err != nil && !apperr.Is(err, apperr.NotFound) && !apperr.Is(err, apperr.Conflict) {
			s.log.ErrorContext(r.Context(), "cashier: 3-D Secure completion", "deposit", id, "err", err)
			pg.kit.Error(w, r, http.StatusInternalServerError, "Something went wrong; try again.")
			return
		}
		pg.kit.Redirect(w, r, "/cashier/3ds/"+url.PathEscape(id))
	}
}

// outcome is what the page says of a deposit past its challenge.
func (s *Service) outcome(ctx context.Context, d *deposit, v challengeView) challengeView {
	switch d.Status {
	case DepositCaptured, DepositAuthorised:
		v.Title, v.Text = "Payment accepted", "Thank you: your deposit of "+v.Amount+" "+v.Currency+" was accepted."
	case DepositPending:
		v.Title, v.Text = "Payment pending", "This authentication is over; start again from the cashier."
	default:
		v.Title, v.Text = "Payment not accepted", "Your deposit was not accepted ("+d.Status+")."
	}
	if back := s.returnURL(ctx, d); back != "" {
		if u, err := url.Parse(back); err == nil {
			q := u.Query()
			q.Set("depositId", d.ID)
			q.Set("status", d.Status)
			u.RawQuery = q.Encode()
			v.Back = u.String()
		}
		if t, err := s.tenants.Tenant(ctx, d.TenantID); err == nil {
			v.Merchant = t.Name
		}
	}
	return v
}
