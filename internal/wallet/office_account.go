package wallet

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/backoffice"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The corporate wallet's back-office page (issue 10, seed 000's "Settings /
// Withdraw money", "Settings/Security/Verify bank account" and the
// Corporate+ upgrade): the wallet's balance, tier and bank account; its
// transactions with the fees deducted, filtered as the API's list is (days,
// type, status, amount range) and paged; and the account's actions, each
// the very service method of the wallet app's API (Withdraw,
// RequestVerification, VerifyBankAccount, RequestUpgrade), audited in its
// transaction through backoffice.Office.Do.
//
// Roles: every admin user sees the page; the actions are owner-only — a
// withdrawal moves the company's money out, and the bank account's
// verification and the upgrade change the account's terms with the issuer.

const (
	officeAccountPath = "/office/wallet"
	officeTxPageSize  = 25
)

// officeAccount is the page's module part.
type officeAccount struct {
	s    *Service
	o    *backoffice.Office
	page *webkit.Page
}

// withAccount adds the corporate wallet's page and actions to the wallet's
// module (OfficeModule).
func (m *office) withAccount(mod backoffice.Module) (backoffice.Module, error) {
	p, err := m.o.Page(officeFiles, "office/account.html")
	if err != nil {
		return backoffice.Module{}, err
	}
	acc := &officeAccount{s: m.s, o: m.o, page: p}
	mod.Nav = append(mod.Nav, backoffice.NavItem{Label: "Wallet", Href: officeAccountPath, Order: 30})
	mod.Routes = append(mod.Routes,
		backoffice.Route{Method: http.MethodGet, Path: officeAccountPath, Summary: "corporate wallet: balance, bank account, transactions with fees (filtered, paged)",
			Query: []string{"from", "to", "type", "status", "minAmount", "maxAmount", "cursor"}, Handler: acc.show},
		backoffice.Route{Method: http.MethodPost, Path: officeAccountPath + "/withdraw", Owner: true,
			Summary: "corporate wallet: withdraw to the verified bank account, with the wallet's PIN", Handler: acc.withdraw},
		backoffice.Route{Method: http.MethodPost, Path: officeAccountPath + "/verification", Owner: true,
			Summary: "corporate wallet: request the 2-cent transfer carrying the verification code", Handler: acc.requestCode},
		backoffice.Route{Method: http.MethodPost, Path: officeAccountPath + "/verify", Owner: true,
			Summary: "corporate wallet: enter the bank account's verification code", Handler: acc.verify},
		backoffice.Route{Method: http.MethodPost, Path: officeAccountPath + "/secret/rotate", Owner: true,
			Summary: "corporate wallet: replace the merchant secret (the old one works for a grace period); the new one is shown once", Handler: acc.rotateSecret},
		backoffice.Route{Method: http.MethodPost, Path: officeAccountPath + "/secret/revoke-previous", Owner: true,
			Summary: "corporate wallet: stop the old merchant secret now", Handler: acc.revokePrevious},
	)
	return acc.withUpgrade(mod) // office_upgrade.go: Corporate+ and the account details
}

// accountData is the page.
type accountData struct {
	Open      bool // whether the tenant has a corporate wallet
	Account   CorporateAccount
	Balance   WalletBalance
	TierLabel string
	Owner     bool
	Types     []string // the type filter's choices ("" first)
	Statuses  []string // the status filter's choices ("" first)
	Table     webkit.Table
	Older     string // the next page's link
	First     string // the first page's link, when not on it
	// Withdraw, Verify: the action forms (their values and errors).
	Withdraw, Verify *webkit.Form
	WithdrawHint     string // the fee and the limits
	Upgradable       bool
	PlusFee          string // Corporate+'s receive fee
	// The merchant secret: its last rotation and the old one's grace (in
	// the user's zone), the grace choices, and a new secret shown once.
	SecretRotated, PrevUntil string
	Graces                   []string
	Secret                   *webkit.Form
	NewSecret                string
}

// The grace choices of a rotation, as the platform keys' page offers them.
var secretGraces = map[string]time.Duration{"none": 0, "1 hour": time.Hour, "1 day": 24 * time.Hour, "7 days": MaxSecretGrace}

