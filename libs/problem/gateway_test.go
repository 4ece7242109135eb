package problem_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ponte-network/ponte/libs/problem"
)

// statusService answers UnaryCall with the status its table holds under the request's
// response_status.message, or with an empty response.
type statusService struct {
	testpb.UnimplementedTestServiceServer
	statuses map[string]*status.Status
}

func (s statusService) UnaryCall(_ context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if st, ok := s.statuses[req.GetResponseStatus().GetMessage()]; ok {
		return nil, st.Err()
	}
	return &testpb.SimpleResponse{Username: "ok"}, nil
}

// dial starts a gRPC server for svc on 127.0.0.1:0 and returns a client of it.
func dial(t *testing.T, svc testpb.TestServiceServer) testpb.TestServiceClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := grpc.NewServer()
	testpb.RegisterTestServiceServer(srv, svc)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return client(t, lis.Addr().String())
}

func client(t *testing.T, addr string) testpb.TestServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return testpb.NewTestServiceClient(conn)
}

// deadAddress returns an address nobody listens on any more.
func deadAddress(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	return addr
}

var testTraceID = trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}

// withSpan puts a sampled span context in every request, as otelhttp would.
func withSpan(next http.Handler) http.Handler {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    testTraceID,
		SpanID:     trace.SpanID{0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(trace.ContextWithSpanContext(r.Context(), sc)))
	})
}

// newGateway builds a grpc-gateway mux with the problem handlers and routes written the way
// protoc-gen-grpc-gateway writes them, in front of up (a working upstream) and down (a dead one).
func newGateway(t *testing.T, up, down testpb.TestServiceClient) *httptest.Server {
	t.Helper()
	mux := runtime.NewServeMux(
		runtime.WithErrorHandler(problem.ErrorHandler),
		runtime.WithRoutingErrorHandler(problem.RoutingErrorHandler),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
	)
	// route registers a handler calling the upstream; decode fills the request or fails.
	route := func(method, pattern string, client testpb.TestServiceClient, decode func(runtime.Marshaler, *http.Request, map[string]string, *testpb.SimpleRequest) error) {
		err := mux.HandlePath(method, pattern, func(w http.ResponseWriter, r *http.Request, params map[string]string) {
			inbound, outbound := runtime.MarshalerForRequest(mux, r)
			ctx, err := runtime.AnnotateContext(r.Context(), mux, r, "/grpc.testing.TestService/UnaryCall", runtime.WithHTTPPathPattern(pattern))
			if err != nil {
				runtime.HTTPError(r.Context(), mux, outbound, w, r, err)
				return
			}
			var req testpb.SimpleRequest
			if err := decode(inbound, r, params, &req); err != nil {
				runtime.HTTPError(ctx, mux, outbound, w, r, err)
				return
			}
			resp, err := client.UnaryCall(ctx, &req)
			if err != nil {
				runtime.HTTPError(ctx, mux, outbound, w, r, err)
				return
			}
			runtime.ForwardResponseMessage(ctx, mux, outbound, w, r, resp)
		})
		if err != nil {
			t.Fatalf("HandlePath %s %s: %v", method, pattern, err)
		}
	}
	byName := func(_ runtime.Marshaler, _ *http.Request, params map[string]string, req *testpb.SimpleRequest) error {
		req.ResponseStatus = &testpb.EchoStatus{Message: params["name"]}
		return nil
	}
	route(http.MethodGet, "/v1/statuses/{name}", up, byName)
	route(http.MethodGet, "/v1/down", down, byName)
	route(http.MethodPost, "/v1/echo", up, func(m runtime.Marshaler, r *http.Request, _ map[string]string, req *testpb.SimpleRequest) error {
		if err := m.NewDecoder(r.Body).Decode(req); err != nil && !errors.Is(err, io.EOF) {
			return status.Errorf(codes.InvalidArgument, "%v", err)
		}
		return nil
	})
	route(http.MethodGet, "/v1/echo", up, func(_ runtime.Marshaler, r *http.Request, _ map[string]string, req *testpb.SimpleRequest) error {
		if err := r.ParseForm(); err != nil {
			return status.Errorf(codes.InvalidArgument, "%v", err)
		}
		if err := runtime.PopulateQueryParameters(req, r.Form, utilities.NewDoubleArray(nil)); err != nil {
			return status.Errorf(codes.InvalidArgument, "%v", err)
		}
		return nil
	})
	srv := httptest.NewServer(withSpan(mux))
	t.Cleanup(srv.Close)
	return srv
}

