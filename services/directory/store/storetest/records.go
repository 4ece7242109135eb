package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/services/directory/store"
)

func doc(id string, extra ...string) []byte {
	m := map[string]string{"id": id}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	raw, _ := json.Marshal(m)
	return raw
}

func org(id, municipality, province, region string) store.Record {
	return store.Record{Kind: store.KindOrganization, ID: id, OrganizationID: id, Doc: doc(id),
		Municipality: municipality, Province: province, Region: region}
}

func loc(id, owner, municipality, province, region string) store.Record {
	return store.Record{Kind: store.KindLocation, ID: id, OrganizationID: owner, Doc: doc(id),
		Municipality: municipality, Province: province, Region: region,
		Refs: []store.Ref{{Kind: store.KindOrganization, ID: owner, Field: "location.organization_id"}}}
}

func term(id, parent string) store.Record {
	r := store.Record{Kind: store.KindTaxonomyTerm, ID: id, Doc: doc(id)}
	if parent != "" {
		r.Refs = []store.Ref{{Kind: store.KindTaxonomyTerm, ID: parent, Field: "taxonomy_term.parent_id"}}
	}
	return r
}

func service(id, owner string, terms, locations []string) store.Record {
	r := store.Record{Kind: store.KindService, ID: id, OrganizationID: owner, Doc: doc(id),
		Refs: []store.Ref{{Kind: store.KindOrganization, ID: owner, Field: "service.organization_id"}}}
	for i, t := range terms {
		r.Refs = append(r.Refs, store.Ref{Kind: store.KindTaxonomyTerm, ID: t, Field: fmt.Sprintf("service.taxonomy_term_ids[%d]", i)})
	}
	for i, l := range locations {
		r.Refs = append(r.Refs, store.Ref{Kind: store.KindLocation, ID: l, Field: fmt.Sprintf("service.service_at_locations[%d].location_id", i)})
	}
	return r
}

func mustCreate(t *testing.T, s store.Store, rs ...store.Record) {
	t.Helper()
	for _, r := range rs {
		if _, err := s.CreateRecord(context.Background(), r); err != nil {
			t.Fatalf("CreateRecord(%s %s): %v", r.Kind, r.ID, err)
		}
	}
}

func ids(rs []store.Record) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func testRecords(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := open(t, newStore)

	created, err := s.CreateRecord(ctx, org("caritas-crema", "019035", "019", "03"))
	if err != nil {
		t.Fatalf("CreateRecord: %v", err)
	}
	if created.Etag == "" || created.CreateTime.IsZero() || !created.CreateTime.Equal(created.UpdateTime) {
		t.Errorf("created record = %+v, want an etag and equal create and update times", created)
	}
	got, err := s.GetRecord(ctx, store.KindOrganization, "caritas-crema")
	if err != nil {
		t.Fatalf("GetRecord: %v", err)
	}
	if got.Etag != created.Etag || !got.CreateTime.Equal(created.CreateTime) || got.Municipality != "019035" || string(got.Doc) != string(created.Doc) {
		t.Errorf("GetRecord = %+v, want %+v", got, created)
	}
	if _, err := s.GetRecord(ctx, store.KindService, "caritas-crema"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRecord of another kind with the same id: %v, want ErrNotFound", err)
	}
	if _, err := s.CreateRecord(ctx, org("caritas-crema", "", "", "")); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("creating the same id twice: %v, want ErrAlreadyExists", err)
	}

	mustCreate(t, s, org("a-first", "", "", ""), org("z-last", "", "", ""))
	all, err := s.ListRecords(ctx, store.KindOrganization, store.ListFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a-first", "caritas-crema", "z-last"}; !reflect.DeepEqual(ids(all), want) {
		t.Errorf("ListRecords = %v, want %v in id order", ids(all), want)
	}
	page, err := s.ListRecords(ctx, store.KindOrganization, store.ListFilter{After: "a-first", Limit: 1})
	if err != nil || !reflect.DeepEqual(ids(page), []string{"caritas-crema"}) {
		t.Errorf("ListRecords after a-first limit 1 = %v, %v", ids(page), err)
	}
	some, err := s.GetRecords(ctx, store.KindOrganization, []string{"z-last", "nobody", "a-first"})
	if err != nil || !reflect.DeepEqual(ids(some), []string{"a-first", "z-last"}) {
		t.Errorf("GetRecords = %v, %v; want the existing ones in id order", ids(some), err)
	}

	upd := got
	upd.Doc = doc("caritas-crema", "email", "info@example.org")
	if _, err := s.UpdateRecord(ctx, upd, "stale"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("UpdateRecord with a stale etag: %v, want ErrConflict", err)
	}
	updated, err := s.UpdateRecord(ctx, upd, got.Etag)
	if err != nil {
		t.Fatalf("UpdateRecord: %v", err)
	}
	if updated.Etag == got.Etag || !updated.CreateTime.Equal(got.CreateTime) || updated.UpdateTime.Before(got.UpdateTime) {
		t.Errorf("updated = %+v, want a new etag, the same create time and a later update time", updated)
	}
	if _, err := s.UpdateRecord(ctx, org("nobody", "", "", ""), ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateRecord of a missing record: %v, want ErrNotFound", err)
	}
	if err := s.DeleteRecord(ctx, store.KindOrganization, "z-last", "stale"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("DeleteRecord with a stale etag: %v, want ErrConflict", err)
	}
	if err := s.DeleteRecord(ctx, store.KindOrganization, "z-last", ""); err != nil {
		t.Fatalf("DeleteRecord: %v", err)
	}
	if err := s.DeleteRecord(ctx, store.KindOrganization, "z-last", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice: %v, want ErrNotFound", err)
	}

	entries, err := s.Changes().List(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, e := range entries {
		ops = append(ops, fmt.Sprintf("%s %s %s", e.Topic, e.Key, e.Op))
	}
	want := []string{
		"organization caritas-crema upsert", "organization a-first upsert", "organization z-last upsert",
		"organization caritas-crema upsert", "organization z-last delete",
	}
	if !reflect.DeepEqual(ops, want) {
		t.Errorf("change log = %v, want %v", ops, want)
	}
	var payload map[string]any
	if err := json.Unmarshal(entries[3].Payload, &payload); err != nil {
		t.Fatalf("upsert payload is not JSON: %v", err)
	}
	if payload["email"] != "info@example.org" || payload["etag"] != updated.Etag {
		t.Errorf("upsert payload = %v, want the new document with its etag", payload)
	}
	if entries[4].Op != changelog.OpDelete || len(entries[4].Payload) != 0 {
		t.Errorf("delete entry = %+v, want no payload", entries[4])
	}
}

