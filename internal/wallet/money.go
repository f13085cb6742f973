package wallet

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// SendSpec is a send from the logged-in user to another user.
type WalletSend struct {
	To          string `json:"to"`     // the recipient's username
	Amount      string `json:"amount"` // EUR, e.g. "5.00"
	Description string `json:"description,omitempty"`
}

// Send moves money from a user's wallet to another user's: the sender pays
// the send fee on top (0.25 € to a private user, 0.50 € to a corporate),
// a corporate recipient pays its receive fee, and the sender's
// per-transaction and daily limits apply.
func (s *Service) Send(ctx context.Context, userID string, spec WalletSend) (WalletTransaction, error) {
	t, _, err := s.send(ctx, userID, spec)
	return t, err
}

// send is Send returning also the transaction's JSON (the HTTP response and
// the event's data are these same bytes).
//
// The hot path is lean on purpose: everything that needs no lock runs
// before the transaction, in the caller's goroutine — parsing, reading both
// parties (the sender usually comes with the request's session, see
// Authenticate), the fees, the ids and the event's JSON — so that the
// transaction, which SQLite runs in its one committer, only counts the
// limits (a guarded upsert, none for unlimited tiers), posts the entry (the
// ledger's guarded balance updates refuse an overdraft), inserts the wallet
// transaction and writes the event.
//
// Reading the parties outside the transaction is safe because what a send
// uses of them never changes (id, kind, ledger account, tenant) except the
// tier, which only ever goes up (Corporate → Corporate+): a send that read
// the tier just before an upgrade committed applies the old, stricter
// limits and the old receive fee, exactly as if it had been ordered before
// the upgrade. Every limit is still enforced inside the transaction.
func (s *Service) send(ctx context.Context, userID string, spec WalletSend) (WalletTransaction, []byte, error) {
	amount, err := ParseEUR("amount", spec.Amount)
	if err != nil {
		return WalletTransaction{}, nil, err
	}
	desc := strings.TrimSpace(spec.Description)
	if err := checkText("description", desc, 0, 140); err != nil {
		return WalletTransaction{}, nil, err
	}
	if strings.TrimSpace(spec.To) == "" {
		return WalletTransaction{}, nil, apperr.InvalidField("to", "to (the recipient's username) is required")
	}
	from, ok := sessionUser(ctx, userID)
	if !ok {
		if from, err = s.userByID(ctx, s.db.Read(), userID); err != nil {
			return WalletTransaction{}, nil, err
		}
	}
	to, err := s.userByName(ctx, s.db.Read(), "to", spec.To)
	if err != nil {
		return WalletTransaction{}, nil, err
	}
	if to.ID == from.ID {
		return WalletTransaction{}, nil, apperr.InvalidField("to", "cannot send money to yourself")
	}
	if err := active("the wallet", from); err != nil {
		return WalletTransaction{}, nil, err
	}
	if err := active("the recipient", to); err != nil {
		return WalletTransaction{}, nil, err
	}
	if err := s.checkSides(ctx, s.db.Read(), from, to, amount); err != nil {
		return WalletTransaction{}, nil, err
	}
	rfee := int64(0)
	if to.Kind == KindCorporate {
		if rfee, err = ReceiveFee(to.Tier, amount); err != nil {
			return WalletTransaction{}, nil, err
		}
	}
	d := desc
	if d == "" {
		d = "Send from " + from.Username + " to " + to.Username
	}
	now := s.now()
	m := movement{id: s.txID(now), kind: "send", from: from, to: to, amount: amount, senderFee: SendFee(from.Tier, to.Kind), recipientFee: rfee,
		description: d, tenantID: to.TenantID, now: now}
	if m.tenantID == "" {
		m.tenantID = from.TenantID
	}
	out := WalletTransaction{ID: m.id, Type: "send", Status: "completed", Direction: "out", Counterparty: to.Username,
		Amount: cents(amount), Fee: cents(m.senderFee), Net: cents(-(amount + m.senderFee)), Currency: Currency, Description: d,
		CreatedAt: now, UpdatedAt: now, SenderFee: cents(m.senderFee), RecipientFee: cents(rfee), amountCents: amount}
	body, err := json.Marshal(out)
	if err != nil {
		return WalletTransaction{}, nil, err
	}
	ev := txEvent(m.tenantID, m.id, body)
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := s.useOutgoing(ctx, tx, from, amount, false, now); err != nil {
			return err
		}
		if err := s.move(ctx, tx, m); err != nil {
			return err
		}
		s.receiving(tx, "the recipient", to.ID, false, nil)
		if _, err := s.outbox.Emit(ctx, tx, ev); err != nil {
			return err
		}
		// The answer commits with the send (httpx.Reply contract).
		return httpx.ReplyRaw(ctx, tx, httpx.Response{Status: http.StatusCreated, ContentType: "application/json", Body: append(body[:len(body):len(body)], '\n')})
	})
	if err != nil {
		return WalletTransaction{}, nil, err
	}
	return out, body, nil
}

