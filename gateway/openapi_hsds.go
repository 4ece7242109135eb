package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ponte-network/ponte/services/directory/hsds"
)

// HSDSOpenAPIPath is where the edge serves the OpenAPI document of the HSDS endpoints.
const HSDSOpenAPIPath = "/hsds/openapi.json"

// HSDSOpenAPI returns the OpenAPI 3 document of the directory's Open Referral HSDS 3.1 read
// endpoints (/hsds/...), a second document beside the edge's own, as JSON: the paths and
// parameters Ponte serves, answers described by the HSDS 3.1 schemas (package hsds, copied
// from the specification, with the keywords OpenAPI 3.0 does not know left out), errors as
// problem+json; validated.
func HSDSOpenAPI(ctx context.Context, info APIInfo) ([]byte, error) {
	doc := &openapi3.T{OpenAPI: "3.0.3", Paths: openapi3.NewPaths()}
	if info.ContactEmail == "" {
		info.ContactEmail = "api@ponte.invalid"
	}
	doc.Info = &openapi3.Info{
		Title:   "Ponte directory — Open Referral HSDS 3.1",
		Version: "1.0.0",
		Description: "The services of the territory in the Open Referral Human Services Data Specification 3.1 " +
			"(https://docs.openreferral.org/en/latest/hsds/): read-only, public, open to any web page. " +
			"Every id is a UUID; records whose Ponte id is not one have the UUIDv5 of their key under Ponte's namespace " +
			"(see docs/directory.md). Text is in one language, chosen by locale (default Italian).",
		Contact: &openapi3.Contact{Name: "Ponte API", Email: info.ContactEmail},
		License: &openapi3.License{Name: "EUPL-1.2", URL: "https://interoperable-europe.ec.europa.eu/collection/eupl/eupl-text-eupl-12"},
		Extensions: map[string]any{
			"x-summary": "The services of the territory, their organizations and locations, as Open Referral HSDS 3.1.",
			"x-api-id":  "ponte-hsds-v1",
		},
	}
	if info.PublicURL != "" {
		doc.Servers = openapi3.Servers{{URL: strings.TrimSuffix(info.PublicURL, "/") + "/hsds", Description: "Ponte HSDS endpoints"}}
	} else {
		doc.Servers = openapi3.Servers{{URL: "/hsds", Description: "this Ponte edge (development)", Extensions: map[string]any{"x-sandbox": true}}}
	}
	// Public reads: no credentials.
	doc.Security = openapi3.SecurityRequirements{}
	doc.Tags = openapi3.Tags{
		{Name: "HSDS", Description: "Open Referral HSDS 3.1 read endpoints."},
	}
	schemas, err := hsdsSchemas()
	if err != nil {
		return nil, err
	}
	schemas["Problem"] = openapi3.NewSchemaRef("", problemSchema())
	schemas["Meta"] = openapi3.NewSchemaRef("", openapi3.NewObjectSchema().WithProperties(map[string]*openapi3.Schema{
		"version":     described(openapi3.NewStringSchema().WithMaxLength(16), "HSDS version of this API."),
		"profile":     described(openapi3.NewStringSchema().WithFormat("uri").WithMaxLength(2048), "URL of the HSDS profile of this API."),
		"openapi_url": described(openapi3.NewStringSchema().WithFormat("uri").WithMaxLength(2048), "Absolute URL of this OpenAPI document."),
	}))
	schemas["Meta"].Value.Description = "What this API is and where its OpenAPI document is."
	doc.Components = &openapi3.Components{Schemas: schemas, Parameters: hsdsParameters(), Headers: hsdsHeaders()}

	type route struct {
		path, id, summary, description, schema string
		list                                   bool
		params                                 []string
	}
	listParams := []string{"search", "page", "per_page", "locale"}
	serviceFilters := []string{"taxonomy_term_id", "taxonomy_id", "organization_id", "modified_after", "postcode", "proximity"}
	routes := []route{
		{"/", "getAPIMetaInformation", "About this API", "The HSDS version, profile and the absolute URL of this OpenAPI document.", "Meta", false, nil},
		{"/services", "getPaginatedListOfServices", "Services", "The active services the directory's search finds, in its ranking.", "service", true,
			append(append(listParams, serviceFilters...), "minimal", "full")},
		{"/services/{id}", "getFullyNestedServiceById", "A service", "A fully nested service, inactive and defunct ones included.", "service", false, []string{"id", "locale"}},
		{"/organizations", "getPaginatedListOfOrganizations", "Organizations", "Organizations by id.", "organization", true,
			append(listParams, "taxonomy_term_id", "taxonomy_id", "full", "full_service")},
		{"/organizations/{id}", "getOrganizationById", "An organization", "A fully nested organization with its services.", "organization", false, []string{"id", "locale", "full_service"}},
		{"/taxonomies", "getPaginatedListOfTaxonomies", "Taxonomies", "The taxonomies of the directory's terms, by name.", "taxonomy", true, listParams},
		{"/taxonomies/{id}", "getTaxonomyById", "A taxonomy", "A taxonomy, by its id or by the value its terms carry.", "taxonomy", false, []string{"id"}},
		{"/taxonomy_terms", "getPaginatedListOfTaxonomyTerms", "Taxonomy terms", "Taxonomy terms by id.", "taxonomy_term", true,
			append(listParams, "taxonomy_id", "top_only", "parent_id")},
		{"/taxonomy_terms/{id}", "getTaxonomyTermById", "A taxonomy term", "A taxonomy term.", "taxonomy_term", false, []string{"id", "locale"}},
		{"/service_at_locations", "getPaginatedListOfServiceAtLocations", "Services at locations", "Each active service at each of its locations.", "service_at_location", true,
			append(append(listParams, serviceFilters...), "full")},
		{"/service_at_locations/{id}", "getServiceAtLocationById", "A service at a location", "A service at a location, with its location and its service.", "service_at_location", false, []string{"id", "locale"}},
	}
	for _, rt := range routes {
		op := openapi3.NewOperation()
		op.OperationID, op.Summary, op.Description, op.Tags = rt.id, rt.summary, rt.description, []string{"HSDS"}
		for _, p := range rt.params {
			op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Ref: "#/components/parameters/" + p})
		}
		body := openapi3.NewSchemaRef("#/components/schemas/"+rt.schema, schemas[rt.schema].Value)
		if rt.list {
			body = openapi3.NewSchemaRef("", pageSchema(body))
		}
		ok := openapi3.NewResponse().WithDescription(rt.summary + ".").WithJSONSchemaRef(body)
		ok.Headers = openapi3.Headers{}
		for _, h := range []string{"ETag", "Cache-Control", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
			ok.Headers[h] = &openapi3.HeaderRef{Ref: "#/components/headers/" + h}
		}
		op.Responses = openapi3.NewResponses(openapi3.WithStatus(200, &openapi3.ResponseRef{Value: ok}))
		op.Responses.Delete("default")
		op.Responses.Set("304", &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("Not modified: the If-None-Match tag is current.")})
		problem := func(desc string) *openapi3.ResponseRef {
			return &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription(desc).WithContent(openapi3.Content{
				"application/problem+json": openapi3.NewMediaType().WithSchemaRef(openapi3.NewSchemaRef("#/components/schemas/Problem", schemas["Problem"].Value)),
			})}
		}
		if len(rt.params) > 0 {
			op.Responses.Set("400", problem("A parameter is invalid, or names an unknown taxonomy term or taxonomy: invalid_params names it."))
		}
		if strings.HasSuffix(rt.path, "{id}") {
			op.Responses.Set("404", problem("No such record."))
		}
		op.Responses.Set("429", problem("Too many requests from this client: see Retry-After."))
		op.Responses.Set("default", problem("An error, as RFC 9457 problem details."))
		doc.Paths.Set(rt.path, &openapi3.PathItem{Get: op})
	}
	status := statusPath("getHSDSStatus", "Health of the HSDS endpoints", "Whether the directory behind these endpoints answers.", true)
	status.Get.Tags = []string{"HSDS"}
	doc.Paths.Set("/status", status)
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("marshal HSDS OpenAPI document: %w", err)
	}
	// Loaded again, its references are resolved, as a client's tools resolve them.
	loaded, err := openapi3.NewLoader().LoadFromData(out)
	if err != nil {
		return nil, fmt.Errorf("load HSDS OpenAPI document: %w", err)
	}
	if err := loaded.Validate(ctx); err != nil {
		return nil, fmt.Errorf("HSDS OpenAPI document is invalid: %w", err)
	}
	return out, nil
}

