package wallet

import (
	"context"
	"net/http"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/webkit"
)

// detailsData is the account details page.
type detailsData struct {
	Open    bool
	Owner   bool
	Details AccountDetails
	Edit    *webkit.Form
}

func (u *officeUpgrade) details(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	u.renderDetails(w, r, a, http.StatusOK, nil)
}

// renderDetails shows the details page (f: a refused edit, else the
// current values).
func (u *officeUpgrade) renderDetails(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, status int, f *webkit.Form) {
	d := detailsData{Owner: a.Owner()}
	view := webkit.View{Title: "Account details", Data: &d, Form: webkit.NewForm(nil)}
	uid, err := u.acc.s.TenantUser(r.Context(), a.TenantID)
	if apperr.Is(err, apperr.NotFound) {
		u.acc.o.Render(w, r, a, status, u.edits, view)
		return
	}
	if err == nil {
		d.Details, err = u.acc.s.DetailsOf(r.Context(), uid)
	}
	if err != nil {
		u.acc.o.Fail(w, r, a, "account details", err)
		return
	}
	d.Open, d.Edit = true, f
	if d.Edit == nil {
		acc := d.Details.Account
		d.Edit = webkit.NewForm(map[string]string{"companyName": acc.CompanyName, "iban": acc.IBAN, "bic": acc.BIC})
	}
	u.acc.o.Render(w, r, a, status, u.edits, view)
}

// edit (owners) applies the edit (EditDetails): the bank account at once,
// its verification reset; the company name held for the operator.
func (u *officeUpgrade) edit(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	uid, ok := u.acc.corporateUser(w, r, a)
	if !ok {
		return
	}
	f := webkit.FormOf(r)
	f.Required("companyName", "iban", "bic")
	if !f.OK() {
		u.renderDetails(w, r, a, http.StatusUnprocessableEntity, f)
		return
	}
	in := DetailsEdit{CompanyName: f.Get("companyName"), IBAN: f.Get("iban"), BIC: f.Get("bic")}
	var out AccountDetails
	err := u.acc.o.Do(r, a, backoffice.Action{Name: "wallet.details", Subject: uid, Detail: "iban " + in.IBAN + ", company " + in.CompanyName},
		func(ctx context.Context) error {
			var err error
			out, err = u.acc.s.EditDetails(ctx, uid, in)
			return err
		})
	if err == nil {
		u.acc.o.Redirect(w, r, officeDetailsPath, editMessage(out))
		return
	}
	if u.acc.refusal(w, r, a, err, f, map[string]string{"companyName": "companyName", "iban": "iban", "bic": "bic"}) {
		u.renderDetails(w, r, a, http.StatusUnprocessableEntity, f)
	}
}

func editMessage(d AccountDetails) string {
	msg := ""
	if d.BankReset {
		msg = "The bank account is changed: verify it with the 2-cent transfer before the next withdrawal. "
	}
	if d.Change != nil && d.Change.Status == ChangePending {
		msg += "The new company name waits for customer service's approval."
	}
	return msg
}
