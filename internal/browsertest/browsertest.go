// Package browsertest runs Liaison's pages in headless Chromium for tests:
// the console's pages and the after-action report.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// Chromium is the browser's path. Without one the test is skipped, and
// under CI (which installs it) it fails.
func Chromium(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		tb.Fatal("chromium is not installed; CI must install it (apt-get install chromium)")
	}
	tb.Skip("chromium is not installed (apt-get install chromium); skipping the browser test")
	return ""
}

// Browser starts headless Chromium (bin) for the test, with a window of
// 1400×1000 and a profile of its own, and returns its context.
func Browser(tb testing.TB, bin string) context.Context {
	tb.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(tb.TempDir()), chromedp.WindowSize(1400, 1000))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	tb.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	tb.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		tb.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// Tab is one tab of the browser, which collects the script errors and
// exceptions its pages log.
type Tab struct {
	Ctx  context.Context
	mu   sync.Mutex
	errs []string
}

// NewTab opens a tab of browser for the test.
func NewTab(tb testing.TB, browser context.Context) *Tab {
	tb.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	tb.Cleanup(cancel)
	// The tab lives as long as the context of its first action: no
	// timeout on that one.
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("opening a tab: %v", err)
	}
	t := &Tab{Ctx: ctx}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				t.mu.Lock()
				t.errs = append(t.errs, m.String())
				t.mu.Unlock()
			}
		}
	}()
	return t
}

// Errors are the script errors and exceptions logged so far.
func (t *Tab) Errors() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.errs...)
}
