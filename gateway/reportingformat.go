package gateway

import (
	"mime"
	"net/http"
	"strings"
)

// reportingFormats serves GET /v1/indicators/{id}:query as the indicator's file
// (ExportIndicator, google.api.HttpBody) when the caller asks for CSV — format=csv or
// format=sdmx-csv, or an Accept header preferring text/csv — so that spreadsheets and
// statistical offices use the same URL as the JSON clients.
func reportingFormats(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/v1/indicators/") || !strings.HasSuffix(r.URL.Path, ":query") {
			next.ServeHTTP(w, r)
			return
		}
		q := r.URL.Query()
		format := q.Get("format")
		if format == "" && acceptsCSV(r.Header.Get("Accept")) {
			format = "csv"
		}
		if format != "csv" && format != "sdmx-csv" {
			next.ServeHTTP(w, r)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = strings.TrimSuffix(r.URL.Path, ":query") + ":export"
		r2.URL.RawPath = ""
		q.Set("format", format)
		r2.URL.RawQuery = q.Encode()
		next.ServeHTTP(w, r2)
	})
}

// acceptsCSV reports whether text/csv is the first media type of an Accept header.
func acceptsCSV(accept string) bool {
	first, _, _ := strings.Cut(accept, ",")
	mt, _, err := mime.ParseMediaType(strings.TrimSpace(first))
	return err == nil && mt == "text/csv"
}
