package app_test

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestDemoDirectory starts nodes with --demo: the fictional directory is loaded through
// the API, searchable in several languages, and loading it again at the next start
// changes nothing.
func TestDemoDirectory(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, n *node) {
		waitForServices(t, n, 150)

		tests := []struct {
			name, q string
		}{
			{"an Italian query finds Italian courses", "corso di italiano"},
			{"an English query finds them through translations and taxonomy labels", "Italian course"},
			{"a French query finds them, apostrophe and all", "cours d’italien"},
			{"an Arabic query finds them through the taxonomy's Arabic labels", "اللغة الإيطالية"},
		}
		for _, tt := range tests {
			r := n.do(t, "GET", "/v1/services:search?page_size=50&q="+url.QueryEscape(tt.q), "", nil)
			res := decode[searchJSON](t, r)
			if r.status != 200 || res.TotalSize == 0 {
				t.Errorf("%s: q=%q → %d, %d results: %s", tt.name, tt.q, r.status, res.TotalSize, truncate(r.body))
			}
		}
	}, "--demo")
}

func waitForServices(t *testing.T, n *node, atLeast int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute) // a loaded machine (CI with other builds) is slow
	for {
		r := n.do(t, "GET", "/v1/services:search?page_size=1", "", nil)
		if res := decode[searchJSON](t, r); res.TotalSize >= atLeast {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("demo directory not loaded: %d services searchable after 3 minutes", res.TotalSize)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func truncate(b []byte) string {
	s := string(b)
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return strings.TrimSpace(s)
}

// TestReadyOnlyOnceTheDemoIsSearchable polls /readyz of a node loading the demo data:
// the first 200 comes when a search already sees the whole demo directory, no later.
func TestReadyOnlyOnceTheDemoIsSearchable(t *testing.T) {
	t.Parallel()
	n := startNode(t, "", "--demo")
	deadline := time.Now().Add(90 * time.Second)
	for n.do(t, "GET", "/readyz", "", nil).status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("not ready 90s after start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	first := decode[searchJSON](t, n.do(t, "GET", "/v1/services:search?page_size=1", "", nil)).TotalSize
	time.Sleep(time.Second)
	later := decode[searchJSON](t, n.do(t, "GET", "/v1/services:search?page_size=1", "", nil)).TotalSize
	if first < 150 || first != later {
		t.Errorf("at the first ready answer a search saw %d services, a second later %d: want the whole demo (≥150) both times", first, later)
	}
}
