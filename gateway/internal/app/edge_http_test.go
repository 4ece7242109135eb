package app_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ponte-network/ponte/libs/auth"
)

// rawDo sends a request as a client would, without the harness's defaults.
func rawDo(t *testing.T, method, url string, body io.Reader, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
}

func TestHTTPSemanticsOverREST(t *testing.T) {
	t.Parallel()
	n := startNode(t, "")
	admin := n.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
	op := n.token(t, auth.Principal{Subject: "op-a", Organization: "org-a", Roles: []string{auth.RolePartnerOperator}})
	noGrpcMetadata := func(t *testing.T, what string, h http.Header) {
		t.Helper()
		for k := range h {
			if strings.HasPrefix(strings.ToLower(k), "grpc-") {
				t.Errorf("%s leaks %s: %v", what, k, h[k])
			}
		}
	}

	// Creates: 201, Location, ETag.
	r := n.do(t, "POST", "/v1/organizations", admin, map[string]any{"id": "caritas-crema",
		"name": map[string]string{"it": "Caritas Crema", "uk": "Карітас Крема"}, "municipalityCode": "019035"})
	if r.status != http.StatusCreated || r.header.Get("Location") != "/v1/organizations/caritas-crema" || r.header.Get("ETag") == "" {
		t.Fatalf("create organization = %d Location %q ETag %q, want 201 with both", r.status, r.header.Get("Location"), r.header.Get("ETag"))
	}
	noGrpcMetadata(t, "a create", r.header)
	r = n.do(t, "POST", "/v1/cases", op, map[string]any{"municipalityCode": "019035", "category": "CATEGORY_RENEWAL"})
	if r.status != http.StatusCreated {
		t.Fatalf("create case = %d %s", r.status, r.body)
	}
	k := decode[caseJSON](t, r)
	if got := r.header.Get("Location"); got != "/v1/cases/"+k.ID {
		t.Errorf("create case Location = %q, want /v1/cases/%s", got, k.ID)
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("a case answer has Cache-Control %q, want no-store", got)
	}

	t.Run("every GET route answers HEAD with the GET's headers and no body", func(t *testing.T) {
		for _, path := range []string{"/v1/territories/019", "/v1/territories?parent=019", "/v1/organizations/caritas-crema", "/v1/services:search?q=x", "/hsds/services"} {
			get, getBody := rawDo(t, "GET", n.base+path, nil)
			head, headBody := rawDo(t, "HEAD", n.base+path, nil)
			if head.StatusCode != http.StatusOK || len(headBody) != 0 || get.StatusCode != http.StatusOK || len(getBody) == 0 {
				t.Errorf("HEAD %s = %d with %d bytes (GET %d, %d bytes), want 200 and no body", path, head.StatusCode, len(headBody), get.StatusCode, len(getBody))
			}
			if head.Header.Get("ETag") != get.Header.Get("ETag") || head.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
				t.Errorf("HEAD %s headers %v differ from GET's %v", path, head.Header, get.Header)
			}
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			resp, _ := rawDo(t, "HEAD", n.base+"/v1/directory/changes:watch?after=0", nil)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("HEAD of a watch = %d", resp.StatusCode)
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("HEAD of a watch route did not end")
		}
	})

	t.Run("a path that does not take the method answers 405 with Allow", func(t *testing.T) {
		resp, body := rawDo(t, "PUT", n.base+"/v1/cases/"+k.ID, strings.NewReader("{}"), "Authorization", "Bearer "+op, "Content-Type", "application/json")
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "DELETE, GET, HEAD, PATCH, OPTIONS" ||
			resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("PUT on a case = %d Allow %q %s, want 405 with Allow: DELETE, GET, HEAD, PATCH, OPTIONS", resp.StatusCode, resp.Header.Get("Allow"), body)
		}
		resp, _ = rawDo(t, "DELETE", n.base+"/v1/services:search", nil)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
			t.Errorf("DELETE on search = %d Allow %q, want 405 with GET, HEAD, OPTIONS", resp.StatusCode, resp.Header.Get("Allow"))
		}
		resp, _ = rawDo(t, "OPTIONS", n.base+"/v1/territories", nil)
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Allow") != "GET, HEAD, POST, OPTIONS" {
			t.Errorf("OPTIONS = %d Allow %q, want 204 with GET, HEAD, POST, OPTIONS", resp.StatusCode, resp.Header.Get("Allow"))
		}
	})

	t.Run("a body that is not JSON is 415 and a chunked body over the limit is 413", func(t *testing.T) {
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "not a media type"} {
			resp, body := rawDo(t, "POST", n.base+"/v1/territories", strings.NewReader(`{"code":"ambito-x"}`), "Authorization", "Bearer "+admin, "Content-Type", ct)
			if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(string(body), "application/json") {
				t.Errorf("a %q body = %d %s, want 415 naming application/json", ct, resp.StatusCode, body)
			}
		}
		big := `{"code":"ambito-big","name":"` + strings.Repeat("x", 2<<20) + `"}`
		// io.MultiReader hides the length: the client sends the body chunked.
		resp, body := rawDo(t, "POST", n.base+"/v1/territories", io.MultiReader(strings.NewReader(big)), "Authorization", "Bearer "+admin, "Content-Type", "application/json")
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("a chunked body over the limit = %d %s, want 413", resp.StatusCode, body)
		}
		small := `{"code":"ambito-chunked","name":"Ambito","municipalityCodes":["019021"]}`
		resp, body = rawDo(t, "POST", n.base+"/v1/territories", io.MultiReader(strings.NewReader(small)), "Authorization", "Bearer "+admin, "Content-Type", "application/json")
		if resp.StatusCode != http.StatusCreated {
			t.Errorf("a chunked body within the limit = %d %s, want 201", resp.StatusCode, body)
		}
	})

	t.Run("If-Match guards PATCH and DELETE, and a stale one is 412", func(t *testing.T) {
		r := n.do(t, "GET", "/v1/cases/"+k.ID, op, nil)
		if r.header.Get("ETag") != `"`+k.Etag+`"` {
			t.Fatalf("GET case ETag = %q, want the record's etag %q quoted", r.header.Get("ETag"), k.Etag)
		}
		stale := `"` + k.Etag + `0"`
		if r := n.do(t, "PATCH", "/v1/cases/"+k.ID+"?updateMask=needs", op, map[string]any{"needs": []string{"x"}}, "If-Match", stale); r.status != http.StatusPreconditionFailed {
			t.Errorf("PATCH with a stale If-Match = %d %s, want 412", r.status, r.body)
		}
		if r := n.do(t, "PATCH", "/v1/cases/"+k.ID+"?updateMask=needs", op, map[string]any{"needs": []string{"x"}}, "If-Match", "W/"+r.header.Get("ETag")); r.status != http.StatusPreconditionFailed {
			t.Errorf("PATCH with a weak If-Match = %d %s, want 412", r.status, r.body)
		}
		if r := n.do(t, "PATCH", "/v1/cases/"+k.ID+"?updateMask=needs", op, map[string]any{"needs": []string{"x"}, "etag": "99"}, "If-Match", r.header.Get("ETag")); r.status != http.StatusBadRequest {
			t.Errorf("PATCH whose If-Match and body etag differ = %d %s, want 400", r.status, r.body)
		}
		// Two clients race with the same If-Match: one wins, the other is told it is stale.
		var wg sync.WaitGroup
		codes := make(chan int, 2)
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes <- n.do(t, "PATCH", "/v1/cases/"+k.ID+"?updateMask=needs", op, map[string]any{"needs": []string{"y"}}, "If-Match", r.header.Get("ETag")).status
			}()
		}
		wg.Wait()
		close(codes)
		got := map[int]int{}
		for c := range codes {
			got[c]++
		}
		if got[http.StatusOK] != 1 || got[http.StatusPreconditionFailed] != 1 {
			t.Errorf("two PATCHes with the same If-Match = %v, want one 200 and one 412", got)
		}
		cur := n.do(t, "GET", "/v1/cases/"+k.ID, op, nil)
		if r := n.do(t, "DELETE", "/v1/cases/"+k.ID, op, nil, "If-Match", r.header.Get("ETag")); r.status != http.StatusPreconditionFailed {
			t.Errorf("DELETE with a stale If-Match = %d %s, want 412", r.status, r.body)
		}
		if r := n.do(t, "DELETE", "/v1/cases/"+k.ID, op, nil, "If-Match", cur.header.Get("ETag")); r.status != http.StatusNoContent || len(r.body) != 0 {
			t.Errorf("DELETE with the current If-Match = %d %q, want 204 and no body", r.status, r.body)
		}
	})

	t.Run("public reads are cacheable and revalidate with If-None-Match", func(t *testing.T) {
		for _, path := range []string{"/v1/territories/019", "/v1/territories?parent=019&level=municipality", "/v1/organizations/caritas-crema", "/v1/services:search?q=italiano", "/hsds/organizations"} {
			resp, _ := rawDo(t, "GET", n.base+path, nil)
			etag := resp.Header.Get("ETag")
			if resp.StatusCode != http.StatusOK || etag == "" || resp.Header.Get("Cache-Control") != "public, max-age=60" {
				t.Errorf("GET %s = %d ETag %q Cache-Control %q, want 200, an ETag and public, max-age=60", path, resp.StatusCode, etag, resp.Header.Get("Cache-Control"))
				continue
			}
			noGrpcMetadata(t, path, resp.Header)
			again, body := rawDo(t, "GET", n.base+path, nil, "If-None-Match", `"other", `+etag)
			if again.StatusCode != http.StatusNotModified || len(body) != 0 || again.Header.Get("ETag") != etag {
				t.Errorf("GET %s with If-None-Match = %d (%d bytes), want 304 with the ETag", path, again.StatusCode, len(body))
			}
			if other, _ := rawDo(t, "GET", n.base+path, nil, "If-None-Match", `"other"`); other.StatusCode != http.StatusOK {
				t.Errorf("GET %s with another If-None-Match = %d, want 200", path, other.StatusCode)
			}
			if authed, _ := rawDo(t, "GET", n.base+path, nil, "Authorization", "Bearer "+admin); authed.Header.Get("Cache-Control") != "private, no-cache" {
				t.Errorf("GET %s with a token has Cache-Control %q, want private, no-cache", path, authed.Header.Get("Cache-Control"))
			}
		}
		for _, path := range []string{"/v1/cases", "/v1/persons", "/v1/cases/nope"} {
			resp, _ := rawDo(t, "GET", n.base+path, nil, "Authorization", "Bearer "+op)
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("GET %s = %d with Cache-Control %q, want no-store", path, resp.StatusCode, resp.Header.Get("Cache-Control"))
			}
			noGrpcMetadata(t, path, resp.Header)
		}
	})

	t.Run("Accept-Language picks the locale when the query does not, and Content-Language says it", func(t *testing.T) {
		resp, body := rawDo(t, "GET", n.base+"/v1/organizations/caritas-crema", nil, "Accept-Language", "uk-UA, en;q=0.5")
		if resp.Header.Get("Content-Language") != "uk" || !strings.Contains(string(body), "Карітас") || strings.Contains(string(body), "Caritas Crema") ||
			!strings.Contains(resp.Header.Get("Vary"), "Accept-Language") {
			t.Errorf("GET with Accept-Language uk = Content-Language %q Vary %q %s, want the Ukrainian name alone", resp.Header.Get("Content-Language"), resp.Header.Get("Vary"), body)
		}
		full, _ := rawDo(t, "GET", n.base+"/v1/organizations/caritas-crema", nil)
		if resp.Header.Get("ETag") == full.Header.Get("ETag") {
			t.Errorf("the Ukrainian rendering and the full record share ETag %s", full.Header.Get("ETag"))
		}
		resp, body = rawDo(t, "GET", n.base+"/v1/organizations/caritas-crema?locale=it", nil, "Accept-Language", "uk")
		if resp.Header.Get("Content-Language") != "it" || !strings.Contains(string(body), "Caritas Crema") {
			t.Errorf("locale=it with Accept-Language uk = %q %s, want the query's locale", resp.Header.Get("Content-Language"), body)
		}
		// A localized ETag still guards a write of the record.
		loc, _ := rawDo(t, "GET", n.base+"/v1/organizations/caritas-crema", nil, "Accept-Language", "uk")
		if r := n.do(t, "PATCH", "/v1/organizations/caritas-crema", admin, map[string]any{"name": map[string]string{"it": "Caritas di Crema"}}, "If-Match", loc.Header.Get("ETag")); r.status != http.StatusOK {
			t.Errorf("PATCH with the ETag of a localized rendering = %d %s, want 200", r.status, r.body)
		}
	})

	t.Run("public reads are open to any web page, without credentials; personal data is not", func(t *testing.T) {
		for _, path := range []string{"/v1/territories/019", "/v1/services:search?q=x", "/hsds/services"} {
			resp, _ := rawDo(t, "GET", n.base+path, nil, "Origin", "https://rete.example")
			if resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("GET %s from a page = Allow-Origin %q Allow-Credentials %q, want * and none", path, resp.Header.Get("Access-Control-Allow-Origin"), resp.Header.Get("Access-Control-Allow-Credentials"))
			}
		}
		resp, _ := rawDo(t, "GET", n.base+"/v1/cases", nil, "Origin", "https://rete.example", "Authorization", "Bearer "+op)
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("a case list from a page not in --cors-origins has Allow-Origin %q, want none", got)
		}
	})
}
