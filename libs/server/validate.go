package server

import (
	"context"
	"errors"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/ponte-network/ponte/libs/textguard"
)

// validateUnary checks every request before the handler runs: its strings with
// libs/textguard (no invalid UTF-8, no NUL), then its protovalidate annotations.
func validateUnary(v protovalidate.Validator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := validateMessage(v, req); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

func validateStream(v protovalidate.Validator) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &validatingStream{ServerStream: ss, v: v})
	}
}

type validatingStream struct {
	grpc.ServerStream
	v protovalidate.Validator
}

func (s *validatingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return validateMessage(s.v, m)
}

// validateMessage returns InvalidArgument with one errdetails.BadRequest field violation
// per broken rule (what gRPC clients understand), plus protovalidate's own Violations.
func validateMessage(v protovalidate.Validator, m any) error {
	msg, ok := m.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "request of type %T is not a protobuf message", m)
	}
	// A request that did not decode (requestCodec marked it) names what is wrong.
	if field, reason, undecodable := undecodableRequest(msg.ProtoReflect()); undecodable {
		if field == "" {
			return withInfo(status.New(codes.InvalidArgument, reason)).Err()
		}
		br := &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: reason}}}
		return withInfo(status.New(codes.InvalidArgument, "invalid "+field+": "+reason), br).Err()
	}
	// Strings no store can keep are refused before any rule or handler sees them (a
	// regular expression over invalid UTF-8 is meaningless, PostgreSQL refuses NULs).
	if bad := textguard.Violations(msg); len(bad) > 0 {
		br := &errdetails.BadRequest{}
		for _, b := range bad {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: b.Field, Description: b.Reason})
		}
		st := status.New(codes.InvalidArgument, "invalid "+bad[0].Field+": "+bad[0].Reason)
		if withDetails, derr := st.WithDetails(br, &errdetails.ErrorInfo{Reason: "INVALID_ARGUMENT", Domain: "ponte"}); derr == nil {
			st = withDetails
		}
		return st.Err()
	}
	err := v.Validate(msg)
	if err == nil {
		return nil
	}
	var verr *protovalidate.ValidationError
	if !errors.As(err, &verr) {
		return status.Error(codes.Internal, "request validation rules failed to evaluate")
	}
	br := &errdetails.BadRequest{}
	summary := "invalid request"
	for i, viol := range verr.Violations {
		field := protovalidate.FieldPathString(viol.Proto.GetField())
		desc := viol.Proto.GetMessage()
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: field, Description: desc})
		if i == 0 {
			summary = "invalid " + field + ": " + desc
		}
	}
	st := status.New(codes.InvalidArgument, summary)
	if withDetails, derr := st.WithDetails(br,
		&errdetails.ErrorInfo{Reason: "INVALID_ARGUMENT", Domain: "ponte"}, verr.ToProto()); derr == nil {
		st = withDetails
	}
	return st.Err()
}

// withInfo adds the INVALID_ARGUMENT ErrorInfo, and details, to st.
func withInfo(st *status.Status, details ...protoadapt.MessageV1) *status.Status {
	details = append(details, &errdetails.ErrorInfo{Reason: "INVALID_ARGUMENT", Domain: "ponte"})
	if withDetails, err := st.WithDetails(details...); err == nil {
		return withDetails
	}
	return st
}
