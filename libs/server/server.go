// Package server bootstraps the one gRPC server of a Ponte process: interceptors for
// panic recovery, access logging, authentication and authorization, and request
// validation; OpenTelemetry stats handlers; grpc.health.v1 per service; reflection; an
// in-process connection for the co-located REST gateway; and graceful shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"buf.build/go/protovalidate"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/telemetry"
)

// Config is what the server needs from the process.
type Config struct {
	Telemetry *telemetry.Telemetry
	Verifier  *auth.Verifier
	// Policy maps every full method name to who may call it. Modules add their
	// entries before Serve; a method missing from it is denied.
	Policy auth.Policy
	// MaxRecvBytes bounds one request message; 0 = 4 MiB.
	MaxRecvBytes int
}

// Server is the process's gRPC server.
type Server struct {
	grpc   *grpc.Server
	health *health.Server
	inproc *bufconn.Listener
	tel    *telemetry.Telemetry
	log    *slog.Logger
	// streams are the server-streaming calls in progress, ended at once by shutdown.
	streams streams

	mu       sync.Mutex
	serving  bool
	stopOnce sync.Once
}

// inprocBuffer is the size of the in-process connection's buffer.
const inprocBuffer = 1 << 20

// New builds the server; register services on Registrar, then Serve.
func New(cfg Config) (*Server, error) {
	if cfg.Telemetry == nil || cfg.Verifier == nil || cfg.Policy == nil {
		return nil, errors.New("server: telemetry, verifier and policy are required")
	}
	validator, err := protovalidate.New()
	if err != nil {
		return nil, fmt.Errorf("request validator: %w", err)
	}
	s := &Server{
		health: health.NewServer(),
		inproc: bufconn.Listen(inprocBuffer),
		tel:    cfg.Telemetry,
		log:    cfg.Telemetry.Logger,
	}
	recoverOpt := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		s.log.ErrorContext(ctx, "panic in gRPC handler", slog.Any("panic", p))
		return status.Error(codes.Internal, "internal error")
	})
	maxRecv := cfg.MaxRecvBytes
	if maxRecv == 0 {
		maxRecv = 4 << 20
	}
	s.grpc = grpc.NewServer(
		grpc.StatsHandler(codeOnly(otelgrpc.NewServerHandler(
			otelgrpc.WithTracerProvider(cfg.Telemetry.TracerProvider),
			otelgrpc.WithMeterProvider(cfg.Telemetry.MeterProvider),
			otelgrpc.WithPropagators(cfg.Telemetry.Propagator),
			otelgrpc.WithFilter(filters.Not(filters.HealthCheck())),
		))),
		grpc.MaxRecvMsgSize(maxRecv),
		// Requests that do not decode (invalid UTF-8) are INVALID_ARGUMENT, not INTERNAL.
		grpc.ForceServerCodecV2(newRequestCodec()),
		grpc.ChainUnaryInterceptor(
			recovery.UnaryServerInterceptor(recoverOpt),
			s.logUnary,
			auth.UnaryServerInterceptor(cfg.Verifier, cfg.Policy),
			validateUnary(validator),
		),
		grpc.ChainStreamInterceptor(
			recovery.StreamServerInterceptor(recoverOpt),
			s.streams.interceptor,
			s.logStream,
			auth.StreamServerInterceptor(cfg.Verifier, cfg.Policy),
			validateStream(validator),
		),
	)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	// The process as a whole answers NOT_SERVING until every module has started.
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	return s, nil
}

// Registrar is where services register their implementations.
func (s *Server) Registrar() grpc.ServiceRegistrar { return s.grpc }

// SetServing reports one service (by its full gRPC name), or the whole process with "",
// as SERVING or NOT_SERVING on grpc.health.v1.
func (s *Server) SetServing(service string, serving bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if serving {
		st = healthpb.HealthCheckResponse_SERVING
	}
	s.health.SetServingStatus(service, st)
}

// Serve accepts connections on lis, and on the in-process listener, until Shutdown.
func (s *Server) Serve(lis net.Listener) error {
	s.mu.Lock()
	first := !s.serving
	s.serving = true
	s.mu.Unlock()
	if first {
		go func() { _ = s.grpc.Serve(s.inproc) }()
	}
	if err := s.grpc.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("grpc serve: %w", err)
	}
	return nil
}

// InProcessConn returns a client connection to this very server that goes through its
// interceptors and stats handlers like any remote call (never RegisterXHandlerServer,
// which would skip them), with trace context propagated; opts add to the defaults (e.g.
// grpc.WithPerRPCCredentials for a service principal's token).
func (s *Server) InProcessConn(opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts = append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return s.inproc.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(ClientStatsHandler(s.tel)),
	}, opts...)
	conn, err := grpc.NewClient("passthrough:///ponte-inprocess", opts...)
	if err != nil {
		return nil, fmt.Errorf("in-process connection: %w", err)
	}
	return conn, nil
}

// ClientStatsHandler traces and measures outgoing calls with the process's telemetry
// (status codes without their messages, which may carry ids).
func ClientStatsHandler(tel *telemetry.Telemetry) stats.Handler {
	return codeOnly(otelgrpc.NewClientHandler(
		otelgrpc.WithTracerProvider(tel.TracerProvider),
		otelgrpc.WithMeterProvider(tel.MeterProvider),
		otelgrpc.WithPropagators(tel.Propagator),
	))
}

// EndStreams ends every server-streaming call (the Watch* feeds) at once with
// UNAVAILABLE and the cursor to resume from (ReasonShuttingDown), and refuses new ones
// the same way. Call it first when shutting down, before anything waits for calls to
// finish: a watch never finishes by itself.
func (s *Server) EndStreams() { s.streams.end() }

// Shutdown marks every service NOT_SERVING, ends the streams (EndStreams), lets in-flight
// unary calls finish until ctx is done, then closes what remains.
func (s *Server) Shutdown(ctx context.Context) {
	s.stopOnce.Do(func() {
		s.health.Shutdown()
		s.EndStreams()
		done := make(chan struct{})
		go func() {
			s.grpc.GracefulStop()
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			s.log.Warn("grace period over: closing remaining gRPC calls")
			s.grpc.Stop()
			<-done
		}
	})
}
