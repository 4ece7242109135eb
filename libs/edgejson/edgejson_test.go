package edgejson_test

import (
	"bytes"
	"context"
	"testing"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/ponte-network/ponte/libs/edgejson"
)

func TestAttachedJSONCrossesTheWireAndIsTakenOnce(t *testing.T) {
	t.Parallel()
	other := protowire.AppendVarint(protowire.AppendTag(nil, 7, protowire.VarintType), 42) // a field of a newer schema
	tests := []struct {
		name    string
		unknown []byte // present before Attach
	}{
		{"alone", nil},
		{"beside another unknown field", other},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sent := wrapperspb.String("kept")
			sent.ProtoReflect().SetUnknown(tc.unknown)
			edgejson.Attach(sent, edgejson.NewAttachment([]byte(`{"name":"Sportello"}`)))
			wire, err := proto.Marshal(sent)
			if err != nil {
				t.Fatal(err)
			}
			got := &wrapperspb.StringValue{}
			if err := proto.Unmarshal(wire, got); err != nil {
				t.Fatal(err)
			}
			json, ok := edgejson.Take(got)
			if !ok || string(json) != `{"name":"Sportello"}` {
				t.Fatalf("Take = %q, %v", json, ok)
			}
			if got.GetValue() != "kept" || !bytes.Equal(got.ProtoReflect().GetUnknown(), tc.unknown) {
				t.Fatalf("after Take: value %q, unknown %x; want %q, %x", got.GetValue(), got.ProtoReflect().GetUnknown(), "kept", tc.unknown)
			}
			if _, again := edgejson.Take(got); again {
				t.Fatal("Take found the JSON twice")
			}
		})
	}
}

func TestTakeWithoutAttachedJSON(t *testing.T) {
	t.Parallel()
	m := wrapperspb.String("plain")
	if _, ok := edgejson.Take(m); ok {
		t.Fatal("Take found JSON in a message without any")
	}
}

func TestRequested(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		md   metadata.MD
		want bool
	}{
		{"the edge's request", edgejson.Request(), true},
		{"no metadata", nil, false},
		{"another value", metadata.Pairs(edgejson.MetadataKey, "yes"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			if tc.md != nil {
				ctx = metadata.NewIncomingContext(ctx, tc.md)
			}
			if got := edgejson.Requested(ctx); got != tc.want {
				t.Fatalf("Requested = %v, want %v", got, tc.want)
			}
		})
	}
}
