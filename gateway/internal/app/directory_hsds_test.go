package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/services/directory/seed"
)

// hsdsSchemas compiles the HSDS 3.1 schemas in testdata once for all tests.
var hsdsSchemas = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	const base = "https://ponte.example.org/hsds-3.1/"
	names := []string{"service.json", "service_list.json", "organization.json", "organization_list.json",
		"service_at_location_list.json", "taxonomy.json", "taxonomy_term.json", "metadata.json"}
	for _, name := range names {
		raw, err := os.ReadFile(filepath.Join(hsdsTestdata, name))
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		if err := c.AddResource(base+name, doc); err != nil {
			return nil, fmt.Errorf("add %s: %w", name, err)
		}
	}
	out := map[string]*jsonschema.Schema{}
	for _, name := range names {
		s, err := c.Compile(base + name)
		if err != nil {
			return nil, fmt.Errorf("compile %s: %w", name, err)
		}
		out[name] = s
	}
	return out, nil
})

func validateHSDS(t *testing.T, schema string, raw []byte) {
	t.Helper()
	schemas, err := hsdsSchemas()
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("response is not JSON: %v", err)
	}
	if err := schemas[schema].Validate(v); err != nil {
		t.Errorf("does not validate against %s: %v\n%s", schema, err, raw)
	}
}

type hsdsPage struct {
	TotalItems int               `json:"total_items"`
	TotalPages int               `json:"total_pages"`
	PageNumber int               `json:"page_number"`
	Size       int               `json:"size"`
	FirstPage  bool              `json:"first_page"`
	LastPage   bool              `json:"last_page"`
	Empty      bool              `json:"empty"`
	Contents   []json.RawMessage `json:"contents"`
}

func TestHSDSSchemasRefuseAnIncompleteService(t *testing.T) {
	t.Parallel()
	schemas, err := hsdsSchemas()
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{`{"id":"x"}`, `{"id":"x","name":"n","status":"open"}`, `{"id":"x","name":"n","status":"active","schedules":[{"freq":"DAILY","id":"s"}]}`} {
		v, _ := jsonschema.UnmarshalJSON(strings.NewReader(doc))
		if schemas["service.json"].Validate(v) == nil {
			t.Errorf("%s validates against service.json; the schemas are not checking", doc)
		}
	}
}

