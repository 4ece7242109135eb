package app_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// browser returns a headless Chromium context, or skips when there is none — except in
// CI, where .ci/run installs Debian's chromium and these tests must run.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("CHROME_PATH")
	if path == "" {
		for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium: .ci/run must install it (apt-get install chromium)")
		}
		t.Skip("no Chromium on this machine (apt-get install chromium); CI runs these tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	ctx, cancelTimeout := context.WithTimeout(ctx, 15*time.Minute) // a loaded CI machine is slow
	t.Cleanup(cancelTimeout)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// artifacts is where the browser tests leave their screenshots, to be looked at:
// $PONTE_TEST_ARTIFACTS, else .artifacts/web at the repository root.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PONTE_TEST_ARTIFACTS")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", "..", ".artifacts", "web")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// axeSource is axe-core from tools/browser (make browser-tools), injected into pages.
func axeSource(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	path := filepath.Join(root, "tools", "browser", "node_modules", "axe-core", "axe.min.js")
	raw, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("axe-core missing (make browser-tools): %v", err)
		}
		if _, lookErr := exec.LookPath("npm"); lookErr == nil {
			cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--prefix", filepath.Join(root, "tools", "browser"))
			if out, err := cmd.CombinedOutput(); err == nil {
				if raw, err = os.ReadFile(path); err == nil {
					return string(raw)
				}
			} else {
				t.Logf("npm ci: %v: %s", err, out)
			}
		}
		t.Skip("axe-core not installed (make browser-tools)")
	}
	return string(raw)
}

// viewports are the widths screenshots are taken at.
var viewports = []struct {
	name          string
	width, height int64
	mobile        bool
}{
	{"phone", 390, 844, true},
	{"desktop", 1280, 900, false},
}

// shoot saves a full-page screenshot of the current page at every viewport.
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := artifacts(t)
	for _, vp := range viewports {
		err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height, chromedp.EmulateScale(1),
			func(p *emulation.SetDeviceMetricsOverrideParams, _ *emulation.SetTouchEmulationEnabledParams) {
				p.Mobile = vp.mobile
			}))
		if err != nil {
			t.Fatalf("viewport %s: %v", vp.name, err)
		}
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-"+vp.name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
}

// axeResult is what axe.run answers, as far as the tests read it.
type axeResult struct {
	Violations []struct {
		ID    string `json:"id"`
		Help  string `json:"help"`
		Nodes []struct {
			Target []any `json:"target"`
		} `json:"nodes"`
	} `json:"violations"`
}

