package gateway

import (
	"context"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"
)

// How the edge's HTTP spans and metrics are labelled:
//
//   - http.route is the matched route template — grpc-gateway's (runtime.HTTPPathPattern,
//     "/v1/territories/{code}") or the ServeMux pattern of the edge's own handlers
//     ("/hsds/services/{id}") — and the span is named "METHOD route". A request that matches
//     no route has no http.route and is named by its method alone.
//   - url.path keeps the concrete path only for the services whose records are public
//     (publicRecords). For every other service — cases, mediators, housing and any service
//     added later, whose ids can be tax codes — and for requests that match no route, it is
//     replaced by the route template, or by the path's first segments.
//   - client.address, network.peer.address and user_agent.original identify a person: they
//     are left out unless Config.TraceClientInfo is set.

// publicRecords lists the service modules whose record ids are public, so that their concrete
// paths may appear in spans. A service not listed is treated as holding personal data.
var publicRecords = map[string]bool{"directory": true}

// routeNote is filled while a request is served with what the telemetry needs to know about
// the route it matched. One per request, shared through the context.
type routeNote struct {
	route   string // matched route template, "" when none matched
	service string // service module of the gRPC method behind the route, "" for the edge's own handlers
	gateway bool   // the route is grpc-gateway's

	// What the span must not see unless asked, put back before the request is served.
	remoteAddr string
	userAgent  []string
	forwarded  []string
	xff        []string
	hidden     bool
}

type routeNoteKey struct{}

func noteFrom(ctx context.Context) *routeNote {
	n, _ := ctx.Value(routeNoteKey{}).(*routeNote)
	return n
}

// noteGatewayRoute is a grpc-gateway metadata annotator: it runs once the route is matched,
// with the route template and the gRPC method in the context, and adds no metadata.
func noteGatewayRoute(ctx context.Context, _ *http.Request) metadata.MD {
	n := noteFrom(ctx)
	if n == nil {
		return nil
	}
	if route, ok := runtime.HTTPPathPattern(ctx); ok {
		n.route, n.gateway = route, true
	}
	if method, ok := runtime.RPCMethod(ctx); ok {
		n.service = serviceOfMethod(method)
	}
	return nil
}

// serviceOfMethod returns the service module of a full gRPC method name:
// "/ponte.cases.v1.CaseService/GetCase" → "cases".
func serviceOfMethod(method string) string {
	parts := strings.Split(strings.TrimPrefix(method, "/"), ".")
	if len(parts) >= 3 && parts[0] == "ponte" {
		return parts[1]
	}
	return ""
}

// notePattern wraps the edge's ServeMux: the pattern it (or a ServeMux below it, such as the
// HSDS handler's) matched names the route when grpc-gateway did not. Subtree patterns ("/",
// "/hsds/") are fallbacks, not routes.
func notePattern(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		n := noteFrom(r.Context())
		if n == nil || n.gateway || r.Pattern == "" || strings.HasSuffix(r.Pattern, "/") {
			return
		}
		_, path, found := strings.Cut(r.Pattern, " ")
		if !found {
			path = r.Pattern
		}
		if i := strings.IndexByte(path, '/'); i > 0 {
			path = path[i:] // a host in the pattern
		}
		n.route = path
		if strings.HasPrefix(path, "/hsds/") {
			n.service = "directory"
		}
	})
}

// instrument traces and measures every request through otelhttp, labelled as described above.
func instrument(cfg Config, next http.Handler) http.Handler {
	labelled := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// r is the very request otelhttp reads its route from after the handler returns.
		n := noteFrom(r.Context())
		n.restore(r)
		next.ServeHTTP(w, r)
		r.Pattern = ""
		if n.route != "" {
			r.Pattern = r.Method + " " + n.route
		}
		span := trace.SpanFromContext(r.Context())
		if n.route != "" {
			span.SetAttributes(attribute.String("http.route", n.route))
		}
		switch {
		case n.route == "":
			span.SetAttributes(attribute.String("url.path", coarsePath(r.URL.Path)))
		case !publicRecords[n.service]:
			span.SetAttributes(attribute.String("url.path", n.route))
		}
	})
	h := otelhttp.NewHandler(labelled, "ponte-gateway",
		otelhttp.WithTracerProvider(cfg.Telemetry.TracerProvider),
		otelhttp.WithMeterProvider(cfg.Telemetry.MeterProvider),
		otelhttp.WithPropagators(cfg.Telemetry.Propagator),
		otelhttp.WithFilter(func(r *http.Request) bool {
			switch r.URL.Path {
			case "/healthz", "/readyz", "/metrics":
				return false
			}
			return true
		}),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if _, route, ok := strings.Cut(r.Pattern, " "); ok {
				return r.Method + " " + route
			}
			return r.Method
		}),
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := &routeNote{}
		r = r.WithContext(context.WithValue(r.Context(), routeNoteKey{}, n))
		if !cfg.TraceClientInfo {
			n.hide(r)
		}
		h.ServeHTTP(w, r)
	})
}

// hide takes the client's address and user agent out of r while otelhttp starts its span.
func (n *routeNote) hide(r *http.Request) {
	n.hidden = true
	n.remoteAddr, r.RemoteAddr = r.RemoteAddr, ""
	n.userAgent, n.forwarded, n.xff = r.Header.Values("User-Agent"), r.Header.Values("Forwarded"), r.Header.Values("X-Forwarded-For")
	// The header map is shared with the caller's request: edit a copy.
	r.Header = r.Header.Clone()
	r.Header.Del("User-Agent")
	r.Header.Del("Forwarded")
	r.Header.Del("X-Forwarded-For")
}

// restore puts back what hide took, for the handlers (rate limits need the address).
func (n *routeNote) restore(r *http.Request) {
	if !n.hidden {
		return
	}
	r.RemoteAddr = n.remoteAddr
	for k, vs := range map[string][]string{"User-Agent": n.userAgent, "Forwarded": n.forwarded, "X-Forwarded-For": n.xff} {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
}

// coarsePath is what a span keeps of a path that matched no route: the first segment, and the
// second when it reads as a collection name (letters only), never what could be an id.
func coarsePath(path string) string {
	parts := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 3)
	keep := 1
	if len(parts) > 1 && isWord(parts[1]) {
		keep = 2
	}
	if len(parts) <= keep {
		return path
	}
	return "/" + strings.Join(parts[:keep], "/") + "/…"
}

func isWord(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}
