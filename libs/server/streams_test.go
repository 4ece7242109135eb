package server_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/ponte-network/ponte/libs/server"
)

// shutdownReason returns the ErrorInfo reason of a status error, or "".
func shutdownReason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

func TestShutdownEndsAnOpenStreamAtOnceWithUnavailable(t *testing.T) {
	t.Parallel()
	srv, _, addr := newServer(t)
	client := testpb.NewTestServiceClient(dial(t, addr))
	stream, err := client.StreamingOutputCall(context.Background(), &testpb.StreamingOutputCallRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatalf("first message: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	srv.Shutdown(ctx)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown waited %v for an open stream, want it ended at once", d)
	}
	_, err = stream.Recv()
	if status.Code(err) != codes.Unavailable || shutdownReason(err) != server.ReasonShuttingDown {
		t.Errorf("open stream ended with %v, want Unavailable with reason %s", err, server.ReasonShuttingDown)
	}
}

func TestEndStreamsRefusesNewStreamsAndLeavesUnaryCalls(t *testing.T) {
	t.Parallel()
	srv, _, addr := newServer(t)
	client := testpb.NewTestServiceClient(dial(t, addr))
	srv.EndStreams()
	stream, err := client.StreamingOutputCall(context.Background(), &testpb.StreamingOutputCallRequest{})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.Unavailable || shutdownReason(err) != server.ReasonShuttingDown {
		t.Errorf("stream opened after EndStreams = %v, want Unavailable with reason %s", err, server.ReasonShuttingDown)
	}
	if resp, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil || resp.GetUsername() != "done" {
		t.Errorf("unary call after EndStreams = %v, %v, want it served", resp, err)
	}
}
