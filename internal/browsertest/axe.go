package browsertest

import (
	"context"
	_ "embed" // axe.min.js
	"fmt"
	"strings"

	"github.com/chromedp/chromedp"
)

// axe.min.js is axe-core (MPL-2.0, see axe.LICENSE), vendored at the
// version scripts/vendor-web.sh pins. It is compiled into tests only.
//
//go:embed axe.min.js
var axeSource string

// Violation is an axe-core rule the page breaks.
type Violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"` // minor, moderate, serious, critical
	Help   string `json:"help"`
	Nodes  []struct {
		Target []string `json:"target"`
		HTML   string   `json:"html"`
	} `json:"nodes"`
}

func (v Violation) String() string {
	var nodes []string
	for _, n := range v.Nodes {
		nodes = append(nodes, strings.Join(n.Target, " ")+": "+n.HTML)
	}
	return fmt.Sprintf("%s (%s): %s\n    %s", v.ID, v.Impact, v.Help, strings.Join(nodes, "\n    "))
}

// Axe runs axe-core on the tab's current page (evaluated through the
// DevTools protocol, so a page's script-src 'none' does not stop it) and
// returns the violations of impact serious or critical.
func Axe(ctx context.Context) ([]Violation, error) {
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
		return nil, fmt.Errorf("load axe-core: %w", err)
	}
	all, err := chromedp.Run(ctx, chromedp.Evaluate[[]Violation](
		`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations)`, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("run axe-core: %w", err)
	}
	var out []Violation
	for _, v := range all {
		if v.Impact == "serious" || v.Impact == "critical" {
			out = append(out, v)
		}
	}
	return out, nil
}

// CheckAxe fails the test for every serious or critical violation of the
// current page, named by page.
func CheckAxe(t interface {
	Helper()
	Errorf(string, ...any)
}, ctx context.Context, page string) {
	t.Helper()
	vs, err := Axe(ctx)
	if err != nil {
		t.Errorf("%s: %v", page, err)
		return
	}
	for _, v := range vs {
		t.Errorf("%s: accessibility: %s", page, v)
	}
}
