package textguard_test

import (
	"testing"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/ponte-network/ponte/libs/textguard"
)

func TestFault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"plain text is accepted", "Crema", ""},
		{"accented text is accepted", "Saluzzo – città", ""},
		{"an empty string is accepted", "", ""},
		{"a lone 0xFF byte is invalid UTF-8", "\xff", textguard.ReasonInvalidUTF8},
		{"a truncated multi-byte rune is invalid UTF-8", "caff\xc3", textguard.ReasonInvalidUTF8},
		{"a NUL byte is refused", "a\x00b", textguard.ReasonNUL},
		{"a NUL alone is refused", "\x00", textguard.ReasonNUL},
	}
	for _, tt := range tests {
		if got := textguard.Fault(tt.in); got != tt.want {
			t.Errorf("%s: Fault(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

// batchMessage builds, at run time, a batch request whose items' records are checked per
// item (IGNORE_ALWAYS), like cases' BatchUpsertCasesRequest.
func batchMessage(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	ignore := &descriptorpb.FieldOptions{}
	proto.SetExtension(ignore, validate.E_Field, &validate.FieldRules{Ignore: validate.Ignore_IGNORE_ALWAYS.Enum()})
	str, msg := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum()
	opt, rep := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	fdp := &descriptorpb.FileDescriptorProto{
		Name: proto.String("textguard_test.proto"), Package: proto.String("textguardtest"), Syntax: proto.String("proto3"),
		Dependency: []string{"buf/validate/validate.proto"},
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("Record"), Field: []*descriptorpb.FieldDescriptorProto{
				{Name: proto.String("external_id"), Number: proto.Int32(1), Type: str, Label: opt, JsonName: proto.String("externalId")},
			}},
			{Name: proto.String("Item"), Field: []*descriptorpb.FieldDescriptorProto{
				{Name: proto.String("record"), Number: proto.Int32(1), Type: msg, TypeName: proto.String(".textguardtest.Record"), Label: opt, Options: ignore},
				{Name: proto.String("note"), Number: proto.Int32(2), Type: str, Label: opt},
			}},
			{Name: proto.String("Batch"), Field: []*descriptorpb.FieldDescriptorProto{
				{Name: proto.String("items"), Number: proto.Int32(1), Type: msg, TypeName: proto.String(".textguardtest.Item"), Label: rep},
				{Name: proto.String("tags"), Number: proto.Int32(2), Type: str, Label: rep},
			}},
		},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Messages().ByName("Batch")
}

func TestViolations(t *testing.T) {
	t.Parallel()
	batch := batchMessage(t)
	item := batch.Fields().ByName("items").Message()
	record := item.Fields().ByName("record").Message()
	newBatch := func(recordID, note string, tags ...string) proto.Message {
		b := dynamicpb.NewMessage(batch)
		it := dynamicpb.NewMessage(item)
		rec := dynamicpb.NewMessage(record)
		rec.Set(record.Fields().ByName("external_id"), protoreflect.ValueOfString(recordID))
		it.Set(item.Fields().ByName("record"), protoreflect.ValueOfMessage(rec))
		it.Set(item.Fields().ByName("note"), protoreflect.ValueOfString(note))
		items := b.Mutable(batch.Fields().ByName("items")).List()
		items.Append(protoreflect.ValueOfMessage(dynamicpb.NewMessage(item)))
		items.Append(protoreflect.ValueOfMessage(it))
		l := b.Mutable(batch.Fields().ByName("tags")).List()
		for _, tag := range tags {
			l.Append(protoreflect.ValueOfString(tag))
		}
		return b
	}
	// An Item alone is like an update request: its record's rules are deferred, its strings are not.
	updateMessage := func(recordID string) proto.Message {
		it := dynamicpb.NewMessage(item)
		rec := dynamicpb.NewMessage(record)
		rec.Set(record.Fields().ByName("external_id"), protoreflect.ValueOfString(recordID))
		it.Set(item.Fields().ByName("record"), protoreflect.ValueOfMessage(rec))
		return it
	}
	payload, err := structpb.NewStruct(map[string]any{"ok": "yes", "deep": map[string]any{"bad": "x\x00y"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		msg  proto.Message
		want []textguard.Violation
	}{
		{"a clean message has no violation", newBatch("abc", "fine", "a", "b"), nil},
		{"a NUL in a nested item names the item's index", newBatch("abc", "x\x00", "a"),
			[]textguard.Violation{{Field: "items[1].note", Reason: textguard.ReasonNUL}}},
		{"invalid UTF-8 in a repeated string names its index", newBatch("abc", "", "a", "\xff"),
			[]textguard.Violation{{Field: "tags[1]", Reason: textguard.ReasonInvalidUTF8}}},
		{"a NUL under a field checked per item is left to the service", newBatch("\x00", ""), nil},
		{"a NUL in a record outside a list is found, though its rules are deferred", updateMessage("\x00"),
			[]textguard.Violation{{Field: "record.external_id", Reason: textguard.ReasonNUL}}},
		{"a NUL deep in a Struct is found", payload,
			[]textguard.Violation{{Field: `fields["deep"].struct_value.fields["bad"].string_value`, Reason: textguard.ReasonNUL}}},
	}
	for _, tt := range tests {
		got := textguard.Violations(tt.msg)
		if len(got) != len(tt.want) {
			t.Errorf("%s: Violations = %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: violation %d = %v, want %v", tt.name, i, got[i], tt.want[i])
			}
		}
	}
}

func TestViolationsStopsAtABound(t *testing.T) {
	t.Parallel()
	values := make([]any, 500)
	for i := range values {
		values[i] = "\x00"
	}
	l, err := structpb.NewList(values)
	if err != nil {
		t.Fatal(err)
	}
	if got := textguard.Violations(l); len(got) == 0 || len(got) > 20 {
		t.Errorf("500 NULs gave %d violations, want between 1 and 20", len(got))
	}
}

func FuzzFaultAndPrintable(f *testing.F) {
	for _, s := range []string{"", "Crema", "\xff", "a\x00b", "città", "\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := textguard.Printable(s)
		if textguard.Fault(p) != "" {
			t.Errorf("Printable(%q) = %q, which Fault refuses", s, p)
		}
		if textguard.Fault(s) == "" && len(s) < 80 && p != s {
			t.Errorf("Printable changed the acceptable short string %q into %q", s, p)
		}
	})
}
