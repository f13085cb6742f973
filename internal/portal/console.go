package portal

import (
	"net/http"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/operator"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The portal's section of the operator console: the go-live requests,
// pending first, each with its approve and reject forms.

// ConsoleSection is the go-live requests section for the operator console.
func (s *Service) ConsoleSection() operator.Section {
	return operator.Section{Label: "Go-live requests", Path: "/operator/go-live",
		Description: "Developers asking for a production account: approve (a production tenant is created next to their sandbox) or reject with a note.",
		Routes: []operator.Route{
			{Method: "GET", Path: "/operator/go-live", Summary: "go-live requests, pending first", Handler: s.consoleGoLives},
			{Method: "GET", Path: "/operator/go-live/{id}", Summary: "a go-live request with its approve and reject forms", Handler: s.consoleGoLive},
			{Method: "POST", Path: "/operator/go-live/{id}/approve", Summary: "approve a go-live request: the developer's production tenant", Handler: s.consoleDecide(true)},
			{Method: "POST", Path: "/operator/go-live/{id}/reject", Summary: "reject a go-live request with a note", Handler: s.consoleDecide(false)},
		}}
}

type consoleListData struct{ Pending, Decided webkit.Table }

func (s *Service) goLiveTable(caption, empty string, l []goLive) webkit.Table {
	tbl := webkit.Table{Caption: caption, Columns: []string{"Asked (UTC)", "Company", "Developer", "Website", "Status"}, Empty: empty}
	for _, g := range l {
		tbl.Rows = append(tbl.Rows, []webkit.Cell{{Text: g.CreatedAt.Format("2 Jan 2006 15:04"), Href: "/operator/go-live/" + g.ID},
			{Text: g.Company}, {Text: g.Email}, {Text: g.Website}, {Text: g.Status}})
	}
	return tbl
}

func (s *Service) consoleGoLives(w http.ResponseWriter, r *http.Request, op operator.Signed) {
	pending, err := s.queryGoLives(r.Context(), `g.status = 'pending' ORDER BY g.created_at, g.id`)
	if err != nil {
		op.Fail(w, r, "go-live requests", err)
		return
	}
	decided, err := s.queryGoLives(r.Context(), `g.status IN ('approved', 'rejected') ORDER BY g.created_at DESC, g.id LIMIT 50`) // the 50 newest
	if err != nil {
		op.Fail(w, r, "go-live requests", err)
		return
	}
	v := op.View("Go-live requests")
	v.Data = consoleListData{Pending: s.goLiveTable("Waiting for a decision", "No request is waiting.", pending),
		Decided: s.goLiveTable("Decided lately", "None yet.", decided)}
	op.Render(w, r, http.StatusOK, s.pages.consoleList, v)
}

type consoleItemData struct {
	Request                 goLive
	Admin                   string
	ApproveForm, RejectForm *webkit.Form
}

func (s *Service) consoleItem(w http.ResponseWriter, r *http.Request, op operator.Signed) (webkit.View, *consoleItemData, bool) {
	g, err := s.goLiveByID(r.Context(), r.PathValue("id"))
	if apperr.Is(err, apperr.NotFound) {
		op.Error(w, r, http.StatusNotFound, "There is no such go-live request.")
		return webkit.View{}, nil, false
	}
	if err != nil {
		op.Fail(w, r, "go-live request", err)
		return webkit.View{}, nil, false
	}
	data := &consoleItemData{Request: g, ApproveForm: webkit.NewForm(nil), RejectForm: webkit.NewForm(nil)}
	if users, err := s.plat.AdminUsers(r.Context(), g.TenantID); err == nil && len(users) > 0 {
		data.Admin = users[0].Username
	}
	v := op.View("Go-live request of " + g.Company)
	v.Data = data
	return v, data, true
}

func (s *Service) consoleGoLive(w http.ResponseWriter, r *http.Request, op operator.Signed) {
	if v, _, ok := s.consoleItem(w, r, op); ok {
		op.Render(w, r, http.StatusOK, s.pages.consoleItem, v)
	}
}

// consoleDecide approves or rejects the request.
func (s *Service) consoleDecide(approve bool) operator.Handler {
	return func(w http.ResponseWriter, r *http.Request, op operator.Signed) {
		v, data, ok := s.consoleItem(w, r, op)
		if !ok {
			return
		}
		f := webkit.FormOf(r)
		note := f.Get("note")
		if len([]rune(note)) > 500 {
			f.Fail("note", "At most 500 characters.")
		}
		var err error
		msg := "Approved: " + data.Request.Company + " has a production account."
		if f.OK() {
			if approve {
				_, err = s.ApproveGoLive(r.Context(), data.Request.ID, op.Operator.ID, note)
			} else {
				msg = "Rejected: the developer sees your note."
				err = s.RejectGoLive(r.Context(), data.Request.ID, op.Operator.ID, note)
			}
			if err == nil {
				s.kit.Flash(w, r, msg)
				s.kit.Redirect(w, r, "/operator/go-live")
				return
			}
			if apperr.Is(err, apperr.Conflict) { // decided meanwhile (another operator, a second click)
				s.kit.Flash(w, r, "Nothing changed: "+apperr.From(err).Message+".")
				s.kit.Redirect(w, r, "/operator/go-live/"+data.Request.ID)
				return
			}
			s.logUnexpected(r, "decide go-live", err)
			f.FailWith(err, map[string]string{"note": "note"})
		}
		if approve {
			data.ApproveForm = f
		} else {
			data.RejectForm = f
		}
		op.Render(w, r, http.StatusUnprocessableEntity, s.pages.consoleItem, v)
	}
}
