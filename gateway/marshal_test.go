package gateway

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/edgejson"
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

// TestRenderedServicesAreWrittenInPlace checks that a page of search results whose
// services came rendered (edgejson) is written as the same JSON as the page with its
// services decoded, whichever results carry them so.
func TestRenderedServicesAreWrittenInPlace(t *testing.T) {
	t.Parallel()
	clinic := &directoryv1.Service{Id: "s1", Name: map[string]string{"it": "Ambulatorio", "ar": "عيادة"}, Languages: []string{"it", "ar"},
		UpdateTime: timestamppb.New(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)), Etag: "e1"}
	school := &directoryv1.Service{Id: "s2", Name: map[string]string{"fr": "École \"L2\" <adultes>"}}
	rest := func(r *directoryv1.SearchServicesResponse) *directoryv1.SearchServicesResponse {
		r.TotalSize, r.NextPageToken = 42, "next"
		r.TaxonomyFacets = []*directoryv1.FacetCount{{Value: "ponte:health", Label: "Salute", Count: 3},
			{Value: "ponte:l2", Label: "دورات اللغة الإيطالية", Count: 2}, {Value: "org:x", Label: "tab\there, \x01 and \"quotes\" \\ ok", Count: 1}}
		r.MunicipalityFacets = []*directoryv1.FacetCount{{Value: "019035", Label: "Crema", Count: 30}, {Value: "098049", Label: "Sant'Angelo Lodigiano"},
			{Value: "", Label: "Cantù", Count: -1}}
		return r
	}
	tests := []struct {
		name     string
		services []*directoryv1.Service
		rendered []bool // per result: its service comes rendered
		distance []float64
		nearest  []string
	}{
		{"every service rendered", []*directoryv1.Service{clinic, school}, []bool{true, true}, []float64{0, 0}, []string{"", ""}},
		{"rendered, with distances", []*directoryv1.Service{clinic, school}, []bool{true, true}, []float64{1.25, 3}, []string{"loc-crema", "l2"}},
		{"distances protojson writes with exponents, or as strings", []*directoryv1.Service{clinic, school, clinic, school},
			[]bool{true, true, true, true}, []float64{1e-6, 1e-7, 2e21, math.NaN()}, []string{"a", "b", "c", "d"}},
		{"places whose ids need escaping", []*directoryv1.Service{clinic, school}, []bool{true, true}, []float64{0.001, 199.999},
			[]string{`sede "centrale"`, "città\\nord"}},
		{"some rendered, some decoded", []*directoryv1.Service{clinic, school}, []bool{false, true}, []float64{0, 2}, []string{"x", ""}},
		{"a result without its service", []*directoryv1.Service{nil, school}, []bool{false, true}, []float64{0.5, 0}, []string{"", "y"}},
	}
	m := newJSONMarshaler()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := rest(&directoryv1.SearchServicesResponse{})
			got := rest(&directoryv1.SearchServicesResponse{})
			for i, svc := range tt.services {
				want.Results = append(want.Results, &directoryv1.SearchResult{Service: svc, DistanceKm: tt.distance[i], NearestLocationId: tt.nearest[i]})
				r := &directoryv1.SearchResult{DistanceKm: tt.distance[i], NearestLocationId: tt.nearest[i]}
				if tt.rendered[i] {
					j, err := edgejson.Render(svc)
					if err != nil {
						t.Fatal(err)
					}
					edgejson.Attach(r, edgejson.NewAttachment(j))
				} else {
					r.Service = svc
				}
				got.Results = append(got.Results, r)
			}
			wantJSON, err := m.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			gotJSON, err := m.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			var a, b any
			if err := json.Unmarshal(gotJSON, &a); err != nil {
				t.Fatalf("not JSON: %s: %v", gotJSON, err)
			}
			if err := json.Unmarshal(wantJSON, &b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("wrote %s\nwant %s", gotJSON, wantJSON)
			}
		})
	}
}

// TestSearchPageIsWrittenByHand fails when a field is added to a search page's messages:
// pages are then written by protojson (correct, but slower) until appendSearchPage
// writes the new field too.
func TestSearchPageIsWrittenByHand(t *testing.T) {
	t.Parallel()
	if !searchPageByHand() {
		t.Errorf("the messages of a search page have fields appendSearchPage does not write (searchPageFields: %v)", searchPageFields())
	}
}
