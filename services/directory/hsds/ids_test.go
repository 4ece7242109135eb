package hsds

import (
	"testing"

	"github.com/google/uuid"
)

func TestIDs(t *testing.T) {
	t.Parallel()
	if want := uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://ponte-network.org/ns/hsds")); Namespace != want {
		t.Fatalf("Namespace = %s, want the UUIDv5 of its URL, %s", Namespace, want)
	}
	derived := func(key string) string { return uuid.NewSHA1(Namespace, []byte(key)).String() }
	tests := []struct {
		name, kind, id, want string
	}{
		{"an internal id that is not a UUID is derived from its key", kindService, "l2-crema", derived("service/l2-crema")},
		{"the kind is part of the key", kindOrganization, "l2-crema", derived("organization/l2-crema")},
		{"a UUID is kept", kindService, "ac148810-d857-441c-9679-408f346de14b", "ac148810-d857-441c-9679-408f346de14b"},
		{"a UUID in capitals is kept", kindTerm, "AC148810-D857-441C-9679-408F346DE14B", "AC148810-D857-441C-9679-408F346DE14B"},
		{"a UUID in braces is not canonical: derived", kindTerm, "{ac148810-d857-441c-9679-408f346de14b}", derived("taxonomy_term/{ac148810-d857-441c-9679-408f346de14b}")},
		{"no id, no HSDS id", kindLocation, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ID(tt.kind, tt.id); got != tt.want {
				t.Errorf("ID(%q, %q) = %s, want %s", tt.kind, tt.id, got, tt.want)
			}
		})
	}
	if a, b := subID("service/l2-crema/schedules/0"), subID("service/l2-crema/schedules/1"); a == b || !isUUID(a) {
		t.Errorf("sub-record ids %s and %s: want two distinct UUIDs", a, b)
	}
}

func TestTaxonomyOf(t *testing.T) {
	t.Parallel()
	byCode, byID := taxonomyOf("ponte-services"), taxonomyOf("4d024b76-ce20-47f8-ab03-07d9803b1c19")
	if byCode != byID || byCode.ID != "4d024b76-ce20-47f8-ab03-07d9803b1c19" || byCode.Name == byCode.ID || byCode.Description == "" {
		t.Errorf("built-in by code = %+v, by id = %+v: want one named taxonomy", byCode, byID)
	}
	if other := taxonomyOf("openeligibility"); other.ID != ID(kindTaxonomy, "openeligibility") || other.Name != "openeligibility" || other.Code != "openeligibility" {
		t.Errorf("another taxonomy = %+v, want one named by its value with a derived id", other)
	}
}
