// Package browser drives a real, headless Chromium for the web UI's tests
// and screenshots (chromedp): finding Debian's chromium, the "skip only
// outside CI" rule, and a few page helpers.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/vertice/vertice/internal/testkit/dockertest"
	"github.com/vertice/vertice/internal/testkit/poll"
)

// Env names a browser binary to use instead of looking for one.
const Env = "CHROMIUM"

// Install is how to get the browser on Debian (.ci/run does it).
const Install = "apt-get install -y --no-install-recommends chromium"

// candidates are looked up in PATH, in order.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Path finds the browser: $CHROMIUM, else the first candidate in PATH.
func Path() (string, error) {
	if p := os.Getenv(Env); p != "" {
		return exec.LookPath(p)
	}
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium found in PATH (" + Install + ", or set " + Env + ")")
}

// Require returns the browser's path, or stops the test: a skip on a
// developer's machine, a failure under CI, so a green CI means the browser
// tests ran.
func Require(tb testing.TB) string {
	tb.Helper()
	p, err := Path()
	if err == nil {
		return p
	}
	if dockertest.InCI() {
		tb.Fatalf("a browser is required under CI=%s: %v", os.Getenv("CI"), err)
		return ""
	}
	tb.Skipf("%v; skipping (this would fail under CI=true)", err)
	return ""
}

// Start runs a headless browser from path, its window width × height, and
// returns a context for its first tab: cancel ends the browser.
func Start(ctx context.Context, path string, width, height int) (context.Context, context.CancelFunc, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(width, height), chromedp.Flag("hide-scrollbars", true))
	actx, stopAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, stopBrowser := chromedp.NewContext(actx)
	cancel := func() { stopBrowser(); stopAlloc() }
	// The first action starts the browser; it must not carry a timeout
	// (that would end the browser with it).
	if err := chromedp.Do(bctx); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("browser: start %s: %w", path, err)
	}
	return bctx, cancel, nil
}

// StartT is Start for tests: a browser for the test, ended with it.
func StartT(tb testing.TB, width, height int) context.Context {
	tb.Helper()
	path := Require(tb)
	ctx, cancel, err := Start(context.Background(), path, width, height)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(cancel)
	return ctx
}

// NewTab opens a new tab of the browser; cancel closes it.
func NewTab(browser context.Context) (context.Context, context.CancelFunc, error) {
	ctx, cancel := chromedp.NewContext(browser)
	// The first action makes the tab: no timeout on it, which would
	// close the tab when it ends.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		return nil, nil, err
	}
	return ctx, cancel, nil
}

// Tab is NewTab for tests: the tab closes with the test.
func Tab(tb testing.TB, browser context.Context) context.Context {
	tb.Helper()
	ctx, cancel, err := NewTab(browser)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(cancel)
	return ctx
}

// actionTimeout bounds one action on a page.
const actionTimeout = 20 * time.Second

// Open navigates tab to url and waits for the page's load event.
func Open(tab context.Context, url string) error {
	ctx, cancel := context.WithTimeout(tab, actionTimeout)
	defer cancel()
	return chromedp.Do(ctx, chromedp.Navigate(url))
}

// Eval evaluates a JavaScript expression in tab's page.
func Eval[T any](tab context.Context, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(tab, actionTimeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// Until evaluates a boolean expression until it is true or within passes
// (poll.Until); the error names the expression and what describe, an
// expression too, says the page shows instead.
func Until(tab context.Context, within time.Duration, expr, describe string) error {
	return poll.Until(tab, within, func() error {
		ok, err := Eval[bool](tab, expr)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		seen, _ := Eval[string](tab, describe)
		return fmt.Errorf("%s is false; the page shows: %s", expr, seen)
	})
}

// Screenshot captures what tab shows as a PNG.
func Screenshot(tab context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(tab, actionTimeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.CaptureScreenshot())
}

// WithoutScripts turns the page's JavaScript off in tab, as a browser with
// JavaScript disabled (the test's own evaluations still run).
func WithoutScripts(tab context.Context) error {
	ctx, cancel := context.WithTimeout(tab, actionTimeout)
	defer cancel()
	return chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
}
