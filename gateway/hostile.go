package gateway

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	"github.com/ponte-network/ponte/gateway/web"
	"github.com/ponte-network/ponte/libs/problem"
	"github.com/ponte-network/ponte/libs/textguard"
)

// Path and query parameters that are not text — invalid UTF-8, NUL bytes, once
// percent-decoded — are answered 400 problem+json naming the parameter, on every route,
// before any handler sees them: a proto string cannot hold invalid UTF-8 (the call would
// fail as a 500 inside the edge) and PostgreSQL refuses NULs. The gRPC services refuse
// the same strings in request messages (libs/server, libs/textguard), for gRPC callers.

// hostileInput checks every request's query parameters, and the path of the routes that
// are not grpc-gateway's; grpc-gateway's path parameters are checked by name once a
// route matched (hostilePathParams), or, when none does, by hostileRouting.
// The web pages (package web) are left to check their own parameters: a reader gets an
// HTML page naming the bad one, not problem+json.
func hostileInput(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if web.IsPage(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		if name, reason, ok := badQuery(r.URL.RawQuery); ok {
			problem.Write(w, r, problem.InvalidParameter("query", name, reason))
			return
		}
		if reason := textguard.Fault(r.URL.Path); reason != "" && !strings.HasPrefix(r.URL.Path, "/v1/") {
			problem.Write(w, r, problem.InvalidParameter("path", "path", reason))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// badQuery returns the first query parameter (in name order) whose name or a value is not
// text. A malformed escape is left to the handler's own parsing, which answers 400.
func badQuery(raw string) (name, reason string, bad bool) {
	if raw == "" {
		return "", "", false
	}
	q, _ := url.ParseQuery(raw) // pairs that parse are returned even when others do not
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if reason := textguard.Fault(k); reason != "" {
			return textguard.Printable(k), "has a name that " + reason, true
		}
		for _, v := range q[k] {
			if reason := textguard.Fault(v); reason != "" {
				return k, reason, true
			}
		}
	}
	return "", "", false
}

// hostilePathParams is a grpc-gateway middleware: it runs once a route has matched, with
// the decoded path parameters by field name.
func hostilePathParams(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		names := make([]string, 0, len(params))
		for k := range params {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if reason := textguard.Fault(params[k]); reason != "" {
				problem.Write(w, r, problem.InvalidParameter("path", k, reason))
				return
			}
		}
		next(w, r, params)
	}
}

// hostileRouting answers a path that matched no route, but is not text, as the invalid
// path it is rather than as a missing route.
func hostileRouting(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	if reason := textguard.Fault(r.URL.Path); reason != "" {
		problem.Write(w, r, problem.InvalidParameter("path", "path", reason))
		return
	}
	problem.RoutingErrorHandler(ctx, mux, m, w, r, httpStatus)
}