func described(s *openapi3.Schema, desc string) *openapi3.Schema {
	s.Description = desc
	return s
}

// pageSchema is an HSDS page of items.
func pageSchema(items *openapi3.SchemaRef) *openapi3.Schema {
	count := func(desc string) *openapi3.Schema {
		return described(openapi3.NewInt64Schema().WithMin(0).WithMax(1e9), desc)
	}
	s := described(openapi3.NewObjectSchema(), "One page of results.")
	s.Required = []string{"total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty", "contents"}
	s.Properties = openapi3.Schemas{
		"total_items": openapi3.NewSchemaRef("", count("How many results there are.")),
		"total_pages": openapi3.NewSchemaRef("", count("How many pages they fill.")),
		"page_number": openapi3.NewSchemaRef("", count("This page's number, from 1.")),
		"size":        openapi3.NewSchemaRef("", count("How many results this page holds.")),
		"first_page":  openapi3.NewSchemaRef("", described(openapi3.NewBoolSchema(), "Whether this is the first page.")),
		"last_page":   openapi3.NewSchemaRef("", described(openapi3.NewBoolSchema(), "Whether this is the last page.")),
		"empty":       openapi3.NewSchemaRef("", described(openapi3.NewBoolSchema(), "Whether there are no results.")),
		"contents":    openapi3.NewSchemaRef("", described(openapi3.NewArraySchema().WithItems(items.Value).WithMaxItems(1000), "The results.")),
	}
	s.Properties["contents"].Value.Items = items
	return s
}

