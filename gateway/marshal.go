package gateway

import (
	"fmt"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"
)

// jsonMarshaler is grpc-gateway's JSONPb, writing a response message into one buffer
// sized from the message: JSONPb grows protojson's output from nothing and then copies it
// into a second buffer, which for a page of search results is several times the
// response's size in garbage per request.
type jsonMarshaler struct {
	runtime.JSONPb
}

// Marshal implements runtime.Marshaler.
func (m *jsonMarshaler) Marshal(v any) ([]byte, error) {
	p, ok := v.(proto.Message)
	if !ok || m.Indent != "" {
		return m.JSONPb.Marshal(v)
	}
	// JSON of a message is usually under twice its binary size (field names, quoted
	// numbers and base64 are longer; absent fields are not written by either).
	out, err := m.MarshalOptions.MarshalAppend(make([]byte, 0, 2*proto.Size(p)+64), p)
	if err != nil {
		return nil, fmt.Errorf("marshal response: %w", err)
	}
	return out, nil
}
