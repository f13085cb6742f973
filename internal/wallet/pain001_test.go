package wallet_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// xnode is any XML element, decoded generically so that the checks below
// see every element and every attribute the export wrote.
type xnode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Text     string     `xml:",chardata"`
	Children []xnode    `xml:",any"`
}

func (n xnode) child(name string) []xnode {
	var out []xnode
	for _, c := range n.Children {
		if c.XMLName.Local == name {
			out = append(out, c)
		}
	}
	return out
}

// path returns the elements at a slash-separated path below n.
func (n xnode) path(p string) []xnode {
	cur := []xnode{n}
	for _, name := range strings.Split(p, "/") {
		var next []xnode
		for _, c := range cur {
			next = append(next, c.child(name)...)
		}
		cur = next
	}
	return cur
}

func (n xnode) text(p string) string {
	ns := n.path(p)
	if len(ns) != 1 {
		return ""
	}
	return strings.TrimSpace(ns[0].Text)
}

// painElem is one child of a pain.001.001.03 complex type, in sequence
// order: its name, its type (a complex type of painSchema or a simple type
// of painSimple) and its occurrences. Min follows the EPC SEPA credit
// transfer implementation guidelines where they make an optional ISO
// element mandatory (Cdtr, CdtrAcct, the party names, the IBAN).
type painElem struct {
	name, typ string
	min, max  int
}

// painSchema is the part of the pain.001.001.03 schema a SEPA payout file
// uses. An element it does not know is an error: the test then needs the
// schema extended, deliberately.
var painSchema = map[string]struct {
	seq []painElem
	// atLeastOne: a choice-like type whose children are all optional but
	// one must be present (an agent is identified by a BIC or Othr/Id).
	atLeastOne bool
}{
	"Document":                      {seq: []painElem{{"CstmrCdtTrfInitn", "CstmrCdtTrfInitn", 1, 1}}},
	"CstmrCdtTrfInitn":              {seq: []painElem{{"GrpHdr", "GroupHeader32", 1, 1}, {"PmtInf", "PaymentInstructionInformation3", 1, -1}}},
	"GroupHeader32":                 {seq: []painElem{{"MsgId", "Max35Text", 1, 1}, {"CreDtTm", "ISODateTime", 1, 1}, {"NbOfTxs", "Max15NumericText", 1, 1}, {"CtrlSum", "DecimalNumber", 1, 1}, {"InitgPty", "PartyIdentification32", 1, 1}}},
	"PartyIdentification32":         {seq: []painElem{{"Nm", "Max70Text", 1, 1}}},
	"CashAccount16":                 {seq: []painElem{{"Id", "AccountIdentification4Choice", 1, 1}, {"Ccy", "ActiveOrHistoricCurrencyCode", 0, 1}}},
	"AccountIdentification4Choice":  {seq: []painElem{{"IBAN", "IBAN2007Identifier", 1, 1}}},
	"BranchAndFinancialInstitution": {seq: []painElem{{"FinInstnId", "FinancialInstitutionIdentification7", 1, 1}}},
	"FinancialInstitutionIdentification7": {seq: []painElem{{"BIC", "BICIdentifier", 0, 1}, {"Othr", "GenericFinancialIdentification1", 0, 1}},
		atLeastOne: true},
	"GenericFinancialIdentification1": {seq: []painElem{{"Id", "Max35Text", 1, 1}}},
	"PaymentInstructionInformation3": {seq: []painElem{{"PmtInfId", "Max35Text", 1, 1}, {"PmtMtd", "PaymentMethod3Code", 1, 1}, {"BtchBookg", "BatchBookingIndicator", 0, 1},
		{"NbOfTxs", "Max15NumericText", 0, 1}, {"CtrlSum", "DecimalNumber", 0, 1}, {"PmtTpInf", "PaymentTypeInformation19", 0, 1}, {"ReqdExctnDt", "ISODate", 1, 1},
		{"Dbtr", "PartyIdentification32", 1, 1}, {"DbtrAcct", "CashAccount16", 1, 1}, {"DbtrAgt", "BranchAndFinancialInstitution", 1, 1},
		{"ChrgBr", "ChargeBearerType1Code", 0, 1}, {"CdtTrfTxInf", "CreditTransferTransactionInformation10", 1, -1}}},
	"PaymentTypeInformation19": {seq: []painElem{{"SvcLvl", "ServiceLevel8Choice", 0, 1}}},
	"ServiceLevel8Choice":      {seq: []painElem{{"Cd", "ExternalServiceLevel1Code", 1, 1}}},
	"CreditTransferTransactionInformation10": {seq: []painElem{{"PmtId", "PaymentIdentification1", 1, 1}, {"Amt", "AmountType3Choice", 1, 1},
		{"CdtrAgt", "BranchAndFinancialInstitution", 0, 1}, {"Cdtr", "PartyIdentification32", 1, 1}, {"CdtrAcct", "CashAccount16", 1, 1},
		{"RmtInf", "RemittanceInformation5", 0, 1}}},
	"PaymentIdentification1": {seq: []painElem{{"InstrId", "Max35Text", 0, 1}, {"EndToEndId", "Max35Text", 1, 1}}},
	"AmountType3Choice":      {seq: []painElem{{"InstdAmt", "ActiveOrHistoricCurrencyAndAmount", 1, 1}}},
	// ISO allows any number of Ustrd; the EPC guidelines one.
	"RemittanceInformation5": {seq: []painElem{{"Ustrd", "Max140Text", 1, 1}}},
}

