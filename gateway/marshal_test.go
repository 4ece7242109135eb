package gateway

import (
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"
)

// TestJSONMarshalerWritesWhatJSONPbWrites checks that the pre-sized marshaler changes no
// byte of a response, for messages and for the non-message values grpc-gateway marshals.
func TestJSONMarshalerWritesWhatJSONPbWrites(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    any
	}{
		{"an empty message", &directoryv1.Service{}},
		{"a message with maps, lists and nested messages", &directoryv1.SearchServicesResponse{
			Results: []*directoryv1.SearchResult{{Service: &directoryv1.Service{Id: "s1", Name: map[string]string{"it": "Corso", "ar": "دورة"},
				Languages: []string{"it", "ar"}, UpdateTime: timestamppb.New(timestamppb.Now().AsTime())}, DistanceKm: 1.5}},
			TotalSize: 1, NextPageToken: "abc",
		}},
		{"a well-known type", structpb.NewStringValue("x")},
		{"a value that is not a message", map[string]int{"a": 1}},
	}
	var ref runtime.JSONPb
	m := &jsonMarshaler{}
	for _, tt := range tests {
		want, err := ref.Marshal(tt.v)
		if err != nil {
			t.Fatalf("%s: JSONPb: %v", tt.name, err)
		}
		got, err := m.Marshal(tt.v)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if string(got) != string(want) {
			t.Errorf("%s: %s, JSONPb writes %s", tt.name, got, want)
		}
	}
}
