package auth_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/ponte-network/ponte/libs/auth"
)

// testService answers with the subject of the Principal its handlers find in the context.
type testService struct {
	testpb.UnimplementedTestServiceServer
}

func subjectOf(ctx context.Context) string {
	if p, ok := auth.FromContext(ctx); ok {
		return p.Subject
	}
	return ""
}

func (testService) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return &testpb.Empty{}, nil
}

func (testService) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{Username: subjectOf(ctx)}, nil
}

func (testService) CacheableUnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{Username: subjectOf(ctx)}, nil
}

func (testService) StreamingOutputCall(_ *testpb.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	return stream.Send(&testpb.StreamingOutputCallResponse{
		Payload: &testpb.Payload{Body: []byte(subjectOf(stream.Context()))},
	})
}

func (testService) UnimplementedCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return &testpb.Empty{}, nil
}

const testServicePrefix = "/grpc.testing.TestService/"

// testPolicy covers every kind of rule; UnimplementedCall is deliberately missing.
var testPolicy = auth.Policy{
	testServicePrefix + "UnaryCall":           {Roles: []string{auth.RoleDistrictOperator, auth.RolePartnerOperator}},
	testServicePrefix + "CacheableUnaryCall":  {Public: true},
	testServicePrefix + "EmptyCall":           {}, // admin only
	testServicePrefix + "StreamingOutputCall": {Roles: []string{auth.RoleMediator}},
}

// startServer serves testService, health and reflection behind the auth interceptors on
// 127.0.0.1:0 and returns a client connection to it.
func startServer(t *testing.T, v *auth.Verifier) *grpc.ClientConn {
	t.Helper()
	return startServerWith(t, v, testPolicy)
}

// startServerWith is startServer with another policy.
func startServerWith(t *testing.T, v *auth.Verifier, policy auth.Policy, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(auth.UnaryServerInterceptor(v, policy)),
		grpc.ChainStreamInterceptor(auth.StreamServerInterceptor(v, policy)),
	)
	testpb.RegisterTestServiceServer(srv, testService{})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	reflection.Register(srv)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)
	conn, err := grpc.NewClient(lis.Addr().String(), opts...)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// call invokes one method of the test server and returns the subject the handler saw.
type call func(ctx context.Context, conn *grpc.ClientConn) (string, error)

var (
	unaryCall = func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
		resp, err := testpb.NewTestServiceClient(conn).UnaryCall(ctx, &testpb.SimpleRequest{})
		return resp.GetUsername(), err
	}
	publicCall = func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
		resp, err := testpb.NewTestServiceClient(conn).CacheableUnaryCall(ctx, &testpb.SimpleRequest{})
		return resp.GetUsername(), err
	}
	adminOnlyCall = func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
		_, err := testpb.NewTestServiceClient(conn).EmptyCall(ctx, &testpb.Empty{})
		return "", err
	}
	unlistedCall = func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
		_, err := testpb.NewTestServiceClient(conn).UnimplementedCall(ctx, &testpb.Empty{})
		return "", err
	}
	streamCall = func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
		stream, err := testpb.NewTestServiceClient(conn).StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{})
		if err != nil {
			return "", err
		}
		resp, err := stream.Recv()
		return string(resp.GetPayload().GetBody()), err
	}
	healthCall = func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
		_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return "", err
	}
	reflectionCall = func(ctx context.Context, conn *grpc.ClientConn) (string, error) {
		stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
		if err != nil {
			return "", err
		}
		req := &reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}
		if err := stream.Send(req); err != nil {
			return "", err
		}
		_, err = stream.Recv()
		return "", err
	}
)

