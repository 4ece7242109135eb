package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"

	"github.com/getkin/kin-openapi/openapi3"
	rpccode "google.golang.org/genproto/googleapis/rpc/code"

	"github.com/ponte-network/ponte/libs/problem"

	ponteproto "github.com/ponte-network/ponte/proto"
)

// APIInfo is what a deployment says about its API in the OpenAPI document.
type APIInfo struct {
	// PublicURL is the https URL clients reach the edge at; empty: relative to the
	// document, marked x-sandbox (a development edge).
	PublicURL string
	// ContactEmail is who answers for this deployment's API.
	ContactEmail string
}

// OpenAPI returns the OpenAPI 3 document of the REST edge as JSON: the generated one
// completed with problem+json error responses, the bearer-token security scheme, the
// /status endpoint and the metadata the Italian public administration's API guidelines
// ask for; validated.
func OpenAPI(ctx context.Context, info APIInfo) ([]byte, error) {
	doc, err := openapi3.NewLoader().LoadFromData(ponteproto.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("load generated OpenAPI document: %w", err)
	}
	if doc.Components == nil {
		doc.Components = &openapi3.Components{}
	}
	if doc.Components.Schemas == nil {
		doc.Components.Schemas = openapi3.Schemas{}
	}
	problem := problemSchema()
	doc.Components.Schemas["Problem"] = openapi3.NewSchemaRef("", problem)
	doc.Components.SecuritySchemes = openapi3.SecuritySchemes{
		"bearerAuth": &openapi3.SecuritySchemeRef{Value: openapi3.NewJWTSecurityScheme().
			WithDescription("A JWT (a JWS) with the claims org, territory and roles, verified as RFC8725 asks: the algorithm is fixed by the key, never taken from the token, and `none` is refused. Public methods accept calls without it.")},
	}
	// Optional authentication at the document level: public methods need no token; the
	// others answer 401 without one.
	doc.Security = openapi3.SecurityRequirements{{"bearerAuth": []string{}}, {}}
	if info.PublicURL != "" {
		doc.Servers = openapi3.Servers{{URL: info.PublicURL, Description: "Ponte REST edge"}}
	} else {
		doc.Servers = openapi3.Servers{{URL: "/", Description: "this Ponte edge (development)",
			Extensions: map[string]any{"x-sandbox": true}}}
	}
	if info.ContactEmail == "" {
		info.ContactEmail = "api@ponte.invalid"
	}
	doc.Info.Version = "1.0.0" // the v1 API; bumped with every published change
	doc.Info.Contact = &openapi3.Contact{Name: "Ponte API", Email: info.ContactEmail}
	doc.Info.License = &openapi3.License{Name: "EUPL-1.2", URL: "https://interoperable-europe.ec.europa.eu/collection/eupl/eupl-text-eupl-12"}
	doc.Info.Extensions = map[string]any{
		"x-summary": "Cases, mediators, services of the territory, housing and indicators for migrant integration networks.",
		"x-api-id":  "ponte-v1",
	}
	doc.Paths.Set("/status", statusPath("Status", "Health of the API",
		"Whether the edge and every service behind it can serve, as the Italian guidelines ask.", true))
	doc.Paths.Set("/readyz", statusPath("Readiness", "Readiness of the edge",
		"The same answer as /status, for orchestrators' readiness probes; never rate limited.", false))
	doc.Paths.Set("/healthz", healthzPath())
	doc.Components.Schemas["StreamError"] = openapi3.NewSchemaRef("", streamErrorSchema())
	doc.Components.Headers = edgeHeaders()
	doc.Components.Parameters = edgeParameters()
	routes := map[string]*route{}
	for _, rt := range newRouteTable(apiModules()).routes {
		key := rt.verb + " " + string(rt.rpc.Parent().Name()) + "_" + string(rt.rpc.Name())
		if _, dup := routes[key]; !dup {
			routes[key] = rt
		}
	}
	doc.Tags = append(doc.Tags, &openapi3.Tag{Name: "Status", Description: "Health of the API."})

	problemResponse := func(desc string) *openapi3.ResponseRef {
		return &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription(desc).WithContent(openapi3.Content{
			"application/problem+json": openapi3.NewMediaType().WithSchemaRef(openapi3.NewSchemaRef("#/components/schemas/Problem", problem)),
		})}
	}
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	for _, path := range paths {
		if path == "/status" || path == "/readyz" || path == "/healthz" {
			continue // answered by the edge itself, described whole above
		}
		for method, op := range doc.Paths.Value(path).Operations() {
			op.Responses.Set("default", problemResponse("An error, as RFC 9457 problem details."))
			op.Responses.Set("400", problemResponse("The request is invalid: invalid_params names each field."))
			op.Responses.Set("401", problemResponse("A token is required, or the one sent is not valid."))
			op.Responses.Set("403", problemResponse("The caller's roles or territory do not allow this."))
			// A PATCH body holds the fields to change, the rest kept: a JSON merge patch
			// (RFC 7396), as the guidelines ask PATCH bodies to say; the edge accepts it
			// (and plain application/json) alike.
			if method == http.MethodPatch && op.RequestBody != nil && op.RequestBody.Value != nil {
				if mt, ok := op.RequestBody.Value.Content["application/json"]; ok {
					delete(op.RequestBody.Value.Content, "application/json")
					op.RequestBody.Value.Content["application/merge-patch+json"] = mt
				}
			}
			if method == http.MethodGet && len(op.Parameters) > 0 && op.Parameters[0].Value.In == "path" {
				op.Responses.Set("404", problemResponse("No such resource."))
			}
			rt, ok := routes[method+" "+op.OperationID]
			if !ok {
				return nil, fmt.Errorf("OpenAPI operation %s %s: the edge has no such route", method, path)
			}
			if err := completeOperation(op, rt, problemResponse); err != nil {
				return nil, fmt.Errorf("OpenAPI operation %s %s: %w", method, path, err)
			}
		}
	}
	markStaleReads(doc)
	// The parts added here refer to components by $ref: resolve them, as a loader would.
	if err := openapi3.NewLoader().ResolveRefsIn(doc, nil); err != nil {
		return nil, fmt.Errorf("resolve OpenAPI document: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("OpenAPI document is invalid: %w", err)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("marshal OpenAPI document: %w", err)
	}
	return withZeroMinItems(out)
}