// txEvent is the event of a completed movement with its data already
// encoded: to the corporate tenant involved (its webhooks), or to the
// issuer scope.
func txEvent(tenantID, txID string, data []byte) outbox.Event {
	if tenantID == "" {
		tenantID = LedgerScope
	}
	return outbox.Event{TenantID: tenantID, Type: EventTransaction, Subject: txID, Data: json.RawMessage(data)}
}

// emitTx writes the event of a completed movement: to the corporate
// tenant involved (its webhooks), or to the issuer scope.
func (s *Service) emitTx(ctx context.Context, tx *store.Tx, tenantID string, t WalletTransaction) error {
	if tenantID == "" {
		tenantID = LedgerScope
	}
	_, err := s.outbox.Emit(ctx, tx, outbox.Event{TenantID: tenantID, Type: EventTransaction, Subject: t.ID, Data: t})
	return err
}

// ---- top-ups ----

// TopUp is an incoming bank transfer credited to a wallet.
type TopUp struct {
	Reference     string `json:"reference"`     // the wallet's top-up reference quoted on the transfer (CGW…)
	Amount        string `json:"amount"`        // EUR
	BankReference string `json:"bankReference"` // the bank's id of the transfer: crediting it twice is refused
}

// CreditTopUp credits a reconciled bank transfer to the wallet whose top-up
// reference it quotes (bank clearing → wallet, free), within the top-up
// limits. The same bank reference is never credited twice (Conflict).
func (s *Service) CreditTopUp(ctx context.Context, in TopUp) (WalletTransaction, error) {
	amount, err := parseAmount("amount", in.Amount, Currency)
	if err != nil {
		return WalletTransaction{}, err
	}
	bankRef := strings.TrimSpace(in.BankReference)
	if err := checkText("bankReference", bankRef, 1, 64); err != nil {
		return WalletTransaction{}, err
	}
	var out WalletTransaction
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM wallet_users WHERE topup_ref = $1`, strings.ToUpper(strings.TrimSpace(in.Reference))))
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.InvalidField("reference", "no wallet has the top-up reference %q", in.Reference)
		}
		if err != nil {
			return err
		}
		out, err = s.topUp(ctx, tx, u, amount, bankRef)
		return err
	})
	return out, err
}

// topUp credits an incoming bank transfer to u's wallet in its currency:
// bank clearing → wallet, both in that currency (made when first needed).
// Every top-up counts towards the daily number of top-ups; the yearly
// amount limit is in EUR and counts EUR top-ups.
func (s *Service) topUp(ctx context.Context, tx *store.Tx, u user, a money.Amount, bankRef string) (WalletTransaction, error) {
	var dup int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM wallet_transactions WHERE kind = 'topup' AND reference = $1`, bankRef).Scan(&dup); err != nil {
		return WalletTransaction{}, err
	}
	if dup > 0 {
		return WalletTransaction{}, &apperr.Error{Code: apperr.Conflict, Field: "bankReference", Message: fmt.Sprintf("bank transfer %s was credited already", bankRef)}
	}
	now := s.now()
	code := a.Currency.Code()
	if err := s.useTopUp(ctx, tx, u, a, now); err != nil {
		return WalletTransaction{}, err
	}
	from, err := s.clearingIn(ctx, tx, code)
	if err != nil {
		return WalletTransaction{}, err
	}
	to, err := s.accountIn(ctx, tx, u, code)
	if err != nil {
		return WalletTransaction{}, err
	}
	id := s.txID(now)
	entryID, err := s.ledger.Transfer(ctx, tx, ledger.TransferSpec{TenantID: LedgerScope, From: from, To: to,
		Currency: code, Amount: a.Minor, Kind: "wallet.topup", Reference: id, Description: "Top-up by bank transfer " + bankRef})
	if err != nil {
		return WalletTransaction{}, err
	}
	s.receiving(tx, "the wallet", u.ID, true, func(err error) error {
		if apperr.Is(err, apperr.Forbidden) {
			return apperr.New(apperr.Forbidden, "%s: return the transfer to its sender", apperr.From(err).Message)
		}
		return err
	})
	if _, err := tx.ExecContext(ctx, `INSERT INTO wallet_transactions (id, kind, status, tenant_id, from_user, to_user, amount, currency, description, reference, entry_id, created_at, updated_at)
VALUES ($1, 'topup', 'completed', $2, '', $3, $4, $5, $6, $7, $8, $9, $9)`, id, u.TenantID, u.ID, a.Minor, code, "Top-up by bank transfer", bankRef, entryID, micros(now)); err != nil {
		return WalletTransaction{}, err
	}
	t, err := s.transaction(ctx, tx, u.ID, id)
	if err != nil {
		return WalletTransaction{}, err
	}
	return t, s.emitTx(ctx, tx, u.TenantID, t)
}