func TestGatewayAnswersErrorsWithProblemJSON(t *testing.T) {
	t.Parallel()
	upstream := statusService{statuses: map[string]*status.Status{
		"not-found": status.New(codes.NotFound, "territory 0301 not found"),
		"internal":  status.New(codes.Internal, "pq: relation people: Key (tax_code)=(RSSMRA80A01H501U)"),
		"unauthenticated": withDetails(t, codes.Unauthenticated, "token has expired",
			&errdetails.ErrorInfo{Reason: "UNAUTHENTICATED", Domain: "ponte"}),
		"invalid": withDetails(t, codes.InvalidArgument, "validation error",
			&validate.Violations{Violations: []*validate.Violation{violation("value is required", field("territory"), field("display_name"))}},
			&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "page_token", Description: "does not match the query"}}},
			&errdetails.ErrorInfo{Reason: "INVALID_FIELDS", Domain: "ponte"}),
	}}
	gw := newGateway(t, dial(t, upstream), client(t, deadAddress(t)))

	tests := []struct {
		name        string
		method      string
		path        string
		body        string
		wantStatus  int
		want        problem.Problem // Instance and TraceID are checked separately
		wantHeaders map[string]string
		notContain  []string // nothing of this may appear in the response
	}{
		{"an upstream not-found becomes a 404 problem", http.MethodGet, "/v1/statuses/not-found", "", 404,
			problem.Problem{Type: "about:blank", Title: "Not Found", Status: 404, Code: "NOT_FOUND", Detail: "territory 0301 not found"}, nil, nil},
		{"an upstream internal error is a 500 problem without its message", http.MethodGet, "/v1/statuses/internal", "", 500,
			problem.Problem{Type: "about:blank", Title: "Internal Server Error", Status: 500, Code: "INTERNAL", Detail: "The server failed to complete the request."},
			nil, []string{"RSSMRA", "tax_code", "pq:"}},
		{"an unauthenticated call is a 401 asking for a bearer token", http.MethodGet, "/v1/statuses/unauthenticated", "", 401,
			problem.Problem{Type: "about:blank", Title: "Unauthorized", Status: 401, Code: "UNAUTHENTICATED", Reason: "UNAUTHENTICATED", Detail: "token has expired"},
			map[string]string{"WWW-Authenticate": "Bearer"}, nil},
		{"violations sent over gRPC become invalid params", http.MethodGet, "/v1/statuses/invalid", "", 400,
			problem.Problem{Type: "about:blank", Title: "Bad Request", Status: 400, Code: "INVALID_ARGUMENT", Reason: "INVALID_FIELDS", Detail: "validation error",
				InvalidParams: []problem.InvalidParam{
					{Name: "territory.displayName", Reason: "value is required"},
					{Name: "pageToken", Reason: "does not match the query"},
				}}, nil, nil},
		{"an unreachable upstream is a 503 problem that hides its address", http.MethodGet, "/v1/down", "", 503,
			problem.Problem{Type: "about:blank", Title: "Service Unavailable", Status: 503, Code: "UNAVAILABLE", Detail: "The service is unavailable; try again later."},
			nil, []string{"127.0.0.1", "dial"}},
		{"an unknown body field is named in a 400 problem", http.MethodPost, "/v1/echo", `{"responseSize": 3, "colour": "red"}`, 400,
			problem.Problem{Type: "about:blank", Title: "Bad Request", Status: 400, Code: "INVALID_ARGUMENT",
				Detail:        `The request body is invalid: unknown field "colour" (line 1, column 21).`,
				InvalidParams: []problem.InvalidParam{{Name: "colour", Reason: "unknown field"}}}, nil, nil},
		{"a body value of the wrong type names the field and not the value", http.MethodPost, "/v1/echo", `{"fillUsername": "` + strings.Repeat("RSSMRA80A01H501U", 4096) + `"}`, 400,
			problem.Problem{Type: "about:blank", Title: "Bad Request", Status: 400, Code: "INVALID_ARGUMENT",
				Detail:        `The request body is invalid: field "fillUsername" is not a valid bool (line 1, column 18).`,
				InvalidParams: []problem.InvalidParam{{Name: "fillUsername", Reason: "not a valid bool"}}}, nil, []string{"RSSMRA"}},
		{"a body that is not JSON is a 400 problem", http.MethodPost, "/v1/echo", `{"responseSize": 3`, 400,
			problem.Problem{Type: "about:blank", Title: "Bad Request", Status: 400, Code: "INVALID_ARGUMENT", Detail: "The request body is not valid JSON."}, nil, nil},
		{"a bad query parameter is named in a 400 problem", http.MethodGet, "/v1/echo?response_size=many", "", 400,
			problem.Problem{Type: "about:blank", Title: "Bad Request", Status: 400, Code: "INVALID_ARGUMENT", Detail: `Query parameter "responseSize" has an invalid value.`,
				InvalidParams: []problem.InvalidParam{{Name: "responseSize", Reason: "invalid value"}}}, nil, nil},
		{"an unknown path is a 404 problem", http.MethodGet, "/v2/nothing/here", "", 404,
			problem.Problem{Type: "about:blank", Title: "Not Found", Status: 404, Code: "NOT_FOUND", Detail: "No API route matches this path."}, nil, nil},
		{"a method the path does not accept is a 405 problem", http.MethodDelete, "/v1/echo", "", 405,
			problem.Problem{Type: "about:blank", Title: "Method Not Allowed", Status: 405, Code: "UNIMPLEMENTED", Detail: "This path does not accept the DELETE method."}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(t.Context(), tt.method, gw.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tt.method, tt.path, err)
			}
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, raw)
			}
			if ct := resp.Header.Get("Content-Type"); ct != problem.ContentType {
				t.Errorf("Content-Type = %q, want %q", ct, problem.ContentType)
			}
			for k, v := range tt.wantHeaders {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			for _, s := range tt.notContain {
				if strings.Contains(string(raw), s) {
					t.Errorf("response leaks %q: %s", s, raw)
				}
			}
			var got problem.Problem
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("body is not JSON: %v: %s", err, raw)
			}
			wantInstance := strings.SplitN(tt.path, "?", 2)[0]
			if got.Instance != wantInstance {
				t.Errorf("instance = %q, want %q", got.Instance, wantInstance)
			}
			if got.TraceID != testTraceID.String() {
				t.Errorf("trace_id = %q, want %q", got.TraceID, testTraceID)
			}
			got.Instance, got.TraceID = "", ""
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problem =\n%s\nwant\n%s", asJSON(t, got), asJSON(t, tt.want))
			}
		})
	}
}