// noAxeViolations runs axe-core (WCAG 2.0/2.1 A and AA rules) on the current page.
func noAxeViolations(t *testing.T, ctx context.Context, axe, name string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axe)); err != nil {
		t.Fatalf("inject axe on %s: %v", name, err)
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[axeResult](
		`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on %s: %v", name, err)
	}
	for _, v := range res.Violations {
		var targets []string
		for _, n := range v.Nodes {
			targets = append(targets, fmt.Sprint(n.Target...))
		}
		t.Errorf("%s: axe %s (%s) at %s", name, v.ID, v.Help, strings.Join(targets, "; "))
	}
}

// evaluate runs js in the page and returns its value.
func evaluate[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// eventuallyInPage polls js in the page until it is true.
func eventuallyInPage(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			loc, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
			t.Fatalf("%s: not within a minute (at %s)", what, loc)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPublicPagesInABrowser drives the public directory in headless Chromium as a
// reader would: search in Italian and Arabic, filters, open now, paging, a service's
// sheet and its print, the language switch; each page passes axe-core and is
// photographed at phone and desktop widths (in .artifacts/web).
func TestPublicPagesInABrowser(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	axe := axeSource(t)
	n := startNode(t, "", "--demo")
	waitForServices(t, n, 150)
	location := func(t *testing.T) string { return evaluate[string](t, ctx, `location.pathname + location.search`) }
	do := func(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	count := `((document.querySelector("#results .count")||{}).textContent||"")`

	t.Run("an Italian search from the empty page", func(t *testing.T) {
		do(t, chromedp.Navigate(n.base+"/?hl=it"),
			chromedp.WaitVisible(chromedp.ID("q")),
			chromedp.SendKeys(chromedp.ID("q"), "corso di italiano"),
			chromedp.Click(chromedp.CSS("button.primary")))
		eventuallyInPage(t, ctx, "results in Italian", count+`.includes("servizi trovati")`)
		if loc := location(t); !strings.Contains(loc, "q=corso+di+italiano") {
			t.Errorf("the URL does not hold the query: %s", loc)
		}
		noAxeViolations(t, ctx, axe, "search-it")
		shoot(t, ctx, "search-it")
	})

	t.Run("Arabic reads right to left", func(t *testing.T) {
		do(t, chromedp.Navigate(n.base+"/?hl=ar&q=legal"), chromedp.WaitVisible(chromedp.CSS(".card")))
		if dir := evaluate[string](t, ctx, `getComputedStyle(document.querySelector("main")).direction`); dir != "rtl" {
			t.Fatalf("direction %q, want rtl", dir)
		}
		// The title of the first result starts at the right edge of its card.
		if !evaluate[bool](t, ctx, `(() => { const c = document.querySelector(".card").getBoundingClientRect(), h = document.querySelector(".card h3 a").getBoundingClientRect(); return c.right - h.right < 40 })()`) {
			t.Error("the first result's title is not aligned to the right")
		}
		noAxeViolations(t, ctx, axe, "search-ar")
		shoot(t, ctx, "search-ar")
	})

	t.Run("filters: language spoken and open now", func(t *testing.T) {
		do(t, chromedp.Navigate(n.base+"/?hl=en&q=course"),
			chromedp.WaitVisible(chromedp.CSS(".card")),
			chromedp.Click(chromedp.CSS("details.filters summary")),
			chromedp.SetValue(chromedp.ID("language"), "ar"),
			chromedp.Click(chromedp.ID("open")),
			chromedp.Click(chromedp.CSS("button.primary")))
		eventuallyInPage(t, ctx, "the URL holds the filters", `location.search.includes("open=now") && location.search.includes("language=ar")`)
		eventuallyInPage(t, ctx, "results or none, counted", count+`.includes("found")`)
		noAxeViolations(t, ctx, axe, "filters-en")
		shoot(t, ctx, "filters-en")
	})

	t.Run("paging to the next results", func(t *testing.T) {
		do(t, chromedp.Navigate(n.base+"/?hl=it&q=servizio"), chromedp.WaitVisible(chromedp.CSS(".card h3 a")))
		first := evaluate[string](t, ctx, `document.querySelector(".card h3 a").textContent`)
		do(t, chromedp.Click(chromedp.CSS(`a[rel="next"]`)))
		eventuallyInPage(t, ctx, "a page token in the URL", `location.search.includes("page=")`)
		eventuallyInPage(t, ctx, "the next page's results", `document.querySelector(".card h3 a").textContent !== `+fmt.Sprintf("%q", first))
		eventuallyInPage(t, ctx, "a way back to the first page", `!!document.querySelector(".pager a:not([rel])")`)
	})

	t.Run("a service's sheet, printable on one page", func(t *testing.T) {
		do(t, chromedp.Navigate(n.base+"/?hl=fr&q=cours+d%27italien"),
			chromedp.WaitVisible(chromedp.CSS(".card h3 a")),
			chromedp.Click(chromedp.CSS(".card h3 a")),
			chromedp.WaitVisible(chromedp.CSS("article.sheet h1")))
		if loc := location(t); !strings.HasPrefix(loc, "/services/") {
			t.Fatalf("not on a detail page: %s", loc)
		}
		noAxeViolations(t, ctx, axe, "detail-fr")
		shoot(t, ctx, "detail-fr")
		pdf, err := chromedp.Call(ctx, page.PrintToPDF, page.PrintToPDFParams{PaperWidth: 8.27, PaperHeight: 11.69})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(artifacts(t), "detail-fr-print.pdf"), pdf.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		if pages := pdfPages(pdf.Data); pages != 1 {
			t.Errorf("the printed sheet has %d pages, want one", pages)
		}
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
			t.Fatal(err)
		}
		if evaluate[bool](t, ctx, `getComputedStyle(document.querySelector("header.top")).display !== "none"`) {
			t.Error("the site header is printed")
		}
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("the language switch keeps the search", func(t *testing.T) {
		do(t, chromedp.Navigate(n.base+"/?hl=it&q=salute"),
			chromedp.WaitVisible(chromedp.CSS(".card")),
			chromedp.Click(chromedp.CSS(`#locales a[hreflang="uk"]`)),
			chromedp.WaitVisible(chromedp.CSS(`html[lang="uk"] .card`)))
		if loc := location(t); !strings.Contains(loc, "q=salute") || !strings.Contains(loc, "hl=uk") {
			t.Errorf("URL after the switch: %s", loc)
		}
		noAxeViolations(t, ctx, axe, "search-uk")
		shoot(t, ctx, "search-uk")
	})
}

// pdfPage matches a page object of a PDF ("/Type /Page", not "/Type /Pages").
var pdfPage = regexp.MustCompile(`/Type\s*/Page[^s]`)

// pdfPages counts the pages of a PDF.
func pdfPages(pdf []byte) int { return len(pdfPage.FindAll(pdf, -1)) }
