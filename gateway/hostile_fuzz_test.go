package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/ponte-network/ponte/gateway/web"
	"github.com/ponte-network/ponte/libs/textguard"
)

// FuzzHostileInput sends arbitrary paths and query strings through the edge's check of
// parameters: the answer is the handler's or a 400 problem, never a 5xx, and the handler
// never sees a query value that is not text (the web pages excepted: they answer bad
// parameters with an HTML page of their own).
func FuzzHostileInput(f *testing.F) {
	for _, s := range [][2]string{
		{"/v1/services:search", "q=%FF"},
		{"/v1/services/\x00", ""},
		{"/hsds/services/\xff", "page=1"},
		{"/v1/services:search", "%FF=1&q=caf%C3%A9"},
		{"/v1/cases", "pageToken=%00&pageSize=10"},
		{"/", "a=%ZZ&b=%00"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, path, rawQuery string) {
		page := web.IsPage(path) // the pages check their own parameters and answer in HTML
		next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if page {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			q, _ := url.ParseQuery(r.URL.RawQuery)
			for k, vs := range q {
				for _, v := range append(vs, k) {
					if textguard.Fault(v) != "" {
						t.Fatalf("handler reached with query %q", r.URL.RawQuery)
					}
				}
			}
			w.WriteHeader(http.StatusNoContent)
		})
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: path, RawQuery: rawQuery}, Header: http.Header{}}
		rec := httptest.NewRecorder()
		hostileInput(next).ServeHTTP(rec, r)
		switch rec.Code {
		case http.StatusNoContent:
		case http.StatusBadRequest:
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("400 body is not JSON: %q", rec.Body.Bytes())
			}
		default:
			t.Fatalf("path %q query %q answered %d", path, rawQuery, rec.Code)
		}
	})
}
