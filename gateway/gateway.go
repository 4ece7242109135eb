// Package gateway is Ponte's REST edge: grpc-gateway maps every service's REST routes
// (from the protos' google.api.http rules) onto one HTTP server, in front of services
// in the same process or remote. It serves the merged OpenAPI document, health and
// readiness, Prometheus metrics, errors as RFC 9457 problem+json, and forwards the
// caller's credentials and W3C trace context.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/rs/cors"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"
	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"
	housingv1 "github.com/ponte-network/ponte/proto/ponte/housing/v1"
	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"
	reportingv1 "github.com/ponte-network/ponte/proto/ponte/reporting/v1"

	"github.com/ponte-network/ponte/gateway/web"
	"github.com/ponte-network/ponte/libs/edgejson"
	"github.com/ponte-network/ponte/libs/problem"
	"github.com/ponte-network/ponte/libs/telemetry"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/services/directory"
	"github.com/ponte-network/ponte/services/directory/hsds"
)

// Config is the edge's configuration.
type Config struct {
	Telemetry *telemetry.Telemetry
	// MaxBodyBytes bounds a request body; larger ones get 413.
	MaxBodyBytes int64
	// BodyTimeout bounds how long a client may take to send a request body; slower ones
	// get 408 and lose the connection. 0 = 30 s.
	BodyTimeout time.Duration
	// CORSOrigins lists the browser origins allowed to call the API ("*" for any);
	// empty: no CORS headers.
	CORSOrigins []string
	// Ready reports whether every service behind the edge can serve (for /readyz).
	Ready func(ctx context.Context) error
	// Version is reported by /healthz.
	Version string
	// API describes the deployment in the OpenAPI document.
	API APIInfo
	// TraceClientInfo records the client's address and user agent in HTTP spans (personal
	// data: off by default).
	TraceClientInfo bool
	// RateLimit bounds each client's request rate; zero: no limit.
	RateLimit RateLimit
	// Observatory is the dashboard's sign-in, served at /observatory when reporting is
	// mounted; Catalog names territories in the pages.
	Observatory Observatory
	Catalog     *territory.Catalog
}

// Observatory configures the observatory dashboard's sign-in (package web).
type Observatory struct {
	SessionSecret []byte
	OIDC          *web.OIDCConfig
	DevSignIn     func(role, territory, organization string) (string, time.Duration, error)
}

// Backend is the connection to one service, in the process or remote.
type Backend struct {
	Service string           // "directory", "cases", ...
	Conn    *grpc.ClientConn // in-process or remote connection
}

// registrars maps each service to the function that mounts its REST routes.
var registrars = map[string]func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
	"cases":     casesv1.RegisterCaseServiceHandler,
	"reporting": reportingv1.RegisterReportingServiceHandler,
	"directory": registerAll(directoryv1.RegisterTerritoryServiceHandler, directoryv1.RegisterDirectoryServiceHandler),
	"housing":   housingv1.RegisterHousingServiceHandler,
	"mediators": mediatorsv1.RegisterMediatorServiceHandler,
}

// registerAll mounts the routes of several gRPC services of one service module.
func registerAll(fns ...func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error) func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error {
	return func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
		for _, fn := range fns {
			if err := fn(ctx, mux, conn); err != nil {
				return err
			}
		}
		return nil
	}
}

// httpMounts maps a service to plain HTTP handlers the edge mounts beside its gRPC
// routes, by path pattern: the directory's HSDS 3.1 read endpoints and their OpenAPI
// document.
var httpMounts = map[string]func(context.Context, *grpc.ClientConn, Config) (map[string]http.Handler, error){
	"directory": func(ctx context.Context, conn *grpc.ClientConn, cfg Config) (map[string]http.Handler, error) {
		doc, err := HSDSOpenAPI(ctx, cfg.API)
		if err != nil {
			return nil, err
		}
		return map[string]http.Handler{
			"/hsds/":                 hsds.Handler(directoryv1.NewDirectoryServiceClient(conn), hsds.Options{PublicURL: cfg.API.PublicURL, OpenAPIPath: HSDSOpenAPIPath}),
			"GET " + HSDSOpenAPIPath: serveHSDSOpenAPI(doc),
		}, nil
	},
}

// Services lists the services whose routes the edge can mount.
func Services() []string {
	out := make([]string, 0, len(registrars))
	for name := range registrars {
		out = append(out, name)
	}
	return out
}

