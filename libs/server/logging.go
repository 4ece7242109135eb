package server

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// logUnary writes one access-log record per call: method, code and duration, never the
// request, the response or the peer address (they may hold personal data). Successful
// calls and not-found answers log at debug, other caller errors at info, server errors at error with their cause.
func (s *Server) logUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	s.logCall(ctx, info.FullMethod, start, err)
	return resp, err
}

func (s *Server) logStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	err := handler(srv, ss)
	s.logCall(ss.Context(), info.FullMethod, start, err)
	return err
}

func (s *Server) logCall(ctx context.Context, method string, start time.Time, err error) {
	if strings.HasPrefix(method, "/grpc.health.v1.") {
		return
	}
	code := status.Code(err)
	attrs := []slog.Attr{
		slog.String("grpc.method", method),
		slog.String("grpc.code", code.String()),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
	}
	level := slog.LevelDebug
	switch code {
	case codes.OK, codes.NotFound:
		// Not found is an answer, not a fault: importers ask before they create.
	case codes.Internal, codes.Unknown, codes.DataLoss, codes.Unavailable:
		level = slog.LevelError
		// The cause stays in the log (wrapped by grpcerr); the caller saw a generic message.
		if cause := errors.Unwrap(err); cause != nil {
			attrs = append(attrs, slog.String("error", cause.Error()))
		} else {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
	default:
		level = slog.LevelInfo
	}
	s.log.LogAttrs(ctx, level, "grpc call", attrs...)
}