var (
	reISODateTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$`)
	reNumeric15   = regexp.MustCompile(`^[0-9]{1,15}$`)
	reDecimal     = regexp.MustCompile(`^[0-9]{1,15}(\.[0-9]{1,2})?$`) // EPC: at most 2 fraction digits, 18 digits in all
	reIBAN        = regexp.MustCompile(`^[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}$`)
	reBIC         = regexp.MustCompile(`^[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?$`)
	reCcy         = regexp.MustCompile(`^[A-Z]{3}$`)
	// The SEPA character set (EPC guidelines, 1.4).
	reSEPAText = regexp.MustCompile(`^[a-zA-Z0-9/\-?:().,'+ ]*$`)
)

// painSimple checks the value of an element of a simple type.
var painSimple = map[string]func(string) error{
	"Max35Text":        maxText(35),
	"Max70Text":        maxText(70),
	"Max140Text":       maxText(140),
	"Max15NumericText": matches(reNumeric15),
	"DecimalNumber":    matches(reDecimal),
	"ISODateTime":      matches(reISODateTime),
	"ISODate": func(v string) error {
		_, err := time.Parse("2006-01-02", v)
		return err
	},
	"IBAN2007Identifier":           matches(reIBAN),
	"BICIdentifier":                matches(reBIC),
	"ActiveOrHistoricCurrencyCode": matches(reCcy),
	"PaymentMethod3Code":           oneOf("CHK", "TRF", "TRA"),
	"BatchBookingIndicator":        oneOf("true", "false"),
	"ChargeBearerType1Code":        oneOf("DEBT", "CRED", "SHAR", "SLEV"),
	"ExternalServiceLevel1Code":    maxText(4),
	"ActiveOrHistoricCurrencyAndAmount": func(v string) error {
		if err := matches(reDecimal)(v); err != nil {
			return err
		}
		if f, _ := strconv.ParseFloat(v, 64); f < 0.01 || f > 999999999.99 {
			return fmt.Errorf("amount %s outside 0.01..999999999.99", v)
		}
		return nil
	},
}

func maxText(n int) func(string) error {
	return func(v string) error {
		if c := utf8.RuneCountInString(v); c < 1 || c > n {
			return fmt.Errorf("%d characters, want 1 to %d", c, n)
		}
		return nil
	}
}

func matches(re *regexp.Regexp) func(string) error {
	return func(v string) error {
		if !re.MatchString(v) {
			return fmt.Errorf("does not match %s", re)
		}
		return nil
	}
}

func oneOf(vs ...string) func(string) error {
	return func(v string) error {
		for _, x := range vs {
			if v == x {
				return nil
			}
		}
		return fmt.Errorf("not one of %v", vs)
	}
}

// checkPainSchema validates n, of type typ, against painSchema and
// painSimple, appending what is wrong to errs.
func checkPainSchema(n xnode, typ, at string, errs *[]string) {
	if check, ok := painSimple[typ]; ok {
		if len(n.Children) > 0 {
			*errs = append(*errs, at+": a "+typ+" has no child elements")
		}
		if err := check(strings.TrimSpace(n.Text)); err != nil {
			*errs = append(*errs, fmt.Sprintf("%s (%s) %q: %v", at, typ, n.Text, err))
		}
		if typ == "ActiveOrHistoricCurrencyAndAmount" {
			ccy := ""
			for _, a := range n.Attrs {
				if a.Name.Local == "Ccy" {
					ccy = a.Value
				}
			}
			if ccy != "EUR" {
				*errs = append(*errs, fmt.Sprintf("%s: Ccy %q, want EUR (SEPA)", at, ccy))
			}
		}
		return
	}
	ct, ok := painSchema[typ]
	if !ok {
		*errs = append(*errs, at+": no schema for type "+typ)
		return
	}
	if strings.TrimSpace(n.Text) != "" {
		*errs = append(*errs, fmt.Sprintf("%s: text %q in an element of complex type %s", at, n.Text, typ))
	}
	pos, count := 0, map[string]int{}
	for _, c := range n.Children {
		name := c.XMLName.Local
		i := pos
		for i < len(ct.seq) && ct.seq[i].name != name {
			i++
		}
		if i == len(ct.seq) {
			known := false
			for _, e := range ct.seq {
				known = known || e.name == name
			}
			if known {
				*errs = append(*errs, fmt.Sprintf("%s: %s out of sequence order", at, name))
			} else {
				*errs = append(*errs, fmt.Sprintf("%s: unexpected element %s in %s", at, name, typ))
			}
			continue
		}
		pos = i
		count[name]++
		checkPainSchema(c, ct.seq[i].typ, at+"/"+name, errs)
	}
	for _, e := range ct.seq {
		if count[e.name] < e.min {
			*errs = append(*errs, fmt.Sprintf("%s: required element %s missing", at, e.name))
		}
		if e.max > 0 && count[e.name] > e.max {
			*errs = append(*errs, fmt.Sprintf("%s: %d %s elements, at most %d", at, count[e.name], e.name, e.max))
		}
	}
	if ct.atLeastOne && len(n.Children) == 0 {
		*errs = append(*errs, fmt.Sprintf("%s: one of %v is required", at, ct.seq))
	}
}

// checkPainGeneric walks every element: none may be empty (no text and no
// children — the schema's text types have a minimum length of 1 and its
// complex types all have a required child), and all text and attribute
// values must be in the SEPA character set.
func checkPainGeneric(n xnode, at string, errs *[]string) {
	text := strings.TrimSpace(n.Text)
	if len(n.Children) == 0 && text == "" {
		*errs = append(*errs, at+": empty element")
	}
	if !reSEPAText.MatchString(text) {
		*errs = append(*errs, fmt.Sprintf("%s: %q is outside the SEPA character set", at, text))
	}
	for _, a := range n.Attrs {
		if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
			continue
		}
		if a.Value == "" || !reSEPAText.MatchString(a.Value) {
			*errs = append(*errs, fmt.Sprintf("%s@%s: %q is empty or outside the SEPA character set", at, a.Name.Local, a.Value))
		}
	}
	for _, c := range n.Children {
		checkPainGeneric(c, at+"/"+c.XMLName.Local, errs)
	}
}

// cents parses a 2-decimal amount.
func painCents(t *testing.T, s string) int64 {
	t.Helper()
	whole, frac, _ := strings.Cut(s, ".")
	frac = (frac + "00")[:2]
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		t.Fatalf("amount %q: %v", s, err)
	}
	return n
}