// New builds the edge's HTTP handler for the given backends.
func New(ctx context.Context, cfg Config, backends []Backend) (http.Handler, error) {
	if cfg.Telemetry == nil {
		return nil, errors.New("gateway: telemetry is required")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = 30 * time.Second
	}
	mux := runtime.NewServeMux(
		runtime.WithErrorHandler(errorHandler),
		runtime.WithRoutingErrorHandler(hostileRouting),
		runtime.WithMiddlewares(hostilePathParams),
		// google.api.HttpBody replies (CSV statements, iCalendar feeds) go out as their
		// own content type and bytes; every other message as JSON.
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: newJSONMarshaler()}),
		// Services that keep parts of their replies rendered as JSON send them so.
		runtime.WithMetadata(func(context.Context, *http.Request) metadata.MD { return edgejson.Request() }),
		runtime.WithMetadata(noteGatewayRoute),
		runtime.WithForwardResponseOption(forwardResponse),
		runtime.WithStreamErrorHandler(streamError),
		// gRPC response metadata is the services' business, not REST clients', but for
		// the staleness of an answer served while a store is down.
		runtime.WithOutgoingHeaderMatcher(outgoingHeader),
		runtime.WithOutgoingTrailerMatcher(func(string) (string, bool) { return "", false }),
	)
	for _, b := range backends {
		register, ok := registrars[b.Service]
		if !ok {
			return nil, fmt.Errorf("gateway: no REST routes for service %q", b.Service)
		}
		if err := register(ctx, mux, b.Conn); err != nil {
			return nil, fmt.Errorf("gateway: mount %s routes: %w", b.Service, err)
		}
	}
	spec, err := OpenAPI(ctx, cfg.API)
	if err != nil {
		return nil, err
	}

	root := http.NewServeMux()
	root.Handle("/", limitBody(cfg.MaxBodyBytes, reportingFormats(mux)))
	for _, b := range backends {
		if mount, ok := httpMounts[b.Service]; ok {
			handlers, err := mount(ctx, b.Conn, cfg)
			if err != nil {
				return nil, fmt.Errorf("gateway: mount %s: %w", b.Service, err)
			}
			for pattern, h := range handlers {
				root.Handle(pattern, limitBody(cfg.MaxBodyBytes, h))
			}
		}
	}
	if err := mountPages(root, cfg, backends); err != nil {
		return nil, err
	}
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"status":"ok","version":%q}`+"\n", cfg.Version)
	})
	ready := func(w http.ResponseWriter, r *http.Request) {
		if cfg.Ready != nil {
			if err := cfg.Ready(r.Context()); err != nil {
				// The cause (addresses, database errors) is for the operators' log only.
				cfg.Telemetry.Logger.WarnContext(r.Context(), "not ready", slog.String("error", err.Error()))
				problem.Write(w, r, problem.Problem{
					Type: "about:blank", Title: http.StatusText(http.StatusServiceUnavailable),
					Status: http.StatusServiceUnavailable, Detail: "a service behind this edge is not ready; see the server log",
				})
				return
			}
		}
		// The Italian guidelines' /status answers problem+json with status 200 when healthy.
		w.Header().Set("Content-Type", problem.ContentType)
		_, _ = w.Write([]byte(`{"type":"about:blank","title":"OK","status":200,"detail":"ready"}` + "\n"))
	}
	root.HandleFunc("GET /readyz", ready)
	root.HandleFunc("GET /status", ready)
	root.Handle("GET /metrics", cfg.Telemetry.MetricsHandler())
	root.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(spec)
	})

	var mounted []string
	for _, b := range backends {
		mounted = append(mounted, b.Service)
	}
	var h http.Handler = httpSemantics(newRouteTable(mounted), cfg.MaxBodyBytes, notePattern(hostileInput(root)))
	if len(cfg.CORSOrigins) > 0 {
		h = cors.New(cors.Options{
			AllowedOrigins:   cfg.CORSOrigins,
			AllowedMethods:   []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete},
			AllowedHeaders:   []string{"Authorization", "Content-Type", "Traceparent", "Tracestate", "If-Match", "If-None-Match", "Accept-Language"},
			ExposedHeaders:   []string{"Traceparent", "X-Trace-Id", "Etag", "Location", "Content-Language", "Allow", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After", StaleHeader},
			AllowCredentials: false,
			MaxAge:           600,
		}).Handler(h)
	}
	h = rateLimited(cfg.RateLimit, h)
	h = traceHeaders(h)
	// Outermost: the deadline is set on the connection itself.
	return bodyDeadline(cfg.BodyTimeout, instrument(cfg, h)), nil
}

// StaleHeader is the header of a search or territory read answered from the directory's
// index while its store is down: the seconds since the index last caught up.
const StaleHeader = "Ponte-Index-Stale"

// outgoingHeader passes the one gRPC response header REST clients get: StaleHeader.
func outgoingHeader(key string) (string, bool) {
	if strings.EqualFold(key, directory.StaleHeader) {
		return StaleHeader, true
	}
	return "", false
}

// traceHeaders returns the request's trace context to the caller, as traceparent and
// X-Trace-Id, so a user can hand ops the id of a slow or failed request.
func traceHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
			w.Header().Set("Traceparent", fmt.Sprintf("00-%s-%s-%s", sc.TraceID(), sc.SpanID(), sc.TraceFlags()))
			w.Header().Set("X-Trace-Id", sc.TraceID().String())
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody refuses bodies over max: at once with 413 when Content-Length says so, and
// through http.MaxBytesReader (a 400 from the decoder) when the body is streamed.
func limitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			problem.Write(w, r, problem.Problem{
				Type: "about:blank", Title: http.StatusText(http.StatusRequestEntityTooLarge),
				Status: http.StatusRequestEntityTooLarge,
				Detail: "request body is larger than the limit of " + strconv.FormatInt(max, 10) + " bytes",
			})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}
