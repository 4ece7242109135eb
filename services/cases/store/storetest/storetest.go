// Package storetest is the conformance suite every cases store runs: each behaviour the
// service promises of its storage is asserted here once, on both stores.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/services/cases/store"
)

// NewStore returns an empty store for one test; the suite closes it.
type NewStore func(t *testing.T) store.Store

// Run runs the whole suite against the stores newStore makes.
func Run(t *testing.T, newStore NewStore) {
	t.Run("persons are created, read, updated and tombstoned", func(t *testing.T) { t.Parallel(); testPersons(t, newStore) })
	t.Run("cases are versioned and tombstoned, each write in the change log", func(t *testing.T) { t.Parallel(); testCases(t, newStore) })
	t.Run("scopes decide which cases and persons a caller reaches", func(t *testing.T) { t.Parallel(); testScopes(t, newStore) })
	t.Run("every read of personal data writes an audit entry", func(t *testing.T) { t.Parallel(); testAuditReads(t, newStore) })
	t.Run("events are recorded with a case and listed in order", func(t *testing.T) { t.Parallel(); testEvents(t, newStore) })
	t.Run("batch upserts are idempotent and report each item", func(t *testing.T) { t.Parallel(); testBatchUpsert(t, newStore) })
	t.Run("updates that change nothing write nothing", func(t *testing.T) { t.Parallel(); testNoOpWrites(t, newStore) })
	t.Run("a person's reads are audited under every territory of their cases", func(t *testing.T) {
		t.Parallel()
		testPersonAuditPlaces(t, newStore)
	})
	t.Run("case keys are namespaced per owner", func(t *testing.T) { t.Parallel(); testKeyOwners(t, newStore) })
	t.Run("person ids are namespaced per owner", func(t *testing.T) { t.Parallel(); testPersonOwners(t, newStore) })
	t.Run("a district's municipalities are reached whatever district code a case carries", func(t *testing.T) {
		t.Parallel()
		testMunicipalityScopes(t, newStore)
	})
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

var (
	admin    = store.Actor{Subject: "admin-1", Method: "/test/Admin"}
	all      = store.Scope{All: true}
	orgA     = store.Scope{Organization: "org-a", PersonOwner: "org-a"}
	orgB     = store.Scope{Organization: "org-b", PersonOwner: "org-b"}
	cremasco = store.Scope{Districts: []string{"cremasco"}, PersonOwner: "territory:cremasco"}
	cremona  = store.Scope{MunicipalityPrefixes: []string{"019"}, PersonOwner: "territory:019"}
)

func newCase(id, org, district, municipality string) *casesv1.Case {
	return &casesv1.Case{
		Id: id, OrganizationId: org, DistrictCode: district, MunicipalityCode: municipality,
		Category: casesv1.Category_CATEGORY_RENEWAL, Phase: casesv1.Phase_PHASE_INTAKE, Needs: []string{"documents"},
	}
}

func mustCase(t *testing.T, s store.Store, k *casesv1.Case) *casesv1.Case {
	t.Helper()
	out, err := s.CreateCase(context.Background(), admin, all, k)
	if err != nil {
		t.Fatalf("CreateCase %s: %v", k.GetId(), err)
	}
	return out
}

func mustPerson(t *testing.T, s store.Store, p *casesv1.Person) *casesv1.Person {
	t.Helper()
	out, err := s.CreatePerson(context.Background(), admin, p)
	if err != nil {
		t.Fatalf("CreatePerson %s: %v", p.GetId(), err)
	}
	return out
}

func changes(t *testing.T, s store.Store) []changelog.Entry {
	t.Helper()
	es, err := s.Changes().List(context.Background(), 0, 10000)
	if err != nil {
		t.Fatalf("list changes: %v", err)
	}
	return es
}

func audits(t *testing.T, s store.Store) []*casesv1.AuditEvent {
	t.Helper()
	es, err := s.ListAuditEvents(context.Background(), store.AuditFilter{All: true})
	if err != nil {
		t.Fatalf("ListAuditEvents: %v", err)
	}
	return es
}

func testPersons(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := open(t, newStore)
	p := mustPerson(t, s, &casesv1.Person{Id: "p1", OrganizationId: "org-a", GivenName: "Amina", TaxCode: "AAAAAA00A00A000A",
		LegalBasis: casesv1.LegalBasis_LEGAL_BASIS_PUBLIC_TASK})
	if p.Version != 1 || p.Etag != "1" || p.CreateTime == nil {
		t.Errorf("created person = %v, want version 1 and times", p)
	}
	if _, err := s.CreatePerson(ctx, admin, &casesv1.Person{Id: "p1", OrganizationId: "org-a"}); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("second CreatePerson p1 by its owner: %v, want ErrAlreadyExists", err)
	}
	got, err := s.GetPerson(ctx, admin, orgA, store.PersonRef{ID: "p1"})
	if err != nil || got.GivenName != "Amina" {
		t.Fatalf("GetPerson = %v, %v", got, err)
	}
	up, err := s.UpdatePerson(ctx, admin, orgA, store.PersonRef{ID: "p1"}, func(cur *casesv1.Person) (*casesv1.Person, error) {
		cur.FamilyName = "Benali"
		return cur, nil
	})
	if err != nil || up.Version != 2 || up.FamilyName != "Benali" || up.GivenName != "Amina" {
		t.Fatalf("UpdatePerson = %v, %v; want version 2 with both names", up, err)
	}
	if err := s.DeletePerson(ctx, admin, orgA, store.PersonRef{ID: "p1"}, "1"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("DeletePerson with stale etag: %v, want ErrConflict", err)
	}
	if err := s.DeletePerson(ctx, admin, orgA, store.PersonRef{ID: "p1"}, "2"); err != nil {
		t.Fatalf("DeletePerson: %v", err)
	}
	if _, err := s.GetPerson(ctx, admin, all, store.PersonRef{ID: "p1"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetPerson after delete: %v, want ErrNotFound", err)
	}
	es := changes(t, s)
	var ops []string
	for _, e := range es {
		if e.Topic != store.TopicPerson || e.Key != "p1" {
			t.Errorf("change %+v, want topic person key p1", e)
		}
		if strings.Contains(string(e.Payload), "Amina") || strings.Contains(string(e.Payload), "AAAAAA") {
			t.Errorf("person change payload %s carries personal data", e.Payload)
		}
		ops = append(ops, string(e.Op))
	}
	if want := []string{"upsert", "upsert", "delete"}; !slices.Equal(ops, want) {
		t.Errorf("person change ops = %v, want %v", ops, want)
	}
}

func testCases(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := open(t, newStore)
	mustPerson(t, s, &casesv1.Person{Id: "p1", OrganizationId: "org-a", BirthDate: "2000-02-29"})
	k := newCase("c1", "org-a", "cremasco", "019035")
	k.PersonId = "p1"
	k.AgeBand = "65+" // output only: the store computes it
	got := mustCase(t, s, k)
	if got.Version != 1 || got.Etag != "1" || got.Source != "ponte" || got.ExternalId != "c1" {
		t.Errorf("created case = %v, want version 1, source ponte, external id = id", got)
	}
	if want := store.AgeBand("2000-02-29", time.Now()); got.AgeBand != want || want == "" {
		t.Errorf("age band = %q, want %q", got.AgeBand, want)
	}
	if _, err := s.CreateCase(ctx, admin, all, newCase("c1", "org-a", "", "019035")); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("duplicate id: %v, want ErrAlreadyExists", err)
	}
	dup := newCase("c2", "org-a", "", "019035")
	dup.Source, dup.ExternalId = "ponte", "c1"
	if _, err := s.CreateCase(ctx, admin, all, dup); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("duplicate source+external_id: %v, want ErrAlreadyExists", err)
	}
	ghost := newCase("c3", "org-a", "", "019035")
	ghost.PersonId = "nobody"
	if _, err := s.CreateCase(ctx, admin, all, ghost); !errors.Is(err, store.ErrFailedPrecondition) {
		t.Errorf("unknown person: %v, want ErrFailedPrecondition", err)
	}
	up, err := s.UpdateCase(ctx, admin, orgA, "c1", func(cur *casesv1.Case) (*casesv1.Case, *casesv1.CaseEvent, error) {
		cur.Phase = casesv1.Phase_PHASE_TAKEN_IN_CHARGE
		return cur, &casesv1.CaseEvent{Kind: &casesv1.CaseEvent_PhaseChange{PhaseChange: &casesv1.PhaseChange{
			From: casesv1.Phase_PHASE_INTAKE, To: casesv1.Phase_PHASE_TAKEN_IN_CHARGE}}}, nil
	})
	if err != nil || up.Version != 2 || up.Etag != "2" || up.Phase != casesv1.Phase_PHASE_TAKEN_IN_CHARGE {
		t.Fatalf("UpdateCase = %v, %v", up, err)
	}
	refused := errors.New("refused")
	if _, err := s.UpdateCase(ctx, admin, orgA, "c1", func(*casesv1.Case) (*casesv1.Case, *casesv1.CaseEvent, error) {
		return nil, nil, refused
	}); !errors.Is(err, refused) {
		t.Errorf("UpdateCase with a refusing mutator: %v", err)
	}
	evs, err := s.ListCaseEvents(ctx, admin, all, "c1", 0, 0)
	if err != nil || len(evs) != 1 || evs[0].GetPhaseChange().GetTo() != casesv1.Phase_PHASE_TAKEN_IN_CHARGE {
		t.Errorf("events after a transition = %v, %v; want the phase change", evs, err)
	}
	if err := s.DeleteCase(ctx, admin, orgA, "c1", "1"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("DeleteCase with stale etag: %v, want ErrConflict", err)
	}
	if err := s.DeleteCase(ctx, admin, orgA, "c1", ""); err != nil {
		t.Fatalf("DeleteCase: %v", err)
	}
	if _, err := s.GetCase(ctx, admin, all, "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetCase after delete: %v, want ErrNotFound", err)
	}
	var caseChanges []changelog.Entry
	for _, e := range changes(t, s) {
		if e.Topic == store.TopicCase {
			caseChanges = append(caseChanges, e)
		}
	}
	if len(caseChanges) != 3 {
		t.Fatalf("case changes = %d, want 3 (create, update, delete)", len(caseChanges))
	}
	last := caseChanges[2]
	if last.Op != changelog.OpDelete || last.Key != "c1" {
		t.Errorf("last case change = %+v, want a delete of c1", last)
	}
	var tomb casesv1.Case
	if err := protojson.Unmarshal(last.Payload, &tomb); err != nil || tomb.Version != 3 || tomb.DistrictCode != "cremasco" {
		t.Errorf("tombstone payload = %s (%v), want the case's last state at version 3", last.Payload, err)
	}
}