// filterFields are the filter form's fields, in the query string too.
var filterFields = []string{"from", "to", "type", "status", "minAmount", "maxAmount"}

func (m *officeAccount) show(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	m.render(w, r, a, http.StatusOK, nil, nil)
}

// render shows the page; wf and vf are a posted withdrawal or verification
// form to show again with its errors (nil: empty).
func (m *officeAccount) render(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, status int, wf, vf *webkit.Form) {
	m.renderWith(w, r, a, status, accountData{Withdraw: wf, Verify: vf})
}

// renderWith shows the page with d's forms (and new secret) in place.
func (m *officeAccount) renderWith(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, status int, d accountData) {
	ctx := r.Context()
	d.Owner, d.Types, d.Statuses = a.Owner(), choices(txTypes), choices(txStatuses)
	d.Graces = []string{"none", "1 hour", "1 day", "7 days"}
	if d.Secret == nil {
		d.Secret = webkit.NewForm(map[string]string{"grace": "1 day"})
	}
	if d.Withdraw == nil {
		d.Withdraw = webkit.NewForm(nil)
	}
	if d.Verify == nil {
		d.Verify = webkit.NewForm(nil)
	}
	view := webkit.View{Title: "Corporate wallet", Data: &d, Form: webkit.NewForm(nil)}
	uid, err := m.s.TenantUser(ctx, a.TenantID)
	if apperr.Is(err, apperr.NotFound) {
		m.o.Render(w, r, a, status, m.page, view)
		return
	}
	if err == nil {
		d.Account, err = m.s.CorporateOf(ctx, uid)
	}
	if err == nil {
		d.Balance, err = m.s.BalanceOf(ctx, uid)
	}
	if err != nil {
		m.o.Fail(w, r, a, "corporate wallet", err)
		return
	}
	d.Open, d.TierLabel = true, tierLabel(d.Account.Tier)
	sec, err := m.s.MerchantSecret(ctx, a.TenantID)
	if err != nil {
		m.o.Fail(w, r, a, "merchant secret", err)
		return
	}
	if sec.RotatedAt != nil {
		d.SecretRotated = a.Time(*sec.RotatedAt)
	}
	if sec.PreviousValidUntil != nil {
		d.PrevUntil = a.Time(*sec.PreviousValidUntil)
	}
	d.WithdrawHint, d.PlusFee = withdrawHint(d.Account.Tier), receiveFee(TierCorporatePlus)
	d.Upgradable = d.Account.Tier != TierCorporatePlus && d.Account.BankVerified
	f, tf := m.filter(r, a)
	view.Form = f
	d.Table = webkit.Table{Caption: "Transactions", Empty: "No transactions match.",
		Columns: []string{"When", "Type", "With", "Description", "Amount", "Fee", "Net"}}
	if f.OK() {
		page, err := m.s.Transactions(ctx, uid, tf)
		if apperr.CodeOf(err) == apperr.Invalid {
			f.FailWith(err, map[string]string{"from": "from", "to": "to", "type": "type", "status": "status",
				"minAmount": "minAmount", "maxAmount": "maxAmount"})
			if f.Message == "" {
				f.Message = "Those filters select nothing; change them."
			}
		} else if err != nil {
			m.o.Fail(w, r, a, "corporate wallet transactions", err)
			return
		}
		for _, t := range page.Transactions {
			d.Table.Rows = append(d.Table.Rows, txRow(a, t))
		}
		if page.NextCursor != "" {
			d.Older = listLink(r, page.NextCursor)
		}
		if tf.Cursor != "" {
			d.First = listLink(r, "")
		}
	}
	if !f.OK() && status == http.StatusOK {
		status = http.StatusUnprocessableEntity
	}
	m.o.Render(w, r, a, status, m.page, view)
}

func txRow(a *backoffice.Admin, t WalletTransaction) []webkit.Cell {
	money := func(v string) string { return v + " " + t.Currency }
	fee := money(t.Fee)
	if t.FeeReturned != "" {
		fee += " (" + t.FeeReturned + " of the receive fee returned)"
	}
	typ := t.Type
	if t.Status != "completed" {
		typ += " (" + t.Status + ")"
	}
	return []webkit.Cell{{Text: a.Time(t.CreatedAt)}, {Text: typ}, {Text: t.Counterparty}, {Text: t.Description},
		{Text: money(t.Amount)}, {Text: fee}, {Text: money(t.Net)}}
}

