// Package sepa is what cashgate's products share of SEPA credit transfers:
// IBAN and BIC checks and the pain.001 file a bank executes payouts from
// (the e-wallet's withdrawals, the cashier's bank-transfer payouts).
package sepa

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/money"
)

// Currency is the currency of SEPA credit transfers.
const Currency = "EUR"

// Party is an account holder: the debtor who pays a file, or a creditor.
type Party struct {
	Name string
	IBAN string // electronic form (ValidateIBAN)
	BIC  string // "" when not given (IBAN-only SEPA)
}

// Transfer is one credit transfer of a file.
type Transfer struct {
	EndToEndID string // what the creditor's bank shows; "" → NOTPROVIDED
	Amount     int64  // EUR cents, > 0
	Creditor   Party
	Remittance string // unstructured remittance text, "" for none
}

// Batch is one pain.001 file: transfers from the debtor's account.
type Batch struct {
	MsgID     string // the file's message id (≤ 35 characters)
	Created   time.Time
	Execution string // requested execution date, YYYY-MM-DD
	Debtor    Party
	Transfers []Transfer
}

// Total is the sum of the batch's transfers.
func (b Batch) Total() int64 {
	var t int64
	for _, x := range b.Transfers {
		t += x.Amount
	}
	return t
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

// painAgent is a financial institution, identified by its BIC or, without
// one, by Othr/Id NOTPROVIDED. The optional elements are pointers or
// omitempty leaves of their own: encoding/xml writes the parents of an
// omitted "a>b" path anyway, and an empty element (<Othr></Othr>) breaks
// the schema, which makes a bank reject the whole file.
type painAgent struct {
	FinInstnID painFinInstn `xml:"FinInstnId"`
}

type painFinInstn struct {
	BIC  string     `xml:"BIC,omitempty"`
	Othr *painOther `xml:"Othr,omitempty"`
}

type painOther struct {
	ID string `xml:"Id"`
}

// agentOf identifies the agent by bic, or says NOTPROVIDED without one.
func agentOf(bic string) painAgent {
	if bic == "" {
		return painAgent{FinInstnID: painFinInstn{Othr: &painOther{ID: "NOTPROVIDED"}}}
	}
	return painAgent{FinInstnID: painFinInstn{BIC: bic}}
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
	// RmtInf is omitted without a remittance text (an empty Ustrd is invalid).
	RmtInf *painRemittance `xml:"RmtInf,omitempty"`
}

type painRemittance struct {
	Ustrd string `xml:"Ustrd"`
}

type painAmount struct {
	Ccy   string `xml:"Ccy,attr"`
	Value string `xml:",chardata"`
}

// Text keeps the SEPA character set (Latin letters, digits and
// / - ? : ( ) . , ' + space), replacing anything else by '.', and cuts to max.
func Text(s string, max int) string {
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

// cents formats EUR cents as the file writes amounts ("12.50").
func cents(v int64) string { return money.Format(money.New(v, money.MustParseCurrency(Currency))) }

// Pain001 renders the batch as a pain.001.001.03 file (XML header,
// indented, one PmtInf of SEPA transfers with the debtor bearing its
// charges, SLEV).
func Pain001(b Batch) ([]byte, error) {
	txs := make([]painTransfer, 0, len(b.Transfers))
	for _, x := range b.Transfers {
		txs = append(txs, transferOf(x))
	}
	total := cents(b.Total())
	name := Text(b.Debtor.Name, 70)
	doc := painDocument{Init: painInit{
		GrpHdr: painGroupHeader{MsgID: b.MsgID, CreDtTm: b.Created.Format("2006-01-02T15:04:05"), NbOfTxs: len(txs), CtrlSum: total,
			InitgPty: painParty{Nm: name}},
		PmtInf: painPmtInf{PmtInfID: b.MsgID + "-1", PmtMtd: "TRF", BtchBookg: true, NbOfTxs: len(txs), CtrlSum: total,
			SvcLvl: "SEPA", ReqdExctnDt: b.Execution, Dbtr: painParty{Nm: name},
			DbtrAcct: painAccount{IBAN: b.Debtor.IBAN}, DbtrAgt: agentOf(b.Debtor.BIC), ChrgBr: "SLEV", Txs: txs},
	}}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("sepa: pain.001: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// transferOf is one CdtTrfTxInf: without a BIC the creditor agent is left
// out (IBAN-only SEPA), without remittance text RmtInf.
func transferOf(x Transfer) painTransfer {
	ref := Text(x.EndToEndID, 35)
	if ref == "" {
		ref = "NOTPROVIDED"
	}
	t := painTransfer{EndToEndID: ref, Amt: painAmount{Ccy: Currency, Value: cents(x.Amount)},
		Cdtr: painParty{Nm: Text(x.Creditor.Name, 70)}, CdtrAcct: painAccount{IBAN: x.Creditor.IBAN}}
	if u := Text(x.Remittance, 140); u != "" {
		t.RmtInf = &painRemittance{Ustrd: u}
	}
	if x.Creditor.BIC != "" {
		a := agentOf(x.Creditor.BIC)
		t.CdtrAgt = &a
	}
	return t
}