func testScopes(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := open(t, newStore)
	mustPerson(t, s, &casesv1.Person{Id: "pa", OrganizationId: "org-a"})
	mustPerson(t, s, &casesv1.Person{Id: "pb", OrganizationId: "org-b"})
	mustPerson(t, s, &casesv1.Person{Id: "pz", OrganizationId: "org-z"})
	k1 := newCase("c1", "org-a", "cremasco", "019035") // Crema
	k1.PersonId = "pb"
	mustCase(t, s, k1)
	mustCase(t, s, newCase("c2", "org-b", "sona", "023083"))      // Sona (Verona)
	mustCase(t, s, newCase("c3", "org-b", "casalasco", "019021")) // Casalmaggiore (Cremona)
	tests := []struct {
		name    string
		scope   store.Scope
		cases   []string
		persons []string
	}{
		{"an admin reaches everything", all, []string{"c1", "c2", "c3"}, []string{"pa", "pb", "pz"}},
		{"an organization reaches its cases and the persons it registered or whose cases it sees", orgA, []string{"c1"}, []string{"pa", "pb"}},
		{"another organization reaches its own", orgB, []string{"c2", "c3"}, []string{"pb"}},
		{"a district reaches its cases", cremasco, []string{"c1"}, []string{"pb"}},
		{"a province reaches the cases of its municipalities", cremona, []string{"c1", "c3"}, []string{"pb"}},
		{"nothing reaches nothing", store.Scope{}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := s.ListCases(ctx, admin, tt.scope, store.CaseFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, k := range ks {
				ids = append(ids, k.Id)
			}
			if !slices.Equal(ids, tt.cases) {
				t.Errorf("ListCases = %v, want %v", ids, tt.cases)
			}
			for _, id := range []string{"c1", "c2", "c3"} {
				_, err := s.GetCase(ctx, admin, tt.scope, id)
				if want := slices.Contains(tt.cases, id); want != (err == nil) || (err != nil && !errors.Is(err, store.ErrNotFound)) {
					t.Errorf("GetCase %s: %v, reachable %v", id, err, want)
				}
			}
			ps, err := s.ListPersons(ctx, admin, tt.scope, store.PersonRef{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			ids = nil
			for _, p := range ps {
				ids = append(ids, p.Id)
			}
			if !slices.Equal(ids, tt.persons) {
				t.Errorf("ListPersons = %v, want %v", ids, tt.persons)
			}
		})
	}
	t.Run("filters narrow within the scope", func(t *testing.T) {
		terr := store.Scope{Districts: []string{"sona"}}
		ks, err := s.ListCases(ctx, admin, orgB, store.CaseFilter{Territory: &terr})
		if err != nil || len(ks) != 1 || ks[0].Id != "c2" {
			t.Errorf("ListCases of org-b in sona = %v, %v", ks, err)
		}
		ks, err = s.ListCases(ctx, admin, all, store.CaseFilter{PersonID: "pb", Limit: 5})
		if err != nil || len(ks) != 1 || ks[0].Id != "c1" {
			t.Errorf("ListCases of person pb = %v, %v", ks, err)
		}
		ks, err = s.ListCases(ctx, admin, all, store.CaseFilter{Phase: casesv1.Phase_PHASE_CLOSED})
		if err != nil || len(ks) != 0 {
			t.Errorf("ListCases closed = %v, %v", ks, err)
		}
		ks, err = s.ListCases(ctx, admin, all, store.CaseFilter{Category: casesv1.Category_CATEGORY_RENEWAL, OrganizationID: "org-b", After: "c2"})
		if err != nil || len(ks) != 1 || ks[0].Id != "c3" {
			t.Errorf("ListCases of org-b after c2 = %v, %v; want c3", ks, err)
		}
		since := ks[0].UpdateTime.AsTime()
		ks, err = s.ListCases(ctx, admin, all, store.CaseFilter{UpdatedSinceUs: since.UnixMicro()})
		if err != nil || len(ks) != 1 || ks[0].Id != "c3" {
			t.Errorf("ListCases updated since c3's write = %v, %v; want c3", ks, err)
		}
		ks, err = s.ListCases(ctx, admin, all, store.CaseFilter{UpdatedSinceUs: since.Add(time.Hour).UnixMicro()})
		if err != nil || len(ks) != 0 {
			t.Errorf("ListCases updated in an hour = %v, %v; want none", ks, err)
		}
	})
	t.Run("writes outside the scope find nothing", func(t *testing.T) {
		_, err := s.UpdateCase(ctx, admin, orgA, "c2", func(cur *casesv1.Case) (*casesv1.Case, *casesv1.CaseEvent, error) { return cur, nil, nil })
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateCase outside scope: %v, want ErrNotFound", err)
		}
		if err := s.DeleteCase(ctx, admin, orgA, "c2", ""); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteCase outside scope: %v, want ErrNotFound", err)
		}
		if err := s.DeletePerson(ctx, admin, orgA, store.PersonRef{ID: "pz"}, ""); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeletePerson outside scope: %v, want ErrNotFound", err)
		}
		k := newCase("c9", "org-a", "", "019035")
		k.PersonId = "pz"
		if _, err := s.CreateCase(ctx, admin, orgA, k); !errors.Is(err, store.ErrFailedPrecondition) {
			t.Errorf("CreateCase with a person out of reach: %v, want ErrFailedPrecondition", err)
		}
	})
}

