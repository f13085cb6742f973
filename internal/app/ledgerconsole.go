package app

import (
	"embed"
	"fmt"
	"net/http"
	"time"

	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/operator"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The operator console's ledger page: the last ledger check's report (the
// daily job's or one run from the page) with its violations listed.

//go:embed console
var consoleTemplates embed.FS

type ledgerPage struct {
	a    *App
	kit  *webkit.Kit
	page *webkit.Page
}

type ledgerData struct {
	Ran, OK    bool
	When, Took string
	Report     ledger.CheckReport
}

func (a *App) ledgerSection(kit *webkit.Kit) (operator.Section, error) {
	p, err := kit.Page(consoleTemplates, "console/ledger.html")
	if err != nil {
		return operator.Section{}, err
	}
	lp := &ledgerPage{a: a, kit: kit, page: p}
	return operator.Section{Label: "Ledger", Path: "/operator/ledger",
		Description: "The last ledger check: do the books balance, and what it found if not; run it now.",
		Routes: []operator.Route{
			{Method: "GET", Path: "/operator/ledger", Summary: "the last ledger check", Handler: lp.show},
			{Method: "POST", Path: "/operator/ledger/check", Summary: "run the ledger check now", Handler: lp.run},
		}}, nil
}

func (p *ledgerPage) show(w http.ResponseWriter, r *http.Request, s operator.Signed) {
	rep, ok, err := ledger.LastCheck(r.Context(), p.a.DB)
	if err != nil {
		s.Fail(w, r, "last ledger check", err)
		return
	}
	d := ledgerData{Ran: ok, OK: rep.OK(), Report: rep}
	if ok {
		d.When = rep.StartedAt.UTC().Format("2 Jan 2006 15:04:05")
		d.Took = "under 1ms"
		if took := time.Duration(rep.Duration * float64(time.Second)).Round(time.Millisecond); took > 0 {
			d.Took = took.String()
		}
	}
	v := s.View("Ledger check")
	v.Data = d
	p.kit.Render(w, r, http.StatusOK, p.page, v)
}

func (p *ledgerPage) run(w http.ResponseWriter, r *http.Request, s operator.Signed) {
	rep, err := p.a.CheckLedger(r.Context())
	if err != nil {
		s.Fail(w, r, "ledger check", err)
		return
	}
	msg := "The books balance."
	if !rep.OK() {
		msg = fmt.Sprintf("The check found %d invariant violations.", len(rep.Violations))
		p.a.Log.ErrorContext(r.Context(), "ledger check (operator console) found invariant violations", "operator", s.Operator.Username, "violations", rep.Violations)
	}
	p.kit.Flash(w, r, msg)
	p.kit.Redirect(w, r, "/operator/ledger")
}