// withZeroMinItems writes minItems: 0 back into every array schema with a maxItems:
// the generated document says it (a repeated field may be empty), the guidelines' rule
// wants both bounds stated, and kin-openapi omits a zero minItems when it marshals.
func withZeroMinItems(doc []byte) ([]byte, error) {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil, fmt.Errorf("reread OpenAPI document: %w", err)
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "array" {
				if _, ok := x["maxItems"]; ok {
					if _, ok := x["minItems"]; !ok {
						x["minItems"] = 0
					}
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal OpenAPI document: %w", err)
	}
	return out, nil
}

// statusPath documents GET /status (the health check the Italian guidelines require) or
// /readyz: problem+json with status 200 when the edge and the services behind it can
// serve, 503 otherwise.
func statusPath(id, summary, desc string, limited bool) *openapi3.PathItem {
	op := openapi3.NewOperation()
	op.OperationID = id
	op.Summary = summary
	op.Description = desc
	op.Tags = []string{"Status"}
	op.Security = &openapi3.SecurityRequirements{{}}
	content := openapi3.Content{
		"application/problem+json": openapi3.NewMediaType().WithSchemaRef(openapi3.NewSchemaRef("#/components/schemas/Problem", problemSchema())),
	}
	// Inline, not references: the HSDS document has its own components.
	edge := edgeHeaders()
	var headers openapi3.Headers
	if limited {
		headers = openapi3.Headers{}
		for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
			headers[h] = edge[h]
		}
	}
	ok := openapi3.NewResponse().WithDescription(`The API can serve: {"type":"about:blank","title":"OK","status":200,"detail":"ready"}.`).WithContent(content)
	ok.Headers = headers
	down := openapi3.NewResponse().WithDescription("A service behind the edge cannot serve now (the cause is in the server's log only).").WithContent(content)
	down.Headers = openapi3.Headers{"Retry-After": edge["Retry-After"]}
	for k, v := range headers {
		down.Headers[k] = v
	}
	op.Responses = openapi3.NewResponses(
		openapi3.WithStatus(200, &openapi3.ResponseRef{Value: ok}),
		openapi3.WithStatus(503, &openapi3.ResponseRef{Value: down}),
	)
	if limited {
		op.Responses.Set("429", &openapi3.ResponseRef{Value: openapi3.NewResponse().
			WithDescription("Past the client's rate limit: try again after Retry-After seconds.").WithContent(content)})
		op.Responses.Value("429").Value.Headers = openapi3.Headers{"Retry-After": edge["Retry-After"]}
	}
	op.Responses.Delete("default")
	return &openapi3.PathItem{Get: op}
}

