package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/services/directory/seed"
)

// hsdsSchemas compiles the HSDS 3.1 schemas in testdata once for all tests.
var hsdsSchemas = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	// Formats are annotations in draft 2020-12 unless asserted: HSDS clients assert them
	// (ids are "format": "uuid", e-mails "email", links "uri").
	c.AssertFormat()
	const base = "https://ponte.example.org/hsds-3.1/"
	names := []string{"service.json", "service_list.json", "organization.json", "organization_list.json",
		"service_at_location.json", "service_at_location_list.json", "taxonomy.json", "taxonomy_term.json", "metadata.json"}
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

// hsdsNamespace is the namespace docs/directory.md documents for derived HSDS ids; the
// tests derive the ids they expect from it on their own.
var hsdsNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://ponte-network.org/ns/hsds"))

// hsdsID is the HSDS id docs/directory.md promises for an internal key ("service/l2-crema").
func hsdsID(key string) string { return uuid.NewSHA1(hsdsNamespace, []byte(key)).String() }

// nonUUIDIDs lists the "id" and "*_id" fields anywhere in v that are not UUIDs.
func nonUUIDIDs(v any, path string) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && (k == "id" || strings.HasSuffix(k, "_id")) {
				if _, err := uuid.Parse(s); err != nil || len(s) != 36 {
					out = append(out, path+"."+k+"="+s)
				}
			}
			out = append(out, nonUUIDIDs(e, path+"."+k)...)
		}
	case []any:
		for i, e := range x {
			out = append(out, nonUUIDIDs(e, fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return out
}

// validateHSDSAnswer validates one answer (an item of a page or a record) against
// schema, and checks that every id in it is a UUID.
func validateHSDSAnswer(t *testing.T, schema string, raw []byte) {
	t.Helper()
	validateHSDS(t, schema, raw)
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if bad := nonUUIDIDs(v, ""); len(bad) > 0 {
		t.Errorf("ids that are not UUIDs: %v", bad)
	}
}

func TestHSDSSchemasAssertFormats(t *testing.T) {
	t.Parallel()
	schemas, err := hsdsSchemas()
	if err != nil {
		t.Fatal(err)
	}
	uid := hsdsID("service/x")
	tests := []struct {
		name, schema, doc string
		valid             bool
	}{
		{"a service with a UUID validates", "service.json", `{"id":"` + uid + `","name":"n","status":"active"}`, true},
		{"a service without name and status does not", "service.json", `{"id":"` + uid + `"}`, false},
		{"a status outside the enumeration does not", "service.json", `{"id":"` + uid + `","name":"n","status":"open"}`, false},
		{"a schedule with a bad freq does not", "service.json", `{"id":"` + uid + `","name":"n","status":"active","schedules":[{"freq":"DAILY","id":"` + uid + `"}]}`, false},
		// The ids Ponte answered before: internal ids and keys of sub-records.
		{"an internal service id does not", "service.json", `{"id":"l2-crema","name":"n","status":"active"}`, false},
		{"a schedule keyed by its owner does not", "service.json", `{"id":"` + uid + `","name":"n","status":"active","schedules":[{"id":"l2-crema/schedules/0","freq":"WEEKLY"}]}`, false},
		{"a service at a location keyed by both does not", "service_at_location.json", `{"id":"l2-crema/at/loc-crema"}`, false},
		{"an address keyed by its location does not", "organization.json", `{"id":"` + uid + `","name":"n","description":"d","locations":[{"id":"` + uid + `","location_type":"physical","addresses":[{"id":"loc-crema/address","address_1":"a","city":"c","state_province":"s","postal_code":"p","country":"IT","address_type":"physical"}]}]}`, false},
		{"the taxonomy ponte-services does not", "taxonomy.json", `{"id":"ponte-services","name":"n","description":"d"}`, false},
		{"a term of the taxonomy ponte-services does not", "taxonomy_term.json", `{"id":"` + uid + `","name":"n","description":"d","taxonomy_id":"ponte-services"}`, false},
		{"an e-mail that is not one does not", "organization.json", `{"id":"` + uid + `","name":"n","description":"d","email":"nobody"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := jsonschema.UnmarshalJSON(strings.NewReader(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if err := schemas[tt.schema].Validate(v); (err == nil) != tt.valid {
				t.Errorf("%s against %s: error %v, want valid=%v", tt.doc, tt.schema, err, tt.valid)
			}
		})
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
	vocabularies, err := seed.Vocabularies()
	if err != nil {
		t.Fatal(err)
	}
	var services seed.Vocabulary
	for _, v := range vocabularies {
		if v.Code == "ponte-services" {
			services = v
		}
	}
	var (
		l2Crema      = hsdsID("service/l2-crema")
		caritas      = hsdsID("organization/caritas-crema")
		cittimm      = hsdsID("organization/cittimm")
		health       = hsdsID("taxonomy_term/ponte:health")
		language     = hsdsID("taxonomy_term/ponte:language")
		ponteTax     = hsdsID("taxonomy/ponte")
		l2AtCrema    = hsdsID("service/l2-crema/at/loc-crema")
		clinicAtCrem = hsdsID("service/clinic-cremona/at/loc-cremona")
	)
	stores(t, func(t *testing.T, n *node) {
		admin := n.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
		partner := n.token(t, auth.Principal{Subject: "p1", Organization: "caritas-crema", Roles: []string{auth.RolePartnerAdmin}})
		seedDirectory(t, n, admin, partner)
		// Richer fields on one service, so that they are validated too.
		r := n.do(t, "PATCH", "/v1/services/l2-crema", partner, map[string]any{
			"phones":            []map[string]any{{"number": "+39 0373 000 0001", "type": "voice", "languages": []string{"it", "ar"}}},
			"contacts":          []map[string]any{{"name": "Sportello stranieri", "email": "sportello@example.org", "phones": []map[string]any{{"number": "+39 0373 000 0002"}}}},
			"requiredDocuments": []map[string]any{{"document": map[string]string{"it": "Documento d'identità", "en": "Identity document"}}},
			"minimumAge":        16,
		})
		if r.status != 200 {
			t.Fatalf("PATCH = %d %s", r.status, r.body)
		}
		if r := n.do(t, "PATCH", "/v1/organizations/caritas-crema", partner, map[string]any{
			"phones": []map[string]any{{"number": "+39 0373 000 0003"}}, "email": "info@example.org", "website": "https://caritas.example.org",
		}); r.status != 200 {
			t.Fatalf("PATCH organization = %d %s", r.status, r.body)
		}

		lists := []struct {
			name, path, item string
			wantTotal        int
		}{
			{"services", "/hsds/services", "service_list.json", 3},
			{"services in full", "/hsds/services?full=true&locale=ar", "service.json", 3},
			{"services minimal", "/hsds/services?minimal=true", "service_list.json", 3},
			{"services by search", "/hsds/services?search=italiano", "service_list.json", 2},
			{"services by taxonomy term", "/hsds/services?taxonomy_term_id=" + health, "service_list.json", 1},
			{"services by a parent taxonomy term", "/hsds/services?taxonomy_term_id=" + language, "service_list.json", 2},
			{"services by taxonomy term, internal id", "/hsds/services?taxonomy_term_id=ponte:health", "service_list.json", 1},
			{"services by taxonomy", "/hsds/services?taxonomy_id=" + ponteTax, "service_list.json", 3},
			{"services by taxonomy, by its name", "/hsds/services?taxonomy_id=ponte", "service_list.json", 3},
			{"services by the built-in taxonomy", "/hsds/services?taxonomy_id=" + services.ID, "service_list.json", 0},
			{"services by organization", "/hsds/services?organization_id=" + cittimm, "service_list.json", 1},
			{"services by organization, internal id", "/hsds/services?organization_id=cittimm", "service_list.json", 1},
			{"services modified after", "/hsds/services?modified_after=2000-01-01T00:00:00Z", "service_list.json", 3},
			{"services at a postcode", "/hsds/services?postcode=26013", "service_list.json", 1},
			{"services near a postcode", "/hsds/services?postcode=26013&proximity=50000", "service_list.json", 2},
			{"services, second page", "/hsds/services?per_page=2&page=2", "service_list.json", 3},
			{"organizations", "/hsds/organizations", "organization_list.json", 2},
			{"organizations in full", "/hsds/organizations?full=true", "organization.json", 2},
			{"organizations with full services", "/hsds/organizations?full_service=true", "organization.json", 2},
			{"organizations with a term", "/hsds/organizations?taxonomy_term_id=" + health, "organization_list.json", 1},
			{"organizations with a taxonomy", "/hsds/organizations?taxonomy_id=" + ponteTax, "organization_list.json", 2},
			// Besides the test's own terms, the built-in taxonomy stored at start.
			{"taxonomies", "/hsds/taxonomies", "taxonomy.json", 1 + 1},
			{"taxonomies by search", "/hsds/taxonomies?search=integrazione", "taxonomy.json", 1},
			{"taxonomy terms", "/hsds/taxonomy_terms", "taxonomy_term.json", 3 + len(builtin)},
			{"taxonomy terms of a taxonomy", "/hsds/taxonomy_terms?taxonomy_id=" + ponteTax, "taxonomy_term.json", 3},
			{"top taxonomy terms", "/hsds/taxonomy_terms?top_only=true", "taxonomy_term.json", 2 + builtinTop},
			{"children of a term", "/hsds/taxonomy_terms?parent_id=" + language, "taxonomy_term.json", 1},
			{"services at locations", "/hsds/service_at_locations", "service_at_location_list.json", 3},
			{"services at locations in full", "/hsds/service_at_locations?full=true", "service_at_location_list.json", 3},
			{"services at locations of an organization", "/hsds/service_at_locations?organization_id=" + caritas, "service_at_location_list.json", 2},
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
					validateHSDSAnswer(t, tt.item, item)
				}
			})
		}

		singles := []struct{ name, path, schema string }{
			{"a service by its UUID", "/hsds/services/" + l2Crema, "service.json"},
			{"a service by its UUID in capitals", "/hsds/services/" + strings.ToUpper(l2Crema), "service.json"},
			{"a service by its internal id", "/hsds/services/clinic-cremona?locale=fr", "service.json"},
			{"an organization by its UUID", "/hsds/organizations/" + caritas, "organization.json"},
			{"an organization with its services in full", "/hsds/organizations/" + caritas + "?full_service=true", "organization.json"},
			{"an organization by its internal id", "/hsds/organizations/cittimm", "organization.json"},
			{"a taxonomy by its UUID", "/hsds/taxonomies/" + ponteTax, "taxonomy.json"},
			{"the built-in taxonomy", "/hsds/taxonomies/" + services.ID, "taxonomy.json"},
			{"a taxonomy term by its UUID", "/hsds/taxonomy_terms/" + health, "taxonomy_term.json"},
			{"a built-in taxonomy term", "/hsds/taxonomy_terms/" + builtin[0].ID, "taxonomy_term.json"},
			{"a service at a location by its UUID", "/hsds/service_at_locations/" + l2AtCrema, "service_at_location.json"},
			{"a service at a location with its own schedule", "/hsds/service_at_locations/" + clinicAtCrem + "?locale=fr", "service_at_location.json"},
		}
		for _, s := range singles {
			t.Run(s.name, func(t *testing.T) {
				r := n.do(t, "GET", s.path, "", nil)
				if r.status != 200 {
					t.Fatalf("GET %s = %d %s", s.path, r.status, r.body)
				}
				validateHSDSAnswer(t, s.schema, r.body)
			})
		}

		// The fully nested service carries what Ponte knows, in the asked language, under
		// the ids docs/directory.md derives from the internal keys.
		svc := decode[map[string]any](t, n.do(t, "GET", "/hsds/services/"+l2Crema+"?locale=en", "", nil))
		if svc["id"] != l2Crema || svc["organization_id"] != caritas || svc["name"] != "Italian school for adults" || svc["status"] != "active" || svc["minimum_age"] != float64(16) {
			t.Errorf("service = %v", svc)
		}
		sals, _ := svc["service_at_locations"].([]any)
		if len(sals) != 1 || !strings.Contains(fmt.Sprint(sals[0]), "Via Goldaniga 11") {
			t.Fatalf("service_at_locations = %v, want the Crema location with its address", sals)
		}
		sal := sals[0].(map[string]any)
		loc, _ := sal["location"].(map[string]any)
		addresses, _ := loc["addresses"].([]any)
		if sal["id"] != l2AtCrema || sal["location_id"] != hsdsID("location/loc-crema") || len(addresses) != 1 ||
			addresses[0].(map[string]any)["id"] != hsdsID("location/loc-crema/address") {
			t.Errorf("service at location = %v, want the ids of service/l2-crema/at/loc-crema, location/loc-crema and its address", sal)
		}
		scheds, _ := svc["schedules"].([]any)
		if len(scheds) != 2 || scheds[0].(map[string]any)["id"] != hsdsID("service/l2-crema/schedules/0") || scheds[0].(map[string]any)["service_id"] != l2Crema {
			t.Errorf("schedules = %v, want service/l2-crema/schedules/0 first", scheds)
		}
		if !strings.Contains(fmt.Sprint(svc["schedules"]), "byday:MO") {
			t.Errorf("schedules = %v, want a weekly Monday opening", svc["schedules"])
		}
		attrs := fmt.Sprint(svc["attributes"])
		if !strings.Contains(attrs, "Italian language courses") || !strings.Contains(attrs, "taxonomy_term_id:"+hsdsID("taxonomy_term/ponte:l2")) ||
			!strings.Contains(attrs, "taxonomy_id:"+ponteTax) || !strings.Contains(attrs, "parent_id:"+language) {
			t.Errorf("attributes = %v, want the L2 term labelled in English, with its UUID, its parent's and its taxonomy's", attrs)
		}
		// The same service read by its internal id is the same answer.
		if r := n.do(t, "GET", "/hsds/services/l2-crema?locale=en", "", nil); !jsonEqual(t, r.body, n.do(t, "GET", "/hsds/services/"+l2Crema+"?locale=en", "", nil).body) {
			t.Errorf("the service by its internal id differs from the service by its UUID")
		}

		// full_service on the organization list nests each organization's services in full.
		orgs := decode[hsdsPage](t, n.do(t, "GET", "/hsds/organizations?full_service=true", "", nil))
		for _, raw := range orgs.Contents {
			var o struct {
				ID       string           `json:"id"`
				Services []map[string]any `json:"services"`
			}
			if err := json.Unmarshal(raw, &o); err != nil {
				t.Fatal(err)
			}
			if o.ID == caritas && (len(o.Services) != 2 || !slices.ContainsFunc(o.Services, func(s map[string]any) bool { return s["schedules"] != nil && s["service_at_locations"] != nil })) {
				t.Errorf("caritas-crema with full_service = %s, want its 2 services in full", raw)
			}
		}
		if full := decode[hsdsPage](t, n.do(t, "GET", "/hsds/organizations?full=true", "", nil)); !strings.Contains(string(full.Contents[0]), `"services"`) ||
			strings.Contains(string(full.Contents[0])+string(full.Contents[1]), `"schedules":[{"byday":"MO"`) {
			t.Errorf("organizations?full=true = %s, want their services as summaries", full.Contents)
		}

		// Taxonomies have names and descriptions, not ids.
		taxes := decode[hsdsPage](t, n.do(t, "GET", "/hsds/taxonomies", "", nil))
		got := map[string]map[string]any{}
		for _, raw := range taxes.Contents {
			var m map[string]any
			_ = json.Unmarshal(raw, &m)
			got[m["id"].(string)] = m
		}
		if b := got[services.ID]; b == nil || b["name"] != services.Name || b["description"] != services.Description || b["version"] != services.Version {
			t.Errorf("the built-in taxonomy = %v, want %+v", b, services)
		}
		if p := got[ponteTax]; p == nil || p["name"] != "ponte" || p["description"] == "" {
			t.Errorf("the taxonomy ponte = %v, want its name and a description", p)
		}
		term := decode[map[string]any](t, n.do(t, "GET", "/hsds/taxonomy_terms/"+builtin[0].ID, "", nil))
		if term["taxonomy"] != "ponte-services" || term["taxonomy_id"] != services.ID {
			t.Errorf("built-in term = %v, want taxonomy ponte-services with the vocabulary's id", term)
		}

		root := decode[map[string]any](t, n.do(t, "GET", "/hsds/", "", nil))
		if root["version"] != "3.1" {
			t.Errorf("/hsds/ = %v", root)
		}
		var unknown []string
		for _, bad := range []struct{ path, param string }{
			{"/hsds/services?per_page=0", "per_page"},
			{"/hsds/services?page=x", "page"},
			{"/hsds/services?modified_after=yesterday", "modified_after"},
			{"/hsds/services?proximity=100", "proximity"},
			{"/hsds/services?taxonomy_term_id=ponte:nothing", "taxonomy_term_id"},
			{"/hsds/services?taxonomy_id=nothing", "taxonomy_id"},
			{"/hsds/services?taxonomy_id=" + hsdsID("taxonomy/nothing"), "taxonomy_id"},
			{"/hsds/organizations?taxonomy_id=nothing", "taxonomy_id"},
			{"/hsds/service_at_locations?taxonomy_id=nothing", "taxonomy_id"},
			{"/hsds/taxonomy_terms?taxonomy_id=nothing", "taxonomy_id"},
			{"/hsds/taxonomy_terms?parent_id=nothing", "parent_id"},
			{"/hsds/taxonomy_terms?top_only=maybe", "top_only"},
		} {
			r := n.do(t, "GET", bad.path, "", nil)
			if r.status != 400 || !hasInvalidParam(r.problem, bad.param) {
				t.Errorf("GET %s = %d %s, want a 400 problem naming %s", bad.path, r.status, r.body, bad.param)
			}
			if strings.HasSuffix(bad.path, "=nothing") || strings.HasSuffix(bad.path, "ponte:nothing") {
				unknown = append(unknown, fmt.Sprint(r.status, " ", r.problem["title"], " ", len(r.problem["invalid_params"].([]any))))
			}
		}
		// An unknown taxonomy is answered as an unknown term is: same status and shape.
		for _, u := range unknown[1:] {
			if u != unknown[0] {
				t.Errorf("unknown filters answer differently: %q", unknown)
			}
		}
		for _, path := range []string{
			"/hsds/services/nothing", "/hsds/services/" + hsdsID("service/nothing"),
			"/hsds/organizations/nothing", "/hsds/organizations/" + hsdsID("organization/nothing"),
			"/hsds/taxonomies/nothing", "/hsds/taxonomies/" + hsdsID("taxonomy/nothing"),
			"/hsds/taxonomy_terms/nothing", "/hsds/taxonomy_terms/" + hsdsID("taxonomy_term/nothing"),
			"/hsds/service_at_locations/nothing", "/hsds/service_at_locations/" + hsdsID("service/l2-crema/at/loc-sona"),
		} {
			if r := n.do(t, "GET", path, "", nil); r.status != 404 || r.problem == nil {
				t.Errorf("GET %s = %d %s, want a 404 problem", path, r.status, r.body)
			}
		}
	})
}

func TestHSDSReadEndpointsKeepHTTPSemantics(t *testing.T) {
	t.Parallel()
	n := startNode(t, "")
	admin := n.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
	partner := n.token(t, auth.Principal{Subject: "p1", Organization: "caritas-crema", Roles: []string{auth.RolePartnerAdmin}})
	seedDirectory(t, n, admin, partner)
	for _, path := range []string{
		"/hsds/taxonomies/" + hsdsID("taxonomy/ponte"),
		"/hsds/taxonomy_terms/" + hsdsID("taxonomy_term/ponte:health"),
		"/hsds/service_at_locations/" + hsdsID("service/l2-crema/at/loc-crema"),
		"/hsds/organizations?full_service=true",
	} {
		t.Run(path, func(t *testing.T) {
			get, body := rawDo(t, "GET", n.base+path, nil, "Origin", "https://referrals.example.net")
			etag := get.Header.Get("ETag")
			if get.StatusCode != 200 || etag == "" || get.Header.Get("Cache-Control") != "public, max-age=60" ||
				get.Header.Get("Access-Control-Allow-Origin") != "*" || get.Header.Get("Access-Control-Allow-Credentials") != "" {
				t.Fatalf("GET = %d %v, want 200 with an ETag, public caching and Access-Control-Allow-Origin: *", get.StatusCode, get.Header)
			}
			head, headBody := rawDo(t, "HEAD", n.base+path, nil)
			if head.StatusCode != 200 || len(headBody) != 0 || head.Header.Get("ETag") != etag || head.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
				t.Errorf("HEAD = %d (%d bytes) %v, want the GET's headers and no body", head.StatusCode, len(headBody), head.Header)
			}
			again, againBody := rawDo(t, "GET", n.base+path, nil, "If-None-Match", etag)
			if again.StatusCode != http.StatusNotModified || len(againBody) != 0 {
				t.Errorf("GET with If-None-Match = %d (%d bytes), want 304", again.StatusCode, len(againBody))
			}
			if len(body) == 0 {
				t.Error("empty GET body")
			}
		})
	}
	for _, path := range []string{"/hsds/taxonomies/nothing", "/hsds/taxonomy_terms/nothing", "/hsds/service_at_locations/nothing"} {
		r := n.do(t, "GET", path, "", nil)
		if r.status != 404 || r.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET %s = %d %s, want 404 problem+json", path, r.status, r.header.Get("Content-Type"))
		}
	}
	if r := n.do(t, "GET", "/hsds/services?taxonomy_id=nothing", "", nil); r.status != 400 || r.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("unknown taxonomy_id = %d %s, want 400 problem+json", r.status, r.header.Get("Content-Type"))
	}
}

func jsonUnmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v) }

// flatten renders a decoded JSON value as text for "contains" checks.
func flatten(v any) string { return fmt.Sprint(v) }

// hsdsTestdata holds the HSDS 3.1 compiled schemas and examples, kept once beside the
// directory's HSDS package.
var hsdsTestdata = filepath.Join("..", "..", "..", "services", "directory", "hsds", "testdata", "hsds-3.1")

// TestHSDSDemoDirectoryValidates reads the whole demo directory (84 organizations, 209
// services, the built-in taxonomy over the demo's) through every /hsds/ endpoint and
// validates every answer with format assertion; the records by id are read by the ids
// the lists gave.
func TestHSDSDemoDirectoryValidates(t *testing.T) {
	t.Parallel()
	n := startNode(t, "", "--demo")
	waitForServices(t, n, 150)
	firstIDs := map[string]string{}
	for _, l := range []struct{ path, item, single string }{
		{"/hsds/services?full=true&per_page=1000", "service.json", "/hsds/services/"},
		{"/hsds/organizations?full_service=true&per_page=1000", "organization.json", "/hsds/organizations/"},
		{"/hsds/taxonomies?per_page=1000", "taxonomy.json", "/hsds/taxonomies/"},
		{"/hsds/taxonomy_terms?per_page=1000", "taxonomy_term.json", "/hsds/taxonomy_terms/"},
		{"/hsds/service_at_locations?full=true&per_page=1000", "service_at_location_list.json", "/hsds/service_at_locations/"},
	} {
		r := n.do(t, "GET", l.path, "", nil)
		if r.status != 200 {
			t.Fatalf("GET %s = %d %s", l.path, r.status, truncate(r.body))
		}
		page := decode[hsdsPage](t, r)
		if page.TotalItems == 0 || page.TotalItems != len(page.Contents) {
			t.Errorf("GET %s: %d items on the page of %d", l.path, len(page.Contents), page.TotalItems)
		}
		for _, item := range page.Contents {
			validateHSDSAnswer(t, l.item, item)
		}
		for i, item := range page.Contents {
			if i >= 5 {
				break
			}
			var rec struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(item, &rec)
			firstIDs[l.single+rec.ID] = strings.Replace(l.item, "_list", "", 1)
		}
	}
	for path, schema := range firstIDs {
		r := n.do(t, "GET", path, "", nil)
		if r.status != 200 {
			t.Errorf("GET %s = %d %s", path, r.status, truncate(r.body))
			continue
		}
		validateHSDSAnswer(t, schema, r.body)
	}
	taxes := decode[hsdsPage](t, n.do(t, "GET", "/hsds/taxonomies", "", nil))
	if len(taxes.Contents) != 1 || !strings.Contains(string(taxes.Contents[0]), "integrazione") {
		t.Errorf("taxonomies of the demo = %s, want the one built-in taxonomy, named", taxes.Contents)
	}
}
