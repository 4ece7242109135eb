package server

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/structpb"
)

// TestUndecodableNamesTheField encodes real messages, breaks one string's bytes, and
// checks the path found, as textguard would name the field.
func TestUndecodableNamesTheField(t *testing.T) {
	t.Parallel()
	const marker = "BROKEN"
	list := &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
		{Field: "ok", Description: "fine"}, {Field: "ok", Description: marker},
	}}
	st, err := structpb.NewStruct(map[string]any{"a": "fine", "b": map[string]any{"c": marker}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		msg  proto.Message
		want string
	}{
		{"a string in the second element of a repeated message", list, "field_violations[1].description"},
		{"a string inside a map value's message", st, `fields["b"].struct_value.fields["c"].string_value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := proto.MarshalOptions{Deterministic: true}.Marshal(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			broken := breakMarker(b, marker)
			if err := proto.Unmarshal(broken, tt.msg.ProtoReflect().New().Interface()); err == nil {
				t.Fatal("the broken bytes still decode")
			}
			field, reason := undecodable(broken, tt.msg.ProtoReflect().Descriptor(), "")
			if field != tt.want || reason == "" {
				t.Errorf("undecodable = %q, %q; want %q", field, reason, tt.want)
			}
		})
	}
	// A message that is not protobuf at all has no field to name.
	var md protoreflect.MessageDescriptor = (&descriptorpb.FileDescriptorProto{}).ProtoReflect().Descriptor()
	if field, reason := undecodable([]byte{0x0a, 0x7f}, md, ""); field != "" || reason == "" {
		t.Errorf("undecodable(truncated) = %q, %q; want no field and a reason", field, reason)
	}
}

// breakMarker replaces the first byte of marker in b with 0xff (invalid UTF-8).
func breakMarker(b []byte, marker string) []byte {
	out := append([]byte(nil), b...)
	for i := 0; i+len(marker) <= len(out); i++ {
		if string(out[i:i+len(marker)]) == marker {
			out[i] = 0xff
			return out
		}
	}
	panic("marker not found")
}
