package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc/status"

	"github.com/getkin/kin-openapi/openapi3"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// What the edge adds to every route (semantics.go, ratelimit.go), stated in the OpenAPI
// document from the same route table the edge serves with: a route's document cannot
// say 200 where the edge answers 201, or forget a header the edge sends.

// textPattern is a header or string the edge writes: no control characters.
const textPattern = `^[^\x00-\x1F\x7F]*$`

// apiModules are the service modules whose protos the document describes: every
// ponte.<module>.v1 package with a service.
func apiModules() []string {
	var mods []string
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		parts := strings.Split(string(fd.Package()), ".")
		if len(parts) == 3 && parts[0] == "ponte" && parts[2] == "v1" && fd.Services().Len() > 0 {
			mods = append(mods, parts[1])
		}
		return true
	})
	return mods
}

func headerRef(name string) *openapi3.HeaderRef {
	return &openapi3.HeaderRef{Ref: "#/components/headers/" + name}
}

func intSchema(desc string, min, max float64) *openapi3.SchemaRef {
	s := openapi3.NewInt32Schema().WithMin(min).WithMax(max)
	s.Description = desc
	return openapi3.NewSchemaRef("", s)
}

func textSchema(desc string, max int64) *openapi3.Schema {
	s := openapi3.NewStringSchema().WithMaxLength(max).WithPattern(textPattern)
	s.Description = desc
	return s
}

func header(desc string, schema *openapi3.SchemaRef) *openapi3.HeaderRef {
	return &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{Description: desc, Schema: schema}}}
}

// edgeHeaders are the response headers the edge writes, as components.
func edgeHeaders() openapi3.Headers {
	const maxInt32 = 1<<31 - 1
	cacheControl := openapi3.NewStringSchema().WithEnum("no-store", "public, max-age="+strconv.Itoa(publicMaxAge), "private, no-cache", "public, no-cache")
	cacheControl.Description = "no-store on every answer of a service with personal data; public reads: public for a minute, private with an Authorization header, no-cache when served stale while the directory's database is down."
	return openapi3.Headers{
		"RateLimit-Limit":     header("Requests a client may make at once (the bucket's size, --rate-limit-burst). Absent when the edge does not limit.", intSchema("", 0, maxInt32)),
		"RateLimit-Remaining": header("Requests left in the client's bucket now.", intSchema("", 0, maxInt32)),
		"RateLimit-Reset":     header("Seconds until the client's bucket is full again.", intSchema("", 0, maxInt32)),
		"Retry-After":         header("Seconds to wait before trying again.", intSchema("", 1, maxInt32)),
		"ETag": header(`The record's entity tag, "<etag>" (with ";<locale>" for a rendering in one locale), or a digest of a public answer; If-Match and If-None-Match take it.`,
			openapi3.NewSchemaRef("", openapi3.NewStringSchema().WithMaxLength(100).WithPattern(`^"[^"\x00-\x1F\x7F]*"$`))),
		"Location": header("The created record's path.",
			openapi3.NewSchemaRef("", openapi3.NewStringSchema().WithFormat("uri-reference").WithMaxLength(2048))),
		"Content-Language": header("The locale asked for (the locale parameter, else Accept-Language).",
			openapi3.NewSchemaRef("", openapi3.NewStringSchema().WithMaxLength(6).WithPattern(`^[a-z]{2,3}(-[A-Z]{2})?$`))),
		"Cache-Control": header(cacheControl.Description, openapi3.NewSchemaRef("", cacheControl)),
	}
}

// edgeParameters are the request headers the edge reads, as components.
func edgeParameters() openapi3.ParametersMap {
	h := func(name, desc string) *openapi3.ParameterRef {
		return &openapi3.ParameterRef{Value: openapi3.NewHeaderParameter(name).WithDescription(desc).
			WithSchema(textSchema("", 1024))}
	}
	return openapi3.ParametersMap{
		"If-Match":        h("If-Match", "The ETag the change is based on: a stale one is 412; a weak one never matches; * asks only that the record exist."),
		"If-None-Match":   h("If-None-Match", "ETags the client holds: a match answers 304 without a body."),
		"Accept-Language": h("Accept-Language", "Chooses the locale when the locale parameter is absent: the language of the most preferred tag."),
	}
}