// filter reads the filter form from the query string (errors beside its
// fields): days in the admin user's time zone, "to" included; amounts in
// EUR as the API's minAmount and maxAmount.
func (m *officeAccount) filter(r *http.Request, a *backoffice.Admin) (*webkit.Form, TxFilter) {
	q := r.URL.Query()
	f := webkit.NewForm(nil)
	for _, k := range filterFields {
		f.Values.Set(k, q.Get(k))
	}
	for _, k := range append(filterFields, "cursor") {
		if httpx.CheckText(k, q.Get(k)) != nil {
			f.Fail(k, "This field holds a control character (such as a tab or a NUL), which is not accepted.")
		}
	}
	tf := TxFilter{Type: f.Get("type"), Status: f.Get("status"), Cursor: q.Get("cursor"), Limit: officeTxPageSize}
	if tf.Type != "" && !txTypes[tf.Type] {
		f.Fail("type", "Choose one of the types offered.")
	}
	if tf.Status != "" && !txStatuses[tf.Status] {
		f.Fail("status", "Choose one of the statuses offered.")
	}
	day := func(name string) *time.Time {
		s := f.Get(name)
		if s == "" {
			return nil
		}
		t, err := time.ParseInLocation(time.DateOnly, s, a.Location())
		if err != nil {
			f.Fail(name, "Enter a date such as 2026-11-21.")
			return nil
		}
		return &t
	}
	tf.From, tf.To = day("from"), day("to")
	if tf.To != nil {
		next := tf.To.AddDate(0, 0, 1) // the whole day
		tf.To = &next
	}
	if tf.From != nil && tf.To != nil && !tf.From.Before(*tf.To) {
		f.Fail("to", "The last day must not be before the first.")
	}
	for _, x := range []struct {
		name string
		dst  *int64
	}{{"minAmount", &tf.MinAmount}, {"maxAmount", &tf.MaxAmount}} {
		if v := f.Get(x.name); v != "" {
			c, err := ParseEUR(x.name, v)
			if err != nil || c <= 0 {
				f.Fail(x.name, "Enter an amount in EUR, such as 12.50.")
				continue
			}
			*x.dst = c
		}
	}
	if tf.MinAmount > 0 && tf.MaxAmount > 0 && tf.MinAmount > tf.MaxAmount {
		f.Fail("maxAmount", "The largest amount must not be less than the smallest.")
	}
	return f, tf
}