func TestHSDSEndpointsValidate(t *testing.T) {
	t.Parallel()
	builtin, err := seed.Taxonomy()
	if err != nil {
		t.Fatal(err)
	}
	builtinTop := 0
	for _, term := range builtin {
		if term.ParentCode == "" {
			builtinTop++
		}
	}
	stores(t, func(t *testing.T, n *node) {
		admin := n.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
		partner := n.token(t, auth.Principal{Subject: "p1", Organization: "caritas-crema", Roles: []string{auth.RolePartnerAdmin}})
		seedDirectory(t, n, admin, partner)
		// Richer fields on one service, so that they are validated too.
		r := n.do(t, "PATCH", "/v1/services/l2-crema", partner, map[string]any{
			"phones":            []map[string]any{{"number": "+39 0373 000 0001", "type": "voice", "languages": []string{"it", "ar"}}},
			"contacts":          []map[string]any{{"name": "Sportello stranieri", "email": "sportello@example.org"}},
			"requiredDocuments": []map[string]any{{"document": map[string]string{"it": "Documento d'identità", "en": "Identity document"}}},
			"minimumAge":        16,
		})
		if r.status != 200 {
			t.Fatalf("PATCH = %d %s", r.status, r.body)
		}

		lists := []struct {
			name, path, item string
			wantTotal        int
		}{
			{"services", "/hsds/services", "service_list.json", 3},
			{"services in full", "/hsds/services?full=true&locale=ar", "service.json", 3},
			{"services minimal", "/hsds/services?minimal=true", "service_list.json", 3},
			{"services by search", "/hsds/services?search=italiano", "service_list.json", 2},
			{"services by taxonomy term", "/hsds/services?taxonomy_term_id=ponte:health", "service_list.json", 1},
			{"services by taxonomy", "/hsds/services?taxonomy_id=ponte", "service_list.json", 3},
			{"services by organization", "/hsds/services?organization_id=cittimm", "service_list.json", 1},
			{"services modified after", "/hsds/services?modified_after=2000-01-01T00:00:00Z", "service_list.json", 3},
			{"services at a postcode", "/hsds/services?postcode=26013", "service_list.json", 1},
			{"services near a postcode", "/hsds/services?postcode=26013&proximity=50000", "service_list.json", 2},
			{"services, second page", "/hsds/services?per_page=2&page=2", "service_list.json", 3},
			{"organizations", "/hsds/organizations", "organization_list.json", 2},
			{"organizations in full", "/hsds/organizations?full=true", "organization.json", 2},
			{"organizations with a term", "/hsds/organizations?taxonomy_term_id=ponte:health", "organization_list.json", 1},
			// Besides the test's own terms, the built-in taxonomy stored at start.
			{"taxonomies", "/hsds/taxonomies", "taxonomy.json", 1 + 1},
			{"taxonomy terms", "/hsds/taxonomy_terms", "taxonomy_term.json", 3 + len(builtin)},
			{"top taxonomy terms", "/hsds/taxonomy_terms?top_only=true", "taxonomy_term.json", 2 + builtinTop},
			{"children of a term", "/hsds/taxonomy_terms?parent_id=ponte:language", "taxonomy_term.json", 1},
			{"services at locations", "/hsds/service_at_locations?full=true", "service_at_location_list.json", 3},
		}
		for _, tt := range lists {
			t.Run(tt.name, func(t *testing.T) {
				r := n.do(t, "GET", tt.path, "", nil)
				if r.status != 200 {
					t.Fatalf("GET %s = %d %s", tt.path, r.status, r.body)
				}
				page := decode[hsdsPage](t, r)
				if page.TotalItems != tt.wantTotal {
					t.Errorf("total_items = %d, want %d", page.TotalItems, tt.wantTotal)
				}
				if page.Size != len(page.Contents) || page.Empty != (tt.wantTotal == 0) || page.PageNumber < 1 {
					t.Errorf("page fields are inconsistent: %+v", page)
				}
				for _, item := range page.Contents {
					validateHSDS(t, tt.item, item)
				}
			})
		}

		singles := []struct{ path, schema string }{
			{"/hsds/services/l2-crema", "service.json"},
			{"/hsds/services/clinic-cremona?locale=fr", "service.json"},
			{"/hsds/organizations/caritas-crema", "organization.json"},
			{"/hsds/organizations/caritas-crema?full_service=true", "organization.json"},
		}
		for _, s := range singles {
			r := n.do(t, "GET", s.path, "", nil)
			if r.status != 200 {
				t.Errorf("GET %s = %d %s", s.path, r.status, r.body)
				continue
			}
			validateHSDS(t, s.schema, r.body)
		}

		// The fully nested service carries what Ponte knows, in the asked language.
		svc := decode[map[string]any](t, n.do(t, "GET", "/hsds/services/l2-crema?locale=en", "", nil))
		if svc["name"] != "Italian school for adults" || svc["status"] != "active" || svc["minimum_age"] != float64(16) {
			t.Errorf("service = %v", svc)
		}
		sals, _ := svc["service_at_locations"].([]any)
		if len(sals) != 1 || !strings.Contains(fmt.Sprint(sals[0]), "Via Goldaniga 11") {
			t.Errorf("service_at_locations = %v, want the Crema location with its address", sals)
		}
		if !strings.Contains(fmt.Sprint(svc["attributes"]), "Italian language courses") {
			t.Errorf("attributes = %v, want the L2 term labelled in English", svc["attributes"])
		}
		if !strings.Contains(fmt.Sprint(svc["schedules"]), "byday:MO") {
			t.Errorf("schedules = %v, want a weekly Monday opening", svc["schedules"])
		}

		root := decode[map[string]any](t, n.do(t, "GET", "/hsds/", "", nil))
		if root["version"] != "3.1" {
			t.Errorf("/hsds/ = %v", root)
		}
		for _, bad := range []struct{ path, param string }{
			{"/hsds/services?per_page=0", "per_page"},
			{"/hsds/services?page=x", "page"},
			{"/hsds/services?modified_after=yesterday", "modified_after"},
			{"/hsds/services?proximity=100", "proximity"},
			{"/hsds/services?taxonomy_term_id=ponte:nothing", "taxonomy_term_id"},
		} {
			r := n.do(t, "GET", bad.path, "", nil)
			if r.status != 400 || !hasInvalidParam(r.problem, bad.param) {
				t.Errorf("GET %s = %d %s, want a 400 problem naming %s", bad.path, r.status, r.body, bad.param)
			}
		}
		if r := n.do(t, "GET", "/hsds/services/nothing", "", nil); r.status != 404 || r.problem == nil {
			t.Errorf("unknown service = %d %s, want a 404 problem", r.status, r.body)
		}
	})
}

func jsonUnmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v) }

// flatten renders a decoded JSON value as text for "contains" checks.
func flatten(v any) string { return fmt.Sprint(v) }

// hsdsTestdata holds the HSDS 3.1 compiled schemas and examples, kept once beside the
// directory's HSDS package.
var hsdsTestdata = filepath.Join("..", "..", "..", "services", "directory", "hsds", "testdata", "hsds-3.1")