func testAuditReads(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := open(t, newStore)
	op := store.Actor{Subject: "op-7", Organization: "org-a", Method: "/ponte.cases.v1.CaseService/Test"}
	mustPerson(t, s, &casesv1.Person{Id: "p1", OrganizationId: "org-a", GivenName: "Amina", LegalBasis: casesv1.LegalBasis_LEGAL_BASIS_CONSENT})
	k := newCase("c1", "org-a", "cremasco", "019035")
	k.PersonId = "p1"
	mustCase(t, s, k)
	mustCase(t, s, newCase("c2", "org-a", "cremasco", "019035"))
	reads := []struct {
		name    string
		read    func() error
		records []string // type/id of the records read
	}{
		{"GetPerson", func() error { _, err := s.GetPerson(ctx, op, orgA, store.PersonRef{ID: "p1"}); return err }, []string{"person/p1"}},
		{"ListPersons", func() error { _, err := s.ListPersons(ctx, op, orgA, store.PersonRef{}, 10); return err }, []string{"person/p1"}},
		{"GetCase", func() error { _, err := s.GetCase(ctx, op, orgA, "c1"); return err }, []string{"case/c1"}},
		{"ListCases", func() error { _, err := s.ListCases(ctx, op, orgA, store.CaseFilter{}); return err }, []string{"case/c1", "case/c2"}},
		{"ListCaseEvents", func() error { _, err := s.ListCaseEvents(ctx, op, orgA, "c2", 0, 10); return err }, []string{"case/c2"}},
		{"a read that finds nothing", func() error { _, _ = s.GetCase(ctx, op, orgB, "c1"); return nil }, nil},
	}
	for _, r := range reads {
		before := len(audits(t, s))
		if err := r.read(); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		after := audits(t, s)[before:]
		var got []string
		for _, e := range after {
			got = append(got, e.RecordType+"/"+e.RecordId)
			if e.Action != store.ActionRead || e.Subject != "op-7" || e.OrganizationId != "org-a" || e.Method != op.Method || e.Time == nil {
				t.Errorf("%s audit entry = %v, want a read by op-7 of org-a through %s", r.name, e, op.Method)
			}
			if e.DistrictCode != "cremasco" || e.MunicipalityCode != "019035" {
				t.Errorf("%s audit entry places %q/%q, want the case's (the person's first case's)", r.name, e.DistrictCode, e.MunicipalityCode)
			}
			if raw, _ := protojson.Marshal(e); strings.Contains(string(raw), "Amina") {
				t.Errorf("audit entry %s carries personal data", raw)
			}
		}
		if !slices.Equal(got, r.records) {
			t.Errorf("%s wrote audit entries %v, want %v", r.name, got, r.records)
		}
	}
	t.Run("writes are audited too", func(t *testing.T) {
		var actions []string
		for _, e := range audits(t, s) {
			if e.Action != store.ActionRead {
				actions = append(actions, e.Action+" "+e.RecordType+"/"+e.RecordId)
			}
		}
		want := []string{"create person/p1", "create case/c1", "create case/c2"}
		if !slices.Equal(actions, want) {
			t.Errorf("write audit entries = %v, want %v", actions, want)
		}
	})
	t.Run("the audit log filters by territory", func(t *testing.T) {
		es, err := s.ListAuditEvents(ctx, store.AuditFilter{Districts: []string{"sona"}})
		if err != nil || len(es) != 0 {
			t.Errorf("audit of another district = %v, %v; want none", es, err)
		}
		es, err = s.ListAuditEvents(ctx, store.AuditFilter{MunicipalityPrefixes: []string{"019"}, RecordID: "c1", Limit: 2})
		if err != nil || len(es) != 2 || es[0].RecordId != "c1" {
			t.Errorf("audit of province 019 for c1 = %v, %v; want the first two", es, err)
		}
		next, err := s.ListAuditEvents(ctx, store.AuditFilter{MunicipalityPrefixes: []string{"019"}, RecordID: "c1", After: es[1].Id})
		if err != nil || len(next) == 0 || next[0].Id <= es[1].Id {
			t.Errorf("next audit page = %v, %v", next, err)
		}
	})
}

