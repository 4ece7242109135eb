// Package storetest is the conformance suite every directory store runs: each behaviour
// the directory's API promises of its storage is asserted here once, on both stores.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/services/directory/store"
)

// NewStore returns an empty store for one test; the suite closes it.
type NewStore func(t *testing.T) store.Store

// Run runs the whole suite against the stores newStore makes.
func Run(t *testing.T, newStore NewStore) {
	t.Run("Districts", func(t *testing.T) { t.Parallel(); testDistricts(t, newStore) })
	t.Run("DistrictConflicts", func(t *testing.T) { t.Parallel(); testDistrictConflicts(t, newStore) })
	t.Run("ChangeFeed", func(t *testing.T) { t.Parallel(); testChangeFeed(t, newStore) })
	t.Run("Records", func(t *testing.T) { t.Parallel(); testRecords(t, newStore) })
	t.Run("RecordReferences", func(t *testing.T) { t.Parallel(); testRecordReferences(t, newStore) })
	t.Run("Mirror", func(t *testing.T) { t.Parallel(); testMirror(t, newStore) })
}

func open(t *testing.T, newStore NewStore) store.Store {
	t.Helper()
	s := newStore(t)
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Ready(context.Background()); err != nil {
		t.Fatalf("new store not ready: %v", err)
	}
	return s
}

var cremasco = store.District{
	Code: "ambito-cremasco", Name: "Ambito Cremasco", RegionCode: "03",
	Municipalities: []string{"019035", "019003", "019004"},
}

func testDistricts(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := open(t, newStore)
	before := time.Now().Add(-time.Second)

	got, err := s.CreateDistrict(ctx, cremasco)
	if err != nil {
		t.Fatalf("CreateDistrict: %v", err)
	}
	wantMuns := []string{"019003", "019004", "019035"}
	if got.Code != cremasco.Code || got.Name != cremasco.Name || got.RegionCode != "03" || !reflect.DeepEqual(got.Municipalities, wantMuns) {
		t.Errorf("CreateDistrict returned %+v, want %+v with sorted municipalities", got, cremasco)
	}
	if got.CreateTime.Before(before) || got.CreateTime.After(time.Now().Add(time.Second)) {
		t.Errorf("CreateTime = %v, want about now", got.CreateTime)
	}

	read, err := s.GetDistrict(ctx, cremasco.Code)
	if err != nil {
		t.Fatalf("GetDistrict: %v", err)
	}
	if !read.CreateTime.Equal(got.CreateTime) || !reflect.DeepEqual(read.Municipalities, wantMuns) || read.Name != got.Name {
		t.Errorf("GetDistrict = %+v, want %+v", read, got)
	}

	if _, err := s.GetDistrict(ctx, "ambito-nowhere"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetDistrict(unknown) error = %v, want ErrNotFound", err)
	}

	second := store.District{Code: "ambito-casalasco", Name: "Ambito Casalasco", RegionCode: "03", Municipalities: []string{"019021"}}
	if _, err := s.CreateDistrict(ctx, second); err != nil {
		t.Fatalf("CreateDistrict(second): %v", err)
	}
	list, err := s.ListDistricts(ctx)
	if err != nil {
		t.Fatalf("ListDistricts: %v", err)
	}
	var codes []string
	for _, d := range list {
		codes = append(codes, d.Code)
	}
	if want := []string{"ambito-casalasco", "ambito-cremasco"}; !reflect.DeepEqual(codes, want) {
		t.Errorf("ListDistricts codes = %v, want %v (ordered by code)", codes, want)
	}
	if !reflect.DeepEqual(list[1].Municipalities, wantMuns) {
		t.Errorf("listed municipalities = %v, want %v", list[1].Municipalities, wantMuns)
	}
}

func testDistrictConflicts(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := open(t, newStore)
	if _, err := s.CreateDistrict(ctx, cremasco); err != nil {
		t.Fatal(err)
	}
	head, err := s.Changes().Head(ctx)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		district  store.District
		wantKind  error
		wantField string
	}{
		{"the same code twice is refused", store.District{Code: cremasco.Code, Name: "Again", RegionCode: "03", Municipalities: []string{"019021"}}, store.ErrAlreadyExists, ""},
		{"a municipality already in another district is refused", store.District{Code: "ambito-crema-bis", Name: "Bis", RegionCode: "03", Municipalities: []string{"019021", "019035"}}, store.ErrFailedPrecondition, "territory.municipality_codes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateDistrict(ctx, tt.district)
			if !errors.Is(err, tt.wantKind) {
				t.Fatalf("error = %v, want %v", err, tt.wantKind)
			}
			var se *storage.Error
			if tt.wantField != "" && (!errors.As(err, &se) || se.Field != tt.wantField) {
				t.Errorf("error = %#v, want a *storage.Error about %s", err, tt.wantField)
			}
		})
	}

	// Nothing of the refused writes is left behind.
	if _, err := s.GetDistrict(ctx, "ambito-crema-bis"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("refused district was written: %v", err)
	}
	list, err := s.ListDistricts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != cremasco.Name || len(list[0].Municipalities) != 3 {
		t.Errorf("districts after refused writes = %+v, want only the original", list)
	}
	if after, err := s.Changes().Head(ctx); err != nil || after != head {
		t.Errorf("change log head moved from %d to %d (%v) on refused writes", head, after, err)
	}
}

func testChangeFeed(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := open(t, newStore)
	created, err := s.CreateDistrict(ctx, cremasco)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := s.Changes().List(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("change log has %d entries, want 1", len(entries))
	}
	e := entries[0]
	if e.Topic != store.TopicDistrict || e.Key != cremasco.Code || e.Op != changelog.OpUpsert || e.Position <= 0 {
		t.Errorf("entry = %+v, want an upsert of district %s", e, cremasco.Code)
	}
	var payload store.District
	if err := json.Unmarshal(e.Payload, &payload); err != nil {
		t.Fatalf("payload is not a district: %v", err)
	}
	if payload.Code != created.Code || !reflect.DeepEqual(payload.Municipalities, created.Municipalities) {
		t.Errorf("payload = %+v, want %+v", payload, created)
	}
}
