package ingest_test

import (
	"fmt"
	"slices"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/services/reporting/ingest"
	"github.com/ponte-network/ponte/services/reporting/store"
)

// facts applies directory entries in order to an in-memory set of facts, as a page's
// Prior sees them, and returns the set.
func applyDirectory(t *testing.T, facts map[string]store.Fact, k ingest.Keys, entries ...*directoryv1.Change) {
	t.Helper()
	prior := func(id string) (store.Fact, bool, error) { f, ok := facts[id]; return f, ok, nil }
	for _, e := range entries {
		changes, err := ingest.DirectoryFacts(k, e, prior)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range changes {
			if ch.Fact == nil {
				delete(facts, ch.ID)
			} else {
				facts[ch.ID] = *ch.Fact
			}
		}
	}
}

func entry(t *testing.T, topic, key, op string, doc map[string]any) *directoryv1.Change {
	t.Helper()
	ch := &directoryv1.Change{Topic: topic, Key: key, Op: op, Time: timestamppb.Now()}
	if doc != nil {
		s, err := structpb.NewStruct(doc)
		if err != nil {
			t.Fatal(err)
		}
		ch.Payload = s
	}
	return ch
}

func cells(facts map[string]store.Fact, kind string) []string {
	var out []string
	for _, f := range facts {
		if f.Kind == kind {
			out = append(out, f.Cell)
		}
	}
	slices.Sort(out)
	return out
}

func TestDirectoryFacts(t *testing.T) {
	t.Parallel()
	k, err := ingest.NewKeys([]byte("0123456789abcdef0123"))
	if err != nil {
		t.Fatal(err)
	}
	loc := func(id, mun string) *directoryv1.Change {
		return entry(t, "location", id, "upsert", map[string]any{"id": id, "organizationId": "o", "municipalityCode": mun})
	}
	svc := func(id string, doc map[string]any) *directoryv1.Change {
		doc["id"], doc["organizationId"] = id, "o"
		return entry(t, "service", id, "upsert", doc)
	}
	tests := []struct {
		name    string
		entries func() []*directoryv1.Change
		want    []string
	}{
		{"a service is one fact per term, language and municipality", func() []*directoryv1.Change {
			return []*directoryv1.Change{loc("l1", "019035"), loc("l2", "019036"), svc("s", map[string]any{
				"taxonomyTermIds": []any{"t1"}, "languages": []any{"it", "ar"},
				"serviceAtLocations": []any{map[string]any{"locationId": "l1"}, map[string]any{"locationId": "l2"}}})}
		}, []string{
			"language=ar;municipality=019035;taxonomy_term=t1", "language=ar;municipality=019036;taxonomy_term=t1",
			"language=it;municipality=019035;taxonomy_term=t1", "language=it;municipality=019036;taxonomy_term=t1"}},
		{"an update with fewer combinations deletes the rest", func() []*directoryv1.Change {
			return []*directoryv1.Change{loc("l1", "019035"),
				svc("s", map[string]any{"taxonomyTermIds": []any{"t1", "t2"}, "languages": []any{"it", "ar"}, "serviceAtLocations": []any{map[string]any{"locationId": "l1"}}}),
				svc("s", map[string]any{"taxonomyTermIds": []any{"t2"}, "languages": []any{"it"}, "serviceAtLocations": []any{map[string]any{"locationId": "l1"}}})}
		}, []string{"language=it;municipality=019035;taxonomy_term=t2"}},
		{"a deleted service takes every fact away", func() []*directoryv1.Change {
			return []*directoryv1.Change{svc("s", map[string]any{"taxonomyTermIds": []any{"t1", "t2"}, "languages": []any{"it", "ar"}}),
				entry(t, "service", "s", "delete", nil)}
		}, nil},
		{"an inactive service is not counted", func() []*directoryv1.Change {
			return []*directoryv1.Change{svc("s", map[string]any{"taxonomyTermIds": []any{"t1"}}),
				svc("s", map[string]any{"taxonomyTermIds": []any{"t1"}, "status": "inactive"})}
		}, nil},
		{"a service mirrored from another directory is counted there, not here", func() []*directoryv1.Change {
			return []*directoryv1.Change{svc("s", map[string]any{"taxonomyTermIds": []any{"t1"}, "origin": "district-a"})}
		}, nil},
		{"a service without terms, languages or places is one fact of unknowns", func() []*directoryv1.Change {
			return []*directoryv1.Change{svc("s", map[string]any{})}
		}, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			facts := map[string]store.Fact{}
			applyDirectory(t, facts, k, tt.entries()...)
			got := cells(facts, "service_mapped")
			if !slices.Equal(got, tt.want) {
				t.Fatalf("service facts = %q, want %q", got, tt.want)
			}
			persons := map[string]bool{}
			for _, f := range facts {
				if f.Kind == "service_mapped" {
					persons[f.Person] = true
				}
			}
			if len(got) > 0 && len(persons) != 1 {
				t.Fatalf("facts of one service carry %d pseudonyms, want 1 (%v)", len(persons), fmt.Sprint(persons))
			}
		})
	}
}
