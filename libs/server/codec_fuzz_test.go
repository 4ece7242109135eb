package server

import (
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/structpb"
)

// FuzzRequestCodec feeds arbitrary bytes to the request codec, as a client with a broken
// or hostile encoder would, into messages with nested, repeated and map fields. Whatever
// the bytes: no panic, no error (grpc-go would answer it INTERNAL); bytes protobuf
// accepts decode as protobuf decodes them, unmarked; others leave the message empty but
// for the mark, whose field path, when there is one, is shaped like a field path.
func FuzzRequestCodec(f *testing.F) {
	seeds := []proto.Message{
		&descriptorpb.FileDescriptorProto{Name: proto.String("a.proto"), MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("M"), Field: []*descriptorpb.FieldDescriptorProto{{Name: proto.String("f"), JsonName: proto.String("é")}}}}},
	}
	if st, err := structpb.NewStruct(map[string]any{"a": "x", "b": map[string]any{"c": []any{"d", 1.5}}}); err == nil {
		seeds = append(seeds, st)
	}
	for _, m := range seeds {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		if len(b) > 4 {
			broken := append([]byte(nil), b...)
			broken[len(broken)-2] = 0xff
			f.Add(broken)
		}
	}
	f.Add([]byte{0x0a, 0x02, 0xff, 0xfe})
	f.Add([]byte{0x0a, 0x7f, 'x'})
	codec := newRequestCodec()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, newMsg := range []func() proto.Message{
			func() proto.Message { return &descriptorpb.FileDescriptorProto{} },
			func() proto.Message { return &structpb.Struct{} },
		} {
			msg := newMsg()
			if err := codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(data)}, msg); err != nil {
				t.Fatalf("Unmarshal returned %v: grpc-go would answer INTERNAL", err)
			}
			want := newMsg()
			field, reason, marked := undecodableRequest(msg.ProtoReflect())
			if err := proto.Unmarshal(data, want); err == nil {
				if marked {
					t.Fatalf("bytes protobuf decodes were marked undecodable (%q: %s)", field, reason)
				}
				if !proto.Equal(msg, want) {
					t.Fatal("the codec decoded differently from protobuf")
				}
				continue
			}
			if !marked || reason == "" {
				t.Fatalf("undecodable bytes left unmarked (marked %v, reason %q)", marked, reason)
			}
			for _, r := range field {
				if r == 0 || r == '\n' {
					t.Fatalf("field path %q carries control characters", field)
				}
			}
		}
	})
}
