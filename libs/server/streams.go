package server

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Server-streaming calls (the Watch* change feeds) never finish on their own, so a
// graceful stop would wait for them for the whole grace period. The server tracks them
// and, when shutdown begins, ends each one at once with UNAVAILABLE and the cursor the
// client resumes from: the request's "after" field, advanced by the "position" field of
// every message sent. Any service's Watch method gets this by following the change-feed
// naming of libs/changelog; a stream without those fields still ends at once, without a
// cursor.

// ReasonShuttingDown is the errdetails.ErrorInfo reason of a stream ended by shutdown;
// its metadata "resume_after" (when known) is the cursor to resume the stream from.
const ReasonShuttingDown = "SHUTTING_DOWN"

// errShuttingDown is the cause with which shutdown cancels a stream's context.
var errShuttingDown = errors.New("server shutting down")

// streams is the set of server-streaming calls in progress.
type streams struct {
	mu      sync.Mutex
	closing bool
	open    map[*trackedStream]struct{}
}

// end cancels every open stream and refuses new ones.
func (s *streams) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for ts := range s.open {
		ts.cancel(errShuttingDown)
	}
}

func (s *streams) add(ts *trackedStream) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	if s.open == nil {
		s.open = map[*trackedStream]struct{}{}
	}
	s.open[ts] = struct{}{}
	return true
}

func (s *streams) remove(ts *trackedStream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.open, ts)
}

// interceptor tracks server-streaming calls; others pass through untouched.
func (s *streams) interceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if !info.IsServerStream {
		return handler(srv, ss)
	}
	ctx, cancel := context.WithCancelCause(ss.Context())
	defer cancel(nil)
	ts := &trackedStream{ServerStream: ss, ctx: ctx, cancel: cancel}
	if !s.add(ts) {
		return shutdownStatus(false, 0)
	}
	defer s.remove(ts)
	err := handler(srv, ts)
	if errors.Is(context.Cause(ctx), errShuttingDown) {
		// Whatever the handler made of its cancelled context, the client must learn that
		// the stream did not end by itself, and where to pick it up.
		cursor, known := ts.cursor()
		return shutdownStatus(known, cursor)
	}
	if cerr := ss.Context().Err(); cerr != nil {
		// The caller cancelled or its deadline passed. A handler that ended "cleanly"
		// on its cancelled context would otherwise answer OK, which a client reads as
		// the stream having ended by itself (io.EOF); say what happened instead.
		return status.FromContextError(cerr).Err()
	}
	return err
}

// shutdownStatus is the status a stream ended by shutdown gets.
func shutdownStatus(known bool, cursor int64) error {
	msg := "server shutting down: retry on another instance or after restart"
	info := &errdetails.ErrorInfo{Reason: ReasonShuttingDown, Domain: "ponte"}
	if known {
		msg = "server shutting down: resume the stream with after=" + strconv.FormatInt(cursor, 10)
		info.Metadata = map[string]string{"resume_after": strconv.FormatInt(cursor, 10)}
	}
	st := status.New(codes.Unavailable, msg)
	if withDetails, err := st.WithDetails(info, &errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)}); err == nil {
		st = withDetails
	}
	return st.Err()
}

// trackedStream is a server stream whose context shutdown can cancel, and which
// remembers the cursor a client would resume from.
type trackedStream struct {
	grpc.ServerStream
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu     sync.Mutex
	pos    int64
	hasPos bool
}

func (t *trackedStream) Context() context.Context { return t.ctx }

func (t *trackedStream) RecvMsg(m any) error {
	if err := t.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	t.note(m, "after")
	return nil
}

func (t *trackedStream) SendMsg(m any) error {
	if err := t.ServerStream.SendMsg(m); err != nil {
		return err
	}
	t.note(m, "position")
	return nil
}

// note records the int64 field name of m, if m has one, as the resume cursor.
func (t *trackedStream) note(m any, name protoreflect.Name) {
	msg, ok := m.(proto.Message)
	if !ok {
		return
	}
	r := msg.ProtoReflect()
	fd := r.Descriptor().Fields().ByName(name)
	if fd == nil || fd.Kind() != protoreflect.Int64Kind || fd.Cardinality() == protoreflect.Repeated {
		return
	}
	t.mu.Lock()
	t.pos, t.hasPos = r.Get(fd).Int(), true
	t.mu.Unlock()
}

func (t *trackedStream) cursor() (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pos, t.hasPos
}