func TestErrorHandlerKeepsAGatewayHTTPStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantDetail string
	}{
		{"a malformed path escape is a 400 without the path's bytes",
			&runtime.HTTPStatusError{HTTPStatus: http.StatusBadRequest, Err: runtime.MalformedSequenceError("%zz")},
			400, "INVALID_ARGUMENT", "The request URL is malformed."},
		{"a status wrapped with another HTTP status keeps its code and message",
			&runtime.HTTPStatusError{HTTPStatus: http.StatusMethodNotAllowed, Err: status.Error(codes.Unimplemented, "Method Not Allowed")},
			405, "UNIMPLEMENTED", "Method Not Allowed"},
		{"a canceled context is a 499",
			context.Canceled, 499, "CANCELLED", "The request was canceled."},
		{"a plain error is a 500 without its message",
			errors.New("open /etc/ponte/secret: permission denied"), 500, "UNKNOWN", "The server failed to complete the request."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/v1/x", nil)
			problem.ErrorHandler(req.Context(), runtime.NewServeMux(), &runtime.JSONPb{}, rec, req, tt.err)
			var got problem.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if rec.Code != tt.wantStatus || got.Status != tt.wantStatus || got.Code != tt.wantCode || got.Detail != tt.wantDetail {
				t.Errorf("got %d %+v, want %d %s %q", rec.Code, got, tt.wantStatus, tt.wantCode, tt.wantDetail)
			}
		})
	}
}