// SandboxTopUps reports whether private users may simulate incoming
// transfers (installation setting "sandbox_topups"; corporates follow their
// tenant's mode).
func (s *Service) SandboxTopUps(ctx context.Context) (bool, error) {
	var v string
	err := s.db.Read().QueryRowContext(ctx, `SELECT value FROM wallet_settings WHERE name = 'sandbox_topups'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return v == "true", err
}

// SetSandboxTopUps turns simulated top-ups for private users on or off.
func (s *Service) SetSandboxTopUps(ctx context.Context, on bool) error {
	return s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO wallet_settings (name, value) VALUES ('sandbox_topups', $1)
ON CONFLICT (name) DO UPDATE SET value = excluded.value`, fmt.Sprint(on))
		return err
	})
}

// SimulateTopUp is the sandbox's incoming bank transfer: a corporate of a
// sandbox tenant, or a private user when sandbox top-ups are on. The
// amount is in currency (any internal/money supports; "" is EUR), credited
// to the wallet's balance in it.
func (s *Service) SimulateTopUp(ctx context.Context, userID, amount, currency string) (WalletTransaction, error) {
	if strings.TrimSpace(currency) == "" {
		currency = Currency
	}
	a, err := parseAmount("amount", amount, currency)
	if err != nil {
		return WalletTransaction{}, err
	}
	u, err := s.userByID(ctx, s.db.Read(), userID)
	if err != nil {
		return WalletTransaction{}, err
	}
	allowed := false
	if u.Kind == KindCorporate {
		t, err := s.tenants.Tenant(ctx, u.TenantID)
		if err != nil {
			return WalletTransaction{}, err
		}
		allowed = t.Mode == "sandbox"
	} else if allowed, err = s.SandboxTopUps(ctx); err != nil {
		return WalletTransaction{}, err
	}
	if !allowed {
		return WalletTransaction{}, apperr.New(apperr.Forbidden, "simulated top-ups are for sandboxes; transfer money to the issuer's bank account quoting your top-up reference %s", u.TopUpRef)
	}
	var out WalletTransaction
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		if out, err = s.topUp(ctx, tx, u, a, "SIM-"+s.ids.Secret(8)); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusCreated, out) // the answer commits with the top-up
	})
	return out, err
}

// ---- withdrawals ----

// WithdrawSpec is a withdrawal to a SEPA account, confirmed with the PIN.
type WalletWithdrawal struct {
	Amount string `json:"amount"`
	// IBAN, BIC and Name of the beneficiary: private users only; a
	// corporate withdraws to its verified bank account.
	IBAN string `json:"iban,omitempty"`
	BIC  string `json:"bic,omitempty"`
	Name string `json:"name,omitempty"`
	PIN  string `json:"pin"`
}

