package directory

import (
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"
)

func TestParseNear(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"decimal degrees", "45.3627,9.6843", true},
		{"negative values", "-33.9,-70.6", true},
		{"spaces around the numbers", " 45.1 , 10.0 ", true},
		{"latitude out of range", "91,10", false},
		{"longitude out of range", "45,181", false},
		{"one number only", "45.3", false},
		{"not numbers", "north,east", false},
	}
	for _, tt := range tests {
		if _, ok := parseNear(tt.in); ok != tt.ok {
			t.Errorf("%s: parseNear(%q) ok = %v, want %v", tt.name, tt.in, ok, tt.ok)
		}
	}
}

func TestLocalize(t *testing.T) {
	t.Parallel()
	svc := &directoryv1.Service{
		Name:        map[string]string{"it": "Corso", "en": "Course", "ar": "دورة"},
		Description: map[string]string{"fr": "Cours", "de": "Kurs"},
		RequiredDocuments: []*directoryv1.RequiredDocument{
			{Document: map[string]string{"it": "Permesso di soggiorno", "en": "Residence permit"}},
		},
	}
	tests := []struct {
		name     string
		locale   string
		wantName map[string]string
		wantDesc map[string]string
		wantDoc  map[string]string
	}{
		{"an empty locale keeps every translation", "", svc.Name, svc.Description, svc.RequiredDocuments[0].Document},
		{"the requested locale", "ar", map[string]string{"ar": "دورة"}, map[string]string{"de": "Kurs"}, map[string]string{"it": "Permesso di soggiorno"}},
		{"Italian when the locale is missing", "uk", map[string]string{"it": "Corso"}, map[string]string{"de": "Kurs"}, map[string]string{"it": "Permesso di soggiorno"}},
		{"nested messages are localized too", "en", map[string]string{"en": "Course"}, map[string]string{"de": "Kurs"}, map[string]string{"en": "Residence permit"}},
	}
	for _, tt := range tests {
		c := proto.Clone(svc).(*directoryv1.Service)
		localize(c, tt.locale)
		if !reflect.DeepEqual(c.GetName(), tt.wantName) || !reflect.DeepEqual(c.GetDescription(), tt.wantDesc) ||
			!reflect.DeepEqual(c.GetRequiredDocuments()[0].GetDocument(), tt.wantDoc) {
			t.Errorf("%s: got %v / %v / %v", tt.name, c.GetName(), c.GetDescription(), c.GetRequiredDocuments()[0].GetDocument())
		}
	}
}

func TestApplyMask(t *testing.T) {
	t.Parallel()
	before := &directoryv1.Service{Id: "s1", OrganizationId: "o1", Name: map[string]string{"it": "A"}, Free: true, Etag: "e1",
		Languages: []string{"it"}}
	patch := &directoryv1.Service{Id: "other", Name: map[string]string{"en": "B"}, Etag: "e2"}
	tests := []struct {
		name  string
		paths []string
		want  *directoryv1.Service
	}{
		{"a mask replaces only the named fields", []string{"name"},
			&directoryv1.Service{Id: "s1", OrganizationId: "o1", Name: map[string]string{"en": "B"}, Free: true, Etag: "e1", Languages: []string{"it"}}},
		{"a named field absent from the body is cleared", []string{"languages", "free"},
			&directoryv1.Service{Id: "s1", OrganizationId: "o1", Name: map[string]string{"it": "A"}, Etag: "e1"}},
		{"JSON names and nested paths name the top-level field", []string{"organizationId.x"},
			&directoryv1.Service{Id: "s1", Name: map[string]string{"it": "A"}, Free: true, Etag: "e1", Languages: []string{"it"}}},
		{"id and etag are never taken", []string{"id", "etag"}, before},
		{"no mask replaces everything but the id and output fields", nil,
			&directoryv1.Service{Id: "s1", Name: map[string]string{"en": "B"}, Etag: "e1"}},
	}
	for _, tt := range tests {
		got, err := applyMask(before, patch, &fieldmaskpb.FieldMask{Paths: tt.paths})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !proto.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	if _, err := applyMask(before, patch, &fieldmaskpb.FieldMask{Paths: []string{"colour"}}); err == nil {
		t.Error("an unknown path must be refused")
	}
}

// TestEncodedServiceDecodesAsTheService checks that a result carrying an encoded service
// decodes, on the client's side, as the result with that service set.
func TestEncodedServiceDecodesAsTheService(t *testing.T) {
	t.Parallel()
	svc := &directoryv1.Service{Id: "s1", Name: map[string]string{"it": "Corso", "ar": "دورة"}, Languages: []string{"it", "ar"},
		ServiceAtLocations: []*directoryv1.ServiceAtLocation{{LocationId: "l1"}}, Etag: "e1"}
	page, err := proto.Marshal(svc)
	if err != nil {
		t.Fatal(err)
	}
	r := &directoryv1.SearchResult{DistanceKm: 1.25, NearestLocationId: "l1"}
	withEncodedService(r, page)
	wire, err := proto.Marshal(&directoryv1.SearchServicesResponse{Results: []*directoryv1.SearchResult{r}, TotalSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	var got directoryv1.SearchServicesResponse
	if err := proto.Unmarshal(wire, &got); err != nil {
		t.Fatal(err)
	}
	want := &directoryv1.SearchServicesResponse{Results: []*directoryv1.SearchResult{{Service: svc, DistanceKm: 1.25, NearestLocationId: "l1"}}, TotalSize: 1}
	if !proto.Equal(&got, want) {
		t.Errorf("decoded %v, want %v", &got, want)
	}
}
