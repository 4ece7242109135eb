package app_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// get fetches a page like a browser: with Accept-Language, and the body as sent (gzip
// when asked for), so that its weight on the wire can be measured.
func get(t *testing.T, n *node, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", n.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

var (
	cardPattern  = regexp.MustCompile(`<li class="card">`)
	assetPattern = regexp.MustCompile(`(?:href|src)="(/assets/[^"]+)"`)
)

// TestPublicPages reads the public directory pages as a browser would: search in Italian
// and Arabic, filters, hostile parameters, the detail page and its assets.
func TestPublicPages(t *testing.T) {
	t.Parallel()
	n := startNode(t, "", "--demo")
	waitForServices(t, n, 150)

	tests := []struct {
		name           string
		path           string
		acceptLanguage string
		status         int
		contains       []string
		cards          bool // at least one result
	}{
		{"an Italian search lists Italian courses", "/?q=corso+di+italiano", "it", 200,
			[]string{`<html lang="it" dir="ltr">`, "servizi trovati"}, true},
		{"the browser's Arabic picks the Arabic interface, right to left", "/?q=legal", "ar,en;q=0.5", 200,
			[]string{`<html lang="ar" dir="rtl">`, "عدد الخدمات"}, true},
		{"hl switches the language whatever the browser says", "/?q=legal&hl=fr", "ar", 200,
			[]string{`<html lang="fr" dir="ltr">`}, true},
		{"a search by municipality name finds services in Crema", "/?mun=crema&hl=en", "", 200,
			[]string{"· Crema"}, true},
		{"a language filter keeps only services speaking it", "/?language=ar&hl=it", "", 200, nil, true},
		{"near a point lists distances", "/?near=45.364,9.685&r=10&hl=en", "", 200, []string{"km away"}, true},
		{"a partial municipality name suggests the likeliest first", "/?mun=crem&hl=it", "", 200,
			[]string{"Forse cercavi", "Crema (CR)"}, false},
		{"an unknown municipality says so", "/?mun=Atlantide&hl=en", "", 200, []string{"No town called"}, false},
		{"invalid UTF-8 is a 400 page naming the parameter", "/?q=%FF", "", 400, []string{"q: not valid UTF-8"}, false},
		{"a NUL byte is a 400 page naming the parameter", "/?mun=%00", "", 400, []string{"mun: contains a NUL"}, false},
		{"a radius the directory refuses is a 400 page", "/?near=45.3,9.6&r=500", "", 400, []string{"r:"}, false},
		{"an unknown service is a 404 page", "/services/does-not-exist?hl=en", "", 404, []string{"does not exist"}, false},
		{"a hostile service id is a 404 page, not a 500", "/services/%00%FF", "", 404, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, n, tt.path, "Accept-Language", tt.acceptLanguage)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, truncate(body))
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			for _, s := range tt.contains {
				if !strings.Contains(string(body), s) {
					t.Errorf("page lacks %q", s)
				}
			}
			if tt.cards != cardPattern.Match(body) {
				t.Errorf("results shown: %v, want %v", !tt.cards, tt.cards)
			}
		})
	}

	t.Run("the detail page of a result shows it in the reader's language and marks fallbacks", func(t *testing.T) {
		_, body := get(t, n, "/?q=corso+di+italiano&hl=uk")
		m := regexp.MustCompile(`href="(/services/[^"?]+)\?`).FindSubmatch(body)
		if m == nil {
			t.Fatal("no result link")
		}
		resp, page := get(t, n, string(m[1])+"?hl=uk")
		if resp.StatusCode != 200 {
			t.Fatalf("detail: %d", resp.StatusCode)
		}
		// The demo directory has no Ukrainian text: the Italian is shown, marked, with its lang.
		for _, s := range []string{`<html lang="uk"`, "Ще не перекладено", `<span lang="it">`, "Години роботи"} {
			if !strings.Contains(string(page), s) {
				t.Errorf("detail page lacks %q", s)
			}
		}
	})

	t.Run("htmx asks for the results only, with the language switch swapped out of band", func(t *testing.T) {
		resp, body := get(t, n, "/?q=legal&hl=en", "HX-Request", "true")
		if resp.StatusCode != 200 || strings.Contains(string(body), "<html") || !strings.Contains(string(body), `hx-swap-oob="true"`) {
			t.Fatalf("status %d, body %s", resp.StatusCode, truncate(body))
		}
	})

	t.Run("the first view weighs under 100 KB compressed, assets cached for good", func(t *testing.T) {
		resp, body := get(t, n, "/?hl=it", "Accept-Encoding", "gzip")
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("page not compressed: %v", resp.Header)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("CSP %q", csp)
		}
		total := len(body)
		_, plain := get(t, n, "/?hl=it")
		for _, m := range assetPattern.FindAllSubmatch(plain, -1) {
			aresp, abody := get(t, n, string(m[1]), "Accept-Encoding", "gzip")
			if aresp.StatusCode != 200 {
				t.Fatalf("%s: %d", m[1], aresp.StatusCode)
			}
			if cc := aresp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
				t.Errorf("%s: Cache-Control %q", m[1], cc)
			}
			total += len(abody)
		}
		t.Logf("first view: %d bytes compressed (HTML, CSS, JS)", total)
		if total > 100_000 {
			t.Fatalf("first view is %d bytes compressed, over 100 KB", total)
		}
	})
}