// listLink is the page's address with its filters and the cursor ("" =
// the first page).
func listLink(r *http.Request, cursor string) string {
	q := url.Values{}
	for _, k := range filterFields {
		if v := r.URL.Query().Get(k); v != "" {
			q.Set(k, v)
		}
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if len(q) == 0 {
		return officeAccountPath
	}
	return officeAccountPath + "?" + q.Encode()
}

// choices are a set's members sorted, after "" (any).
func choices(set map[string]bool) []string {
	out := []string{}
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return append([]string{""}, out...)
}

// withdrawHint says what a withdrawal costs and how much the tier allows.
func withdrawHint(t Tier) string {
	l := LimitsOf(t)
	h := "The fee is " + eur(FeesOf(t).Withdraw) + ", taken from the wallet on top of the amount; at least " + eur(l.MinPerTransaction)
	if l.MaxWithdrawalPerTrans != Unlimited {
		h += ", at most " + eur(l.MaxWithdrawalPerTrans)
	}
	return h + fmt.Sprintf(", %d a day.", l.WithdrawalsPerDay)
}

// receiveFee is a tier's fee on money received, e.g. "1.0 % + 0.15 EUR".
func receiveFee(t Tier) string {
	f := FeesOf(t)
	return fmt.Sprintf("%d.%d %% + %s", f.ReceiveBasisPoints/100, f.ReceiveBasisPoints%100/10, eur(f.ReceiveFixed))
}

func tierLabel(t Tier) string {
	if t == TierCorporatePlus {
		return "Corporate+"
	}
	return "Corporate"
}

// corporateUser is the tenant's corporate wallet user; false (with the
// error page shown) when there is none.
func (m *officeAccount) corporateUser(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) (string, bool) {
	uid, err := m.s.TenantUser(r.Context(), a.TenantID)
	if apperr.Is(err, apperr.NotFound) {
		m.o.Error(w, r, a, http.StatusConflict, "This business has no corporate wallet yet: open it with POST /platform/wallet/corporate.")
		return "", false
	}
	if err != nil {
		m.o.Fail(w, r, a, "corporate wallet", err)
		return "", false
	}
	return uid, true
}

// withdraw (owners) withdraws to the verified bank account with the
// wallet's PIN: the wallet app API's Withdraw (its limits, its fee, one
// transaction with the audit row). A wrong PIN is refused beside the PIN
// field, and recorded in the audit log on its own.
func (m *officeAccount) withdraw(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	uid, ok := m.corporateUser(w, r, a)
	if !ok {
		return
	}
	f := webkit.FormOf(r)
	f.Required("amount", "pin")
	amount, pin := f.Get("amount"), f.Raw("pin")
	if f.OK() {
		if _, err := ParseEUR("amount", amount); err != nil {
			f.Fail("amount", "Enter the amount in EUR, such as 25.00.")
		}
	}
	if !f.OK() {
		f.Clear("pin")
		m.render(w, r, a, http.StatusUnprocessableEntity, f, nil)
		return
	}
	act := backoffice.Action{Name: "wallet.withdraw", Subject: uid, Detail: amount + " EUR"}
	var made WalletTransaction
	err := m.o.Do(r, a, act, func(ctx context.Context) error {
		var err error
		made, err = m.s.Withdraw(ctx, uid, WalletWithdrawal{Amount: amount, PIN: pin})
		return err
	})
	if err == nil {
		m.o.Redirect(w, r, officeAccountPath, "Withdrawal "+made.ID+" of "+made.Amount+" EUR requested (fee "+made.Fee+" EUR); it leaves with the next SEPA file.")
		return
	}
	e := apperr.From(err)
	if e.Field == "pin" || e.Code == apperr.Forbidden { // a wrong PIN, or the lock it caused
		m.audit(r, a, backoffice.Action{Name: "wallet.withdraw.refused", Subject: uid, Detail: amount + " EUR: " + e.Message})
	}
	if !m.refusal(w, r, a, err, f, map[string]string{"pin": "pin", "amount": "amount"}) {
		return
	}
	switch { // refusals without a field, beside the field they are about
	case e.Field != "":
	case e.Code == apperr.Forbidden, e.Code == apperr.Unauthenticated: // the PIN locked the wallet
		f.Errors["pin"], f.Message = upperFirstWord(e.Message), ""
	case e.Code == apperr.LimitExceeded, e.Code == apperr.InsufficientFunds:
		f.Errors["amount"], f.Message = upperFirstWord(e.Message), ""
	}
	f.Clear("pin")
	m.render(w, r, a, http.StatusUnprocessableEntity, f, nil)
}

// audit records a refused attempt in a transaction of its own (the
// refusal changed nothing the audit row could commit with).
func (m *officeAccount) audit(r *http.Request, a *backoffice.Admin, act backoffice.Action) {
	ctx := context.WithoutCancel(r.Context())
	if err := m.s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		return m.o.Record(ctx, tx, r, a, act)
	}); err != nil {
		m.s.log.ErrorContext(ctx, "wallet: office audit", "action", act.Name, "err", err)
	}
}

// refusal puts an action's refusal on the form; false when it was an
// unexpected failure (the error page is shown).
func (m *officeAccount) refusal(w http.ResponseWriter, r *http.Request, a *backoffice.Admin, err error, f *webkit.Form, fields map[string]string) bool {
	switch apperr.CodeOf(err) {
	case apperr.Internal, apperr.Unavailable, "":
		m.o.Fail(w, r, a, "corporate wallet action", err)
		return false
	}
	f.FailWith(err, fields)
	return true
}

