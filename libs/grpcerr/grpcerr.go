// Package grpcerr turns the errors of Ponte's stores and logic into gRPC statuses, in
// one place: the code, a reason in errdetails.ErrorInfo, field violations in
// errdetails.BadRequest, and a message that never leaks internals.
package grpcerr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ponte-network/ponte/libs/storage"
)

// UnavailableRetryDelay is the RetryInfo of an Unavailable store: when to try again.
const UnavailableRetryDelay = 5 * time.Second

// Domain is the ErrorInfo domain of Ponte's errors.
const Domain = "ponte"

// From maps err to a gRPC status error. Store kinds map to NotFound, AlreadyExists,
// Aborted (stale etag or version, as AIP-154 asks), FailedPrecondition and Unavailable
// (the database cannot be reached: clients retry); statuses pass
// through; context errors keep their meaning; anything else becomes Internal with a
// generic message, and the returned error still unwraps to err for the server's log.
func From(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var (
		code   codes.Code
		reason string
	)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		code, reason = codes.NotFound, "NOT_FOUND"
	case errors.Is(err, storage.ErrAlreadyExists):
		code, reason = codes.AlreadyExists, "ALREADY_EXISTS"
	case errors.Is(err, storage.ErrConflict):
		code, reason = codes.Aborted, "VERSION_CONFLICT"
	case errors.Is(err, storage.ErrInvalidArgument):
		code, reason = codes.InvalidArgument, "INVALID_ARGUMENT"
	case errors.Is(err, storage.ErrFailedPrecondition):
		code, reason = codes.FailedPrecondition, "FAILED_PRECONDITION"
	case errors.Is(err, storage.ErrUnavailable):
		code, reason = codes.Unavailable, "STORE_UNAVAILABLE"
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	default:
		return &internalError{cause: err}
	}
	msg := err.Error()
	var se *storage.Error
	if errors.As(err, &se) {
		msg = se.Message
	} else {
		// A wrapped kind without a caller-facing message: say only the kind.
		msg = kindMessage(code)
	}
	st := withDetails(status.New(code, msg), &errdetails.ErrorInfo{Reason: reason, Domain: Domain})
	if code == codes.Unavailable {
		// Clients (and the edge's Retry-After) learn when to try again.
		st = withDetails(st, &errdetails.RetryInfo{RetryDelay: durationpb.New(UnavailableRetryDelay)})
	}
	if se != nil && se.Field != "" {
		st = withDetails(st, &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: se.Field, Description: se.Message},
		}})
	}
	return st.Err()
}

func kindMessage(c codes.Code) string {
	switch c {
	case codes.NotFound:
		return "not found"
	case codes.AlreadyExists:
		return "already exists"
	case codes.Aborted:
		return "the record changed since it was read: read it again and retry"
	case codes.Unavailable:
		return "the database is unavailable: retry later"
	case codes.InvalidArgument:
		return "invalid request"
	default:
		return "the request cannot be carried out in the record's current state"
	}
}

// FieldViolation is one invalid request field.
type FieldViolation struct {
	Field       string // path in the request, as in the proto ("territory.municipality_codes[2]")
	Description string // what is wrong, for the caller
}

// InvalidArgument returns an InvalidArgument status listing the violations.
func InvalidArgument(violations ...FieldViolation) error {
	br := &errdetails.BadRequest{}
	msg := "invalid request"
	for i, v := range violations {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description})
		if i == 0 {
			msg = "invalid " + v.Field + ": " + v.Description
		}
	}
	return withDetails(status.New(codes.InvalidArgument, msg), br,
		&errdetails.ErrorInfo{Reason: "INVALID_ARGUMENT", Domain: Domain}).Err()
}

// PermissionDenied returns a PermissionDenied status with a caller-facing message.
func PermissionDenied(msg string) error {
	return withDetails(status.New(codes.PermissionDenied, msg),
		&errdetails.ErrorInfo{Reason: "PERMISSION_DENIED", Domain: Domain}).Err()
}

func withDetails(st *status.Status, details ...protoadapt.MessageV1) *status.Status {
	if withD, err := st.WithDetails(details...); err == nil {
		return withD
	}
	return st
}

// internalError is an Internal status for the caller that keeps its cause for the log.
type internalError struct{ cause error }

func (e *internalError) Error() string { return "internal error: " + e.cause.Error() }
func (e *internalError) Unwrap() error { return e.cause }

// GRPCStatus hides the cause from the caller.
func (e *internalError) GRPCStatus() *status.Status {
	return status.New(codes.Internal, "internal error")
}

// Violations collects the field violations of one request, for handlers that check more
// than protovalidate can express.
type Violations []FieldViolation

// Add records that field is invalid, with a formatted description for the caller.
func (v *Violations) Add(field, format string, args ...any) {
	*v = append(*v, FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// Err returns nil without violations, else an InvalidArgument status listing them all.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return InvalidArgument(v...)
}
