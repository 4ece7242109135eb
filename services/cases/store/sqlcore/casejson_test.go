package sqlcore

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/services/cases/store"
)

func fullCase() *casesv1.Case {
	return &casesv1.Case{
		Id: "c-1", PersonId: "p-1", OrganizationId: "org-1", DistrictCode: "cremasco", MunicipalityCode: "019035",
		Category: casesv1.Category(3), Needs: []string{"documents", "language"}, Phase: casesv1.Phase(2),
		AssignedOperator: "op \"quoted\" \\ tab\t nl\n ctl\x01 àé €", Source: "district-x", ExternalId: "E/1 ü",
		Version: 7, Etag: "7", CreateTime: timestamppb.New(time.Date(2025, 1, 2, 3, 4, 5, 600000000, time.UTC)),
		UpdateTime: timestamppb.New(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)), AgeBand: "25-34",
		PersonOrganizationId: "territory:cremasco",
	}
}

func TestCaseJSONMatchesProtojson(t *testing.T) {
	t.Parallel()
	full := fullCase()
	fields := full.ProtoReflect().Descriptor().Fields()
	for i := range fields.Len() {
		if !full.ProtoReflect().Has(fields.Get(i)) {
			t.Fatalf("fullCase leaves %s unset: set it, and teach appendCaseJSON and store.ContentHash about it", fields.Get(i).Name())
		}
	}
	tests := []struct {
		name string
		in   *casesv1.Case
		meta bool
	}{
		{"A fully populated case round-trips with its metadata.", full, true},
		{"A fully populated stored document leaves version, etag and times out.", full, false},
		{"An empty case is an empty object.", &casesv1.Case{}, true},
		{"An undefined enum value is written as its number.", &casesv1.Case{Category: 99, Phase: 42}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw, err := appendCaseJSON(nil, tt.in, tt.meta)
			if err != nil {
				t.Fatal(err)
			}
			got := &casesv1.Case{}
			if err := protojson.Unmarshal(raw, got); err != nil {
				t.Fatalf("protojson cannot read %s: %v", raw, err)
			}
			want := proto.CloneOf(tt.in)
			if !tt.meta {
				want.Version, want.Etag, want.CreateTime, want.UpdateTime = 0, "", nil, nil
			}
			if !proto.Equal(got, want) {
				t.Fatalf("round trip of %s:\n got %v\nwant %v", raw, got, want)
			}
			viaProtojson, err := protojson.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			fromProtojson := &casesv1.Case{}
			if err := protojson.Unmarshal(viaProtojson, fromProtojson); err != nil || !proto.Equal(fromProtojson, got) {
				t.Fatalf("protojson reads %s as %v, appendCaseJSON's %s as %v", viaProtojson, fromProtojson, raw, got)
			}
		})
	}
	if _, err := appendCaseJSON(nil, &casesv1.Case{ExternalId: "\xff"}, true); err == nil {
		t.Fatal("invalid UTF-8 was encoded")
	}
}

func TestContentHashIgnoresOnlyOutputFields(t *testing.T) {
	t.Parallel()
	full := fullCase()
	legacy := proto.CloneOf(full) // how the hash was computed before: a deep clone with output fields cleared
	legacy.Id, legacy.Version, legacy.Etag, legacy.CreateTime, legacy.UpdateTime, legacy.AgeBand = "", 0, "", nil, nil, ""
	legacy.PersonOrganizationId = "" // resolved from person_id by the store, like age_band
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(legacy)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	if got, want := store.ContentHash(full), hex.EncodeToString(sum[:16]); got != want {
		t.Fatalf("hash %s, stored hashes were computed as %s: every stored case would look changed", got, want)
	}
	fields := full.ProtoReflect().Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		switch fd.Name() {
		case "id", "version", "etag", "create_time", "update_time", "age_band", "person_organization_id":
			continue
		}
		changed := proto.CloneOf(full)
		changed.ProtoReflect().Clear(fd)
		if store.ContentHash(changed) == store.ContentHash(full) {
			t.Errorf("clearing %s does not change the hash", fd.Name())
		}
	}
}