// Withdraw requests a SEPA payout: the amount and the 2 € fee leave the
// wallet at once (amount to payouts in transit, fee to revenue); the payout
// is exported in the next pain.001 file and marked paid by the operator.
func (s *Service) Withdraw(ctx context.Context, userID string, spec WalletWithdrawal) (WalletTransaction, error) {
	amount, err := ParseEUR("amount", spec.Amount)
	if err != nil {
		return WalletTransaction{}, err
	}
	u, err := s.userByID(ctx, s.db.Read(), userID)
	if err != nil {
		return WalletTransaction{}, err
	}
	if err := active("the wallet", u); err != nil {
		return WalletTransaction{}, err
	}
	var iban, bic, name string
	if u.Kind == KindCorporate {
		if spec.IBAN != "" || spec.BIC != "" {
			return WalletTransaction{}, apperr.InvalidField("iban", "a corporate withdraws to its verified bank account only; leave iban and bic out")
		}
		c, err := s.corporateOf(ctx, s.db.Read(), "tenant_id", u.TenantID)
		if err != nil {
			return WalletTransaction{}, err
		}
		if !c.BankVerified {
			return WalletTransaction{}, apperr.New(apperr.Conflict, "verify your bank account first: request the verification code (a 2-cent transfer) and enter it")
		}
		iban, bic, name = c.IBAN, c.BIC, c.CompanyName
	} else {
		if iban, err = ValidateIBAN("iban", spec.IBAN); err != nil {
			return WalletTransaction{}, err
		}
		if spec.BIC != "" {
			if bic, err = ValidateBIC("bic", spec.BIC); err != nil {
				return WalletTransaction{}, err
			}
		}
		name = strings.TrimSpace(spec.Name)
		if err := checkText("name", name, 1, 70); err != nil {
			return WalletTransaction{}, err
		}
	}
	if err := s.checkPIN(ctx, userID, spec.PIN); err != nil {
		return WalletTransaction{}, err
	}
	var out WalletTransaction
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		now := s.now()
		if err := s.useWithdrawal(ctx, tx, u, amount, now); err != nil {
			return err
		}
		fee := FeesOf(u.Tier).Withdraw
		id := s.txID(now)
		entryID, err := s.ledger.Post(ctx, tx, ledger.Entry{TenantID: LedgerScope, Kind: "wallet.withdrawal", Reference: id,
			Description: "Withdrawal to " + iban, Postings: []ledger.Posting{
				{AccountID: u.AccountID, Currency: Currency, Amount: -(amount + fee)},
				{AccountID: s.acct.payouts, Currency: Currency, Amount: amount},
				{AccountID: s.acct.fees, Currency: Currency, Amount: fee},
			}})
		if apperr.Is(err, apperr.InsufficientFunds) {
			return apperr.New(apperr.InsufficientFunds, "insufficient funds: %s plus the %s withdrawal fee is more than the wallet's available balance", cents(amount), cents(fee))
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO wallet_transactions (id, kind, status, tenant_id, from_user, to_user, amount, sender_fee, description,
reference, iban, bic, beneficiary, entry_id, created_at, updated_at) VALUES ($1, 'withdrawal', 'requested', $2, $3, '', $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)`,
			id, u.TenantID, u.ID, amount, fee, "Withdrawal to "+iban, endToEndID(id), iban, bic, name, entryID, micros(now)); err != nil {
			return err
		}
		out, err = s.transaction(ctx, tx, u.ID, id)
		if err != nil {
			return err
		}
		if err := s.emitTx(ctx, tx, u.TenantID, out); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusCreated, out) // the answer commits with the withdrawal
	})
	return out, err
}

// endToEndID is the SEPA end-to-end id of a payout: the transaction id
// without its underscore, which the SEPA character set (letters, digits and
// / - ? : ( ) . , ' + space) does not have and banks reject; at most 35
// characters. MarkPaid and ReturnPayouts accept it in place of the
// transaction id, as the bank's reports quote it.
func endToEndID(txID string) string {
	id := strings.ReplaceAll(txID, "_", "")
	if len(id) > 35 {
		return id[:35]
	}
	return id
}

// ---- corporate bank account verification and upgrade ----

// Corporate is a corporate account's settings as its user sees them.
type CorporateAccount struct {
	TenantID      string `json:"tenantId"`
	MerchantID    string `json:"merchantId"`
	AccountNumber string `json:"accountNumber"` // the corporate wallet's
	CompanyName   string `json:"companyName"`
	Tier          Tier   `json:"tier"`
	IBAN          string `json:"iban"`
	BIC           string `json:"bic"`
	BankVerified  bool   `json:"bankVerified"`
	UpgradeStatus string `json:"upgradeStatus"` // none, requested, approved
}

// CorporateOf returns a corporate user's account settings.
func (s *Service) CorporateOf(ctx context.Context, userID string) (CorporateAccount, error) {
	return s.corporateAccount(ctx, s.db.Read(), userID)
}

// corporateAccount is CorporateOf read through q.
func (s *Service) corporateAccount(ctx context.Context, q store.Querier, userID string) (CorporateAccount, error) {
	u, err := s.userByID(ctx, q, userID)
	if err != nil {
		return CorporateAccount{}, err
	}
	if u.Kind != KindCorporate {
		return CorporateAccount{}, apperr.New(apperr.Forbidden, "only corporate accounts have these settings")
	}
	c, err := s.corporateOf(ctx, q, "tenant_id", u.TenantID)
	if err != nil {
		return CorporateAccount{}, err
	}
	return CorporateAccount{TenantID: c.TenantID, MerchantID: c.MerchantID, AccountNumber: u.AccountNumber, CompanyName: c.CompanyName, Tier: u.Tier, IBAN: c.IBAN, BIC: c.BIC,
		BankVerified: c.BankVerified, UpgradeStatus: c.UpgradeStatus}, nil
}

// verificationAmount is the 2-cent transfer that carries the code.
const verificationAmount = 2

// MaxVerificationsPerDay bounds the 2-cent verification transfers a
// corporate may ask for in a day: each one is the issuer's money and a
// SEPA transfer the issuer's bank charges for, so an account (or a page
// forging its clicks) must not be able to order them without end.
const MaxVerificationsPerDay = 3

// LimitVerificationsPerDay names the refusal of a verification transfer
// past MaxVerificationsPerDay.
const LimitVerificationsPerDay = "verifications_per_day"

// RequestVerification sends 0.02 € to the corporate's bank account with a
// verification code in the reference (exported in the next pain.001 like a
// withdrawal; paid by the issuer). It returns the payout's transaction; the
// code itself only travels in the transfer.
func (s *Service) RequestVerification(ctx context.Context, userID string) (WalletTransaction, error) {
	u, err := s.userByID(ctx, s.db.Read(), userID)
	if err != nil {
		return WalletTransaction{}, err
	}
	if u.Kind != KindCorporate {
		return WalletTransaction{}, apperr.New(apperr.Forbidden, "only corporate accounts verify a bank account")
	}
	code := s.ids.Digits(6)
	h, err := s.hash(code)
	if err != nil {
		return WalletTransaction{}, err
	}
	var out WalletTransaction
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		c, err := s.corporateOf(ctx, tx, "tenant_id", u.TenantID)
		if err != nil {
			return err
		}
		if c.BankVerified {
			return apperr.New(apperr.Conflict, "the bank account is verified already")
		}
		now := s.now()
		if err := s.use(ctx, tx, u.ID, s.day(now), metricVerifications, verificationAmount, MaxVerificationsPerDay, Unlimited, func() error {
			return limitErr(LimitVerificationsPerDay, u.Tier, MaxVerificationsPerDay,
				"at most %d verification transfers per day: enter the code of the last one, or ask again tomorrow", MaxVerificationsPerDay)
		}, func() error { return nil }); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE wallet_corporates SET verify_code_hash = $1, verify_failures = 0 WHERE tenant_id = $2`, h, c.TenantID); err != nil {
			return err
		}
		id := s.txID(now)
		entryID, err := s.ledger.Transfer(ctx, tx, ledger.TransferSpec{TenantID: LedgerScope, From: s.acct.expenses, To: s.acct.payouts,
			Currency: Currency, Amount: verificationAmount, Kind: "wallet.verification", Reference: id, Description: "Bank account verification " + c.IBAN})
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO wallet_transactions (id, kind, status, tenant_id, from_user, to_user, amount, description,
reference, iban, bic, beneficiary, entry_id, created_at, updated_at) VALUES ($1, 'verification', 'requested', $2, '', $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
			id, c.TenantID, u.ID, verificationAmount, "cashgate verification code "+code, endToEndID(id), c.IBAN, c.BIC, c.CompanyName, entryID, micros(now)); err != nil {
			return err
		}
		if out, err = s.transaction(ctx, tx, u.ID, id); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusCreated, out) // the answer commits with the transfer
	})
	return out, err
}

