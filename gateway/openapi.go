package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	"github.com/getkin/kin-openapi/openapi3"

	ponteproto "github.com/ponte-network/ponte/proto"
)

// openAPIJSON completes the generated OpenAPI 3 document — problem+json error
// responses, the bearer-token security scheme — validates it and returns it as JSON.
func openAPIJSON(ctx context.Context) ([]byte, error) {
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
			WithDescription("A JWT with the claims org, territory and roles. Public methods accept calls without it.")},
	}
	// Optional authentication at the document level: public methods need no token; the
	// others answer 401 without one.
	doc.Security = openapi3.SecurityRequirements{{"bearerAuth": []string{}}, {}}
	doc.Servers = openapi3.Servers{{URL: "/", Description: "this Ponte edge"}}

	problemResponse := func(desc string) *openapi3.ResponseRef {
		return &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription(desc).WithContent(openapi3.Content{
			"application/problem+json": openapi3.NewMediaType().WithSchemaRef(openapi3.NewSchemaRef("#/components/schemas/Problem", problem)),
		})}
	}
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	for _, path := range paths {
		for method, op := range doc.Paths.Value(path).Operations() {
			op.Responses.Set("default", problemResponse("An error, as RFC 9457 problem details."))
			op.Responses.Set("400", problemResponse("The request is invalid: invalid_params names each field."))
			op.Responses.Set("401", problemResponse("A token is required, or the one sent is not valid."))
			op.Responses.Set("403", problemResponse("The caller's roles or territory do not allow this."))
			if method == http.MethodGet && len(op.Parameters) > 0 && op.Parameters[0].Value.In == "path" {
				op.Responses.Set("404", problemResponse("No such resource."))
			}
		}
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("OpenAPI document is invalid: %w", err)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("marshal OpenAPI document: %w", err)
	}
	return out, nil
}

func problemSchema() *openapi3.Schema {
	described := func(s *openapi3.Schema, desc string) *openapi3.Schema {
		s.Description = desc
		return s
	}
	str := func(desc string) *openapi3.SchemaRef {
		return openapi3.NewSchemaRef("", described(openapi3.NewStringSchema(), desc))
	}
	param := openapi3.NewObjectSchema().WithProperties(map[string]*openapi3.Schema{
		"name":   described(openapi3.NewStringSchema(), "The request field."),
		"reason": described(openapi3.NewStringSchema(), "What is wrong with it."),
	})
	s := described(openapi3.NewObjectSchema(), "RFC 9457 problem details.")
	s.Properties = openapi3.Schemas{
		"type":           str("A URI reference that identifies the problem type."),
		"title":          str("A short summary of the problem type."),
		"status":         openapi3.NewSchemaRef("", described(openapi3.NewInt32Schema(), "The HTTP status code.")),
		"detail":         str("What went wrong with this request."),
		"instance":       str("The request path."),
		"code":           str("The gRPC status code name."),
		"reason":         str("A machine-readable reason."),
		"trace_id":       str("The request's trace id, for support."),
		"invalid_params": openapi3.NewSchemaRef("", described(openapi3.NewArraySchema().WithItems(param), "One entry per invalid request field.")),
	}
	return s
}
