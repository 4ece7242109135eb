package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ponte-network/ponte/libs/auth"
)

// TestObservatoryInABrowser signs in to /observatory in Chromium as a region analyst and
// as a district operator (development sign-in), reads cases opened by municipality, and
// finds the small cell suppressed and marked as such, never shown as zero; each page
// passes axe-core and is photographed.
func TestObservatoryInABrowser(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	axe := axeSource(t)
	n := startNode(t, "")
	op := n.token(t, auth.Principal{Subject: "op-a", Organization: "org-a", Roles: []string{auth.RolePartnerOperator}})
	admin := n.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
	// Twelve cases in Crema, two in Cremona: Cremona's cell is below the threshold.
	for i := range 14 {
		mun := "019035"
		if i >= 12 {
			mun = "019036"
		}
		if r := n.do(t, "POST", "/v1/cases", op, map[string]any{"municipalityCode": mun, "category": "CATEGORY_HOUSING"}); r.status != http.StatusOK && r.status != http.StatusCreated {
			t.Fatalf("create case = %d %s", r.status, r.body)
		}
	}
	waitIngested(t, n, admin, 14)
	rome, _ := time.LoadLocation("Europe/Rome")
	year := time.Now().In(rome).Format("2006")
	query := "/observatory?hl=en&indicator=cases_opened&granularity=year&by=municipality&from=" + year + "-01-01&to=" + year + "-12-31"
	do := func(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	signIn := func(t *testing.T, role, territory string) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		err := chromedp.Do(sctx, chromedp.Navigate(n.base+"/observatory?hl=en"),
			chromedp.WaitVisible(chromedp.ID("role")),
			chromedp.SetValue(chromedp.ID("role"), role),
			chromedp.SetValue(chromedp.ID("territory"), territory),
			chromedp.Click(chromedp.CSS("form.search button.primary")),
			chromedp.WaitVisible(chromedp.CSS(".who")))
		if err != nil {
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
			t.Fatalf("sign in as %s: %v; the page:\n%s", role, err, text)
		}
	}

	for _, who := range []struct{ name, role, territory string }{
		{"region-analyst", "region_analyst", "03"},
		{"district-operator", "district_operator", "019"},
	} {
		t.Run("a "+who.name+" sees Cremona suppressed, not zero", func(t *testing.T) {
			signIn(t, who.role, who.territory)
			do(t, chromedp.Navigate(n.base+query), chromedp.WaitVisible(chromedp.CSS("table.figures")))
			page := evaluate[string](t, ctx, `document.querySelector("table.figures").innerText`)
			if !strings.Contains(page, "Cremona") || !strings.Contains(page, "suppressed: too few persons") {
				t.Fatalf("the table does not show Cremona suppressed:\n%s", page)
			}
			if n := evaluate[int](t, ctx, `document.querySelectorAll('.suppressed[data-status="primary"]').length`); n == 0 {
				t.Error("no cell is marked as a primary suppression")
			}
			if evaluate[bool](t, ctx, `[...document.querySelectorAll("table.figures td")].some(td => td.textContent.trim() === "0")`) {
				t.Error("a cell reads 0: suppressed cells must never show as zero")
			}
			if !evaluate[bool](t, ctx, `typeof Chart !== "undefined" && !!Chart.getChart(document.getElementById("chart-time"))`) {
				t.Error("the chart over time was not drawn")
			}
			noAxeViolations(t, ctx, axe, "observatory-"+who.name)
			shoot(t, ctx, "observatory-"+who.name)
			do(t, chromedp.Click(chromedp.CSS(".who button")), chromedp.WaitVisible(chromedp.ID("role")))
		})
	}
}