// VerifyBankAccount checks the code of the 2-cent transfer. Five wrong
// codes void it; request a new one then.
func (s *Service) VerifyBankAccount(ctx context.Context, userID, code string) (CorporateAccount, error) {
	code = strings.TrimSpace(code)
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return CorporateAccount{}, apperr.InvalidField("code", "the verification code has 6 digits")
	}
	u, err := s.userByID(ctx, s.db.Read(), userID)
	if err != nil {
		return CorporateAccount{}, err
	}
	c, err := s.corporateOf(ctx, s.db.Read(), "tenant_id", u.TenantID)
	if err != nil || u.Kind != KindCorporate {
		return CorporateAccount{}, apperr.New(apperr.Forbidden, "only corporate accounts verify a bank account")
	}
	if c.BankVerified {
		return s.CorporateOf(ctx, userID)
	}
	if c.VerifyCodeHash == "" || c.VerifyFailures >= s.cfg.MaxPINFailures {
		return CorporateAccount{}, apperr.New(apperr.Conflict, "request a verification code first")
	}
	// Count the attempt before hashing, as for PINs.
	if err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		return exec1(ctx, tx, `UPDATE wallet_corporates SET verify_failures = verify_failures + 1 WHERE tenant_id = $1 AND verify_failures < $2`, c.TenantID, s.cfg.MaxPINFailures)
	}); err != nil {
		return CorporateAccount{}, apperr.New(apperr.Conflict, "too many wrong codes: request a new verification code")
	}
	ok, err := s.verify(c.VerifyCodeHash, code)
	if err != nil {
		return CorporateAccount{}, err
	}
	if !ok {
		return CorporateAccount{}, apperr.InvalidField("code", "wrong verification code")
	}
	var out CorporateAccount
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE wallet_corporates SET bank_verified = $1, verify_code_hash = '', verify_failures = 0 WHERE tenant_id = $2`, true, c.TenantID); err != nil {
			return err
		}
		if out, err = s.corporateAccount(ctx, tx, userID); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusOK, out) // the answer commits with the verification
	})
	return out, err
}

// UpgradeRequests lists corporates waiting for Corporate+.
func (s *Service) UpgradeRequests(ctx context.Context) ([]CorporateAccount, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT c.tenant_id, c.merchant_id, COALESCE(u.account_number, ''), c.company_name, u.tier, c.iban, c.bic, c.bank_verified, c.upgrade_status
FROM wallet_corporates c JOIN wallet_users u ON u.id = c.user_id WHERE c.upgrade_status = 'requested' ORDER BY c.upgrade_requested_at`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []CorporateAccount{}
	for rows.Next() {
		var c CorporateAccount
		if err := rows.Scan(&c.TenantID, &c.MerchantID, &c.AccountNumber, &c.CompanyName, &c.Tier, &c.IBAN, &c.BIC, &c.BankVerified, &c.UpgradeStatus); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ApproveUpgrade makes a corporate (tenant id or merchant id) Corporate+.
// Without a pending request it is a Conflict unless force is set (an
// operator upgrading directly, e.g. after an offline document check).
func (s *Service) ApproveUpgrade(ctx context.Context, tenantOrMerchant string, force bool) (CorporateAccount, error) {
	var userID string
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		c, err := scanCorp(tx.QueryRowContext(ctx, `SELECT `+corpCols+` FROM wallet_corporates WHERE tenant_id = $1 OR merchant_id = $1`, tenantOrMerchant))
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.New(apperr.NotFound, "no corporate account %q", tenantOrMerchant)
		}
		if err != nil {
			return err
		}
		if c.UpgradeStatus != "requested" && !force {
			return apperr.New(apperr.Conflict, "corporate %s has not requested Corporate+ (upgrade status %s)", c.MerchantID, c.UpgradeStatus)
		}
		userID = c.UserID
		if _, err := tx.ExecContext(ctx, `UPDATE wallet_corporates SET upgrade_status = 'approved' WHERE tenant_id = $1`, c.TenantID); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `UPDATE wallet_users SET tier = 'corporate_plus' WHERE id = $1`, c.UserID); err != nil {
			return err
		}
		return s.closeOpenUpgrade(ctx, tx, c.TenantID, force)
	})
	if err != nil {
		return CorporateAccount{}, err
	}
	return s.CorporateOf(ctx, userID)
}