func TestInterceptorsEnforceThePolicy(t *testing.T) {
	t.Parallel()
	key := testKeys().hmac
	v := newVerifier(t, auth.VerifierConfig{HMACKey: key})
	conn := startServer(t, v)

	mint := func(key []byte, subject string, at time.Time, roles ...string) string {
		tok, err := auth.MintHS256(key, auth.Principal{Subject: subject, Territory: "030", Roles: roles}, "", time.Hour, at)
		if err != nil {
			t.Fatalf("MintHS256: %v", err)
		}
		return "Bearer " + tok
	}
	now := time.Now()
	operator := mint(key, "operator-1", now, auth.RoleDistrictOperator)
	partner := mint(key, "partner-1", now, auth.RolePartnerOperator)
	mediator := mint(key, "mediator-1", now, auth.RoleMediator)
	analyst := mint(key, "analyst-1", now, auth.RoleRegionAnalyst)
	admin := mint(key, "admin-1", now, auth.RoleAdmin)
	noRoles := mint(key, "nobody-1", now)
	forged := mint(testKeys().hmac2, "forger-1", now, auth.RoleAdmin)
	expired := mint(key, "late-1", now.Add(-2*time.Hour), auth.RoleDistrictOperator)

	const (
		unauthenticated = auth.ReasonUnauthenticated
		denied          = auth.ReasonPermissionDenied
	)
	tests := []struct {
		name        string
		call        call
		auth        []string // authorization metadata values
		wantCode    codes.Code
		wantReason  string
		wantSubject string
		wantMsg     string // part of the status message, if set
	}{
		{"a call without token is unauthenticated", unaryCall, nil, codes.Unauthenticated, unauthenticated, "", "missing bearer token"},
		{"a call with a forged token is unauthenticated", unaryCall, []string{forged}, codes.Unauthenticated, unauthenticated, "", "invalid token"},
		{"a call with an expired token is unauthenticated", unaryCall, []string{expired}, codes.Unauthenticated, unauthenticated, "", "expired"},
		{"a call with a garbage token is unauthenticated", unaryCall, []string{"Bearer abc.def"}, codes.Unauthenticated, unauthenticated, "", "malformed"},
		{"a call with basic credentials is unauthenticated", unaryCall, []string{"Basic dXNlcjpwYXNz"}, codes.Unauthenticated, unauthenticated, "", "Bearer"},
		{"a call with an empty bearer is unauthenticated", unaryCall, []string{"Bearer "}, codes.Unauthenticated, unauthenticated, "", "Bearer"},
		{"a call with two authorization headers is unauthenticated", unaryCall, []string{operator, operator}, codes.Unauthenticated, unauthenticated, "", ""},
		{"a caller without roles is denied", unaryCall, []string{noRoles}, codes.PermissionDenied, denied, "", ""},
		{"a region analyst cannot call an operator method", unaryCall, []string{analyst}, codes.PermissionDenied, denied, "", ""},
		{"a district operator may call an operator method", unaryCall, []string{operator}, codes.OK, "", "operator-1", ""},
		{"a partner operator may call a method open to either operator", unaryCall, []string{partner}, codes.OK, "", "partner-1", ""},
		{"the bearer scheme is case-insensitive", unaryCall, []string{"bearer" + strings.TrimPrefix(operator, "Bearer")}, codes.OK, "", "operator-1", ""},
		{"an admin may call an operator method", unaryCall, []string{admin}, codes.OK, "", "admin-1", ""},
		{"an admin may call an admin-only method", adminOnlyCall, []string{admin}, codes.OK, "", "", ""},
		{"an operator cannot call an admin-only method", adminOnlyCall, []string{operator}, codes.PermissionDenied, denied, "", ""},
		{"anyone may call a public method without token", publicCall, nil, codes.OK, "", "", ""},
		{"a public method sees the principal of a valid token", publicCall, []string{analyst}, codes.OK, "", "analyst-1", ""},
		{"a public method refuses a forged token", publicCall, []string{forged}, codes.Unauthenticated, unauthenticated, "", ""},
		{"a method missing from the policy is denied to an admin", unlistedCall, []string{admin}, codes.PermissionDenied, denied, "", ""},
		{"a method missing from the policy is denied without token", unlistedCall, nil, codes.PermissionDenied, denied, "", ""},
		{"a mediator may open a mediator stream", streamCall, []string{mediator}, codes.OK, "", "mediator-1", ""},
		{"an operator cannot open a mediator stream", streamCall, []string{operator}, codes.PermissionDenied, denied, "", ""},
		{"a stream without token is unauthenticated", streamCall, nil, codes.Unauthenticated, unauthenticated, "", ""},
		{"health checks are open without token", healthCall, nil, codes.OK, "", "", ""},
		{"health checks are open even with a forged token", healthCall, []string{forged}, codes.OK, "", "", ""},
		{"reflection is open without token", reflectionCall, nil, codes.OK, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			for _, a := range tt.auth {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", a)
			}
			subject, err := tt.call(ctx, conn)
			st := status.Convert(err)
			if st.Code() != tt.wantCode {
				t.Fatalf("code = %v (%q), want %v", st.Code(), st.Message(), tt.wantCode)
			}
			if subject != tt.wantSubject {
				t.Errorf("handler saw subject %q, want %q", subject, tt.wantSubject)
			}
			if tt.wantMsg != "" && !strings.Contains(st.Message(), tt.wantMsg) {
				t.Errorf("message = %q, want it to mention %q", st.Message(), tt.wantMsg)
			}
			for _, a := range tt.auth {
				if token := strings.TrimSpace(strings.TrimPrefix(a, "Bearer")); len(token) > 8 && strings.Contains(st.Message(), token) {
					t.Errorf("message %q echoes the token", st.Message())
				}
			}
			if tt.wantReason == "" {
				return
			}
			var info *errdetails.ErrorInfo
			for _, d := range st.Details() {
				if i, ok := d.(*errdetails.ErrorInfo); ok {
					info = i
				}
			}
			if info == nil || info.GetReason() != tt.wantReason || info.GetDomain() != "ponte" {
				t.Errorf("ErrorInfo = %v, want reason %q in domain ponte", info, tt.wantReason)
			}
		})
	}
}