func testRecordReferences(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := open(t, newStore)
	mustCreate(t, s, org("comune-crema", "019035", "019", "03"), loc("loc-1", "comune-crema", "019035", "019", "03"),
		term("l2", ""), service("svc-1", "comune-crema", []string{"l2"}, []string{"loc-1"}))
	svc1, err := s.GetRecord(ctx, store.KindService, "svc-1")
	if err != nil {
		t.Fatal(err)
	}
	head, err := s.Changes().Head(ctx)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		write     func() error
		wantKind  error
		wantField string
	}{
		{"a service with an unknown taxonomy term is refused naming the field",
			func() error {
				_, err := s.CreateRecord(ctx, service("svc-2", "comune-crema", []string{"l2", "nope"}, nil))
				return err
			}, store.ErrFailedPrecondition, "service.taxonomy_term_ids[1]"},
		{"a service at an unknown location is refused naming the field",
			func() error {
				_, err := s.CreateRecord(ctx, service("svc-2", "comune-crema", nil, []string{"nowhere"}))
				return err
			}, store.ErrFailedPrecondition, "service.service_at_locations[0].location_id"},
		{"a location of an unknown organization is refused",
			func() error {
				_, err := s.CreateRecord(ctx, loc("loc-2", "nobody", "019035", "019", "03"))
				return err
			}, store.ErrFailedPrecondition, "location.organization_id"},
		{"an update to an unknown term is refused and keeps the old record",
			func() error {
				cur, err := s.GetRecord(ctx, store.KindService, "svc-1")
				if err != nil {
					return err
				}
				_, err = s.UpdateRecord(ctx, service("svc-1", "comune-crema", []string{"nope"}, nil), cur.Etag)
				return err
			}, store.ErrFailedPrecondition, "service.taxonomy_term_ids[0]"},
		{"a term a service uses cannot be deleted",
			func() error { return s.DeleteRecord(ctx, store.KindTaxonomyTerm, "l2", "") }, store.ErrFailedPrecondition, ""},
		{"a location a service is delivered at cannot be deleted",
			func() error { return s.DeleteRecord(ctx, store.KindLocation, "loc-1", "") }, store.ErrFailedPrecondition, ""},
		{"an organization with records cannot be deleted",
			func() error { return s.DeleteRecord(ctx, store.KindOrganization, "comune-crema", "") }, store.ErrFailedPrecondition, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.write()
			if !errors.Is(err, tt.wantKind) {
				t.Fatalf("error = %v, want %v", err, tt.wantKind)
			}
			var se *storage.Error
			if tt.wantField != "" && (!errors.As(err, &se) || se.Field != tt.wantField) {
				t.Errorf("error = %#v, want a *storage.Error about %s", err, tt.wantField)
			}
		})
	}
	if after, err := s.Changes().Head(ctx); err != nil || after != head {
		t.Errorf("change log head moved from %d to %d (%v) on refused writes", head, after, err)
	}
	if _, err := s.GetRecord(ctx, store.KindService, "svc-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("refused service was written: %v", err)
	}
	// The refused update left svc-1 as it was.
	if got, err := s.GetRecord(ctx, store.KindService, "svc-1"); err != nil || got.Etag != svc1.Etag {
		t.Errorf("svc-1 after a refused update = %+v, %v; want it unchanged", got, err)
	}

	// After the service goes, its term and location can go too.
	if err := s.DeleteRecord(ctx, store.KindService, "svc-1", ""); err != nil {
		t.Fatal(err)
	}
	for _, k := range []store.Kind{store.KindTaxonomyTerm, store.KindLocation} {
		id := map[store.Kind]string{store.KindTaxonomyTerm: "l2", store.KindLocation: "loc-1"}[k]
		if err := s.DeleteRecord(ctx, k, id, ""); err != nil {
			t.Errorf("delete %s %s once unused: %v", k, id, err)
		}
	}
	if err := s.DeleteRecord(ctx, store.KindOrganization, "comune-crema", ""); err != nil {
		t.Errorf("delete the organization once empty: %v", err)
	}
}
