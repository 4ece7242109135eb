package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/services/directory/store"
)

// upstreamRecord is a record as an upstream node has it: etag and times already set.
func upstreamRecord(r store.Record, etag string, t time.Time) store.Record {
	r.Etag, r.CreateTime, r.UpdateTime = etag, t, t
	return r
}

func testMirror(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := open(t, newStore)
	t0 := time.Date(2026, 3, 1, 9, 30, 0, 123456000, time.UTC)
	mustCreate(t, s, org("local-org", "019035", "019", "03"), term("ponte:l2", ""))
	localOrg, err := s.GetRecord(ctx, store.KindOrganization, "local-org")
	if err != nil {
		t.Fatal(err)
	}
	head, err := s.Changes().Head(ctx)
	if err != nil {
		t.Fatal(err)
	}

	upsert := func(up string, pos int64, r store.Record) store.MirrorChange {
		return store.MirrorChange{Upstream: up, Position: pos, Op: changelog.OpUpsert, Kind: r.Kind, ID: r.ID, Record: r}
	}
	del := func(up string, pos int64, kind store.Kind, id string) store.MirrorChange {
		return store.MirrorChange{Upstream: up, Position: pos, Op: changelog.OpDelete, Kind: kind, ID: id}
	}
	mOrg := upstreamRecord(org("crema-org", "019035", "019", "03"), "e1", t0)
	mSvc := upstreamRecord(service("crema-l2", "crema-org", []string{"ponte:l2"}, nil), "e2", t0)
	mSvc2 := mSvc
	mSvc2.Etag, mSvc2.UpdateTime, mSvc2.Doc = "e3", t0.Add(time.Hour), []byte(`{"id":"crema-l2","name":{"it":"Scuola serale di italiano"}}`)
	steps := []struct {
		name   string
		change store.MirrorChange
		want   store.MirrorOutcome
		cursor int64 // the upstream's cursor after the step
	}{
		{"an upstream organization is stored with its origin", upsert("cremasco", 3, mOrg), store.MirrorApplied, 3},
		{"an upstream service referring to a local term is stored", upsert("cremasco", 5, mSvc), store.MirrorApplied, 5},
		{"a change at or before the cursor is a duplicate", upsert("cremasco", 5, mOrg), store.MirrorDuplicate, 5},
		{"an update of a mirrored record replaces it", upsert("cremasco", 7, mSvc2), store.MirrorApplied, 7},
		{"a change that is not mirrored only moves the cursor", store.MirrorChange{Upstream: "cremasco", Position: 8}, store.MirrorSkipped, 8},
		{"a record with a local id is left alone", upsert("cremasco", 9, upstreamRecord(org("local-org", "", "", ""), "e9", t0)), store.MirrorCollision, 9},
		{"a delete of a local record is left alone", del("cremasco", 10, store.KindOrganization, "local-org"), store.MirrorCollision, 10},
		{"another upstream cannot take a mirrored record", upsert("casalasco", 2, upstreamRecord(org("crema-org", "", "", ""), "x", t0)), store.MirrorCollision, 2},
		{"a delete of a record this node lacks is applied as nothing", del("cremasco", 11, store.KindService, "never-seen"), store.MirrorApplied, 11},
	}
	for _, st := range steps {
		got, err := s.ApplyMirrorChange(ctx, st.change)
		if err != nil || got != st.want {
			t.Errorf("%s: ApplyMirrorChange = %q, %v; want %q", st.name, got, err, st.want)
		}
		if cur, err := s.MirrorCursor(ctx, st.change.Upstream); err != nil || cur != st.cursor {
			t.Errorf("%s: cursor of %s = %d, %v; want %d", st.name, st.change.Upstream, cur, err, st.cursor)
		}
	}
	if cur, err := s.MirrorCursor(ctx, "nobody"); err != nil || cur != 0 {
		t.Errorf("cursor of an upstream never applied = %d, %v; want 0", cur, err)
	}

	got, err := s.GetRecord(ctx, store.KindService, "crema-l2")
	if err != nil {
		t.Fatal(err)
	}
	if got.Origin != "cremasco" || got.Etag != "e3" || !got.CreateTime.Equal(t0) || !got.UpdateTime.Equal(t0.Add(time.Hour)) || got.OrganizationID != "crema-org" {
		t.Errorf("mirrored service = %+v, want origin cremasco with the upstream's etag and times", got)
	}
	if kept, err := s.GetRecord(ctx, store.KindOrganization, "local-org"); err != nil || kept.Origin != "" || kept.Etag != localOrg.Etag {
		t.Errorf("local organization after colliding changes = %+v, %v; want it unchanged", kept, err)
	}
	if o, err := s.GetRecord(ctx, store.KindOrganization, "crema-org"); err != nil || o.Origin != "cremasco" {
		t.Errorf("organization claimed by another upstream = %+v, %v; want it still from cremasco", o, err)
	}

	// This node's change log has the applied changes, with the origin in the payload.
	entries, err := s.Changes().List(ctx, head, 100)
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	for _, e := range entries {
		log = append(log, string(e.Op)+" "+e.Topic+" "+e.Key)
		if e.Op == changelog.OpUpsert {
			var p map[string]any
			if err := json.Unmarshal(e.Payload, &p); err != nil || p["origin"] != "cremasco" {
				t.Errorf("payload of %s %s = %s, want origin cremasco", e.Topic, e.Key, e.Payload)
			}
		}
	}
	want := []string{"upsert organization crema-org", "upsert service crema-l2", "upsert service crema-l2"}
	if len(log) != len(want) {
		t.Fatalf("change log after mirroring = %v, want %v", log, want)
	}
	for i := range want {
		if log[i] != want[i] {
			t.Errorf("change log after mirroring = %v, want %v", log, want)
			break
		}
	}

	// Deletes follow the upstream, whatever refers to the record.
	for _, c := range []store.MirrorChange{del("cremasco", 12, store.KindService, "crema-l2"), del("cremasco", 13, store.KindOrganization, "crema-org")} {
		if got, err := s.ApplyMirrorChange(ctx, c); err != nil || got != store.MirrorApplied {
			t.Errorf("delete %s %s = %q, %v; want applied", c.Kind, c.ID, got, err)
		}
		if _, err := s.GetRecord(ctx, c.Kind, c.ID); err == nil {
			t.Errorf("%s %s still there after its upstream deleted it", c.Kind, c.ID)
		}
	}
	entries, err = s.Changes().List(ctx, head, 100)
	if err != nil || len(entries) != 5 || entries[4].Op != changelog.OpDelete || entries[4].Key != "crema-org" {
		t.Errorf("change log after mirrored deletes has %d entries (%v), want 5 ending with the organization's delete", len(entries), err)
	}
}
