package app_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/ponte-network/ponte/libs/auth"
)

// TestHSDSOpenAPIDocument reads the HSDS OpenAPI document where /hsds/ points (an absolute
// URL), checks that it documents every HSDS endpoint, and validates a real answer of each
// against it.
func TestHSDSOpenAPIDocument(t *testing.T) {
	t.Parallel()
	n := startNode(t, "")
	admin := n.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
	partner := n.token(t, auth.Principal{Subject: "p1", Organization: "caritas-crema", Roles: []string{auth.RolePartnerAdmin}})
	seedDirectory(t, n, admin, partner)

	root := decode[map[string]any](t, n.do(t, "GET", "/hsds/", "", nil))
	openapiURL, _ := root["openapi_url"].(string)
	if openapiURL != n.base+"/hsds/openapi.json" {
		t.Fatalf("openapi_url = %q, want the absolute %s/hsds/openapi.json", openapiURL, n.base)
	}
	resp, raw := rawDo(t, "GET", openapiURL, nil, "Origin", "https://referrals.example.net")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("ETag") == "" {
		t.Fatalf("GET %s = %d %v, want 200, open to browsers, with an ETag", openapiURL, resp.StatusCode, resp.Header)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("the HSDS document does not validate as OpenAPI 3: %v", err)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/hsds" {
		t.Errorf("servers = %v, want /hsds (a development edge)", doc.Servers)
	}
	want := []string{"/", "/organizations", "/organizations/{id}", "/service_at_locations", "/service_at_locations/{id}",
		"/services", "/services/{id}", "/status", "/taxonomies", "/taxonomies/{id}", "/taxonomy_terms", "/taxonomy_terms/{id}"}
	got := doc.Paths.InMatchingOrder()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("documented paths = %v, want %v", got, want)
	}
	ids := map[string]string{
		"/organizations/{id}":        hsdsID("organization/caritas-crema"),
		"/service_at_locations/{id}": hsdsID("service/l2-crema/at/loc-crema"),
		"/services/{id}":             hsdsID("service/l2-crema"),
		"/taxonomies/{id}":           hsdsID("taxonomy/ponte"),
		"/taxonomy_terms/{id}":       hsdsID("taxonomy_term/ponte:l2"),
	}
	queries := map[string]string{
		"/services":             "?full=true",
		"/organizations":        "?full_service=true",
		"/service_at_locations": "?full=true",
	}
	for _, path := range want {
		t.Run(path, func(t *testing.T) {
			item := doc.Paths.Value(path)
			concrete := "/hsds" + strings.Replace(path, "{id}", ids[path], 1) + queries[path]
			if path == "/" {
				concrete = "/hsds/"
			}
			for _, q := range []string{concrete, "/hsds" + strings.Replace(path, "{id}", "nothing", 1) + "?page=0&taxonomy_id=nothing"} {
				req, err := http.NewRequest("GET", n.base+q, nil)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				if q == concrete && resp.StatusCode != 200 {
					t.Fatalf("GET %s = %d %s", q, resp.StatusCode, body)
				}
				pathParams := map[string]string{}
				if ids[path] != "" {
					pathParams["id"] = ids[path]
				}
				in := &openapi3filter.ResponseValidationInput{
					RequestValidationInput: &openapi3filter.RequestValidationInput{
						Request: req, PathParams: pathParams,
						Route: &routers.Route{Spec: doc, Path: path, PathItem: item, Method: http.MethodGet, Operation: item.Get},
					},
					Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)),
					Options: &openapi3filter.Options{IncludeResponseStatus: true},
				}
				if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
					t.Errorf("GET %s = %d: the answer does not match the document: %v", q, resp.StatusCode, err)
				}
			}
		})
	}
}

// TestHSDSOpenAPIURLIsThePublicOne: behind a configured public URL, /hsds/ points at the
// document there, and the document's server is that URL's /hsds.
func TestHSDSOpenAPIURLIsThePublicOne(t *testing.T) {
	t.Parallel()
	n := startNode(t, "", "--public-url=https://ponte.example.org")
	root := decode[map[string]any](t, n.do(t, "GET", "/hsds/", "", nil, "Host", "evil.example.net"))
	if root["openapi_url"] != "https://ponte.example.org/hsds/openapi.json" {
		t.Errorf("openapi_url = %v, want https://ponte.example.org/hsds/openapi.json whatever the Host", root["openapi_url"])
	}
	doc, err := openapi3.NewLoader().LoadFromData(n.do(t, "GET", "/hsds/openapi.json", "", nil).body)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "https://ponte.example.org/hsds" {
		t.Errorf("servers = %v, want https://ponte.example.org/hsds", doc.Servers)
	}
	if r := n.do(t, "GET", "/hsds/status", "", nil); r.status != 200 || r.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("GET /hsds/status = %d %s, want 200 problem+json", r.status, r.header.Get("Content-Type"))
	}
}
