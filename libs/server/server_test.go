package server_test

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/server"
	"github.com/ponte-network/ponte/libs/telemetry"
)

// testService is slow on UnaryCall and panics on EmptyCall.
type testService struct {
	testpb.UnimplementedTestServiceServer
	started chan struct{}
}

func (s *testService) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	close(s.started)
	select { // like any real handler, it gives up when its call is cancelled
	case <-time.After(500 * time.Millisecond):
		return &testpb.SimpleResponse{Username: "done"}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// StreamingOutputCall is like a change-feed watch: it sends one message, then waits
// for more that never come, until its call is cancelled.
func (s *testService) StreamingOutputCall(_ *testpb.StreamingOutputCallRequest, stream testpb.TestService_StreamingOutputCallServer) error {
	if err := stream.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
		return err
	}
	<-stream.Context().Done()
	return nil // like the watch handlers: a cancelled watch just ends
}

func (s *testService) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	panic("boom")
}

func newServer(t *testing.T) (*server.Server, *testService, string) {
	t.Helper()
	v, err := auth.NewVerifier(context.Background(), auth.VerifierConfig{HMACKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{
		Telemetry: telemetry.Discard(),
		Verifier:  v,
		Policy: auth.Policy{
			"/grpc.testing.TestService/UnaryCall":           {Public: true},
			"/grpc.testing.TestService/EmptyCall":           {Public: true},
			"/grpc.testing.TestService/StreamingOutputCall": {Public: true},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := &testService{started: make(chan struct{})}
	testpb.RegisterTestServiceServer(srv.Registrar(), svc)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv, svc, lis.Addr().String()
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func TestShutdownLetsAnInFlightCallFinish(t *testing.T) {
	t.Parallel()
	srv, svc, addr := newServer(t)
	client := testpb.NewTestServiceClient(dial(t, addr))
	result := make(chan error, 1)
	go func() {
		resp, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
		if err == nil && resp.GetUsername() != "done" {
			err = status.Error(codes.Internal, "unexpected response")
		}
		result <- err
	}()
	<-svc.started
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx) // returns once the call has finished on the server
	// The client may read the answer a moment after the server sent it: wait for it. A
	// Shutdown that did not let the call finish would have cut it (Unavailable/Canceled).
	select {
	case err := <-result:
		if err != nil {
			t.Errorf("in-flight call during shutdown: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Error("the in-flight call got no answer after Shutdown returned")
	}
}

func TestShutdownGraceEnds(t *testing.T) {
	t.Parallel()
	srv, svc, addr := newServer(t)
	client := testpb.NewTestServiceClient(dial(t, addr))
	go func() { _, _ = client.UnaryCall(context.Background(), &testpb.SimpleRequest{}) }()
	<-svc.started
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	start := time.Now()
	srv.Shutdown(ctx)
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Errorf("Shutdown took %v past a 10ms grace period", d)
	}
}

func TestPanicBecomesInternalAndServerLives(t *testing.T) {
	t.Parallel()
	srv, _, addr := newServer(t)
	conn := dial(t, addr)
	_, err := testpb.NewTestServiceClient(conn).EmptyCall(context.Background(), &testpb.Empty{})
	if st := status.Convert(err); st.Code() != codes.Internal || st.Message() != "internal error" {
		t.Errorf("panicking handler = %v, want Internal with a generic message", err)
	}
	srv.SetServing("", true)
	resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health after a panic = %v, %v", resp, err)
	}
}

func TestInProcessConnGoesThroughInterceptors(t *testing.T) {
	t.Parallel()
	srv, _, _ := newServer(t)
	conn, err := srv.InProcessConn()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A method absent from the policy is denied by the auth interceptor, in process too.
	stream, err := testpb.NewTestServiceClient(conn).FullDuplexCall(context.Background())
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("unlisted method in process = %v, want PermissionDenied", err)
	}
}