// requestCode (owners) has the issuer send the 2-cent transfer carrying
// the verification code (the API's RequestVerification).
func (m *officeAccount) requestCode(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	uid, ok := m.corporateUser(w, r, a)
	if !ok {
		return
	}
	err := m.o.Do(r, a, backoffice.Action{Name: "wallet.verification", Subject: uid}, func(ctx context.Context) error {
		_, err := m.s.RequestVerification(ctx, uid)
		return err
	})
	if err == nil {
		m.o.Redirect(w, r, officeAccountPath, "A 0.02 EUR transfer with the verification code in its reference is on its way to the bank account; enter the code when it arrives.")
		return
	}
	f := webkit.NewForm(nil)
	if m.refusal(w, r, a, err, f, nil) {
		m.render(w, r, a, http.StatusUnprocessableEntity, nil, f)
	}
}

// verify (owners) checks the code of the 2-cent transfer (the API's
// VerifyBankAccount); a wrong code is refused beside the field.
func (m *officeAccount) verify(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	uid, ok := m.corporateUser(w, r, a)
	if !ok {
		return
	}
	f := webkit.FormOf(r)
	f.Required("code")
	if !f.OK() {
		m.render(w, r, a, http.StatusUnprocessableEntity, nil, f)
		return
	}
	code := f.Get("code")
	err := m.o.Do(r, a, backoffice.Action{Name: "wallet.verify", Subject: uid}, func(ctx context.Context) error {
		_, err := m.s.VerifyBankAccount(ctx, uid, code)
		return err
	})
	if err == nil {
		m.o.Redirect(w, r, officeAccountPath, "The bank account is verified.")
		return
	}
	if apperr.From(err).Field == "code" {
		m.audit(r, a, backoffice.Action{Name: "wallet.verify.refused", Subject: uid, Detail: apperr.From(err).Message})
	}
	if m.refusal(w, r, a, err, f, map[string]string{"code": "code"}) {
		f.Clear("code")
		m.render(w, r, a, http.StatusUnprocessableEntity, nil, f)
	}
}

// rotateSecret (owners) replaces the merchant secret (RotateMerchantSecret,
// the API's and the CLI's method) and shows the new one this once; the old
// one keeps working for the grace chosen.
func (m *officeAccount) rotateSecret(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	if _, ok := m.corporateUser(w, r, a); !ok {
		return
	}
	f := webkit.FormOf(r)
	f.Required("grace")
	grace, known := secretGraces[f.Get("grace")]
	if f.OK() && !known {
		f.Fail("grace", "Choose one of the grace periods offered.")
	}
	if !f.OK() {
		m.renderWith(w, r, a, http.StatusUnprocessableEntity, accountData{Secret: f})
		return
	}
	var rot MerchantSecretRotation
	err := m.o.Do(r, a, backoffice.Action{Name: "wallet.secret.rotate", Subject: a.TenantID, Detail: "grace " + f.Get("grace")}, func(ctx context.Context) error {
		var err error
		rot, err = m.s.RotateMerchantSecret(ctx, a.TenantID, grace)
		return err
	})
	if m.o.Refused(w, r, a, "wallet.secret.rotate", err) {
		return
	}
	w.Header().Set("Cache-Control", "no-store") // the page carries the secret
	m.renderWith(w, r, a, http.StatusOK, accountData{NewSecret: rot.MerchantSecret})
}

// revokePrevious (owners) stops the old merchant secret before its grace
// ends (RevokePreviousSecret).
func (m *officeAccount) revokePrevious(w http.ResponseWriter, r *http.Request, a *backoffice.Admin) {
	if _, ok := m.corporateUser(w, r, a); !ok {
		return
	}
	err := m.o.Do(r, a, backoffice.Action{Name: "wallet.secret.revoke_previous", Subject: a.TenantID}, func(ctx context.Context) error {
		_, err := m.s.RevokePreviousSecret(ctx, a.TenantID)
		return err
	})
	if err == nil {
		m.o.Redirect(w, r, officeAccountPath+"#secret", "The old merchant secret no longer works.")
		return
	}
	m.o.Refused(w, r, a, "wallet.secret.revoke_previous", err)
}