// healthzPath documents GET /healthz, the liveness probe: the process serves HTTP.
func healthzPath() *openapi3.PathItem {
	op := openapi3.NewOperation()
	op.OperationID = "Liveness"
	op.Summary = "Liveness of the edge"
	op.Description = "The process answers HTTP; whether the services can serve is /readyz. Never rate limited."
	op.Tags = []string{"Status"}
	op.Security = &openapi3.SecurityRequirements{{}}
	body := openapi3.NewObjectSchema()
	body.Properties = openapi3.Schemas{
		"status":  openapi3.NewSchemaRef("", openapi3.NewStringSchema().WithEnum("ok")),
		"version": openapi3.NewSchemaRef("", textSchema("The build's version.", 200)),
	}
	body.Required = []string{"status", "version"}
	body.AdditionalProperties = openapi3.AdditionalProperties{Has: new(false)}
	op.Responses = openapi3.NewResponses(openapi3.WithStatus(200, &openapi3.ResponseRef{Value: openapi3.NewResponse().
		WithDescription(`Alive: {"status":"ok","version":"<version>"}.`).
		WithContent(openapi3.Content{"application/json": openapi3.NewMediaType().WithSchema(body)})}))
	op.Responses.Delete("default")
	return &openapi3.PathItem{Get: op}
}

func problemSchema() *openapi3.Schema {
	described := func(s *openapi3.Schema, desc string) *openapi3.Schema {
		s.Description = desc
		return s
	}
	// text is a string the edge writes: no control characters, at most max characters.
	text := func(desc string, max uint64) *openapi3.Schema {
		s := described(openapi3.NewStringSchema().WithMaxLength(int64(max)), desc)
		s.Pattern = `^[^\x00-\x1F\x7F]*$`
		return s
	}
	ref := func(s *openapi3.Schema) *openapi3.SchemaRef { return openapi3.NewSchemaRef("", s) }
	param := openapi3.NewObjectSchema().WithProperties(map[string]*openapi3.Schema{
		"name":   text("The request field.", 81),
		"reason": text("What is wrong with it.", 301),
	})
	param.AdditionalProperties = openapi3.AdditionalProperties{Has: new(false)}
	codes := make([]any, 0, 17)
	for c := range int32(len(rpccode.Code_name)) {
		codes = append(codes, rpccode.Code_name[c])
	}
	s := described(openapi3.NewObjectSchema(), "RFC 9457 problem details.")
	s.AdditionalProperties = openapi3.AdditionalProperties{Has: new(false)}
	s.Required = []string{"type", "title", "status"}
	s.Properties = openapi3.Schemas{
		"type":     ref(described(openapi3.NewStringSchema().WithFormat("uri-reference").WithMaxLength(2048), "A URI reference that identifies the problem type.")),
		"title":    ref(text("A short summary of the problem type.", 100)),
		"status":   ref(described(openapi3.NewInt32Schema().WithMin(200).WithMax(599), "The HTTP status code.")),
		"detail":   ref(text("What went wrong with this request.", 1000)),
		"instance": ref(described(openapi3.NewStringSchema().WithFormat("uri-reference").WithMaxLength(problem.MaxInstanceBytes), "The request path.")),
		"code":     ref(described(openapi3.NewStringSchema().WithEnum(codes...), "The gRPC status code name.")),
		"reason":   ref(text("A machine-readable reason.", 301)),
		"trace_id": ref(described(openapi3.NewStringSchema().WithPattern("^[0-9a-f]{32}$").WithMaxLength(32), "The request's trace id, for support.")),
		"invalid_params": ref(described(openapi3.NewArraySchema().WithItems(param).
			WithMinItems(1).WithMaxItems(problem.MaxInvalidParams), "One entry per invalid request field.")),
	}
	return s
}

// staleReads are the routes answered from the directory's search index, which keep
// answering while its database is down.
var staleReads = []string{"/v1/services:search", "/v1/territories", "/v1/territories/{code}"}

// markStaleReads documents StaleHeader on the answers of staleReads.
func markStaleReads(doc *openapi3.T) {
	header := &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
		Description: "Present only when the answer was served from the directory's search index while its " +
			"database could not be reached: the seconds (rounded up) since the index last caught up with the " +
			"database. Such answers carry Cache-Control: no-cache.",
		Schema: openapi3.NewSchemaRef("", openapi3.NewInt32Schema().WithMin(1).WithMax(math.MaxInt32)),
	}}}
	for _, path := range staleReads {
		item := doc.Paths.Value(path)
		if item == nil || item.Get == nil {
			continue // the directory is not mounted
		}
		ok := item.Get.Responses.Value("200")
		if ok == nil || ok.Value == nil {
			continue
		}
		if ok.Value.Headers == nil {
			ok.Value.Headers = openapi3.Headers{}
		}
		ok.Value.Headers[StaleHeader] = header
	}
}
