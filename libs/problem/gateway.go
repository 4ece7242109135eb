package problem

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorHandler is a grpc-gateway runtime.ErrorHandlerFunc writing problem+json (WWW-Authenticate: Bearer on 401).
func ErrorHandler(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	httpStatus := 0
	var withStatus *runtime.HTTPStatusError
	if errors.As(err, &withStatus) {
		httpStatus, err = withStatus.HTTPStatus, withStatus.Err
	}
	st, isStatus := status.FromError(err)
	if !isStatus {
		st = status.FromContextError(err) // context errors become Canceled/DeadlineExceeded, others Unknown
	}
	p := FromStatus(st)
	if httpStatus != 0 && httpStatus != p.Status {
		p.Status, p.Title = httpStatus, statusTitle(httpStatus)
		if !isStatus {
			// A gateway error with an HTTP status but no gRPC one (a malformed path escape).
			p.Code, p.Detail = codeName(codeForHTTP(httpStatus)), routingDetail(r, httpStatus)
		}
	}
	p.TraceID = spanTraceID(ctx)
	// The gateway may have announced trailers for a response that will now never come.
	w.Header().Del("Trailer")
	w.Header().Del("Transfer-Encoding")
	Write(w, r, p)
}

// RoutingErrorHandler is a grpc-gateway runtime.RoutingErrorHandlerFunc writing 404, 405 and 400 as problem+json.
func RoutingErrorHandler(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	// runtime.ServeMux does not say which methods a path accepts, so a 405 has no Allow header.
	Write(w, r, Problem{
		Type:    typeBlank,
		Title:   statusTitle(httpStatus),
		Status:  httpStatus,
		Detail:  routingDetail(r, httpStatus),
		Code:    codeName(codeForHTTP(httpStatus)),
		TraceID: spanTraceID(ctx),
	})
}

func routingDetail(r *http.Request, httpStatus int) string {
	switch httpStatus {
	case http.StatusNotFound:
		return "No API route matches this path."
	case http.StatusMethodNotAllowed:
		return fmt.Sprintf("This path does not accept the %s method.", clip(r.Method, 16))
	case http.StatusBadRequest:
		return "The request URL is malformed."
	default:
		return statusTitle(httpStatus) + "."
	}
}

// codeForHTTP is the gRPC code grpc-gateway associates with a routing failure's HTTP status.
func codeForHTTP(httpStatus int) codes.Code {
	switch httpStatus {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return codes.Unimplemented
	case http.StatusConflict:
		return codes.Aborted
	case http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	case http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	}
	if httpStatus < 500 {
		return codes.FailedPrecondition
	}
	return codes.Internal
}

func codeName(c codes.Code) string { return code.Code_name[int32(c)] }

func spanTraceID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		return sc.TraceID().String()
	}
	return ""
}

// Messages of the InvalidArgument statuses grpc-gateway builds itself from a request it cannot
// decode: protojson errors for the body, runtime.PopulateQueryParameters errors for the query,
// and the generated code's path parameter errors. protobuf-go randomly spells its "proto: "
// prefix with a no-break space, precisely to discourage such matching: both are accepted, and
// an unrecognized message still reaches the client, clipped.
var (
	reProtoJSON  = regexp.MustCompile(`^proto:[ \x{00a0}]\(line (\d+):(\d+)\): (.*)$`)
	reSyntax     = regexp.MustCompile(`^proto:[ \x{00a0}]syntax error \(line (\d+):(\d+)\)`)
	reFieldToken = regexp.MustCompile(`^(unknown|duplicate) field "(.*)"$`)
	reBadValue   = regexp.MustCompile(`^invalid value for (\w+) field (\w+): `)
	reOneof      = regexp.MustCompile(`^error parsing "(.*)", oneof .* is already set$`)
	reQuery      = regexp.MustCompile(`^(?:parsing (?:field|list|map key|map value)|too many values for field) "(\w+)"`)
	rePathParam  = regexp.MustCompile(`^type mismatch, parameter: ([\w.]+), error: `)
)

// gatewayInputError recognizes a decode failure reported by grpc-gateway and says which part of
// the request is invalid, without echoing the client's input (values can be huge, or personal).
func gatewayInputError(msg string) (detail string, param *InvalidParam, ok bool) {
	if len(msg) > 64<<10 {
		msg = msg[:64<<10] // a giant unknown field name; the regexps need not see it all
	}
	if m := reSyntax.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("The request body is not valid JSON (line %s, column %s).", m[1], m[2]), nil, true
	}
	if msg == "unexpected EOF" || strings.HasPrefix(msg, "invalid character ") {
		// encoding/json, reading the body before protojson sees it.
		return "The request body is not valid JSON.", nil, true
	}
	if m := reProtoJSON.FindStringSubmatch(msg); m != nil {
		where, what := fmt.Sprintf("line %s, column %s", m[1], m[2]), m[3]
		if f := reFieldToken.FindStringSubmatch(what); f != nil {
			name := clip(f[2], maxNameRunes)
			return fmt.Sprintf("The request body is invalid: %s field %q (%s).", f[1], name, where),
				&InvalidParam{Name: name, Reason: f[1] + " field"}, true
		}
		if f := reBadValue.FindStringSubmatch(what); f != nil {
			return fmt.Sprintf("The request body is invalid: field %q is not a valid %s (%s).", f[2], f[1], where),
				&InvalidParam{Name: f[2], Reason: "not a valid " + f[1]}, true
		}
		if f := reOneof.FindStringSubmatch(what); f != nil {
			name := clip(jsonPath(f[1]), maxNameRunes)
			return fmt.Sprintf("The request body is invalid: field %q conflicts with another field of the same oneof (%s).", name, where),
				&InvalidParam{Name: name, Reason: "another field of the same oneof is set"}, true
		}
		// Keep the kind of error, drop the offending value: it starts at the first quote or colon.
		if i := strings.IndexAny(what, `":`); i >= 0 {
			what = what[:i]
		}
		return fmt.Sprintf("The request body is invalid: %s (%s).", clip(strings.TrimSpace(what), 120), where), nil, true
	}
	if m := reQuery.FindStringSubmatch(msg); m != nil {
		name := jsonPath(m[1])
		return fmt.Sprintf("Query parameter %q has an invalid value.", name), &InvalidParam{Name: name, Reason: "invalid value"}, true
	}
	if m := rePathParam.FindStringSubmatch(msg); m != nil {
		name := jsonPath(m[1])
		return fmt.Sprintf("Path parameter %q has an invalid value.", name), &InvalidParam{Name: name, Reason: "invalid value"}, true
	}
	return "", nil, false
}