// completeOperation states what the edge does on one route: headers, the status of
// creates and deletes, the answers the edge itself gives (304, 412, 413, 415, 429, 503)
// and the stream of a :watch route.
func completeOperation(op *openapi3.Operation, rt *route, problemResponse func(string) *openapi3.ResponseRef) error {
	public := publicRecords[rt.service]
	cacheable := public && rt.verb == http.MethodGet && !rt.streaming
	ok := op.Responses.Value("200")
	if ok == nil || ok.Value == nil {
		return fmt.Errorf("no 200 answer")
	}
	okResp := ok.Value
	if okResp.Headers == nil {
		okResp.Headers = openapi3.Headers{}
	}
	if !public || cacheable {
		okResp.Headers["Cache-Control"] = headerRef("Cache-Control")
	}
	if cacheable || hasEtag(rt.rpc.Output()) {
		okResp.Headers["ETag"] = headerRef("ETag")
	}
	if rt.locale {
		okResp.Headers["Content-Language"] = headerRef("Content-Language")
		op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Ref: "#/components/parameters/Accept-Language"})
	}
	if rt.etagInQuery || rt.etagInBody {
		op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Ref: "#/components/parameters/If-Match"})
		op.Responses.Set("412", problemResponse("If-Match names a stale or weak entity tag."))
	}
	if cacheable {
		op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Ref: "#/components/parameters/If-None-Match"})
		notModified := openapi3.NewResponse().WithDescription("Not modified: If-None-Match names the current ETag.")
		notModified.Headers = openapi3.Headers{"ETag": headerRef("ETag"), "Cache-Control": headerRef("Cache-Control")}
		op.Responses.Set("304", &openapi3.ResponseRef{Value: notModified})
	}
	if rt.body != "" {
		op.Responses.Set("413", problemResponse("The body is larger than the edge's limit (--max-body-bytes), declared or chunked."))
		op.Responses.Set("415", problemResponse("The body is not JSON (application/json or an application/*+json type)."))
	}
	op.Responses.Set("429", problemResponse("Past the client's rate limit: try again after Retry-After seconds."))
	op.Responses.Value("429").Value.Headers = openapi3.Headers{"Retry-After": headerRef("Retry-After")}
	op.Responses.Set("503", problemResponse("A service behind the edge cannot serve now: try again after Retry-After seconds."))
	op.Responses.Value("503").Value.Headers = openapi3.Headers{"Retry-After": headerRef("Retry-After")}
	switch {
	case rt.location != nil:
		okResp.Description = new("Created.")
		okResp.Headers["Location"] = headerRef("Location")
		op.Responses.Delete("200")
		op.Responses.Set("201", ok)
	case rt.verb == http.MethodDelete && rt.rpc.Output().FullName() == "google.protobuf.Empty":
		op.Responses.Delete("200")
		headers := okResp.Headers
		delete(headers, "ETag")
		deleted := openapi3.NewResponse().WithDescription("Deleted: no body.")
		deleted.Headers = headers
		op.Responses.Set("204", &openapi3.ResponseRef{Value: deleted})
	case rt.streaming:
		mt := okResp.Content.Get("application/json")
		if mt == nil || mt.Schema == nil {
			return fmt.Errorf("a stream without a JSON schema")
		}
		line := openapi3.NewObjectSchema()
		line.Description = "One line of the stream: the result, or the error that ends it."
		line.Properties = openapi3.Schemas{"result": mt.Schema, "error": openapi3.NewSchemaRef("#/components/schemas/StreamError", nil)}
		line.MinProps, line.MaxProps = 1, new(uint64(1))
		line.AdditionalProperties = openapi3.AdditionalProperties{Has: new(false)}
		mt.Schema = openapi3.NewSchemaRef("", line)
		okResp.Description = new("A stream of JSON objects, one per line (newline-delimited JSON, sent chunked as entries commit): " +
			`{"result": <entry>} for each entry, and {"error": <status>} as the last line when the stream fails once started (an error before the first entry, as a refused token or parameter, is a problem+json answer like any other route's). ` +
			"A HEAD ends after the headers. The answer does not end by itself: the client closes it.")
	}
	for code, r := range op.Responses.Map() {
		if r.Value == nil || code == "304" {
			continue
		}
		if r.Value.Headers == nil {
			r.Value.Headers = openapi3.Headers{}
		}
		for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
			r.Value.Headers[h] = headerRef(h)
		}
		if !public {
			r.Value.Headers["Cache-Control"] = headerRef("Cache-Control")
		}
	}
	return nil
}

func hasEtag(md protoreflect.MessageDescriptor) bool {
	return isString(md.Fields().ByName("etag"))
}

// streamErrorSchema is the error that ends a stream: grpc-gateway's google.rpc.Status.
func streamErrorSchema() *openapi3.Schema {
	detail := openapi3.NewObjectSchema()
	detail.Description = "An error detail (google.protobuf.Any): its type, and that message's fields."
	detail.Properties = openapi3.Schemas{"@type": openapi3.NewSchemaRef("", openapi3.NewStringSchema().WithFormat("uri-reference").WithMaxLength(2048))}
	detail.AdditionalProperties = openapi3.AdditionalProperties{Schema: openapi3.NewSchemaRef("", &openapi3.Schema{})}
	detail.MaxProps = new(uint64(16))
	s := openapi3.NewObjectSchema()
	s.Description = "A gRPC status (google.rpc.Status)."
	s.Properties = openapi3.Schemas{
		"code": intSchema("The gRPC status code.", 0, 16),
		"message": openapi3.NewSchemaRef("", openapi3.NewStringSchema().WithMaxLength(maxStreamErrorMessage).
			WithPattern(`^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]*$`)),
		"details": openapi3.NewSchemaRef("", openapi3.NewArraySchema().WithItems(detail).WithMinItems(0).WithMaxItems(maxStreamErrorDetails)),
	}
	s.AdditionalProperties = openapi3.AdditionalProperties{Has: new(false)}
	return s
}

// maxStreamErrorMessage bounds the message of the error that ends a stream, in bytes.
const maxStreamErrorMessage = 4096

// maxStreamErrorDetails bounds the details of the error that ends a stream.
const maxStreamErrorDetails = 16

// streamError is the status a failed stream ends with, as its last line: the service's
// status with its message kept within what the document says (maxStreamErrorMessage
// bytes, no control characters but tab, CR and LF).
func streamError(_ context.Context, err error) *status.Status {
	st := status.Convert(err)
	msg := strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(st.Message(), "\uFFFD"))
	if len(msg) > maxStreamErrorMessage {
		msg = msg[:maxStreamErrorMessage]
		for !utf8.ValidString(msg) {
			msg = msg[:len(msg)-1]
		}
	}
	if msg == st.Message() && len(st.Proto().GetDetails()) <= maxStreamErrorDetails {
		return st
	}
	p := st.Proto()
	p.Message = msg
	if len(p.Details) > maxStreamErrorDetails {
		p.Details = p.Details[:maxStreamErrorDetails]
	}
	return status.FromProto(p)
}
