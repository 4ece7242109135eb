package problem_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/ponte-network/ponte/libs/problem"
)

// withDetails returns a status with code, msg and details.
func withDetails(t *testing.T, c codes.Code, msg string, details ...protoadapt.MessageV1) *status.Status {
	t.Helper()
	st, err := status.New(c, msg).WithDetails(details...)
	if err != nil {
		t.Fatalf("WithDetails: %v", err)
	}
	return st
}

// field builds one protovalidate field path element.
func field(name string) *validate.FieldPathElement {
	return &validate.FieldPathElement{FieldName: proto.String(name)}
}

// violation builds a protovalidate violation as protovalidate.ValidationError.ToProto does.
func violation(msg string, path ...*validate.FieldPathElement) *validate.Violation {
	v := &validate.Violation{Message: proto.String(msg), RuleId: proto.String("test.rule")}
	if len(path) > 0 {
		v.Field = &validate.FieldPath{Elements: path}
	}
	return v
}

func TestFromStatusMapsCodesAndDetails(t *testing.T) {
	t.Parallel()
	indexed := field("languages")
	indexed.Subscript = &validate.FieldPathElement_Index{Index: 1}
	keyed := field("opening_hours")
	keyed.Subscript = &validate.FieldPathElement_StringKey{StringKey: "mon"}

	tests := []struct {
		name string
		st   *status.Status
		want problem.Problem
	}{
		{"not found keeps the service's message",
			status.New(codes.NotFound, "territory 0301 not found"),
			problem.Problem{Type: "about:blank", Title: "Not Found", Status: 404, Code: "NOT_FOUND", Detail: "territory 0301 not found"}},
		{"bad request field violations become invalid params with JSON names",
			withDetails(t, codes.InvalidArgument, "invalid request", &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
				{Field: "page_size", Description: "must be between 1 and 100"},
				{Field: "items[0].display_name", Description: "must not be empty"},
				{Field: `labels["a_b"]`, Description: "too long"},
			}}),
			problem.Problem{Type: "about:blank", Title: "Bad Request", Status: 400, Code: "INVALID_ARGUMENT", Detail: "invalid request",
				InvalidParams: []problem.InvalidParam{
					{Name: "pageSize", Reason: "must be between 1 and 100"},
					{Name: "items[0].displayName", Reason: "must not be empty"},
					{Name: `labels["a_b"]`, Reason: "too long"},
				}}},
		{"protovalidate violations become invalid params with dotted JSON paths",
			withDetails(t, codes.InvalidArgument, "validation error:\n - territory.display_name: value is required", &validate.Violations{Violations: []*validate.Violation{
				violation("value is required", field("territory"), field("display_name")),
				violation("value must be a valid ISO 639 code", indexed),
				violation("value must match the pattern", field("service"), keyed),
				violation("end must be after start"),
			}}),
			problem.Problem{Type: "about:blank", Title: "Bad Request", Status: 400, Code: "INVALID_ARGUMENT",
				Detail: "validation error: - territory.display_name: value is required",
				InvalidParams: []problem.InvalidParam{
					{Name: "territory.displayName", Reason: "value is required"},
					{Name: "languages[1]", Reason: "value must be a valid ISO 639 code"},
					{Name: `service.openingHours["mon"]`, Reason: "value must match the pattern"},
					{Name: "", Reason: "end must be after start"},
				}}},
		{"the same violation sent as BadRequest and as protovalidate Violations is listed once",
			withDetails(t, codes.InvalidArgument, "invalid page_size",
				&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "page_size", Description: "must be at most 1000"}}},
				&validate.Violations{Violations: []*validate.Violation{violation("must be at most 1000", field("page_size"))}}),
			problem.Problem{Type: "about:blank", Title: "Bad Request", Status: 400, Code: "INVALID_ARGUMENT", Detail: "invalid page_size",
				InvalidParams: []problem.InvalidParam{{Name: "pageSize", Reason: "must be at most 1000"}}}},
		{"error info gives the reason",
			withDetails(t, codes.PermissionDenied, "caller lacks a role required by this method", &errdetails.ErrorInfo{Reason: "PERMISSION_DENIED", Domain: "ponte"}),
			problem.Problem{Type: "about:blank", Title: "Forbidden", Status: 403, Code: "PERMISSION_DENIED", Reason: "PERMISSION_DENIED", Detail: "caller lacks a role required by this method"}},
		{"unauthenticated maps to 401",
			status.New(codes.Unauthenticated, "token has expired"),
			problem.Problem{Type: "about:blank", Title: "Unauthorized", Status: 401, Code: "UNAUTHENTICATED", Detail: "token has expired"}},
		{"an internal error hides its message",
			status.New(codes.Internal, `ERROR: duplicate key value violates unique constraint "people_tax_code_key" (SQLSTATE 23505) Key (tax_code)=(RSSMRA80A01H501U)`),
			problem.Problem{Type: "about:blank", Title: "Internal Server Error", Status: 500, Code: "INTERNAL", Detail: "The server failed to complete the request."}},
		{"an unknown error hides its message",
			status.New(codes.Unknown, "panic: runtime error at store.go:42"),
			problem.Problem{Type: "about:blank", Title: "Internal Server Error", Status: 500, Code: "UNKNOWN", Detail: "The server failed to complete the request."}},
		{"data loss hides its message",
			status.New(codes.DataLoss, "page 7 of /var/lib/ponte/cases.db is corrupt"),
			problem.Problem{Type: "about:blank", Title: "Internal Server Error", Status: 500, Code: "DATA_LOSS", Detail: "The server failed to complete the request."}},
		{"an unavailable upstream hides the address it failed to dial",
			status.New(codes.Unavailable, `connection error: desc = "transport: Error while dialing: dial tcp 10.0.3.7:9090: connect: connection refused"`),
			problem.Problem{Type: "about:blank", Title: "Service Unavailable", Status: 503, Code: "UNAVAILABLE", Detail: "The service is unavailable; try again later."}},
		{"a deadline maps to 504",
			status.New(codes.DeadlineExceeded, "context deadline exceeded"),
			problem.Problem{Type: "about:blank", Title: "Gateway Timeout", Status: 504, Code: "DEADLINE_EXCEEDED", Detail: "The request did not complete in time."}},
		{"a canceled request maps to 499",
			status.New(codes.Canceled, "context canceled"),
			problem.Problem{Type: "about:blank", Title: "Client Closed Request", Status: 499, Code: "CANCELLED", Detail: "The request was canceled."}},
		{"already exists maps to 409",
			status.New(codes.AlreadyExists, "a service with this request id exists"),
			problem.Problem{Type: "about:blank", Title: "Conflict", Status: 409, Code: "ALREADY_EXISTS", Detail: "a service with this request id exists"}},
		{"aborted maps to 409",
			status.New(codes.Aborted, "etag mismatch"),
			problem.Problem{Type: "about:blank", Title: "Conflict", Status: 409, Code: "ABORTED", Detail: "etag mismatch"}},
		{"a failed precondition maps to 400 as grpc-gateway does",
			status.New(codes.FailedPrecondition, "case is closed"),
			problem.Problem{Type: "about:blank", Title: "Bad Request", Status: 400, Code: "FAILED_PRECONDITION", Detail: "case is closed"}},
		{"out of range maps to 400",
			status.New(codes.OutOfRange, "page token expired"),
			problem.Problem{Type: "about:blank", Title: "Bad Request", Status: 400, Code: "OUT_OF_RANGE", Detail: "page token expired"}},
		{"resource exhausted maps to 429",
			status.New(codes.ResourceExhausted, "too many requests"),
			problem.Problem{Type: "about:blank", Title: "Too Many Requests", Status: 429, Code: "RESOURCE_EXHAUSTED", Detail: "too many requests"}},
		{"unimplemented maps to 501",
			status.New(codes.Unimplemented, "method ExportHSDS not implemented"),
			problem.Problem{Type: "about:blank", Title: "Not Implemented", Status: 501, Code: "UNIMPLEMENTED", Detail: "method ExportHSDS not implemented"}},
		{"an OK status handed to an error handler becomes an unknown error",
			status.New(codes.OK, ""),
			problem.Problem{Type: "about:blank", Title: "Internal Server Error", Status: 500, Code: "UNKNOWN", Detail: "The server failed to complete the request."}},
		{"a code gRPC does not define becomes an unknown error",
			status.New(codes.Code(42), "???"),
			problem.Problem{Type: "about:blank", Title: "Internal Server Error", Status: 500, Code: "UNKNOWN", Detail: "The server failed to complete the request."}},
		{"an unknown body field is named",
			status.New(codes.InvalidArgument, `proto: (line 1:2): unknown field "colour"`),
			problem.Problem{Type: "about:blank", Title: "Bad Request", Status: 400, Code: "INVALID_ARGUMENT",
				Detail:        `The request body is invalid: unknown field "colour" (line 1, column 2).`,
				InvalidParams: []problem.InvalidParam{{Name: "colour", Reason: "unknown field"}}}},
		{"an unknown body field is named when protobuf-go spells its prefix with a no-break space",
			status.New(codes.InvalidArgument, "proto:\u00a0(line 1:2): unknown field \"colour\""),
			problem.Problem{Type: "about:blank", Title: "Bad Request", Status: 400, Code: "INVALID_ARGUMENT",
				Detail:        `The request body is invalid: unknown field "colour" (line 1, column 2).`,
				InvalidParams: []problem.InvalidParam{{Name: "colour", Reason: "unknown field"}}}},
		{"a body value of the wrong type names the field but not the value",
			status.New(codes.InvalidArgument, `proto: (line 1:18): invalid value for int32 field pageSize: "RSSMRA80A01H501U"`),
			problem.Problem{Type: "about:blank", Title: "Bad Request", Status: 400, Code: "INVALID_ARGUMENT",
				Detail:        `The request body is invalid: field "pageSize" is not a valid int32 (line 1, column 18).`,
				InvalidParams: []problem.InvalidParam{{Name: "pageSize", Reason: "not a valid int32"}}}},
		{"a duplicate body field is named",
			status.New(codes.InvalidArgument, `proto: (line 1:20): duplicate field "name"`),
			problem.Problem{Type: "about:blank", Title: "Bad Request", Status: 400, Code: "INVALID_ARGUMENT",
				Detail:        `The request body is invalid: duplicate field "name" (line 1, column 20).`,
				InvalidParams: []problem.InvalidParam{{Name: "name", Reason: "duplicate field"}}}},
		{"a body with a bad timestamp keeps the kind of error and drops the value",
			status.New(codes.InvalidArgument, `proto: (line 1:12): invalid google.protobuf.Timestamp value "31/02/2025"`),
			problem.Problem{Type: "about:blank", Title: "Bad Request", Status: 400, Code: "INVALID_ARGUMENT",
				Detail: `The request body is invalid: invalid google.protobuf.Timestamp value (line 1, column 12).`}},
		{"a body that is not a JSON object says so",
			status.New(codes.InvalidArgument, `proto: syntax error (line 1:1): unexpected token [`),
			problem.Problem{Type: "about:blank", Title: "Bad Request", Status: 400, Code: "INVALID_ARGUMENT",
				Detail: "The request body is not valid JSON (line 1, column 1)."}},
		{"a truncated body says it is not JSON",
			status.New(codes.InvalidArgument, "unexpected EOF"),
			problem.Problem{Type: "about:blank", Title: "Bad Request", Status: 400, Code: "INVALID_ARGUMENT",
				Detail: "The request body is not valid JSON."}},
		{"a bad query parameter is named in JSON form",
			status.New(codes.InvalidArgument, `parsing field "page_size": strconv.ParseInt: parsing "abc": invalid syntax`),
			problem.Problem{Type: "about:blank", Title: "Bad Request", Status: 400, Code: "INVALID_ARGUMENT",
				Detail:        `Query parameter "pageSize" has an invalid value.`,
				InvalidParams: []problem.InvalidParam{{Name: "pageSize", Reason: "invalid value"}}}},
		{"a bad path parameter is named",
			status.New(codes.InvalidArgument, `type mismatch, parameter: case_id, error: strconv.ParseInt: parsing "x": invalid syntax`),
			problem.Problem{Type: "about:blank", Title: "Bad Request", Status: 400, Code: "INVALID_ARGUMENT",
				Detail:        `Path parameter "caseId" has an invalid value.`,
				InvalidParams: []problem.InvalidParam{{Name: "caseId", Reason: "invalid value"}}}},
		{"a service message that looks like a decode error is kept when it has details",
			withDetails(t, codes.InvalidArgument, "unexpected EOF", &errdetails.ErrorInfo{Reason: "IMPORT_TRUNCATED", Domain: "ponte"}),
			problem.Problem{Type: "about:blank", Title: "Bad Request", Status: 400, Code: "INVALID_ARGUMENT",
				Detail: "unexpected EOF", Reason: "IMPORT_TRUNCATED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := problem.FromStatus(tt.st)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FromStatus =\n%s\nwant\n%s", asJSON(t, got), asJSON(t, tt.want))
			}
		})
	}
}