// validatePain001 checks a pain.001.001.03 document against the schema
// rules above, the generic rules and the totals; it returns every problem.
func validatePain001(t *testing.T, raw []byte) []string {
	t.Helper()
	var doc xnode
	if err := xml.NewDecoder(bytes.NewReader(raw)).Decode(&doc); err != nil {
		t.Fatalf("pain.001 does not parse: %v\n%s", err, raw)
	}
	var errs []string
	if doc.XMLName.Space != "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03" || doc.XMLName.Local != "Document" {
		errs = append(errs, fmt.Sprintf("root %v, want the pain.001.001.03 Document", doc.XMLName))
	}
	checkPainSchema(doc, "Document", "Document", &errs)
	checkPainGeneric(doc, "Document", &errs)

	// NbOfTxs and CtrlSum agree with the transactions, in the group header
	// and in each payment information block.
	init := doc.path("CstmrCdtTrfInitn")
	if len(init) != 1 {
		return append(errs, "no CstmrCdtTrfInitn")
	}
	var allN, allSum int64
	for i, pi := range init[0].child("PmtInf") {
		txs := pi.child("CdtTrfTxInf")
		var sum int64
		for _, tx := range txs {
			sum += painCents(t, tx.text("Amt/InstdAmt"))
		}
		allN += int64(len(txs))
		allSum += sum
		if v := pi.text("NbOfTxs"); v != "" && v != strconv.Itoa(len(txs)) {
			errs = append(errs, fmt.Sprintf("PmtInf %d: NbOfTxs %s, but %d transactions", i, v, len(txs)))
		}
		if v := pi.text("CtrlSum"); v != "" && painCents(t, v) != sum {
			errs = append(errs, fmt.Sprintf("PmtInf %d: CtrlSum %s, but the transactions sum to %d cents", i, v, sum))
		}
	}
	if v := init[0].text("GrpHdr/NbOfTxs"); v != strconv.FormatInt(allN, 10) {
		errs = append(errs, fmt.Sprintf("GrpHdr: NbOfTxs %s, but %d transactions", v, allN))
	}
	if v := init[0].text("GrpHdr/CtrlSum"); v == "" || painCents(t, v) != allSum {
		errs = append(errs, fmt.Sprintf("GrpHdr: CtrlSum %s, but the transactions sum to %d cents", v, allSum))
	}
	return errs
}