func hsdsParameters() openapi3.ParametersMap {
	str := func(maxLen int64, desc string) *openapi3.Schema {
		return described(openapi3.NewStringSchema().WithMaxLength(maxLen), desc)
	}
	boolean := func(desc string) *openapi3.Schema { return described(openapi3.NewBoolSchema(), desc) }
	q := func(name string, s *openapi3.Schema) *openapi3.ParameterRef {
		p := openapi3.NewQueryParameter(name).WithSchema(s)
		p.Description = s.Description
		return &openapi3.ParameterRef{Value: p}
	}
	locale := str(6, "The language of the text (ISO 639), default Italian; Accept-Language chooses it when absent.")
	locale.Pattern = "^[a-z]{2,3}(-[A-Z]{2})?$"
	modified := str(40, "Only records modified at or after this RFC 3339 date-time.")
	modified.Format = "date-time"
	id := str(100, "The record's HSDS id (a UUID) or its Ponte id.")
	path := openapi3.NewPathParameter("id").WithSchema(id)
	path.Description = id.Description
	return openapi3.ParametersMap{
		"id":               &openapi3.ParameterRef{Value: path},
		"search":           q("search", str(200, "Words the records' text contains.")),
		"page":             q("page", described(openapi3.NewInt32Schema().WithMin(1).WithMax(10000).WithDefault(1), "The page number, from 1.")),
		"per_page":         q("per_page", described(openapi3.NewInt32Schema().WithMin(1).WithMax(1000).WithDefault(50), "Results per page.")),
		"locale":           q("locale", locale),
		"taxonomy_term_id": q("taxonomy_term_id", str(100, "Records classified under this taxonomy term or its sub-terms (its UUID or Ponte id); an unknown term is a 400.")),
		"taxonomy_id":      q("taxonomy_id", str(100, "Records with a term of this taxonomy (its UUID or the value its terms carry); an unknown taxonomy is a 400.")),
		"organization_id":  q("organization_id", str(100, "Services of this organization (its UUID or Ponte id).")),
		"modified_after":   q("modified_after", modified),
		"postcode":         q("postcode", str(16, "Services with a location at this postal code.")),
		"proximity":        q("proximity", described(openapi3.NewFloat64Schema().WithFormat("double").WithMin(0).WithExclusiveMin(true).WithMax(200000), "Metres from the centroid of postcode's located places; needs postcode.")),
		"minimal":          q("minimal", boolean("Only id, name, status and last_modified of each service.")),
		"full":             q("full", boolean("Fully nested records.")),
		"full_service":     q("full_service", boolean("Organizations fully nested, with their services in full.")),
		"top_only":         q("top_only", boolean("Only terms without a parent.")),
		"parent_id":        q("parent_id", str(100, "Only the children of this term (its UUID or Ponte id); an unknown term is a 400.")),
	}
}

