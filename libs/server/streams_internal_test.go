package server

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ctxStream is a server stream with a given context and nothing else.
type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (c ctxStream) Context() context.Context { return c.ctx }

// A watch handler that ends "cleanly" on its cancelled context must not answer OK: a
// client would read that as the feed having ended by itself (io.EOF, Unknown).
func TestAStreamEndedByItsCallerSaysWhy(t *testing.T) {
	t.Parallel()
	expired, cancelExpired := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelExpired()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		handler error
		want    codes.Code
	}{
		{"deadline passed, handler says nothing", expired, nil, codes.DeadlineExceeded},
		{"caller cancelled, handler says nothing", cancelled, nil, codes.Canceled},
		{"caller cancelled, handler says Internal", cancelled, status.Error(codes.Internal, "x"), codes.Canceled},
		{"caller still there, handler ends", context.Background(), nil, codes.OK},
		{"caller still there, handler fails", context.Background(), status.Error(codes.NotFound, "x"), codes.NotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var s streams
			err := s.interceptor(nil, ctxStream{ctx: tc.ctx}, &grpc.StreamServerInfo{IsServerStream: true},
				func(any, grpc.ServerStream) error { return tc.handler })
			if got := status.Code(err); got != tc.want {
				t.Errorf("stream ended with %v, want %v", err, tc.want)
			}
		})
	}
}