// TestPain001Valid exports payouts of every kind — a withdrawal with a
// BIC, one without (IBAN only), a beneficiary name outside the SEPA
// character set and a corporate's 2-cent verification transfer — and
// checks the file against the pain.001.001.03 rules: structure and element
// order, required elements, lengths, no empty element anywhere, the SEPA
// character set, and NbOfTxs/CtrlSum against the transactions.
func TestPain001Valid(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		long := strings.Repeat("Zoë & Jürgen Müller-Lüdenscheidt ", 3)[:70]
		for i, w := range []wallet.WalletWithdrawal{
			{Amount: "100.00", IBAN: "DE89 3704 0044 0532 0130 00", BIC: "COBADEFFXXX", Name: "Alice Example"},
			{Amount: "12.34", IBAN: "FR14 2004 1010 0505 0001 3M02 606", Name: "Zoë Ñúñez & Søn <AG>"},
			{Amount: "0.20", IBAN: "NL91 ABNA 0417 1643 00", Name: long},
		} {
			u := e.customer(fmt.Sprintf("user%d", i))
			e.topUp(u, "200.00")
			w.PIN = "1234"
			_, err := e.w.Withdraw(e.ctx, u.ID, w)
			ok(t, err)
		}
		corp := e.corporate("acme", false)
		_, err := e.w.RequestVerification(e.ctx, corp.User.ID)
		ok(t, err)

		exp, err := e.w.ExportPayouts(e.ctx, issuer, e.clk.Now())
		ok(t, err)
		if exp.Count != 4 || exp.Total != "112.56" {
			t.Fatalf("export %+v, want 4 payouts, 112.56", exp)
		}
		if errs := validatePain001(t, exp.XML); len(errs) > 0 {
			t.Fatalf("the pain.001 file breaks the pain.001.001.03 rules:\n  %s\n%s", strings.Join(errs, "\n  "), exp.XML)
		}
		if bytes.Contains(exp.XML, []byte("<Othr></Othr>")) || bytes.Contains(exp.XML, []byte("<Othr/>")) {
			t.Fatalf("empty Othr:\n%s", exp.XML)
		}
	})
}

