// Package browsertest starts headless Chromium for tests of browser-facing
// pages (hosted payment pages, the wallet app), driven with chromedp.
//
// The browser is Debian's chromium: CASHGATE_TEST_CHROMIUM names it, else
// "chromium" on PATH. Without one the test is skipped with a one-line
// reason, unless CASHGATE_TEST_REQUIRE_BROWSER=1 (set by scripts/test.sh and
// CI), which makes it fail.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// EnvChromium names the Chromium binary to use.
const EnvChromium = "CASHGATE_TEST_CHROMIUM"

// EnvRequireBrowser, when "1", turns a missing browser into a failure.
const EnvRequireBrowser = "CASHGATE_TEST_REQUIRE_BROWSER"

// Path returns the Chromium binary, or skips (fails under EnvRequireBrowser).
func Path(t testing.TB) string {
	t.Helper()
	p := os.Getenv(EnvChromium)
	if p == "" {
		p, _ = exec.LookPath("chromium")
	}
	if p == "" {
		if os.Getenv(EnvRequireBrowser) == "1" {
			t.Fatalf("no chromium found but %s=1: the browser tests must run (install Debian's chromium)", EnvRequireBrowser)
		}
		t.Skipf("browser test skipped: chromium not installed (set %s or install Debian's chromium)", EnvChromium)
	}
	return p
}

// New starts a headless Chromium for the test and returns a chromedp context
// for one tab (chromedp v0.23: chromedp.Do(ctx, steps…) runs actions,
// chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#id"))) returns a value). The browser is closed when the test ends. timeout bounds the
// whole test's browsing (default 60s).
func New(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), timeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	if err := chromedp.Do(tabCtx); err != nil { // start the browser now, so failures name the cause
		cancelTab()
		cancelAlloc()
		cancelTimeout()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelTimeout()
	})
	return tabCtx
}
