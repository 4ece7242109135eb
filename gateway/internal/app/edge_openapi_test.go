package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/ponte-network/ponte/libs/auth"
)

// servedDocument loads the node's /openapi.json and a router over its operations.
func servedDocument(t *testing.T, n *node) (*openapi3.T, routers.Router) {
	t.Helper()
	r := n.do(t, "GET", "/openapi.json", "", nil)
	doc, err := openapi3.NewLoader().LoadFromData(r.body)
	if err != nil {
		t.Fatalf("served OpenAPI does not load: %v", err)
	}
	// A development edge serves its document relative to itself ("/"): route on this node.
	doc.Servers = openapi3.Servers{{URL: n.base}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("route the served OpenAPI: %v", err)
	}
	return doc, router
}

// conforms checks one real answer against the served document: its status is one the
// operation declares (not only "default"), every declared header it carries has the
// declared shape, the headers named in want are declared, and the body is the
// declared schema for its Content-Type.
func conforms(t *testing.T, router routers.Router, n *node, method, path string, r response, want ...string) {
	t.Helper()
	req, err := http.NewRequest(method, n.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Errorf("%s %s: not in the document: %v", method, path, err)
		return
	}
	declared := route.Operation.Responses.Status(r.status)
	if declared == nil || declared.Value == nil {
		t.Errorf("%s %s answered %d, which the document does not declare", method, path, r.status)
		return
	}
	for _, h := range want {
		if r.header.Get(h) == "" {
			t.Errorf("%s %s = %d without %s", method, path, r.status, h)
		}
		if _, ok := declared.Value.Headers[h]; !ok {
			t.Errorf("%s %s: the document's %d answer does not declare %s", method, path, r.status, h)
		}
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 r.status,
		Header:                 r.header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(r.body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s = %d does not match the document: %v\n%s", method, path, r.status, err, r.body)
	}
}

// TestAnswersMatchTheOpenAPIDocument makes real calls through plain net/http and checks
// each answer against the document the edge serves: status codes, the edge's headers
// (RateLimit-*, ETag, Location, Cache-Control, Content-Language, Retry-After) and bodies.
func TestAnswersMatchTheOpenAPIDocument(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, n *node) {
		_, router := servedDocument(t, n)
		admin := n.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
		rl := []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}
		with := func(hs ...string) []string { return append(append([]string{}, rl...), hs...) }

		org := map[string]any{"id": "doc-org", "name": map[string]string{"it": "Caritas Crema"}, "municipalityCode": "019035"}
		steps := []struct {
			name         string
			method, path string
			token        string
			body         any
			header       []string
			status       int
			want         []string
		}{
			{"liveness answers its version", "GET", "/healthz", "", nil, nil, 200, nil},
			{"the status is problem+json", "GET", "/status", "", nil, nil, 200, rl},
			{"readiness is the status, never limited", "GET", "/readyz", "", nil, nil, 200, nil},
			{"a create answers 201 with Location and ETag", "POST", "/v1/organizations", admin, org, nil, 201, with("Location", "ETag")},
			{"a public read is cacheable with an ETag", "GET", "/v1/organizations/doc-org", "", nil, nil, 200, with("ETag", "Cache-Control")},
			{"a read with the ETag is 304", "GET", "/v1/organizations/doc-org", "", nil, []string{"If-None-Match", "*"}, 304, []string{"ETag", "Cache-Control"}},
			{"a localized read says its language", "GET", "/v1/organizations/doc-org", "", nil, []string{"Accept-Language", "en;q=0.8"}, 200, with("ETag", "Content-Language")},
			{"a stale If-Match is 412", "PATCH", "/v1/organizations/doc-org", admin, map[string]any{"alternateName": "Caritas"}, []string{"If-Match", `"stale"`}, 412, rl},
			{"a body that is not JSON is 415", "POST", "/v1/organizations", admin, "name=x", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, rl},
			{"a bad parameter is 400 problem+json", "GET", "/v1/organizations?pageSize=5000", admin, nil, nil, 400, rl},
			{"personal data is never stored", "GET", "/v1/cases", admin, nil, nil, 200, with("Cache-Control")},
			{"a missing record is 404", "GET", "/v1/cases/nope", admin, nil, nil, 404, with("Cache-Control")},
			{"a delete answers 204", "DELETE", "/v1/organizations/doc-org", admin, nil, nil, 204, rl},
		}
		for _, s := range steps {
			r := n.do(t, s.method, s.path, s.token, s.body, s.header...)
			if r.status != s.status {
				t.Errorf("%s: %s %s = %d, want %d: %s", s.name, s.method, s.path, r.status, s.status, r.body)
				continue
			}
			conforms(t, router, n, s.method, s.path, r, s.want...)
		}

		// Past the limit: 429 with Retry-After, as declared. A client of its own (a token
		// of its own is its own bucket) spends its burst.
		greedy := n.token(t, auth.Principal{Subject: "greedy", Roles: []string{auth.RoleAdmin}})
		var limited response
		for range 50 {
			if limited = n.do(t, "GET", "/v1/territories/03", greedy, nil); limited.status == http.StatusTooManyRequests {
				break
			}
		}
		if limited.status != http.StatusTooManyRequests {
			t.Fatalf("50 calls at once = %d, want 429 past the burst", limited.status)
		}
		conforms(t, router, n, "GET", "/v1/territories/03", limited, "Retry-After")
	}, "--rate-limit=0.5", "--rate-limit-burst=20")
}

// TestWatchStreamsAreTheDocumentedLines reads a :watch route as a client does: JSON
// objects, one per line, each {"result": <entry>} as the document's schema says.
func TestWatchStreamsAreTheDocumentedLines(t *testing.T) {
	t.Parallel()
	n := startNode(t, "")
	doc, router := servedDocument(t, n)
	admin := n.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
	if r := n.do(t, "POST", "/v1/organizations", admin, map[string]any{"id": "watch-org", "name": map[string]string{"it": "Caritas"}}); r.status != 201 {
		t.Fatalf("create = %d %s", r.status, r.body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const path = "/v1/directory/changes:watch"
	req, err := http.NewRequestWithContext(ctx, "GET", n.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	route, _, err := router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s is not in the document: %v", path, err)
	}
	declared := route.Operation.Responses.Status(resp.StatusCode)
	if declared == nil {
		t.Fatalf("%s answered %d, which the document does not declare", path, resp.StatusCode)
	}
	mt := declared.Value.Content.Get(resp.Header.Get("Content-Type"))
	if mt == nil {
		t.Fatalf("%s answered Content-Type %q, which the document does not declare", path, resp.Header.Get("Content-Type"))
	}
	line, err := bufio.NewReader(resp.Body).ReadBytes('\n')
	if err != nil {
		t.Fatalf("read the first line: %v", err)
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("the first line is not one JSON object: %v: %s", err, line)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Errorf("the first line holds more than one JSON value: %s", line)
	}
	var plain any
	_ = json.Unmarshal(line, &plain)
	if err := mt.Schema.Value.VisitJSON(plain); err != nil {
		t.Errorf("the first line does not match the document's line schema: %v\n%s", err, line)
	}
	if !strings.HasPrefix(string(line), `{"result":`) {
		t.Errorf("the first line is not a result: %s", line)
	}
	_ = doc
}
