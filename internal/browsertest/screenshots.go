package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// EnvScreenshots names the directory browser tests write their screenshots
// to (nothing is written when it is unset).
const EnvScreenshots = "CASHGATE_SCREENSHOTS"

// Screenshotter returns a function that writes full-page PNGs of the tab's
// current page, prefix-name-desktop.png (1280 wide) and -phone.png (390
// wide, as a phone), into $CASHGATE_SCREENSHOTS; it does nothing when that
// is unset. The viewport is 1280 wide again afterwards.
func Screenshotter(t testing.TB, ctx context.Context, prefix string) func(name string) {
	dir := os.Getenv(EnvScreenshots)
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return func(name string) {
		t.Helper()
		if dir == "" {
			return
		}
		for _, vp := range []struct {
			label         string
			width, height int64
			mobile        bool
		}{{"desktop", 1280, 900, false}, {"phone", 390, 844, true}} {
			opts := []chromedp.EmulateViewportOption{}
			if vp.mobile { // overlay scrollbars, as on a phone
				opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
			}
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height, opts...)); err != nil {
				t.Fatal(err)
			}
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, prefix+name+"-"+vp.label+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
			t.Fatal(err)
		}
	}
}
