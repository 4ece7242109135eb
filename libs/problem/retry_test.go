package problem_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ponte-network/ponte/libs/problem"
)

func TestUnavailableSaysWhenToRetry(t *testing.T) {
	t.Parallel()
	withRetry, err := status.New(codes.Unavailable, "the database is unavailable").
		WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(7 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		st         *status.Status
		wantStatus int
		wantRetry  string
	}{
		{"an unavailable store with RetryInfo gives its delay", withRetry, http.StatusServiceUnavailable, "7"},
		{"an unavailable store without RetryInfo gives the default", status.New(codes.Unavailable, "down"), http.StatusServiceUnavailable, "5"},
		{"a caller's mistake has no Retry-After", status.New(codes.InvalidArgument, "bad"), http.StatusBadRequest, ""},
		{"an internal error has no Retry-After", status.New(codes.Internal, "boom"), http.StatusInternalServerError, ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		problem.Write(rec, httptest.NewRequest(http.MethodGet, "/v1/services:search", nil), problem.FromStatus(tt.st))
		if rec.Code != tt.wantStatus || rec.Header().Get("Retry-After") != tt.wantRetry {
			t.Errorf("%s: %d Retry-After %q, want %d %q", tt.name, rec.Code, rec.Header().Get("Retry-After"), tt.wantStatus, tt.wantRetry)
		}
	}
}
