package wallet

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
)

// Debtor is the issuer's own bank account, which pays the payouts.
type Debtor struct {
	Name string
	IBAN string
	BIC  string
}

// Export is one pain.001 file of payouts.
type Export struct {
	BatchID string `json:"batchId"` // the file's MsgId; MarkPaid takes it
	Count   int    `json:"count"`
	Total   string `json:"total"` // EUR
	XML     []byte `json:"-"`
}

// pain.001.001.03 (ISO 20022 customer credit transfer initiation, the EPC
// SEPA credit transfer format) — only the elements a SEPA payout needs.
type painDocument struct {
	XMLName xml.Name `xml:"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03 Document"`
	Init    painInit `xml:"CstmrCdtTrfInitn"`
}

type painInit struct {
	GrpHdr painGroupHeader `xml:"GrpHdr"`
	PmtInf painPmtInf      `xml:"PmtInf"`
}

type painGroupHeader struct {
	MsgID    string    `xml:"MsgId"`
	CreDtTm  string    `xml:"CreDtTm"`
	NbOfTxs  int       `xml:"NbOfTxs"`
	CtrlSum  string    `xml:"CtrlSum"`
	InitgPty painParty `xml:"InitgPty"`
}

type painParty struct {
	Nm string `xml:"Nm"`
}

type painAccount struct {
	IBAN string `xml:"Id>IBAN"`
}

type painAgent struct {
	BIC string `xml:"FinInstnId>BIC,omitempty"`
	// Without a BIC (IBAN-only SEPA payments) the agent says NOTPROVIDED.
	Other string `xml:"FinInstnId>Othr>Id,omitempty"`
}

type painPmtInf struct {
	PmtInfID    string         `xml:"PmtInfId"`
	PmtMtd      string         `xml:"PmtMtd"`
	BtchBookg   bool           `xml:"BtchBookg"`
	NbOfTxs     int            `xml:"NbOfTxs"`
	CtrlSum     string         `xml:"CtrlSum"`
	SvcLvl      string         `xml:"PmtTpInf>SvcLvl>Cd"`
	ReqdExctnDt string         `xml:"ReqdExctnDt"`
	Dbtr        painParty      `xml:"Dbtr"`
	DbtrAcct    painAccount    `xml:"DbtrAcct"`
	DbtrAgt     painAgent      `xml:"DbtrAgt"`
	ChrgBr      string         `xml:"ChrgBr"`
	Txs         []painTransfer `xml:"CdtTrfTxInf"`
}

type painTransfer struct {
	EndToEndID string      `xml:"PmtId>EndToEndId"`
	Amt        painAmount  `xml:"Amt>InstdAmt"`
	CdtrAgt    *painAgent  `xml:"CdtrAgt,omitempty"`
	Cdtr       painParty   `xml:"Cdtr"`
	CdtrAcct   painAccount `xml:"CdtrAcct"`
	Ustrd      string      `xml:"RmtInf>Ustrd"`
}

type painAmount struct {
	Ccy   string `xml:"Ccy,attr"`
	Value string `xml:",chardata"`
}

// sepaText keeps the SEPA character set (Latin letters, digits and
// / - ? : ( ) . , ' + space), replacing anything else, and cuts to max.
func sepaText(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("/-?:().,'+ ", r):
			b.WriteRune(r)
		default:
			b.WriteByte('.')
		}
		if b.Len() >= max {
			break
		}
	}
	return strings.TrimSpace(b.String())
}

