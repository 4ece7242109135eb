package updatemask_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/typepb"

	"github.com/ponte-network/ponte/libs/updatemask"
)

// typepb.Field is a plain message with scalar fields, enough to exercise the mask.
func TestApply(t *testing.T) {
	t.Parallel()
	before := &typepb.Field{Name: "old", JsonName: "oldJson", Number: 1, Packed: true}
	m := &typepb.Field{Name: "new", Number: 2}
	tests := []struct {
		name  string
		paths []string
		want  *typepb.Field
	}{
		{"a named field is taken", []string{"name"}, &typepb.Field{Name: "new", JsonName: "oldJson", Number: 1, Packed: true}},
		{"a field unset in the request is cleared", []string{"packed"}, &typepb.Field{Name: "old", JsonName: "oldJson", Number: 1}},
		{"JSON names and nested paths select the top-level field", []string{"jsonName.x"}, &typepb.Field{Name: "old", Number: 1, Packed: true}},
		{"an empty mask takes every field but the immutable ones", nil, &typepb.Field{Name: "new", Number: 1}},
		{"an immutable field named in the mask is kept", []string{"number", "name"}, &typepb.Field{Name: "new", JsonName: "oldJson", Number: 1, Packed: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := updatemask.Apply(before, m, &fieldmaskpb.FieldMask{Paths: tt.paths}, "number")
			if err != nil || !proto.Equal(got, tt.want) {
				t.Fatalf("Apply = %v, %v; want %v", got, err, tt.want)
			}
			if before.GetName() != "old" {
				t.Fatal("Apply modified before")
			}
		})
	}
	_, err := updatemask.Apply(before, m, &fieldmaskpb.FieldMask{Paths: []string{"name", "colour"}})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || st.Message() != `invalid update_mask.paths[1]: no field "colour"` {
		t.Errorf("unknown path = %v", err)
	}
}