func TestHasRoleAndCovers(t *testing.T) {
	t.Parallel()
	p := &auth.Principal{Subject: "a", Territory: "0301", Roles: []string{auth.RoleAdmin, auth.RoleDistrictAdmin}}
	var nobody *auth.Principal
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"a principal has a role it holds", p.HasRole(auth.RoleDistrictAdmin), true},
		{"a principal has a role if any of several matches", p.HasRole(auth.RoleMediator, auth.RoleDistrictAdmin), true},
		{"admin does not implicitly match another role", p.HasRole(auth.RoleMediator), false},
		{"no roles asked means no match", p.HasRole(), false},
		{"a nil principal has no role", nobody.HasRole(auth.RoleAdmin), false},
		{"a principal covers a row in its territory's subtree", p.Covers([]string{"016024", "0301", "03"}), true},
		{"a principal does not cover a row outside its territory", p.Covers([]string{"015146", "0305", "03"}), false},
		{"a principal without territory covers nothing", (&auth.Principal{}).Covers([]string{""}), false},
		{"a nil principal covers nothing", nobody.Covers([]string{"03"}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestFromContextWithoutPrincipal(t *testing.T) {
	t.Parallel()
	if p, ok := auth.FromContext(context.Background()); ok || p != nil {
		t.Errorf("FromContext(empty) = %v, %v; want nil, false", p, ok)
	}
	if _, ok := auth.FromContext(auth.NewContext(context.Background(), nil)); ok {
		t.Error("FromContext reports a nil principal as present")
	}
	want := &auth.Principal{Subject: "s"}
	if got, ok := auth.FromContext(auth.NewContext(context.Background(), want)); !ok || got != want {
		t.Errorf("FromContext = %v, %v; want %v, true", got, ok, want)
	}
}
