package server_test

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
)

// rawCodec sends a request's bytes as they are, as a client with a broken encoder
// would, and decodes nothing.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (rawCodec) Unmarshal(mem.BufferSlice, any) error { return nil }

// TestUndecodableRequestsAreInvalidArgument sends hand-encoded requests that grpc-go's
// decoder refuses: they must answer INVALID_ARGUMENT naming the field, never INTERNAL.
func TestUndecodableRequestsAreInvalidArgument(t *testing.T) {
	t.Parallel()
	_, _, addr := newServer(t)
	conn := dial(t, addr)
	tests := []struct {
		name   string
		method string
		stream bool
		body   []byte
		field  string // "" for none
	}{
		{"a unary request with a string of invalid UTF-8 names the field", "/grpc.health.v1.Health/Check", false,
			[]byte{0x0a, 0x02, 0xff, 0xfe}, "service"},
		{"a unary request that is not protobuf at all says so", "/grpc.health.v1.Health/Check", false,
			[]byte{0x0a, 0x7f, 'x'}, ""},
		{"a streamed request that is not protobuf is refused", "/grpc.testing.TestService/StreamingOutputCall", true,
			[]byte{0x0a, 0x7f, 'x'}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var err error
			if tt.stream {
				var s grpc.ClientStream
				s, err = conn.NewStream(context.Background(), &grpc.StreamDesc{ServerStreams: true}, tt.method, grpc.ForceCodecV2(rawCodec{}))
				if err == nil {
					if err = s.SendMsg(tt.body); err == nil {
						_ = s.CloseSend()
						var out []byte
						err = s.RecvMsg(&out)
					}
				}
			} else {
				var out []byte
				err = conn.Invoke(context.Background(), tt.method, tt.body, &out, grpc.ForceCodecV2(rawCodec{}))
			}
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument {
				t.Fatalf("status = %v, want InvalidArgument", err)
			}
			var fields []string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						fields = append(fields, v.GetField())
					}
				}
			}
			switch {
			case tt.field == "" && len(fields) != 0:
				t.Errorf("field violations %v, want none", fields)
			case tt.field != "" && (len(fields) != 1 || fields[0] != tt.field):
				t.Errorf("field violations %v, want [%s]", fields, tt.field)
			}
		})
	}
}
