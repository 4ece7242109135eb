package problem_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ponte-network/ponte/libs/problem"
)

// FuzzFromStatus maps arbitrary statuses — any code, any message, including the decode
// errors grpc-gateway builds from hostile input — to problem documents: the status is
// always a 4xx or 5xx, the document is valid JSON in valid UTF-8, and a caller's
// mistake is never reported as a server error.
func FuzzFromStatus(f *testing.F) {
	seeds := []struct {
		code uint32
		msg  string
	}{
		{3, `proto: (line 1:12): unknown field "nmae"`},
		{3, "proto:\u00a0syntax error (line 1:1): unexpected token"},
		{3, `parsing field "page_size": strconv.ParseInt: parsing "x": invalid syntax`},
		{3, "type mismatch, parameter: id, error: \xff"},
		{3, `invalid value for enum field category: "CATEGORY_NOPE"`},
		{3, "request body not received in time"},
		{14, "connection refused"},
		{13, "SQLSTATE 22021"},
		{99, "\x00"},
	}
	for _, s := range seeds {
		f.Add(s.code, s.msg)
	}
	f.Fuzz(func(t *testing.T, code uint32, msg string) {
		st := status.New(codes.Code(code), msg)
		p := problem.FromStatus(st)
		if p.Status < 400 || p.Status > 599 {
			t.Fatalf("status %d for code %d", p.Status, code)
		}
		if codes.Code(code) == codes.InvalidArgument && p.Status >= 500 {
			t.Fatalf("InvalidArgument %q became %d", msg, p.Status)
		}
		rec := httptest.NewRecorder()
		problem.Write(rec, httptest.NewRequest(http.MethodGet, "/v1/x", nil), p)
		body := rec.Body.Bytes()
		if !utf8.Valid(body) || !json.Valid(body) {
			t.Fatalf("problem body is not valid JSON in UTF-8: %q", body)
		}
	})
}

// FuzzInvalidParameter names any parameter a client may send: the answer is a 400 with
// valid JSON.
func FuzzInvalidParameter(f *testing.F) {
	f.Add("path", "territory_code", "is not valid UTF-8")
	f.Add("query", "q", "contains a NUL byte")
	f.Add("query", "[\"x", "")
	f.Fuzz(func(t *testing.T, in, name, reason string) {
		p := problem.InvalidParameter(in, name, reason)
		rec := httptest.NewRecorder()
		problem.Write(rec, nil, p)
		if rec.Code != http.StatusBadRequest || !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("InvalidParameter(%q, %q, %q) = %d %q", in, name, reason, rec.Code, rec.Body.Bytes())
		}
	})
}
