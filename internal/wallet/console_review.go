package wallet

import (
	"net/http"
	"strconv"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/operator"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The operator's review of Corporate+ requests and of held company data
// changes in the console's e-wallet section: the list of requests (on the
// section's page), one request with its documents (downloaded as
// attachments, never shown inline) and its history, and the decisions,
// each one transaction in the service with its review log row.

const consoleWallet = "/operator/wallet"

// upgradeTable lists the open requests, each linked to its review page.
func upgradeTable(ups []UpgradeReview) webkit.Table {
	t := webkit.Table{Caption: "Corporate+ requests", Empty: "No corporate is waiting.",
		Columns: []string{"Company", "Merchant ID", "Status", "Documents", "Bank account verified", "Since (UTC)"}}
	for _, u := range ups {
		t.Rows = append(t.Rows, []webkit.Cell{{Text: u.CompanyName, Href: consoleWallet + "/upgrades/" + u.ID}, {Text: u.MerchantID, Mono: true},
			{Text: statusLabel(u.Status)}, {Text: strconv.Itoa(u.DocumentCount)}, {Text: yesNo(u.BankVerified)}, {Text: u.UpdatedAt.Format("2 Jan 2006 15:04")}})
	}
	return t
}

func statusLabel(s string) string {
	switch s {
	case UpgradePending:
		return "waiting for the operator"
	case UpgradeMoreDocuments:
		return "more documents asked for"
	}
	return s
}

// reviewData is a request's review page.
type reviewData struct {
	Review    UpgradeReview
	Status    string
	Documents webkit.Table
	History   webkit.Table
	Decide    *webkit.Form
	Actions   []string
}

func (c *consolePage) review(w http.ResponseWriter, r *http.Request, s operator.Signed) {
	c.renderReview(w, r, s, http.StatusOK, webkit.NewForm(map[string]string{"action": ""}))
}

func (c *consolePage) renderReview(w http.ResponseWriter, r *http.Request, s operator.Signed, status int, f *webkit.Form) {
	v, err := c.svc.UpgradeReviewOf(r.Context(), r.PathValue("id"))
	if apperr.Is(err, apperr.NotFound) {
		s.Error(w, r, http.StatusNotFound, "There is no such Corporate+ request.")
		return
	}
	if err != nil {
		s.Fail(w, r, "wallet console: upgrade review", err)
		return
	}
	d := &reviewData{Review: v, Status: statusLabel(v.Status), Decide: f, Actions: []string{"approve", "more_documents", "reject"}}
	d.Documents = webkit.Table{Caption: "Documents", Empty: "No document.", Columns: []string{"Kind", "File", "Type", "Size", "Uploaded (UTC)", "SHA-256"}}
	for _, doc := range v.Documents {
		d.Documents.Rows = append(d.Documents.Rows, []webkit.Cell{{Text: doc.KindLabel}, {Text: doc.Filename, Href: consoleWallet + "/documents/" + doc.ID},
			{Text: typeWord(doc.ContentType)}, {Text: sizeText(doc.Size)}, {Text: doc.CreatedAt.Format("2 Jan 2006 15:04")}, {Text: doc.SHA256[:16] + "…", Mono: true}})
	}
	d.History = webkit.Table{Caption: "History", Empty: "Nothing yet.", Columns: []string{"When (UTC)", "What", "Who", "Message"}}
	for _, e := range v.History {
		d.History.Rows = append(d.History.Rows, []webkit.Cell{{Text: e.At.Format("2 Jan 2006 15:04:05")}, {Text: e.Action}, {Text: e.Actor}, {Text: e.Detail}})
	}
	view := s.View("Corporate+ request")
	view.Data = d
	c.kit.Render(w, r, status, c.reviewPage, view)
}

// decide applies the operator's decision (DecideUpgrade); a request
// decided meanwhile is refused on the page.
func (c *consolePage) decide(w http.ResponseWriter, r *http.Request, s operator.Signed) {
	f := webkit.FormOf(r)
	f.Required("action")
	id := r.PathValue("id")
	if f.OK() {
		v, err := c.svc.DecideUpgrade(r.Context(), id, UpgradeDecision{Action: f.Get("action"), Message: f.Get("message"), Operator: s.Operator.Username})
		if err == nil {
			c.svc.log.InfoContext(r.Context(), "wallet console: upgrade decided", "request", id, "status", v.Status, "operator", s.Operator.ID)
			c.kit.Flash(w, r, decisionMessage(v))
			c.kit.Redirect(w, r, consoleWallet+"#upgrades")
			return
		}
		if apperr.Is(err, apperr.NotFound) {
			s.Error(w, r, http.StatusNotFound, "There is no such Corporate+ request.")
			return
		}
		c.failed(r, "upgrades", err, f, map[string]string{"action": "action", "message": "message"})
	}
	c.renderReview(w, r, s, http.StatusUnprocessableEntity, f)
}

func decisionMessage(v UpgradeReview) string {
	switch v.Status {
	case UpgradeApproved:
		return v.CompanyName + " is Corporate+ now."
	case UpgradeMoreDocuments:
		return v.CompanyName + " is asked for more documents."
	}
	return v.CompanyName + "'s request is rejected."
}

// document sends a document's bytes as an attachment of the type sniffed
// at the upload, never rendered by the browser.
func (c *consolePage) document(w http.ResponseWriter, r *http.Request, s operator.Signed) {
	d, data, err := c.svc.DocumentFile(r.Context(), r.PathValue("id"))
	if apperr.Is(err, apperr.NotFound) {
		s.Error(w, r, http.StatusNotFound, "There is no such document.")
		return
	}
	if err != nil {
		s.Fail(w, r, "wallet console: document", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", d.ContentType)
	h.Set("Content-Disposition", `attachment; filename="`+d.ID+documentExt(d.ContentType)+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

func documentExt(ctype string) string {
	switch ctype {
	case "application/pdf":
		return ".pdf"
	case "image/png":
		return ".png"
	}
	return ".jpg"
}

// decideChange approves or rejects a held company data change.
func (c *consolePage) decideChange(w http.ResponseWriter, r *http.Request, s operator.Signed) {
	f := webkit.FormOf(r)
	f.Required("decision")
	if dec := f.Get("decision"); f.OK() && dec != "approve" && dec != "reject" {
		f.Fail("decision", "Approve or reject the change.")
		f.Message = "Approve or reject the change."
	}
	if f.OK() {
		ch, err := c.svc.DecideChange(r.Context(), r.PathValue("id"), f.Get("decision") == "approve", f.Get("reason"), s.Operator.Username)
		if err == nil {
			msg := "The company name " + ch.CompanyName + " is applied."
			if ch.Status == ChangeRejected {
				msg = "The change to " + ch.CompanyName + " is rejected."
			}
			c.kit.Flash(w, r, msg)
			c.kit.Redirect(w, r, consoleWallet+"#changes")
			return
		}
		c.failed(r, "changes", err, f, nil)
		if e := apperr.From(err); e.Field != "" {
			f.Message = upperFirstWord(e.Message)
		}
	}
	c.refuse(w, r, s, func(d *consoleData, f *webkit.Form) { d.Change = f }, f)
}