func TestFromStatusBoundsClientInput(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", 1<<20)
	tests := []struct {
		name string
		st   *status.Status
	}{
		{"a huge wrong value in the body is not echoed",
			status.New(codes.InvalidArgument, `proto: (line 1:18): invalid value for bool field fillUsername: "`+huge+`"`)},
		{"a huge unknown field name is cut",
			status.New(codes.InvalidArgument, `proto: (line 1:2): unknown field "`+huge+`"`)},
		{"a huge service message is cut",
			status.New(codes.NotFound, huge)},
		{"a huge violation message is cut",
			withDetails(t, codes.InvalidArgument, "invalid", &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: huge, Description: huge}}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if n := len(asJSON(t, problem.FromStatus(tt.st))); n > 2048 {
				t.Errorf("problem document has %d bytes, want at most 2048", n)
			}
		})
	}
}

func TestWriteFillsInstanceAndHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		p          problem.Problem
		wantStatus int
		wantAuth   string
	}{
		{"a 401 asks for a bearer token", problem.Problem{Status: 401, Code: "UNAUTHENTICATED"}, 401, "Bearer"},
		{"a 404 gets its title and type filled in", problem.Problem{Status: 404}, 404, ""},
		{"a problem without status is sent as 500", problem.Problem{}, 500, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/v1/territories/0301?q=secret", nil)
			problem.Write(rec, req, tt.p)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.wantAuth {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wantAuth)
			}
			var got problem.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if got.Instance != "/v1/territories/0301" || got.Type != "about:blank" || got.Title != http.StatusText(tt.wantStatus) || got.Status != tt.wantStatus {
				t.Errorf("body = %+v", got)
			}
		})
	}
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