// TestPain001Validator: the checks catch what a bank's schema validation
// would reject (guards the validator itself).
func TestPain001Validator(t *testing.T) {
	const ok = `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"><CstmrCdtTrfInitn>
<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-01-02T03:04:05</CreDtTm><NbOfTxs>1</NbOfTxs><CtrlSum>1.50</CtrlSum><InitgPty><Nm>Issuer</Nm></InitgPty></GrpHdr>
<PmtInf><PmtInfId>M1-1</PmtInfId><PmtMtd>TRF</PmtMtd><NbOfTxs>1</NbOfTxs><CtrlSum>1.50</CtrlSum><ReqdExctnDt>2026-01-02</ReqdExctnDt>
<Dbtr><Nm>Issuer</Nm></Dbtr><DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct><DbtrAgt><FinInstnId><BIC>COBADEFFXXX</BIC></FinInstnId></DbtrAgt>
<CdtTrfTxInf><PmtId><EndToEndId>E1</EndToEndId></PmtId><Amt><InstdAmt Ccy="EUR">1.50</InstdAmt></Amt><Cdtr><Nm>Bob</Nm></Cdtr>
<CdtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></CdtrAcct>OTHER</CdtTrfTxInf></PmtInf></CstmrCdtTrfInitn></Document>`
	good := strings.Replace(ok, "OTHER", "", 1)
	if errs := validatePain001(t, []byte(good)); len(errs) > 0 {
		t.Fatalf("a valid document fails: %v", errs)
	}
	for _, c := range []struct{ name, from, to string }{
		{"empty Othr", "<BIC>COBADEFFXXX</BIC>", "<BIC>COBADEFFXXX</BIC><Othr></Othr>"},
		{"agent without id", "<BIC>COBADEFFXXX</BIC>", ""},
		{"missing EndToEndId", "<EndToEndId>E1</EndToEndId>", "<InstrId>I1</InstrId>"},
		{"id too long", "<EndToEndId>E1</EndToEndId>", "<EndToEndId>" + strings.Repeat("E", 36) + "</EndToEndId>"},
		{"name too long", "<Nm>Bob</Nm>", "<Nm>" + strings.Repeat("B", 71) + "</Nm>"},
		{"Ustrd too long", "OTHER", "<RmtInf><Ustrd>" + strings.Repeat("u", 141) + "</Ustrd></RmtInf>"},
		{"empty Ustrd", "OTHER", "<RmtInf><Ustrd></Ustrd></RmtInf>"},
		{"charset", "<Nm>Bob</Nm>", "<Nm>Bøb &amp; Co</Nm>"},
		{"wrong order", "<PmtMtd>TRF</PmtMtd><NbOfTxs>1</NbOfTxs>", "<NbOfTxs>1</NbOfTxs><PmtMtd>TRF</PmtMtd>"},
		{"NbOfTxs", "<NbOfTxs>1</NbOfTxs><CtrlSum>1.50</CtrlSum><InitgPty>", "<NbOfTxs>2</NbOfTxs><CtrlSum>1.50</CtrlSum><InitgPty>"},
		{"CtrlSum", "<CtrlSum>1.50</CtrlSum><ReqdExctnDt>", "<CtrlSum>1.51</CtrlSum><ReqdExctnDt>"},
		{"PmtMtd", "<PmtMtd>TRF</PmtMtd>", "<PmtMtd>XXX</PmtMtd>"},
		{"bad IBAN", "<CdtrAcct><Id><IBAN>DE89370400440532013000", "<CdtrAcct><Id><IBAN>de89 3704"},
		{"currency", `Ccy="EUR"`, `Ccy="USD"`},
		{"no creditor", "<Cdtr><Nm>Bob</Nm></Cdtr>", ""},
		{"unknown element", "OTHER", "<Foo>x</Foo>"},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := strings.Replace(ok, c.from, c.to, 1)
			doc = strings.Replace(doc, "OTHER", "", 1)
			if doc == good {
				t.Fatal("the case changes nothing")
			}
			if errs := validatePain001(t, []byte(doc)); len(errs) == 0 {
				t.Fatal("accepted")
			}
		})
	}
}
