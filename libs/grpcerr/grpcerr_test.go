package grpcerr_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/libs/storage"
)

func TestFrom(t *testing.T) {
	t.Parallel()
	secret := errors.New(`ERROR: duplicate key (tax_code)=(RSSMRA80A01H501U) (SQLSTATE 23505)`)
	tests := []struct {
		name       string
		err        error
		wantCode   codes.Code
		wantMsg    string
		wantReason string
		wantField  string
	}{
		{"a wrapped not-found says only not found", fmt.Errorf("get district x: %w", storage.ErrNotFound), codes.NotFound, "not found", "NOT_FOUND", ""},
		{"a store error keeps its caller-facing message", storage.Errorf(storage.ErrAlreadyExists, "district %s exists", "ambito-a"), codes.AlreadyExists, "district ambito-a exists", "ALREADY_EXISTS", ""},
		{"a stale etag is Aborted, as AIP-154 asks", fmt.Errorf("update: %w", storage.ErrConflict), codes.Aborted, "the record changed since it was read: read it again and retry", "VERSION_CONFLICT", ""},
		{"a field error names its field", storage.FieldErrorf(storage.ErrFailedPrecondition, "territory.municipality_codes", "taken"), codes.FailedPrecondition, "taken", "FAILED_PRECONDITION", "territory.municipality_codes"},
		{"an unreachable database is Unavailable, so that clients retry", fmt.Errorf("begin: %w", storage.ErrUnavailable), codes.Unavailable, "the database is unavailable: retry later", "STORE_UNAVAILABLE", ""},
		{"a status passes through", status.Error(codes.PermissionDenied, "no"), codes.PermissionDenied, "no", "", ""},
		{"a cancelled context stays cancelled", fmt.Errorf("query: %w", context.Canceled), codes.Canceled, "request canceled", "", ""},
		{"an unknown error is Internal and hides its text", fmt.Errorf("insert: %w", secret), codes.Internal, "internal error", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := grpcerr.From(tt.err)
			st := status.Convert(err)
			if st.Code() != tt.wantCode || st.Message() != tt.wantMsg {
				t.Fatalf("From = %v %q, want %v %q", st.Code(), st.Message(), tt.wantCode, tt.wantMsg)
			}
			var reason, field string
			for _, d := range st.Details() {
				switch d := d.(type) {
				case *errdetails.ErrorInfo:
					reason = d.GetReason()
				case *errdetails.BadRequest:
					field = d.GetFieldViolations()[0].GetField()
				}
			}
			if reason != tt.wantReason || field != tt.wantField {
				t.Errorf("details: reason %q field %q, want %q %q", reason, field, tt.wantReason, tt.wantField)
			}
			if tt.wantCode == codes.Internal {
				if strings.Contains(st.Message(), "RSSMRA") {
					t.Error("the caller sees the internal error")
				}
				if !errors.Is(err, secret) {
					t.Error("the cause is lost for the server's log")
				}
			}
		})
	}
	if grpcerr.From(nil) != nil {
		t.Error("From(nil) != nil")
	}
}

func TestInvalidArgumentListsEveryViolation(t *testing.T) {
	t.Parallel()
	err := grpcerr.InvalidArgument(
		grpcerr.FieldViolation{Field: "near", Description: "want lat,lon"},
		grpcerr.FieldViolation{Field: "radius_km", Description: "must be at most 100"},
	)
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "near") {
		t.Fatalf("status = %v %q", st.Code(), st.Message())
	}
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if strings.Join(fields, ",") != "near,radius_km" {
		t.Errorf("violations = %v", fields)
	}
}

func TestViolationsCollectsThenFails(t *testing.T) {
	t.Parallel()
	var v grpcerr.Violations
	if v.Err() != nil {
		t.Fatal("no violations must be no error")
	}
	v.Add("radius_km", "must be at most %d", 200)
	v.Add("near", "want lat,lon")
	st := status.Convert(v.Err())
	if st.Code() != codes.InvalidArgument || st.Message() != "invalid radius_km: must be at most 200" {
		t.Errorf("Err = %v %q", st.Code(), st.Message())
	}
}

func TestUnavailableCarriesRetryInfo(t *testing.T) {
	t.Parallel()
	st := status.Convert(grpcerr.From(fmt.Errorf("acquire: %w", storage.ErrUnavailable)))
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay().AsDuration() == grpcerr.UnavailableRetryDelay {
			return
		}
	}
	t.Errorf("Unavailable status %v lacks RetryInfo of %v", st, grpcerr.UnavailableRetryDelay)
}
