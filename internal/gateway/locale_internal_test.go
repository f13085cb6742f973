package gateway

import (
	"regexp"
	"testing"
)

// TestPageTextsTranslated: German and French translate the same texts, and
// every text the hosted page template says (.L.T / .L.Tf literals), so no
// label is left in English on a German or French page.
func TestPageTextsTranslated(t *testing.T) {
	for k := range germanText {
		if _, ok := frenchText[k]; !ok {
			t.Errorf("French lacks %q", k)
		}
	}
	for k := range frenchText {
		if _, ok := germanText[k]; !ok {
			t.Errorf("German lacks %q", k)
		}
	}
	b, err := files.ReadFile("templates/page.html")
	if err != nil {
		t.Fatal(err)
	}
	pp, err := files.ReadFile("templates/paypal.html") // the PayPal simulator
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, pp...)
	lits := regexp.MustCompile(`\.L\.Tf? "([^"]+)"`).FindAllStringSubmatch(string(b), -1)
	if len(lits) < 12 {
		t.Fatalf("only %d texts found in the template", len(lits))
	}
	for _, m := range lits {
		for name, text := range map[string]map[string]string{"German": germanText, "French": frenchText} {
			if _, ok := text[m[1]]; !ok {
				t.Errorf("%s lacks the template's %q", name, m[1])
			}
		}
	}
	for _, s := range []string{"Payment", "Pay by card", "3-D Secure", "Payment link", "Payment completed", "Payment cancelled",
		msgPageExpired, msgPageNoCards, MsgPageNotFound.Message, MsgJobFinal.Message, "This payment link has expired.",
		MsgCardRejected.Message, MsgMethodNotAllowed.Message, "Unknown PayPal result."} {
		if germanText[s] == "" {
			t.Errorf("no German for %q", s)
		}
	}
	if l := langOf("de_CH"); l != pageLangs[1] {
		t.Errorf("de_CH: %v", l.tag)
	}
	if l := langOf("pt_BR"); l != pageLangs[0] {
		t.Errorf("pt_BR: %v", l.tag)
	}
}