// ExportPayouts writes every requested payout (withdrawals and 2-cent
// verifications) into one pain.001 credit transfer file from the issuer's
// account and marks them exported under the file's message id. With no
// payout waiting it returns an Export with Count 0 and no XML.
func (s *Service) ExportPayouts(ctx context.Context, debtor Debtor, execution time.Time) (Export, error) {
	iban, err := ValidateIBAN("debtorIban", debtor.IBAN)
	if err != nil {
		return Export{}, err
	}
	bic, err := ValidateBIC("debtorBic", debtor.BIC)
	if err != nil {
		return Export{}, err
	}
	if strings.TrimSpace(debtor.Name) == "" {
		return Export{}, apperr.InvalidField("debtorName", "the debtor (issuer) name is required")
	}
	var out Export
	err = s.db.Transact(ctx, func(tx *store.Tx) error {
		out = Export{}
		rows, err := tx.QueryContext(ctx, `SELECT id, amount, iban, bic, beneficiary, description, reference FROM wallet_transactions
WHERE kind IN ('withdrawal', 'verification') AND status = 'requested' ORDER BY created_at, id`)
		if err != nil {
			return err
		}
		var txs []painTransfer
		var ids []string
		var total int64
		for rows.Next() {
			var id, iban, bic, name, desc, ref string
			var amount int64
			if err := rows.Scan(&id, &amount, &iban, &bic, &name, &desc, &ref); err != nil {
				rows.Close()
				return err
			}
			t := painTransfer{EndToEndID: ref, Amt: painAmount{Ccy: Currency, Value: cents(amount)},
				Cdtr: painParty{Nm: sepaText(name, 70)}, CdtrAcct: painAccount{IBAN: iban}, Ustrd: sepaText(desc, 140)}
			if bic != "" {
				t.CdtrAgt = &painAgent{BIC: bic}
			}
			txs = append(txs, t)
			ids = append(ids, id)
			total += amount
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(txs) == 0 {
			return nil
		}
		now := s.now()
		batch := "CGW" + now.Format("20060102") + s.ids.Digits(8)
		for _, id := range ids {
			if err := exec1(ctx, tx, `UPDATE wallet_transactions SET status = 'exported', batch_id = $1, updated_at = $2 WHERE id = $3 AND status = 'requested'`,
				batch, micros(now), id); err != nil {
				return err
			}
		}
		doc := painDocument{Init: painInit{
			GrpHdr: painGroupHeader{MsgID: batch, CreDtTm: now.Format("2006-01-02T15:04:05"), NbOfTxs: len(txs), CtrlSum: cents(total),
				InitgPty: painParty{Nm: sepaText(debtor.Name, 70)}},
			PmtInf: painPmtInf{PmtInfID: batch + "-1", PmtMtd: "TRF", BtchBookg: true, NbOfTxs: len(txs), CtrlSum: cents(total),
				SvcLvl: "SEPA", ReqdExctnDt: execution.In(s.cfg.Location).Format("2006-01-02"), Dbtr: painParty{Nm: sepaText(debtor.Name, 70)},
				DbtrAcct: painAccount{IBAN: iban}, DbtrAgt: painAgent{BIC: bic}, ChrgBr: "SLEV", Txs: txs},
		}}
		var buf bytes.Buffer
		buf.WriteString(xml.Header)
		enc := xml.NewEncoder(&buf)
		enc.Indent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return fmt.Errorf("wallet: pain.001: %w", err)
		}
		buf.WriteByte('\n')
		out = Export{BatchID: batch, Count: len(txs), Total: cents(total), XML: buf.Bytes()}
		return nil
	})
	return out, err
}

// Paid is the result of MarkPaid.
type Paid struct {
	Count int    `json:"count"`
	Total string `json:"total"`
}

// MarkPaid records that the bank executed the payouts of an exported batch
// (or one payout by transaction id): payouts in transit → bank clearing,
// status paid. Payouts not exported yet are a Conflict.
func (s *Service) MarkPaid(ctx context.Context, batchOrTx string) (Paid, error) {
	if batchOrTx == "" {
		return Paid{}, apperr.InvalidField("batch", "a batch id or a transaction id is required")
	}
	var out Paid
	err := s.db.Transact(ctx, func(tx *store.Tx) error {
		out = Paid{}
		rows, err := tx.QueryContext(ctx, `SELECT id, amount, status FROM wallet_transactions
WHERE kind IN ('withdrawal', 'verification') AND (batch_id = $1 OR id = $1) ORDER BY id`, batchOrTx)
		if err != nil {
			return err
		}
		type p struct {
			id, status string
			amount     int64
		}
		var ps []p
		for rows.Next() {
			var x p
			if err := rows.Scan(&x.id, &x.amount, &x.status); err != nil {
				rows.Close()
				return err
			}
			ps = append(ps, x)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ps) == 0 {
			return apperr.New(apperr.NotFound, "no payout batch or payout %q", batchOrTx)
		}
		now := micros(s.now())
		var total int64
		for _, x := range ps {
			switch x.status {
			case "paid":
				continue
			case "requested":
				return apperr.New(apperr.Conflict, "payout %s is not exported yet: export it first", x.id)
			}
			if _, err := s.ledger.Transfer(ctx, tx, ledger.TransferSpec{TenantID: LedgerScope, From: s.acct.payouts, To: s.acct.clearing,
				Currency: Currency, Amount: x.amount, Kind: "wallet.payout", Reference: x.id, Description: "SEPA payout executed"}); err != nil {
				return err
			}
			if err := exec1(ctx, tx, `UPDATE wallet_transactions SET status = 'paid', updated_at = $1 WHERE id = $2 AND status = 'exported'`, now, x.id); err != nil {
				return err
			}
			out.Count++
			total += x.amount
		}
		out.Total = cents(total)
		return nil
	})
	return out, err
}
