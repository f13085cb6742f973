package cashier

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"

	"github.com/cashgate/cashgate/internal/httpx"
)

// cashierDeposit submits the hosted cashier's deposit form: a 3-D Secure
// challenge is the next page; an accepted deposit completes the session;
// a bank transfer shows its instructions; a refusal shows the form again.
func (s *Service) cashierDeposit(pg *Pages) sessionPage {
	return func(w http.ResponseWriter, r *http.Request, x *session, st Settings) {
		if x.Intent != IntentDeposit || x.Status != SessionOpen {
			s.render(w, r, pg, st, http.StatusOK, s.completed(r.Context(), x))
			return
		}
		in := depositForm(r, x)
		d, err := s.deposit(httpx.WithoutAnswer(r.Context()), x.TenantID, in, ChannelCashier, Agent{}, httpx.ClientAddr(r))
		v := s.base(r.Context(), x)
		switch {
		case err == nil && d.Action != nil:
			http.Redirect(w, r, d.Action.URL, http.StatusSeeOther)
			return
		case err == nil && (d.Status == DepositCaptured || d.Status == DepositAuthorised):
			http.Redirect(w, r, "/cashier/s/"+r.PathValue("token"), http.StatusSeeOther)
			return
		case err == nil && (d.Status == DepositPending || d.Status == DepositCreated):
			s.render(w, r, pg, st, http.StatusOK, s.underWay(v, x, d))
			return
		case err == nil:
			s.render(w, r, pg, st, http.StatusOK, s.cashierForm(r.Context(), x, st, r.PathValue("token"), "The deposit was not accepted ("+reasonText(d)+"). You can try again."))
			return
		}
		s.render(w, r, pg, st, http.StatusOK, s.cashierForm(r.Context(), x, st, r.PathValue("token"), pageError(err)))
	}
}

func depositForm(r *http.Request, x *session) DepositRequest {
	f := func(k string) string { return strings.TrimSpace(r.PostForm.Get(k)) }
	in := DepositRequest{CustomerID: x.CustomerID, PSP: f("psp"), Currency: x.Currency, SessionID: x.ID}
	if x.Amount == 0 {
		in.Amount = f("amount")
	}
	switch in.PSP {
	case PSPCard:
		in.Card = &CardDetails{Number: f("number"), ExpiryMonth: f("expiryMonth"), ExpiryYear: f("expiryYear"), CVC: f("cvc"), HolderName: f("holderName")}
	case PSPWallet:
		in.Wallet = &WalletLogin{Username: f("username"), Password: r.PostForm.Get("password"), PIN: f("pin")}
	}
	return in
}

// underWay is the page of session x whose deposit d its PSP has yet to
// complete: a bank transfer's instructions (shown again whenever the
// page is opened), or the PSP's confirmation to come.
func (s *Service) underWay(v cashierView, x *session, d Deposit) cashierView {
	v.Done, v.Instructions, v.Back = true, d.Instructions, backURL(x, "deposit", d.ID, d.Status)
	v.Text = "Your deposit of " + d.Amount + " " + d.Currency + " is pending: " + pendingText(d)
	return v
}

func pendingText(d Deposit) string {
	if d.Instructions != nil {
		return "transfer the amount with the reference below."
	}
	return "its PSP confirms it shortly."
}

// sqlLiveDeposit is a session's deposit still under way
// (cashier_deposits_session, a partial index: the query names its
// condition); a session has one at most (sessionFree).
const sqlLiveDeposit = `SELECT ` + depositCols + ` FROM cashier_deposits WHERE session_id = $1 AND session_id <> ''
AND tenant_id = $2 AND status IN ('created', 'pending') LIMIT 1`

// liveDeposit is the deposit of open session x its PSP has yet to
// complete (created or pending), nil when none.
func (s *Service) liveDeposit(ctx context.Context, x *session) (*deposit, error) {
	d, err := scanDeposit(s.db.Read().QueryRowContext(ctx, sqlLiveDeposit, x.ID, x.TenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return d, err
}

func reasonText(d Deposit) string {
	if d.Reason == nil {
		return d.Status
	}
	return strings.ReplaceAll(*d.Reason, "_", " ")
}

// cashierPayout submits the hosted cashier's payout form.
func (s *Service) cashierPayout(pg *Pages) sessionPage {
	return func(w http.ResponseWriter, r *http.Request, x *session, st Settings) {
		if x.Intent != IntentPayout || x.Status != SessionOpen {
			s.render(w, r, pg, st, http.StatusOK, s.completed(r.Context(), x))
			return
		}
		f := func(k string) string { return strings.TrimSpace(r.PostForm.Get(k)) }
		in := PayoutRequest{CustomerID: x.CustomerID, PSP: f("psp"), Currency: x.Currency, SessionID: x.ID,
			Destination: Destination{IBAN: f("iban"), BIC: f("bic"), Name: f("name"), Account: f("account")}}
		if x.Amount == 0 {
			in.Amount = f("amount")
		}
		if _, err := s.requestPayout(httpx.WithoutAnswer(r.Context()), x.TenantID, in, ChannelCashier); err != nil {
			s.render(w, r, pg, st, http.StatusOK, s.cashierForm(r.Context(), x, st, r.PathValue("token"), pageError(err)))
			return
		}
		http.Redirect(w, r, "/cashier/s/"+r.PathValue("token"), http.StatusSeeOther)
	}
}

// completed is the page of a completed session: what became of its order.
func (s *Service) completed(ctx context.Context, x *session) cashierView {
	v := s.base(ctx, x)
	v.Done = true
	if x.Intent == IntentPayout {
		v.Text = "Your withdrawal request was received."
		if p, err := s.loadPayout(ctx, s.db.Read(), x.TenantID, x.ObjectID, false); err == nil {
			v.Text = "Your withdrawal request of " + format(p.Amount, p.Currency) + " " + p.Currency + " was received: it is paid once approved."
			v.Back = backURL(x, "payout", p.ID, p.Status)
		}
		return v
	}
	v.Text = "This order is paid."
	if d, err := s.loadDeposit(ctx, s.db.Read(), x.TenantID, x.ObjectID, false); err == nil {
		v.Text = "Thank you: your deposit of " + format(d.Amount, d.Currency) + " " + d.Currency + " was accepted."
		v.Back = backURL(x, "deposit", d.ID, d.Status)
	}
	return v
}
