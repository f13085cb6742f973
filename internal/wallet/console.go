package wallet

import (
	"embed"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/operator"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The e-wallet's section of the operator console: the operations the
// `cashgate wallet` command line has (credit a reconciled bank transfer,
// export the payouts as pain.001, mark a batch paid or returned, approve
// Corporate+ upgrades, conversion rates), as forms on one page, each
// calling the same service method as the command.

//go:embed console
var consoleTemplates embed.FS

// consolePage is the section's page with its forms.
type consolePage struct {
	svc        *Service
	kit        *webkit.Kit
	page       *webkit.Page
	reviewPage *webkit.Page // a Corporate+ request (console_review.go)
}

// ConsoleSection returns the e-wallet's pages for the operator console,
// rendered with the kit.
func (s *Service) ConsoleSection(kit *webkit.Kit) (operator.Section, error) {
	p, err := kit.Page(consoleTemplates, "console/wallet.html")
	if err != nil {
		return operator.Section{}, err
	}
	rp, err := kit.Page(consoleTemplates, "console/review.html")
	if err != nil {
		return operator.Section{}, err
	}
	c := &consolePage{svc: s, kit: kit, page: p, reviewPage: rp}
	return operator.Section{Label: "E-wallet", Path: "/operator/wallet",
		Description: "Credit bank transfers, export payouts as pain.001 and mark them paid or returned, approve Corporate+ upgrades, set conversion rates and private users' limits, manage wallet users.",
		Routes: []operator.Route{
			{Method: "GET", Path: "/operator/wallet", Summary: "e-wallet operations", Handler: c.show},
			{Method: "POST", Path: "/operator/wallet/credit", Summary: "credit a reconciled bank transfer to a wallet", Handler: c.credit},
			{Method: "POST", Path: "/operator/wallet/payouts/export", Summary: "export the requested payouts as one pain.001 file", Handler: c.export},
			{Method: "POST", Path: "/operator/wallet/payouts/paid", Summary: "mark an exported batch (or one payout) paid", Handler: c.paid},
			{Method: "POST", Path: "/operator/wallet/payouts/return", Summary: "record that the bank returned a batch (or one payout)", Handler: c.returned},
			{Method: "POST", Path: "/operator/wallet/upgrades/approve", Summary: "approve a Corporate+ upgrade", Handler: c.approve},
			{Method: "GET", Path: "/operator/wallet/upgrades/{id}", Summary: "a Corporate+ request: the company, its documents and history", Handler: c.review},
			{Method: "POST", Path: "/operator/wallet/upgrades/{id}/decide", Summary: "approve a Corporate+ request, ask for more documents or reject it", Handler: c.decide},
			{Method: "GET", Path: "/operator/wallet/documents/{id}", Summary: "download a corporate's document (as an attachment)", Handler: c.document},
			{Method: "POST", Path: "/operator/wallet/changes/{id}/decide", Summary: "approve or reject a corporate's change of company data", Handler: c.decideChange},
			{Method: "POST", Path: "/operator/wallet/rates", Summary: "set a conversion rate to EUR", Handler: c.setRate},
			{Method: "POST", Path: "/operator/wallet/rates/url", Summary: "set the URL the daily job fetches the ECB's rates from", Handler: c.setRatesURL},
			{Method: "POST", Path: "/operator/wallet/rates/fetch", Summary: "fetch the rates from the stored URL now", Handler: c.fetchRates},
			{Method: "POST", Path: "/operator/wallet/limits", Summary: "set private users' limits", Handler: c.setLimits},
			{Method: "POST", Path: "/operator/wallet/api-access", Summary: "set who may use the merchant API", Handler: c.setAPIAccess},
			{Method: "POST", Path: "/operator/wallet/users", Summary: "reset a wallet user's password or PIN, suspend, reactivate or close the account", Handler: c.userAction},
		}}, nil
}

// consoleData is the page: its tables and one form per operation.
type consoleData struct {
	Upgrades, Rates                       webkit.Table
	Changes                               []DetailChange // company data changes waiting (console_review.go)
	Change                                *webkit.Form
	Credit, Export, Paid, Return, Approve *webkit.Form
	Rate, Limits, APIAccess               *webkit.Form
	RatesURL, RatesFetch                  *webkit.Form
	RatesRuns                             webkit.Table // the daily fetch (consolerates.go)
	APIChoices                            []string
	User                                  *webkit.Form
	UserActions                           []string
	Reset                                 *CredentialReset // credentials just reset, shown this once
	LimitRows                             [][]limitField   // three to a row
}

// limitField is one input of the private limits' form.
type limitField struct{ Name, Label, Hint string }

func (c *consolePage) data(r *http.Request) (*consoleData, error) {
	ups, err := c.svc.PendingUpgrades(r.Context())
	if err != nil {
		return nil, err
	}
	rates, err := c.svc.Rates(r.Context())
	if err != nil {
		return nil, err
	}
	d := &consoleData{Credit: webkit.NewForm(nil), Export: webkit.NewForm(map[string]string{"date": c.svc.clk.Now().Format(time.DateOnly)}),
		Paid: webkit.NewForm(nil), Return: webkit.NewForm(nil), Approve: webkit.NewForm(nil), Rate: webkit.NewForm(nil)}
	l, err := c.svc.PrivateLimits(r.Context())
	if err != nil {
		return nil, err
	}
	d.Limits, d.LimitRows = webkit.NewForm(limitValues(l)), slices.Collect(slices.Chunk(limitFields(), 3))
	if err := c.ratesData(r, d); err != nil {
		return nil, err
	}
	rule, err := c.svc.APIAccessRule(r.Context())
	if err != nil {
		return nil, err
	}
	who := apiCorporatePlus
	if !rule.CorporatePlusOnly {
		who = apiEveryCorporate
	}
	d.APIAccess, d.APIChoices = webkit.NewForm(map[string]string{"who": who}), []string{apiCorporatePlus, apiEveryCorporate}
	d.User, d.UserActions = webkit.NewForm(nil), append([]string{""}, userActions...) // no action chosen at first
	d.Upgrades = upgradeTable(ups)
	if d.Changes, err = c.svc.PendingChanges(r.Context()); err != nil {
		return nil, err
	}
	d.Change = webkit.NewForm(nil)
	d.Rates = webkit.Table{Caption: "Conversion rates (1 unit = RATE EUR)", Columns: []string{"Currency", "Rate", "Date", "Source", "Updated (UTC)"}, Empty: "No rates set."}
	for _, rt := range rates {
		src := rt.Source
		if rt.Quote != "" {
			src += " (1 EUR = " + rt.Quote + " " + rt.Currency + ")"
		}
		d.Rates.Rows = append(d.Rates.Rows, []webkit.Cell{{Text: rt.Currency}, {Text: rt.Rate, Mono: true}, {Text: rt.Date}, {Text: src},
			{Text: rt.UpdatedAt.UTC().Format("2 Jan 2006 15:04")}})
	}
	return d, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (c *consolePage) render(w http.ResponseWriter, r *http.Request, s operator.Signed, status int, d *consoleData) {
	v := s.View("E-wallet operations")
	v.Data = d
	c.kit.Render(w, r, status, c.page, v)
}

func (c *consolePage) show(w http.ResponseWriter, r *http.Request, s operator.Signed) {
	d, err := c.data(r)
	if err != nil {
		s.Fail(w, r, "wallet console", err)
		return
	}
	c.render(w, r, s, http.StatusOK, d)
}

// act runs one operation's form: required fields, then do; success
// flashes its message and goes back to the section; a refusal is shown
// beside the form's fields (fields maps the service's field names to the
// form's).
func (c *consolePage) act(w http.ResponseWriter, r *http.Request, s operator.Signed, place func(*consoleData, *webkit.Form), section string,
	required []string, fields map[string]string, do func(f *webkit.Form) (string, error)) {
	f := webkit.FormOf(r)
	f.Required(required...)
	if f.OK() {
		msg, err := do(f)
		if err == nil {
			c.kit.Flash(w, r, msg)
			c.kit.Redirect(w, r, "/operator/wallet#"+section)
			return
		}
		c.failed(r, section, err, f, fields)
	}
	c.refuse(w, r, s, place, f)
}

// failed puts a refusal beside the form's fields, logging unexpected errors.
func (c *consolePage) failed(r *http.Request, section string, err error, f *webkit.Form, fields map[string]string) {
	if code := apperr.CodeOf(err); code == apperr.Internal || code == apperr.Unavailable {
		c.svc.log.ErrorContext(r.Context(), "wallet console: "+section, "err", err)
	}
	f.FailWith(err, fields)
}

// refuse shows the page again with the refused form in its place.
func (c *consolePage) refuse(w http.ResponseWriter, r *http.Request, s operator.Signed, place func(*consoleData, *webkit.Form), f *webkit.Form) {
	d, err := c.data(r)
	if err != nil {
		s.Fail(w, r, "wallet console", err)
		return
	}
	place(d, f)
	c.render(w, r, s, http.StatusUnprocessableEntity, d)
}

func (c *consolePage) credit(w http.ResponseWriter, r *http.Request, s operator.Signed) {
	c.act(w, r, s, func(d *consoleData, f *webkit.Form) { d.Credit = f }, "credit", []string{"reference", "amount", "bank_reference"},
		map[string]string{"reference": "reference", "amount": "amount", "bankReference": "bank_reference"},
		func(f *webkit.Form) (string, error) {
			tx, err := c.svc.CreditTopUp(r.Context(), TopUp{Reference: f.Get("reference"), Amount: f.Get("amount"), BankReference: f.Get("bank_reference")})
			return fmt.Sprintf("Credited %s EUR (transaction %s).", tx.Amount, tx.ID), err
		})
}

// export writes the requested payouts into one pain.001 file and sends it
// as a download (or says there was none to export).
func (c *consolePage) export(w http.ResponseWriter, r *http.Request, s operator.Signed) {
	f := webkit.FormOf(r)
	f.Required("debtor_name", "debtor_iban", "debtor_bic")
	exec := c.svc.clk.Now()
	if v := f.Get("date"); v != "" {
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			f.Fail("date", "Enter a date such as 2026-11-23.")
		}
		exec = d
	}
	if f.OK() {
		x, err := c.svc.ExportPayouts(r.Context(), Debtor{Name: f.Get("debtor_name"), IBAN: f.Get("debtor_iban"), BIC: f.Get("debtor_bic")}, exec)
		switch {
		case err == nil && x.Count == 0:
			c.kit.Flash(w, r, "No payout is waiting to be exported.")
			c.kit.Redirect(w, r, "/operator/wallet#export")
			return
		case err == nil:
			c.svc.log.InfoContext(r.Context(), "wallet console: payouts exported", "batch", x.BatchID, "count", x.Count, "operator", s.Operator.ID)
			w.Header().Set("Content-Type", "application/xml")
			w.Header().Set("Content-Disposition", `attachment; filename="pain001-`+x.BatchID+`.xml"`)
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("X-Batch-Id", x.BatchID)
			_, _ = w.Write(x.XML)
			return
		}
		c.failed(r, "export", err, f, map[string]string{"debtorName": "debtor_name", "debtorIban": "debtor_iban", "debtorBic": "debtor_bic"})
	}
	c.refuse(w, r, s, func(d *consoleData, f *webkit.Form) { d.Export = f }, f)
}

func paidMessage(verb string, p Paid) string {
	msg := fmt.Sprintf("%d payout%s (%s EUR) marked %s.", p.Count, plural(p.Count), p.Total, verb)
	if len(p.Skipped) > 0 {
		msg += fmt.Sprintf(" Left as they were: %d.", len(p.Skipped))
	}
	return msg
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (c *consolePage) paid(w http.ResponseWriter, r *http.Request, s operator.Signed) {
	c.act(w, r, s, func(d *consoleData, f *webkit.Form) { d.Paid = f }, "paid", []string{"batch"}, map[string]string{"batch": "batch"},
		func(f *webkit.Form) (string, error) {
			p, err := c.svc.MarkPaid(r.Context(), f.Get("batch"))
			return paidMessage("paid", p), err
		})
}

func (c *consolePage) returned(w http.ResponseWriter, r *http.Request, s operator.Signed) {
	c.act(w, r, s, func(d *consoleData, f *webkit.Form) { d.Return = f }, "return", []string{"return_batch", "reason"},
		map[string]string{"batch": "return_batch", "reason": "reason"},
		func(f *webkit.Form) (string, error) {
			p, err := c.svc.ReturnPayouts(r.Context(), f.Get("return_batch"), f.Get("reason"))
			return paidMessage("returned", p), err
		})
}

func (c *consolePage) approve(w http.ResponseWriter, r *http.Request, s operator.Signed) {
	c.act(w, r, s, func(d *consoleData, f *webkit.Form) { d.Approve = f }, "upgrades", []string{"corporate"}, map[string]string{},
		func(f *webkit.Form) (string, error) {
			a, err := c.svc.ApproveUpgrade(r.Context(), f.Get("corporate"), false)
			return a.CompanyName + " is Corporate+ now.", err
		})
}

func (c *consolePage) setRate(w http.ResponseWriter, r *http.Request, s operator.Signed) {
	c.act(w, r, s, func(d *consoleData, f *webkit.Form) { d.Rate = f }, "rates", []string{"currency", "rate"},
		map[string]string{"currency": "currency", "rate": "rate"},
		func(f *webkit.Form) (string, error) {
			rt, err := c.svc.SetRate(r.Context(), f.Get("currency"), f.Get("rate"))
			return fmt.Sprintf("1 %s = %s EUR.", rt.Currency, rt.Rate), err
		})
}

// limitLabels are the private limits' form labels, in LimitNames order.
var limitLabels = map[string]string{
	LimitTopUpsPerDay: "Top-ups per day", LimitTopUpPerYear: "Top-up amount per year (EUR)",
	LimitWithdrawalPerYear: "Withdrawal amount per year (EUR)", LimitPurchasesPerDay: "Purchases per day",
	LimitTransactionsPerDay: "Outgoing payments per day", LimitMaxPerTransaction: "Maximum per payment (EUR)",
	LimitWithdrawalsPerDay: "Withdrawals per day", LimitMaxWithdrawalPerTrans: "Maximum per withdrawal (EUR)",
	LimitMinPerTransaction: "Minimum per payment and withdrawal (EUR)",
}

// isAmountLimit tells the limits in EUR cents from the counts.
func isAmountLimit(name string) bool {
	switch name {
	case LimitTopUpPerYear, LimitWithdrawalPerYear, LimitMaxPerTransaction, LimitMaxWithdrawalPerTrans, LimitMinPerTransaction:
		return true
	}
	return false
}

func limitFields() []limitField {
	out := []limitField{}
	for _, n := range LimitNames() {
		h := "A number; unlimited for none."
		if isAmountLimit(n) {
			h = "EUR, e.g. 200.00; unlimited for none."
		}
		if n == LimitMinPerTransaction {
			h = "EUR, e.g. 0.20."
		}
		out = append(out, limitField{Name: n, Label: limitLabels[n], Hint: h})
	}
	return out
}

// limitValues are the form's values of l: counts, EUR amounts, "unlimited".
func limitValues(l TierLimits) map[string]string {
	m := map[string]string{}
	for _, n := range LimitNames() {
		p, _ := l.Field(n)
		switch {
		case *p == Unlimited:
			m[n] = "unlimited"
		case isAmountLimit(n):
			m[n] = cents(*p)
		default:
			m[n] = fmt.Sprint(*p)
		}
	}
	return m
}

// parseLimits reads the form's limits, failing the fields it cannot read.
func parseLimits(f *webkit.Form) TierLimits {
	var l TierLimits
	for _, n := range LimitNames() {
		p, _ := l.Field(n)
		v := strings.ToLower(f.Get(n))
		switch {
		case v == "unlimited" || v == "-1":
			*p = Unlimited
		case isAmountLimit(n):
			a, err := money.ParseDecimal(v, money.MustParseCurrency(Currency))
			if err != nil || a.Minor < 0 {
				f.Fail(n, "Enter an amount in EUR such as 200.00, or unlimited.")
			}
			*p = a.Minor
		default:
			c, err := strconv.ParseInt(v, 10, 64)
			if err != nil || c < 0 {
				f.Fail(n, "Enter a whole number, or unlimited.")
			}
			*p = c
		}
	}
	return l
}

func (c *consolePage) setLimits(w http.ResponseWriter, r *http.Request, s operator.Signed) {
	fields := map[string]string{}
	for _, n := range LimitNames() {
		fields[n] = n
	}
	f := webkit.FormOf(r)
	f.Required(LimitNames()...)
	if f.OK() {
		if l := parseLimits(f); f.OK() {
			_, err := c.svc.SetPrivateLimits(r.Context(), l)
			if err == nil {
				c.kit.Flash(w, r, "Private users' limits are set.")
				c.kit.Redirect(w, r, "/operator/wallet#limits")
				return
			}
			c.failed(r, "limits", err, f, fields)
		}
	}
	c.refuse(w, r, s, func(d *consoleData, f *webkit.Form) { d.Limits = f }, f)
}

// The choices of the merchant API's rule.
const (
	apiCorporatePlus  = "Corporate+ accounts only (the guide's table)"
	apiEveryCorporate = "Every corporate account"
)

func (c *consolePage) setAPIAccess(w http.ResponseWriter, r *http.Request, s operator.Signed) {
	f := webkit.FormOf(r)
	f.Required("who")
	who := f.Get("who")
	if f.OK() && who != apiCorporatePlus && who != apiEveryCorporate {
		f.Fail("who", "Choose one of the two.")
	}
	if f.OK() {
		_, err := c.svc.SetAPIAccessRule(r.Context(), APIAccess{CorporatePlusOnly: who == apiCorporatePlus})
		if err == nil {
			c.kit.Flash(w, r, "The merchant API is for "+strings.ToLower(who[:1])+who[1:]+" now.")
			c.kit.Redirect(w, r, "/operator/wallet#api-access")
			return
		}
		c.failed(r, "api-access", err, f, map[string]string{})
	}
	c.refuse(w, r, s, func(d *consoleData, f *webkit.Form) { d.APIAccess = f }, f)
}

// The operator's actions on a wallet user.
const (
	actResetPassword = "Reset the password"
	actResetPIN      = "Reset the PIN"
	actResetBoth     = "Reset the password and the PIN"
	actSuspend       = "Suspend"
	actReactivate    = "Reactivate"
	actClose         = "Close (zero balance only)"
)

var userActions = []string{actResetPassword, actResetPIN, actResetBoth, actSuspend, actReactivate, actClose}

// userAction runs the operator's action on a wallet user; a reset shows
// the new credentials this once, on the page answering the post.
func (c *consolePage) userAction(w http.ResponseWriter, r *http.Request, s operator.Signed) {
	f := webkit.FormOf(r)
	f.Required("username", "action")
	act, user, reason := f.Get("action"), f.Get("username"), f.Get("reason")
	if f.OK() && !slices.Contains(userActions, act) {
		f.Fail("action", "Choose one of the actions offered.")
	}
	if f.OK() && act == actSuspend && reason == "" {
		f.Fail("reason", "Say why the account is suspended.")
	}
	fields := map[string]string{"username": "username", "reason": "reason", "balance": "username", "status": "action"}
	if f.OK() {
		var err error
		var msg string
		var reset CredentialReset
		switch act {
		case actResetPassword, actResetPIN, actResetBoth:
			reset, err = c.svc.ResetCredentials(r.Context(), user, act != actResetPIN, act != actResetPassword)
		case actSuspend, actReactivate:
			st := AccountSuspended
			if act == actReactivate {
				st = AccountActive
			}
			var a AccountState
			a, err = c.svc.SetAccountStatus(r.Context(), user, st, reason)
			msg = fmt.Sprintf("The account of %s is %s.", a.Username, a.Status)
		case actClose:
			var a AccountState
			a, err = c.svc.CloseAccount(r.Context(), user, reason)
			msg = fmt.Sprintf("The account of %s is closed.", a.Username)
		}
		switch {
		case err == nil && msg != "":
			c.svc.log.InfoContext(r.Context(), "wallet console: user "+act, "user", user, "operator", s.Operator.ID)
			c.kit.Flash(w, r, msg)
			c.kit.Redirect(w, r, "/operator/wallet#users")
			return
		case err == nil:
			c.svc.log.InfoContext(r.Context(), "wallet console: credentials reset", "user", user, "operator", s.Operator.ID)
			d, derr := c.data(r)
			if derr != nil {
				s.Fail(w, r, "wallet console", derr)
				return
			}
			d.Reset = &reset
			w.Header().Set("Cache-Control", "no-store") // the page carries the credentials
			c.render(w, r, s, http.StatusOK, d)
			return
		}
		c.failed(r, "users", err, f, fields)
	}
	c.refuse(w, r, s, func(d *consoleData, f *webkit.Form) { d.User = f }, f)
}
