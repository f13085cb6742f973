package browsertest

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Steps drives one tab through a test's steps: Run fails the test naming
// the step, Text reads an element's text, Check runs axe-core on the page
// and photographs it (Screenshotter).
type Steps struct {
	t     testing.TB
	ctx   context.Context
	shots func(name string)
}

// NewSteps drives ctx (from New). With a shotPrefix Check also takes the
// page's screenshots; with "" it does not (e.g. on the second engine,
// whose pages are the same).
func NewSteps(t testing.TB, ctx context.Context, shotPrefix string) *Steps {
	s := &Steps{t: t, ctx: ctx, shots: func(string) {}}
	if shotPrefix != "" {
		s.shots = Screenshotter(t, ctx, shotPrefix)
	}
	return s
}

// Run runs the step's actions; the test fails naming the step.
func (s *Steps) Run(step string, actions ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	if err := chromedp.Do(s.ctx, actions...); err != nil {
		s.t.Fatalf("%s: %v", step, err)
	}
}

// Text returns the text of the element sel selects, trimmed.
func (s *Steps) Text(sel string) string {
	s.t.Helper()
	v, err := chromedp.Run(s.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		s.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(v)
}

// Check fails the test for the page's accessibility violations (CheckAxe)
// and photographs it as name.
func (s *Steps) Check(name string) {
	s.t.Helper()
	CheckAxe(s.t, s.ctx, name)
	s.shots(name)
}
