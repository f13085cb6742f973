package sepa_test

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/sepa"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestValidateIBAN(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string // err: a part of the refusal's message
	}{
		{"DE89370400440532013000", "DE89370400440532013000", ""},
		{"de89 3704 0044 0532 0130 00", "DE89370400440532013000", ""},
		{"GB82WEST12345698765432", "GB82WEST12345698765432", ""},
		{"FR1420041010050500013M02606", "FR1420041010050500013M02606", ""},
		{"NO9386011117947", "NO9386011117947", ""},
		{"DE89370400440532013001", "", "mod-97"},
		{"DE8937040044053201300", "", "has 22 characters, not 21"},
		{"US12345678901234567890", "", "not in the SEPA area"},
		{"DE00370400440532013000", "", "check digits 00"},
		{"DEXX370400440532013000", "", "two check digits"},
		{"DE89-370400440532013000", "", "letters and digits only"},
		{"DE8", "", "is not an IBAN"},
		{"", "", "is not an IBAN"},
	} {
		got, err := sepa.ValidateIBAN("iban", tc.in)
		if tc.err == "" {
			if err != nil || got != tc.want {
				t.Errorf("ValidateIBAN(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			continue
		}
		if apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ValidateIBAN(%q) = %q, %v; want an invalid-field error naming %q", tc.in, got, err, tc.err)
		}
	}
}

func TestValidateBIC(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"COBADEFFXXX", "COBADEFFXXX", true},
		{" cobadeff ", "COBADEFF", true},
		{"DEUTDEDB123", "DEUTDEDB123", true},
		{"COBADEF", "", false},
		{"COBADEFFXX", "", false},
		{"C0BADEFF", "", false}, // a digit in the bank code
		{"COBAD3FF", "", false}, // a digit in the country code
		{"COBADEF-", "", false}, // not a letter or digit
		{"COBADEFFX-X", "", false},
	} {
		got, err := sepa.ValidateBIC("bic", tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("ValidateBIC(%q) = %q, %v; want %q (ok %t)", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("ValidateBIC(%q): %v is not an invalid-field error", tc.in, err)
		}
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"Acme Ltd.", 70, "Acme Ltd."},
		{"Müller & Söhne", 70, "M.ller . S.hne"},
		{"a\x00b\nc", 70, "a.b.c"},
		{"  padded  ", 70, "padded"},
		{"abcdefghij", 4, "abcd"},
		{"Zürich", 3, "Z.r"},
		{"wd_01", 70, "wd.01"}, // the EPC character set has no underscore
	} {
		if got := sepa.Text(tc.in, tc.max); got != tc.want {
			t.Errorf("Text(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

// TestPain001 renders a batch (one transfer with a BIC and remittance, one
// IBAN-only without either) and compares it with the golden file; the file
// parses back with the counts and control sums a bank checks.
func TestPain001(t *testing.T) {
	b := sepa.Batch{
		MsgID: "CG-20261204-0001", Created: time.Date(2026, 12, 4, 9, 30, 0, 0, time.UTC), Execution: "2026-12-07",
		Debtor: sepa.Party{Name: "Acme Ltd", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"},
		Transfers: []sepa.Transfer{
			{EndToEndID: "WD-0001", Amount: 12_50, Creditor: sepa.Party{Name: "Ann Smith", IBAN: "GB82WEST12345698765432", BIC: "NWBKGB2L"},
				Remittance: "Payout WD-0001 – thank you"},
			{Amount: 1_000_00, Creditor: sepa.Party{Name: "Bärbel Groß", IBAN: "FR1420041010050500013M02606"}},
		},
	}
	got, err := sepa.Pain001(b)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "pain001.xml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("pain.001 differs from %s (go test -update to rewrite):\n%s", golden, got)
	}
	var doc struct {
		Hdr struct {
			NbOfTxs int    `xml:"NbOfTxs"`
			CtrlSum string `xml:"CtrlSum"`
		} `xml:"CstmrCdtTrfInitn>GrpHdr"`
		Txs []struct {
			E2E string `xml:"PmtId>EndToEndId"`
			Amt string `xml:"Amt>InstdAmt"`
		} `xml:"CstmrCdtTrfInitn>PmtInf>CdtTrfTxInf"`
	}
	if err := xml.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Hdr.NbOfTxs != 2 || doc.Hdr.CtrlSum != "1012.50" || len(doc.Txs) != 2 ||
		doc.Txs[0].E2E != "WD-0001" || doc.Txs[0].Amt != "12.50" || doc.Txs[1].E2E != "NOTPROVIDED" || doc.Txs[1].Amt != "1000.00" {
		t.Fatalf("parsed back: %+v", doc)
	}
	if b.Total() != 1_012_50 {
		t.Fatalf("Total = %d", b.Total())
	}
}