func hsdsHeaders() openapi3.Headers {
	h := func(desc string, s *openapi3.Schema) *openapi3.HeaderRef {
		return &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{Description: desc, Schema: openapi3.NewSchemaRef("", s)}}}
	}
	count := func() *openapi3.Schema { return openapi3.NewInt64Schema().WithMin(0).WithMax(1e9) }
	return openapi3.Headers{
		"ETag":                h("The answer's tag, for If-None-Match.", openapi3.NewStringSchema().WithMaxLength(128)),
		"Cache-Control":       h("public, max-age=60 (private, no-cache with an Authorization header).", openapi3.NewStringSchema().WithMaxLength(64)),
		"RateLimit-Limit":     h("Requests this client may make at once.", count()),
		"RateLimit-Remaining": h("Requests left to this client now.", count()),
		"RateLimit-Reset":     h("Seconds until the client's allowance is full again.", count()),
	}
}

// hsdsSchemas converts the HSDS 3.1 record schemas to OpenAPI 3.0 schemas: references
// between files become component references, and the keywords of the specification's
// tabular form (name, constraints, core, datapackage_metadata...) are left out.
func hsdsSchemas() (openapi3.Schemas, error) {
	fsys := hsds.Schemas()
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, fmt.Errorf("list HSDS schemas: %w", err)
	}
	sort.Strings(names)
	out := openapi3.Schemas{}
	for _, name := range names {
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read HSDS schema %s: %w", name, err)
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("parse HSDS schema %s: %w", name, err)
		}
		cleaned, err := json.Marshal(oasSchema(v))
		if err != nil {
			return nil, fmt.Errorf("convert HSDS schema %s: %w", name, err)
		}
		s := openapi3.NewSchema()
		if err := json.Unmarshal(cleaned, s); err != nil {
			return nil, fmt.Errorf("load HSDS schema %s: %w", name, err)
		}
		out[strings.TrimSuffix(name, ".json")] = openapi3.NewSchemaRef("", s)
	}
	return out, nil
}

// oasKeywords are the JSON Schema keywords of the HSDS schemas that OpenAPI 3.0 schemas keep.
// Examples are left out: some contradict their own type ("extension": "100" on a number).
var oasKeywords = map[string]bool{"type": true, "title": true, "description": true, "format": true, "enum": true,
	"items": true, "properties": true, "required": true, "maximum": true, "minimum": true}

func oasSchema(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if ref, ok := m["$ref"].(string); ok {
		// A reference stands alone in OpenAPI 3.0: its siblings would be ignored.
		return map[string]any{"$ref": "#/components/schemas/" + strings.TrimSuffix(ref, ".json")}
	}
	out := map[string]any{}
	for k, x := range m {
		if !oasKeywords[k] {
			continue
		}
		switch k {
		case "properties":
			props := map[string]any{}
			for name, p := range x.(map[string]any) {
				props[name] = oasSchema(p)
			}
			out[k] = props
		case "items":
			out[k] = oasSchema(x)
		default:
			out[k] = x
		}
	}
	if out["type"] == "number" && out["format"] == nil {
		out["format"] = "double" // the guidelines want a number's format said
	}
	return out
}

// serveHSDSOpenAPI serves the HSDS document.
func serveHSDSOpenAPI(doc []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})
}