func testEvents(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := open(t, newStore)
	mustCase(t, s, newCase("c1", "org-a", "", "019035"))
	op := store.Actor{Subject: "op-1"}
	var ids []string
	for i := range 3 {
		ev, err := s.AddCaseEvent(ctx, op, orgA, "c1", &casesv1.CaseEvent{Kind: &casesv1.CaseEvent_Note{Note: &casesv1.Note{Text: fmt.Sprint("note ", i)}}})
		if err != nil {
			t.Fatalf("AddCaseEvent: %v", err)
		}
		if ev.Author != "op-1" || ev.CaseId != "c1" || ev.CreateTime == nil || ev.OccurTime == nil {
			t.Errorf("event = %v, want author, case and times set", ev)
		}
		ids = append(ids, ev.Id)
	}
	if _, err := s.AddCaseEvent(ctx, op, orgB, "c1", &casesv1.CaseEvent{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddCaseEvent out of scope: %v, want ErrNotFound", err)
	}
	page, err := s.ListCaseEvents(ctx, op, orgA, "c1", 0, 2)
	if err != nil || len(page) != 2 || page[0].Id != ids[0] || page[1].GetNote().GetText() != "note 1" {
		t.Fatalf("first page = %v, %v", page, err)
	}
	var after int64
	fmt.Sscan(page[1].Id, &after)
	rest, err := s.ListCaseEvents(ctx, op, orgA, "c1", after, 2)
	if err != nil || len(rest) != 1 || rest[0].Id != ids[2] {
		t.Errorf("second page = %v, %v", rest, err)
	}
}

func upsert(src, ext, org, muni string, cat casesv1.Category) *casesv1.Case {
	return &casesv1.Case{Source: src, ExternalId: ext, OrganizationId: org, MunicipalityCode: muni, Category: cat}
}

func testBatchUpsert(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := open(t, newStore)
	mustPerson(t, s, &casesv1.Person{Id: "p1", OrganizationId: "org-a", BirthDate: "1970-06-15"})
	withPerson := upsert("sil", "x3", "org-a", "019035", casesv1.Category_CATEGORY_HOUSING)
	withPerson.PersonId = "p1"
	ghost := upsert("sil", "x4", "org-a", "019035", casesv1.Category_CATEGORY_HOUSING)
	ghost.PersonId = "nobody"
	first := []store.UpsertItem{
		{Index: 0, Case: upsert("sil", "x1", "org-a", "019035", casesv1.Category_CATEGORY_RENEWAL)},
		{Index: 1, Case: upsert("sil", "x2", "org-a", "019035", casesv1.Category_CATEGORY_HOUSING)},
		{Index: 2, Case: withPerson},
		{Index: 3, Case: ghost},
		{Index: 4, Case: upsert("sil", "x5", "org-a", "019035", casesv1.Category_CATEGORY_HOUSING), ExpectedVersion: 2},
	}
	res, err := s.BatchUpsertCases(ctx, admin, orgA, first)
	if err != nil {
		t.Fatalf("BatchUpsertCases: %v", err)
	}
	want := []casesv1.UpsertOutcome{
		casesv1.UpsertOutcome_UPSERT_OUTCOME_CREATED, casesv1.UpsertOutcome_UPSERT_OUTCOME_CREATED, casesv1.UpsertOutcome_UPSERT_OUTCOME_CREATED,
		casesv1.UpsertOutcome_UPSERT_OUTCOME_INVALID, casesv1.UpsertOutcome_UPSERT_OUTCOME_CONFLICT,
	}
	check := func(res []*casesv1.CaseUpsertResult, want []casesv1.UpsertOutcome) {
		t.Helper()
		if len(res) != len(want) {
			t.Fatalf("%d results, want %d", len(res), len(want))
		}
		for i, r := range res {
			if r.Outcome != want[i] || r.Index != int32(i) {
				t.Errorf("item %d: %v, want %v", i, r, want[i])
			}
		}
	}
	check(res, want)
	if res[3].Field != "case.person_id" || res[4].Field != "expected_version" {
		t.Errorf("refusals name fields %q and %q", res[3].Field, res[4].Field)
	}
	x1 := res[0]
	head := len(changes(t, s))
	if ks, err := s.ListCases(ctx, admin, all, store.CaseFilter{PersonID: "p1"}); err != nil || len(ks) != 1 || ks[0].AgeBand != store.AgeBand("1970-06-15", time.Now()) {
		t.Errorf("the synced case of p1 = %v, %v; want its age band", ks, err)
	}

	again, err := s.BatchUpsertCases(ctx, admin, orgA, first[:3])
	if err != nil {
		t.Fatal(err)
	}
	check(again, []casesv1.UpsertOutcome{casesv1.UpsertOutcome_UPSERT_OUTCOME_UNCHANGED, casesv1.UpsertOutcome_UPSERT_OUTCOME_UNCHANGED, casesv1.UpsertOutcome_UPSERT_OUTCOME_UNCHANGED})
	if again[0].Id != x1.Id || again[0].Version != 1 {
		t.Errorf("unchanged item = %v, want id %s version 1", again[0], x1.Id)
	}
	if n := len(changes(t, s)); n != head {
		t.Errorf("an identical batch appended %d changes", n-head)
	}

	changed := proto.CloneOf(first[0].Case)
	changed.Needs = []string{"language"}
	moved := proto.CloneOf(first[1].Case)
	moved.Category = casesv1.Category_CATEGORY_EMPLOYMENT
	res, err = s.BatchUpsertCases(ctx, admin, orgA, []store.UpsertItem{
		{Index: 0, Case: changed, ExpectedVersion: 1},
		{Index: 1, Case: moved, ExpectedVersion: 7},
		{Index: 2, Case: upsert("sil", "x9", "org-b", "023083", casesv1.Category_CATEGORY_OTHER)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Outcome != casesv1.UpsertOutcome_UPSERT_OUTCOME_UPDATED || res[0].Version != 2 || res[0].Id != x1.Id {
		t.Errorf("changed item = %v, want updated to version 2", res[0])
	}
	if res[1].Outcome != casesv1.UpsertOutcome_UPSERT_OUTCOME_CONFLICT || res[1].Version != 1 {
		t.Errorf("stale item = %v, want a conflict at version 1", res[1])
	}
	if res[2].Outcome != casesv1.UpsertOutcome_UPSERT_OUTCOME_CREATED {
		t.Errorf("third item = %v, want created (the store trusts the service's scope check)", res[2])
	}
	res, err = s.BatchUpsertCases(ctx, admin, orgA, []store.UpsertItem{{Index: 0, Case: upsert("sil", "x9", "org-a", "019035", casesv1.Category_CATEGORY_OTHER)}})
	if err != nil || res[0].Outcome != casesv1.UpsertOutcome_UPSERT_OUTCOME_INVALID {
		t.Errorf("taking over another organization's case = %v, %v; want invalid", res, err)
	}
	t.Run("a key repeated in a batch applies in order", func(t *testing.T) {
		a := upsert("sil", "dup", "org-a", "019035", casesv1.Category_CATEGORY_OTHER)
		b := proto.CloneOf(a)
		b.Needs = []string{"housing"}
		res, err := s.BatchUpsertCases(ctx, admin, orgA, []store.UpsertItem{{Index: 0, Case: a}, {Index: 1, Case: b}, {Index: 2, Case: b}})
		if err != nil {
			t.Fatal(err)
		}
		want := []casesv1.UpsertOutcome{casesv1.UpsertOutcome_UPSERT_OUTCOME_CREATED, casesv1.UpsertOutcome_UPSERT_OUTCOME_UPDATED, casesv1.UpsertOutcome_UPSERT_OUTCOME_UNCHANGED}
		for i, r := range res {
			if r.Outcome != want[i] || r.Id != res[0].Id || r.Version != min(int32(i)+1, 2) {
				t.Errorf("item %d = %v, want %v", i, r, want[i])
			}
		}
	})
	if err := s.DeleteCase(ctx, admin, all, x1.Id, ""); err != nil {
		t.Fatal(err)
	}
	res, err = s.BatchUpsertCases(ctx, admin, orgA, []store.UpsertItem{{Index: 0, Case: changed}})
	if err != nil || res[0].Outcome != casesv1.UpsertOutcome_UPSERT_OUTCOME_CONFLICT || !strings.Contains(res[0].Reason, "deleted") {
		t.Errorf("upserting a deleted case = %v, %v; want a conflict", res, err)
	}
}

func testNoOpWrites(t *testing.T, newStore NewStore) {
	s := open(t, newStore)
	ctx := context.Background()
	k := mustCase(t, s, newCase("", "org-a", "cremasco", "019035"))
	p := mustPerson(t, s, &casesv1.Person{GivenName: "Amina", LegalBasis: casesv1.LegalBasis_LEGAL_BASIS_PUBLIC_TASK})
	feed, audit := len(changes(t, s)), len(audits(t, s))
	same, err := s.UpdateCase(ctx, admin, all, k.Id, func(cur *casesv1.Case) (*casesv1.Case, *casesv1.CaseEvent, error) {
		cur.Phase = casesv1.Phase_PHASE_INTAKE // as it is
		return cur, nil, nil
	})
	if err != nil || same.Version != k.Version || same.Etag != k.Etag {
		t.Errorf("an update to the same phase = %v, %v; want the case at version %d", same, err, k.Version)
	}
	samePerson, err := s.UpdatePerson(ctx, admin, all, store.PersonRef{ID: p.Id}, func(cur *casesv1.Person) (*casesv1.Person, error) {
		cur.GivenName = "Amina"
		return cur, nil
	})
	if err != nil || samePerson.Version != p.Version {
		t.Errorf("an update to the same name = %v, %v; want the person at version %d", samePerson, err, p.Version)
	}
	if got := len(changes(t, s)); got != feed {
		t.Errorf("no-op updates appended %d feed entries, want 0", got-feed)
	}
	evs := audits(t, s)[audit:]
	if len(evs) != 2 || evs[0].Action != store.ActionRead || evs[1].Action != store.ActionRead {
		t.Errorf("no-op updates audited %v; want one read each (the record is returned), no write", evs)
	}
	changed, err := s.UpdateCase(ctx, admin, all, k.Id, func(cur *casesv1.Case) (*casesv1.Case, *casesv1.CaseEvent, error) {
		cur.Phase = casesv1.Phase_PHASE_TAKEN_IN_CHARGE
		return cur, nil, nil
	})
	if err != nil || changed.Version != k.Version+1 {
		t.Errorf("a real update = %v, %v; want version %d", changed, err, k.Version+1)
	}
}

func testKeyOwners(t *testing.T, newStore NewStore) {
	s := open(t, newStore)
	ctx := context.Background()
	item := func(org string) []store.UpsertItem {
		return []store.UpsertItem{{Case: upsert("sil", "1", org, "019035", casesv1.Category_CATEGORY_HOUSING)}}
	}
	a, err := s.BatchUpsertCases(ctx, admin, orgA, item("org-a"))
	if err != nil || a[0].Outcome != casesv1.UpsertOutcome_UPSERT_OUTCOME_CREATED {
		t.Fatalf("org-a's first upsert = %v, %v", a, err)
	}
	b, err := s.BatchUpsertCases(ctx, admin, orgB, item("org-b"))
	if err != nil || b[0].Outcome != casesv1.UpsertOutcome_UPSERT_OUTCOME_CREATED || b[0].Id == a[0].Id {
		t.Errorf("org-b's upsert of the same key = %v, %v; want a case of its own, created", b, err)
	}
	again, err := s.BatchUpsertCases(ctx, admin, orgA, item("org-a"))
	if err != nil || again[0].Outcome != casesv1.UpsertOutcome_UPSERT_OUTCOME_UNCHANGED || again[0].Id != a[0].Id {
		t.Errorf("org-a's upsert again = %v, %v; want its own case, unchanged", again, err)
	}
	// CreateCase takes a key in the writer's namespace too.
	if _, err := s.CreateCase(ctx, admin, orgB, upsert("sil", "2", "org-b", "019035", casesv1.Category_CATEGORY_HOUSING)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCase(ctx, admin, orgA, upsert("sil", "2", "org-a", "019035", casesv1.Category_CATEGORY_HOUSING)); err != nil {
		t.Errorf("org-a creating a key org-b uses: %v, want a case of its own", err)
	}
	if _, err := s.CreateCase(ctx, admin, orgA, upsert("sil", "2", "org-a", "019035", casesv1.Category_CATEGORY_HOUSING)); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("org-a creating its own key twice: %v, want ErrAlreadyExists", err)
	}
}

func testMunicipalityScopes(t *testing.T, newStore NewStore) {
	s := open(t, newStore)
	ctx := context.Background()
	inside := mustCase(t, s, newCase("", "org-a", "", "019035"))
	other := mustCase(t, s, newCase("", "org-a", "", "019021"))
	district := store.Scope{Districts: []string{"cremasco"}, Municipalities: []string{"019035", "019004"}, PersonOwner: "territory:cremasco"}
	if _, err := s.GetCase(ctx, admin, district, inside.Id); err != nil {
		t.Errorf("a case in one of the district's municipalities, without district code: %v, want it reached", err)
	}
	if _, err := s.GetCase(ctx, admin, district, other.Id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a case outside the district's municipalities: %v, want ErrNotFound", err)
	}
	evs, err := s.ListAuditEvents(ctx, store.AuditFilter{Municipalities: []string{"019035"}})
	if err != nil || len(evs) == 0 {
		t.Fatalf("audit events of the district's municipalities = %v, %v", evs, err)
	}
	for _, e := range evs {
		if e.MunicipalityCode != "019035" {
			t.Errorf("audit event %v lies outside the district's municipalities", e)
		}
	}
}

func testPersonAuditPlaces(t *testing.T, newStore NewStore) {
	s := open(t, newStore)
	ctx := context.Background()
	p := mustPerson(t, s, &casesv1.Person{GivenName: "Amina", LegalBasis: casesv1.LegalBasis_LEGAL_BASIS_PUBLIC_TASK})
	for _, place := range [][2]string{{"cremasco", "019035"}, {"sona", "023083"}, {"cremasco", "019035"}} {
		k := newCase("", "org-a", place[0], place[1])
		k.PersonId = p.Id
		mustCase(t, s, k)
	}
	reader := store.Actor{Subject: "reader", Method: "/test/GetPerson"}
	if _, err := s.GetPerson(ctx, reader, all, store.PersonRef{ID: p.Id}); err != nil {
		t.Fatal(err)
	}
	for _, district := range []string{"cremasco", "sona"} {
		evs, err := s.ListAuditEvents(ctx, store.AuditFilter{Districts: []string{district}, Subject: "reader"})
		if err != nil || len(evs) != 1 || evs[0].RecordId != p.Id || evs[0].Action != store.ActionRead {
			t.Errorf("the reads of the person in %s's audit log = %v, %v; want the one read", district, evs, err)
		}
	}
	if err := s.RecordAudit(ctx, reader, store.ActionRead, store.RecordCaseFeed, "0-9",
		store.Place{District: "sona", Municipality: "023083"}, store.Place{District: "cremasco", Municipality: "019035"}); err != nil {
		t.Fatal(err)
	}
	evs, err := s.ListAuditEvents(ctx, store.AuditFilter{Districts: []string{"sona"}, RecordID: "0-9"})
	if err != nil || len(evs) != 1 || evs[0].RecordType != store.RecordCaseFeed {
		t.Errorf("a feed read in sona's audit log = %v, %v; want one", evs, err)
	}
}

// testPersonOwners: two owners choosing one person id get a person each, neither seeing
// nor touching the other's; a reader who reaches both must say which (or gets their own).
func testPersonOwners(t *testing.T, newStore NewStore) {
	s := open(t, newStore)
	ctx := context.Background()
	shared := func(owner, name, birth string) *casesv1.Person {
		return mustPerson(t, s, &casesv1.Person{Id: "shared", OrganizationId: owner, GivenName: name, BirthDate: birth,
			LegalBasis: casesv1.LegalBasis_LEGAL_BASIS_PUBLIC_TASK})
	}
	shared("org-a", "Amina", "1990-05-01")
	shared("org-b", "Bilal", "2010-05-01")
	ref := store.PersonRef{ID: "shared"}
	for _, tt := range []struct {
		scope store.Scope
		want  string
	}{{orgA, "Amina"}, {orgB, "Bilal"}, {all, ""}} {
		got, err := s.GetPerson(ctx, admin, tt.scope, ref)
		switch {
		case tt.want == "" && !errors.Is(err, store.ErrAmbiguousPerson):
			t.Errorf("GetPerson shared by a reader of both, no owner named = %v, %v; want ErrAmbiguousPerson", got, err)
		case tt.want != "" && (err != nil || got.GetGivenName() != tt.want):
			t.Errorf("GetPerson shared in %s's namespace = %v, %v; want %s", tt.scope.PersonOwner, got, err, tt.want)
		}
	}
	if got, err := s.GetPerson(ctx, admin, all, store.PersonRef{ID: "shared", Owner: "org-b"}); err != nil || got.GetGivenName() != "Bilal" {
		t.Errorf("GetPerson shared of org-b, named = %v, %v", got, err)
	}
	if _, err := s.GetPerson(ctx, admin, orgA, store.PersonRef{ID: "shared", Owner: "org-b"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("org-a naming org-b's person: %v, want ErrNotFound", err)
	}
	// A case names its person by owner and id; the age band is that person's.
	caseFor := func(scope store.Scope, org, personOwner string) (*casesv1.Case, error) {
		k := newCase("", org, "cremasco", "019035")
		k.PersonId, k.PersonOrganizationId = "shared", personOwner
		return s.CreateCase(ctx, admin, scope, k)
	}
	ka, err := caseFor(orgA, "org-a", "")
	if err != nil || ka.PersonOrganizationId != "org-a" || ka.AgeBand != store.AgeBand("1990-05-01", time.Now()) {
		t.Fatalf("org-a's case for shared = %v, %v; want org-a's person and age band", ka, err)
	}
	kb, err := caseFor(orgB, "org-b", "")
	if err != nil || kb.PersonOrganizationId != "org-b" || kb.AgeBand != store.AgeBand("2010-05-01", time.Now()) {
		t.Fatalf("org-b's case for shared = %v, %v; want org-b's person and age band", kb, err)
	}
	if got, err := s.GetCase(ctx, admin, orgB, kb.Id); err != nil || got.PersonOrganizationId != "org-b" {
		t.Errorf("org-b's case read back = %v, %v", got, err)
	}
	// Setting the person anew sets the age band anew; another field keeps it.
	setPerson := func(id string) (*casesv1.Case, error) {
		return s.UpdateCase(ctx, admin, orgA, ka.Id, func(cur *casesv1.Case) (*casesv1.Case, *casesv1.CaseEvent, error) {
			cur.PersonId = id
			return cur, nil, nil
		})
	}
	if k, err := setPerson(""); err != nil || k.AgeBand != "" || k.PersonOrganizationId != "" {
		t.Errorf("org-a's case without its person = %v, %v; want no age band, no owner", k, err)
	}
	if k, err := setPerson("shared"); err != nil || k.AgeBand != ka.AgeBand || k.PersonOrganizationId != "org-a" {
		t.Errorf("org-a's case given shared again = %v, %v; want org-a's person and age band", k, err)
	}
	if k, err := s.UpdateCase(ctx, admin, orgA, ka.Id, func(cur *casesv1.Case) (*casesv1.Case, *casesv1.CaseEvent, error) {
		cur.Needs = []string{"language"}
		return cur, nil, nil
	}); err != nil || k.AgeBand != ka.AgeBand {
		t.Errorf("org-a's case after another update = %v, %v; want its age band kept", k, err)
	}
	// The district reaches both persons through their cases.
	if _, err := s.GetPerson(ctx, admin, cremasco, ref); !errors.Is(err, store.ErrAmbiguousPerson) {
		t.Errorf("the district reading shared without owner: %v, want ErrAmbiguousPerson", err)
	}
	ps, err := s.ListPersons(ctx, admin, cremasco, store.PersonRef{}, 0)
	if err != nil || len(ps) != 2 || ps[0].OrganizationId != "org-a" || ps[1].OrganizationId != "org-b" {
		t.Errorf("the district's persons = %v, %v; want shared of org-a then of org-b", ps, err)
	}
	if ps, err := s.ListPersons(ctx, admin, cremasco, store.PersonRef{ID: "shared", Owner: "org-a"}, 0); err != nil || len(ps) != 1 || ps[0].OrganizationId != "org-b" {
		t.Errorf("the district's persons after org-a's shared = %v, %v; want org-b's only", ps, err)
	}
	if _, err := caseFor(cremasco, "", ""); !errors.Is(err, store.ErrAmbiguousPerson) {
		t.Errorf("the district's case for shared, no owner named: %v, want ErrAmbiguousPerson", err)
	}
	if k, err := caseFor(cremasco, "", "org-b"); err != nil || k.PersonOrganizationId != "org-b" {
		t.Errorf("the district's case for org-b's shared = %v, %v", k, err)
	}
	item := func(ext, owner string) []store.UpsertItem {
		k := upsert("sil", ext, "", "019035", casesv1.Category_CATEGORY_HOUSING)
		k.DistrictCode, k.PersonId, k.PersonOrganizationId = "cremasco", "shared", owner
		return []store.UpsertItem{{Case: k}}
	}
	if r, err := s.BatchUpsertCases(ctx, admin, cremasco, item("amb", "")); err != nil || r[0].Outcome != casesv1.UpsertOutcome_UPSERT_OUTCOME_INVALID || r[0].Field != "case.person_organization_id" {
		t.Errorf("a district batch item for shared, no owner named = %v, %v; want invalid, naming person_organization_id", r, err)
	}
	if r, err := s.BatchUpsertCases(ctx, admin, cremasco, item("named", "org-a")); err != nil || r[0].Outcome != casesv1.UpsertOutcome_UPSERT_OUTCOME_CREATED {
		t.Errorf("a district batch item for org-a's shared = %v, %v; want created", r, err)
	} else if k, err := s.GetCase(ctx, admin, cremasco, r[0].Id); err != nil || k.PersonOrganizationId != "org-a" || k.AgeBand != ka.AgeBand {
		t.Errorf("the district's batch case = %v, %v; want org-a's person and its age band", k, err)
	}
	// Writes by one owner leave the other's person alone.
	if _, err := s.UpdatePerson(ctx, admin, orgB, ref, func(cur *casesv1.Person) (*casesv1.Person, error) {
		cur.FamilyName = "B"
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePerson(ctx, admin, orgB, ref, ""); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetPerson(ctx, admin, orgA, ref); err != nil || got.Version != 1 || got.GetFamilyName() != "" {
		t.Errorf("org-a's person after org-b updated and deleted its own = %v, %v; want it untouched", got, err)
	}
	// With org-b's person gone, the district reaches one "shared": no owner needed.
	if got, err := s.GetPerson(ctx, admin, cremasco, ref); err != nil || got.GetGivenName() != "Amina" {
		t.Errorf("the district reading shared after org-b's was deleted = %v, %v; want org-a's", got, err)
	}
}
