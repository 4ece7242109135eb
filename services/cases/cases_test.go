package cases

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/storage/storagetest"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/services/cases/store"
	"github.com/ponte-network/ponte/services/cases/store/sqlcore"
)

// stores runs f on a server over each store: the embedded one and PostgreSQL.
func stores(t *testing.T, f func(t *testing.T, s *server)) {
	cat, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	storagetest.Both(t, sqlcore.Migrations(), func(t *testing.T, newConfig storagetest.NewConfig) {
		st, err := OpenStore(context.Background(), newConfig(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		f(t, &server{store: st, catalog: cat, districts: testDistricts()})
	})
}

// methodStream lets grpc.Method(ctx) name the method in handler calls made directly.
type methodStream struct{ method string }

func (m methodStream) Method() string             { return m.method }
func (methodStream) SetHeader(metadata.MD) error  { return nil }
func (methodStream) SendHeader(metadata.MD) error { return nil }
func (methodStream) SetTrailer(metadata.MD) error { return nil }
func as(p auth.Principal, method string) context.Context {
	ctx := auth.NewContext(context.Background(), &p)
	return grpc.NewContextWithServerTransportStream(ctx, methodStream{"/ponte.cases.v1.CaseService/" + method})
}

var (
	adminP = auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}}
	orgAOp = auth.Principal{Subject: "op-a", Organization: "org-a", Roles: []string{auth.RolePartnerOperator}}
)

func code(err error) codes.Code { return status.Code(err) }

func mustCreateCase(t *testing.T, s *server, p auth.Principal, k *casesv1.Case) *casesv1.Case {
	t.Helper()
	out, err := s.CreateCase(as(p, "CreateCase"), &casesv1.CreateCaseRequest{Case: k})
	if err != nil {
		t.Fatalf("CreateCase: %v", err)
	}
	return out
}

func TestRowLevelAccess(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s *server) {
		pa, err := s.CreatePerson(as(orgAOp, "CreatePerson"), &casesv1.CreatePersonRequest{Person: &casesv1.Person{
			GivenName: "Amina", LegalBasis: casesv1.LegalBasis_LEGAL_BASIS_PUBLIC_TASK}})
		if err != nil {
			t.Fatal(err)
		}
		ca := mustCreateCase(t, s, orgAOp, &casesv1.Case{PersonId: pa.Id, DistrictCode: "cremasco", MunicipalityCode: "019035", Category: casesv1.Category_CATEGORY_RENEWAL})
		cb := mustCreateCase(t, s, adminP, &casesv1.Case{OrganizationId: "org-b", DistrictCode: "sona", MunicipalityCode: "023083", Category: casesv1.Category_CATEGORY_HOUSING})
		// The table names the records; ids are the server's.
		real := map[string]string{"pa": pa.Id, "ca": ca.Id, "cb": cb.Id}
		named := func(names []string) []string {
			var out []string
			for _, n := range names {
				out = append(out, real[n])
			}
			return out
		}

		ok, nf, pd := codes.OK, codes.NotFound, codes.PermissionDenied
		tests := []struct {
			name                                  string
			p                                     auth.Principal
			cases, persons                        []string
			getA, getB, updateA, createA, auditRd codes.Code
		}{
			{"an admin reaches everything", adminP, []string{"ca", "cb"}, []string{"pa"}, ok, ok, ok, ok, ok},
			{"a partner operator reaches their organization's cases", orgAOp, []string{"ca"}, []string{"pa"}, ok, nf, ok, ok, pd},
			{"a partner admin of another organization reaches only theirs",
				auth.Principal{Subject: "adm-b", Organization: "org-b", Roles: []string{auth.RolePartnerAdmin}}, []string{"cb"}, nil, nf, ok, nf, pd, pd},
			{"a district operator reaches their district's cases",
				auth.Principal{Subject: "do-c", Territory: "cremasco", Roles: []string{auth.RoleDistrictOperator}}, []string{"ca"}, []string{"pa"}, ok, nf, ok, pd, pd},
			{"a district admin of a province reaches the cases of its municipalities",
				auth.Principal{Subject: "da-cr", Territory: "019", Roles: []string{auth.RoleDistrictAdmin}}, []string{"ca"}, []string{"pa"}, ok, nf, ok, ok, ok},
			{"a district operator of another region reaches its cases only",
				auth.Principal{Subject: "do-ve", Territory: "05", Roles: []string{auth.RoleDistrictOperator}}, []string{"cb"}, nil, nf, ok, nf, pd, pd},
			{"a region admin reaches no case", auth.Principal{Subject: "ra", Territory: "03", Roles: []string{auth.RoleRegionAdmin}}, nil, nil, pd, pd, pd, pd, pd},
			{"a region analyst reaches no case", auth.Principal{Subject: "rn", Territory: "03", Roles: []string{auth.RoleRegionAnalyst}}, nil, nil, pd, pd, pd, pd, pd},
			{"a mediator reaches no case", auth.Principal{Subject: "me", Organization: "org-a", Roles: []string{auth.RoleMediator}}, nil, nil, pd, pd, pd, pd, pd},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				lc, err := s.ListCases(as(tt.p, "ListCases"), &casesv1.ListCasesRequest{})
				var ids []string
				for _, k := range lc.GetCases() {
					if k.Id == ca.Id || k.Id == cb.Id { // not those created by the rows before
						ids = append(ids, k.Id)
					}
				}
				if tt.getA == pd {
					if code(err) != pd {
						t.Errorf("ListCases: %v, want PermissionDenied", err)
					}
				} else if err != nil || !slices.Equal(ids, named(tt.cases)) {
					t.Errorf("ListCases = %v, %v; want %v", ids, err, tt.cases)
				}
				lp, err := s.ListPersons(as(tt.p, "ListPersons"), &casesv1.ListPersonsRequest{})
				ids = nil
				for _, p := range lp.GetPersons() {
					ids = append(ids, p.Id)
				}
				if tt.getA == pd {
					if code(err) != pd {
						t.Errorf("ListPersons: %v, want PermissionDenied", err)
					}
				} else if err != nil || !slices.Equal(ids, named(tt.persons)) {
					t.Errorf("ListPersons = %v, %v; want %v", ids, err, tt.persons)
				}
				_, err = s.GetPerson(as(tt.p, "GetPerson"), &casesv1.GetPersonRequest{Id: pa.Id})
				if want := map[bool]codes.Code{true: ok, false: nf}[len(tt.persons) > 0]; tt.getA == pd && code(err) != pd || tt.getA != pd && code(err) != want {
					t.Errorf("GetPerson: %v", err)
				}
				if _, err := s.GetCase(as(tt.p, "GetCase"), &casesv1.GetCaseRequest{Id: ca.Id}); code(err) != tt.getA {
					t.Errorf("GetCase ca: %v, want %v", err, tt.getA)
				}
				if _, err := s.GetCase(as(tt.p, "GetCase"), &casesv1.GetCaseRequest{Id: cb.Id}); code(err) != tt.getB {
					t.Errorf("GetCase cb: %v, want %v", err, tt.getB)
				}
				_, err = s.UpdateCase(as(tt.p, "UpdateCase"), &casesv1.UpdateCaseRequest{Id: ca.Id,
					Case: &casesv1.Case{Needs: []string{fmt.Sprintf("need_%d", i)}}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"needs"}}})
				if code(err) != tt.updateA {
					t.Errorf("UpdateCase ca: %v, want %v", err, tt.updateA)
				}
				_, err = s.CreateCase(as(tt.p, "CreateCase"), &casesv1.CreateCaseRequest{Case: &casesv1.Case{
					OrganizationId: "org-a", DistrictCode: "cremasco", MunicipalityCode: "019035", Category: casesv1.Category_CATEGORY_OTHER}})
				if code(err) != tt.createA {
					t.Errorf("CreateCase in org-a, cremasco: %v, want %v", err, tt.createA)
				}
				_, err = s.ListAuditEvents(as(tt.p, "ListAuditEvents"), &casesv1.ListAuditEventsRequest{})
				if code(err) != tt.auditRd {
					t.Errorf("ListAuditEvents: %v, want %v", err, tt.auditRd)
				}
			})
		}
		t.Run("a case cannot be moved out of one's reach", func(t *testing.T) {
			_, err := s.UpdateCase(as(orgAOp, "UpdateCase"), &casesv1.UpdateCaseRequest{Id: ca.Id,
				Case: &casesv1.Case{OrganizationId: "org-b"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"organization_id"}}})
			if code(err) != pd {
				t.Errorf("UpdateCase to org-b: %v, want PermissionDenied", err)
			}
		})
		t.Run("a district admin reads the audit log of their territory only", func(t *testing.T) {
			p := auth.Principal{Subject: "da-cr", Territory: "019", Roles: []string{auth.RoleDistrictAdmin}}
			resp, err := s.ListAuditEvents(as(p, "ListAuditEvents"), &casesv1.ListAuditEventsRequest{PageSize: 1000})
			if err != nil || len(resp.Events) == 0 {
				t.Fatalf("ListAuditEvents = %v, %v", resp, err)
			}
			for _, e := range resp.Events {
				if !strings.HasPrefix(e.MunicipalityCode, "019") {
					t.Errorf("audit event %v lies outside province 019", e)
				}
			}
			sawMethod := false
			for _, e := range resp.Events {
				sawMethod = sawMethod || (e.Method == "/ponte.cases.v1.CaseService/GetPerson" && e.RecordId == pa.Id && e.Subject == "op-a")
			}
			if !sawMethod {
				t.Error("the audit log lacks op-a's GetPerson of pa")
			}
		})
	})
}

func TestTransitions(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s *server) {
		k := mustCreateCase(t, s, orgAOp, &casesv1.Case{MunicipalityCode: "019035", Category: casesv1.Category_CATEGORY_CITIZENSHIP, Phase: casesv1.Phase_PHASE_DELIVERY})
		if k.Phase != casesv1.Phase_PHASE_INTAKE {
			t.Fatalf("created in %v, want intake", k.Phase)
		}
		steps := []struct {
			name string
			to   casesv1.Phase
			want codes.Code
		}{
			{"intake cannot skip to planning", casesv1.Phase_PHASE_PLANNING, codes.FailedPrecondition},
			{"intake moves to taken in charge", casesv1.Phase_PHASE_TAKEN_IN_CHARGE, codes.OK},
			{"taken in charge moves to planning", casesv1.Phase_PHASE_PLANNING, codes.OK},
			{"planning moves to delivery", casesv1.Phase_PHASE_DELIVERY, codes.OK},
			{"delivery cannot go back to intake", casesv1.Phase_PHASE_INTAKE, codes.FailedPrecondition},
			{"delivery moves to monitoring", casesv1.Phase_PHASE_MONITORING, codes.OK},
			{"monitoring steps back to delivery", casesv1.Phase_PHASE_DELIVERY, codes.OK},
			{"delivery moves to monitoring again", casesv1.Phase_PHASE_MONITORING, codes.OK},
			{"monitoring closes", casesv1.Phase_PHASE_CLOSED, codes.OK},
			{"closed cannot jump to delivery", casesv1.Phase_PHASE_DELIVERY, codes.FailedPrecondition},
			{"closed reopens to taken in charge", casesv1.Phase_PHASE_TAKEN_IN_CHARGE, codes.OK},
			{"an open case closes from any phase", casesv1.Phase_PHASE_CLOSED, codes.OK},
		}
		version := k.Version
		for _, st := range steps {
			out, err := s.TransitionCase(as(orgAOp, "TransitionCase"), &casesv1.TransitionCaseRequest{Id: k.Id, Phase: st.to, Reason: "test"})
			if code(err) != st.want {
				t.Fatalf("%s: %v, want %v", st.name, err, st.want)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "from ") || !strings.Contains(err.Error(), " to "+phaseName(st.to)) {
					t.Errorf("%s: message %q does not name both phases", st.name, err)
				}
				continue
			}
			version++
			if out.Phase != st.to || out.Version != version {
				t.Errorf("%s: %v at version %d, want %v at %d", st.name, out.Phase, out.Version, st.to, version)
			}
		}
		if _, err := s.TransitionCase(as(orgAOp, "TransitionCase"), &casesv1.TransitionCaseRequest{Id: k.Id, Phase: casesv1.Phase_PHASE_TAKEN_IN_CHARGE, Etag: "1"}); code(err) != codes.Aborted {
			t.Errorf("transition with a stale etag: %v, want Aborted", err)
		}
		evs, err := s.ListCaseEvents(as(orgAOp, "ListCaseEvents"), &casesv1.ListCaseEventsRequest{CaseId: k.Id, PageSize: 5})
		if err != nil || len(evs.Events) != 5 || evs.NextPageToken == "" || evs.Events[0].GetPhaseChange().GetTo() != casesv1.Phase_PHASE_TAKEN_IN_CHARGE {
			t.Fatalf("events = %v, %v; want phase changes paged by 5", evs, err)
		}
		more, err := s.ListCaseEvents(as(orgAOp, "ListCaseEvents"), &casesv1.ListCaseEventsRequest{CaseId: k.Id, PageSize: 5, PageToken: evs.NextPageToken})
		if err != nil || len(more.Events) != 4 {
			t.Errorf("second page = %v, %v; want the other 4 phase changes", more, err)
		}
		if _, err := s.CreateCaseEvent(as(orgAOp, "CreateCaseEvent"), &casesv1.CreateCaseEventRequest{CaseId: k.Id,
			Event: &casesv1.CaseEvent{Kind: &casesv1.CaseEvent_PhaseChange{PhaseChange: &casesv1.PhaseChange{To: casesv1.Phase_PHASE_CLOSED}}}}); code(err) != codes.InvalidArgument {
			t.Errorf("a phase change as an event: %v, want InvalidArgument", err)
		}
	})
}

// syncItem is row i of the district system: 1% invalid (unknown municipality).
func syncItem(i int) *casesv1.CaseUpsert {
	k := &casesv1.Case{
		Source: "sil-cremasco", ExternalId: fmt.Sprintf("E%05d", i), MunicipalityCode: "019035",
		Category: casesv1.Category(1 + i%13), Needs: []string{"documents"}, AssignedOperator: fmt.Sprintf("op-%d", i%7),
	}
	if i%100 == 42 {
		k.MunicipalityCode = "999999"
	}
	u := &casesv1.CaseUpsert{Case: k}
	if i%250 == 7 {
		u.ExpectedVersion = 3 // the case does not exist yet: a conflict
	}
	return u
}

type tally map[casesv1.UpsertOutcome]int

func runSync(t *testing.T, s *server, p auth.Principal, items []*casesv1.CaseUpsert) (tally, map[int]*casesv1.CaseUpsertResult) {
	t.Helper()
	counts := tally{}
	byItem := map[int]*casesv1.CaseUpsertResult{}
	for start := 0; start < len(items); start += 500 {
		resp, err := s.BatchUpsertCases(as(p, "BatchUpsertCases"), &casesv1.BatchUpsertCasesRequest{Items: items[start : start+500]})
		if err != nil {
			t.Fatalf("batch at %d: %v", start, err)
		}
		if len(resp.Results) != 500 {
			t.Fatalf("batch at %d: %d results", start, len(resp.Results))
		}
		for j, r := range resp.Results {
			if int(r.Index) != j {
				t.Fatalf("result %d has index %d", j, r.Index)
			}
			counts[r.Outcome]++
			byItem[start+j] = r
		}
	}
	return counts, byItem
}

func TestSyncTenThousandCasesTwice(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("10,000 cases")
	}
	stores(t, func(t *testing.T, s *server) {
		district := auth.Principal{Subject: "sil-bot", Territory: "cremasco", Roles: []string{auth.RoleDistrictOperator}}
		const n = 10000
		items := make([]*casesv1.CaseUpsert, n)
		for i := range items {
			items[i] = syncItem(i)
		}
		first, res1 := runSync(t, s, district, items)
		want1 := tally{
			casesv1.UpsertOutcome_UPSERT_OUTCOME_CREATED:  9860,
			casesv1.UpsertOutcome_UPSERT_OUTCOME_INVALID:  100,
			casesv1.UpsertOutcome_UPSERT_OUTCOME_CONFLICT: 40,
		}
		if !maps.Equal(first, want1) {
			t.Errorf("first sync = %v, want %v", first, want1)
		}
		for i, r := range res1 {
			switch {
			case i%100 == 42:
				if r.Outcome != casesv1.UpsertOutcome_UPSERT_OUTCOME_INVALID || r.Field != "case.municipality_code" {
					t.Errorf("item %d = %v, want invalid on case.municipality_code", i, r)
				}
			case i%250 == 7:
				if r.Outcome != casesv1.UpsertOutcome_UPSERT_OUTCOME_CONFLICT || r.Field != "expected_version" {
					t.Errorf("item %d = %v, want a conflict on expected_version", i, r)
				}
			default:
				if r.Outcome != casesv1.UpsertOutcome_UPSERT_OUTCOME_CREATED || r.Version != 1 || r.Id == "" {
					t.Errorf("item %d = %v, want created at version 1", i, r)
				}
			}
		}

		// The second run: the same rows, but 100 changed (expected version 1) and 100
		// sent with a stale expected version.
		for i := range items {
			switch i % 100 {
			case 5:
				items[i].Case.Needs = []string{"documents", "language"}
				items[i].ExpectedVersion = 1
			case 6:
				items[i].ExpectedVersion = 9
			}
		}
		second, res2 := runSync(t, s, district, items)
		want2 := tally{
			casesv1.UpsertOutcome_UPSERT_OUTCOME_UNCHANGED: 9660,
			casesv1.UpsertOutcome_UPSERT_OUTCOME_UPDATED:   100,
			casesv1.UpsertOutcome_UPSERT_OUTCOME_INVALID:   100,
			casesv1.UpsertOutcome_UPSERT_OUTCOME_CONFLICT:  140,
		}
		if !maps.Equal(second, want2) {
			t.Errorf("second sync = %v, want %v", second, want2)
		}
		for i, r := range res2 {
			if r1 := res1[i]; r1.Id != "" && r.Id != r1.Id {
				t.Errorf("item %d changed id %s → %s", i, r1.Id, r.Id)
			}
			if i%100 == 5 && (r.Outcome != casesv1.UpsertOutcome_UPSERT_OUTCOME_UPDATED || r.Version != 2) {
				t.Errorf("item %d = %v, want updated to version 2", i, r)
			}
			if i%100 == 6 && (r.Outcome != casesv1.UpsertOutcome_UPSERT_OUTCOME_CONFLICT || r.Version != 1) {
				t.Errorf("item %d = %v, want a conflict at version 1", i, r)
			}
		}

		// Nothing lost, nothing duplicated.
		state := serverState(t, s, district)
		if len(state) != 9860 {
			t.Errorf("the server holds %d cases, want 9860", len(state))
		}
		v2 := 0
		for _, v := range state {
			if v == 2 {
				v2++
			}
		}
		if v2 != 100 {
			t.Errorf("%d cases at version 2, want 100", v2)
		}
	})
}

// serverState lists every case the caller sees: id → version.
func serverState(t *testing.T, s *server, p auth.Principal) map[string]int32 {
	t.Helper()
	state := map[string]int32{}
	tok := ""
	for {
		resp, err := s.ListCases(as(p, "ListCases"), &casesv1.ListCasesRequest{PageSize: 1000, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range resp.Cases {
			if _, dup := state[k.Id]; dup {
				t.Fatalf("case %s listed twice", k.Id)
			}
			state[k.Id] = k.Version
		}
		if tok = resp.NextPageToken; tok == "" {
			return state
		}
	}
}

// feedReader mirrors the cases of the change feed; what it persists is its state and
// cursor after each page it finished.
type feedReader struct {
	cursor int64
	cases  map[string]int32
}

func (r *feedReader) apply(ch *casesv1.CaseChange) {
	if ch.Topic != store.TopicCase {
		return
	}
	if ch.Op == "delete" {
		delete(r.cases, ch.Key)
		return
	}
	r.cases[ch.Key] = int32(ch.Payload.GetFields()["version"].GetNumberValue())
}

func TestFeedReaderKilledAndRestarted(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s *server) {
		p := auth.Principal{Subject: "sil-bot", Territory: "cremasco", Roles: []string{auth.RoleDistrictOperator}}
		items := make([]*casesv1.CaseUpsert, 1000)
		for i := range items {
			items[i] = &casesv1.CaseUpsert{Case: &casesv1.Case{Source: "sil", ExternalId: fmt.Sprint(i), MunicipalityCode: "019035", Category: casesv1.Category_CATEGORY_HOUSING}}
		}
		resp, err := s.BatchUpsertCases(as(p, "BatchUpsertCases"), &casesv1.BatchUpsertCasesRequest{Items: items})
		if err != nil {
			t.Fatal(err)
		}
		// Cases of another district: the reader must not see them.
		mustCreateCase(t, s, adminP, &casesv1.Case{OrganizationId: "org-b", DistrictCode: "sona", MunicipalityCode: "023083", Category: casesv1.Category_CATEGORY_OTHER})

		saved := feedReader{cases: map[string]int32{}}
		page := func(r *feedReader, killAfter int) {
			out, err := s.ListCaseChanges(as(p, "ListCaseChanges"), &casesv1.ListCaseChangesRequest{After: r.cursor, PageSize: 150})
			if err != nil {
				t.Fatal(err)
			}
			for i, ch := range out.Changes {
				if i == killAfter {
					return // killed mid-page: nothing after the last saved state counts
				}
				r.apply(ch)
			}
			r.cursor = out.NextAfter
		}
		// First run: three pages, then killed in the middle of the fourth.
		for range 3 {
			page(&saved, -1)
		}
		crashed := feedReader{cursor: saved.cursor, cases: maps.Clone(saved.cases)}
		page(&crashed, 70)

		// Meanwhile the server moves on: updates, deletes, new cases.
		for i := 0; i < 1000; i += 97 {
			id := resp.Results[i].Id
			if i%2 == 0 {
				if _, err := s.DeleteCase(as(p, "DeleteCase"), &casesv1.DeleteCaseRequest{Id: id}); err != nil {
					t.Fatal(err)
				}
			} else if _, err := s.TransitionCase(as(p, "TransitionCase"), &casesv1.TransitionCaseRequest{Id: id, Phase: casesv1.Phase_PHASE_TAKEN_IN_CHARGE}); err != nil {
				t.Fatal(err)
			}
		}
		mustCreateCase(t, s, p, &casesv1.Case{MunicipalityCode: "019004", Category: casesv1.Category_CATEGORY_LEGAL_AID})

		// Restarted from what it saved, the reader reads to the end.
		restarted := feedReader{cursor: saved.cursor, cases: maps.Clone(saved.cases)}
		for {
			before := restarted.cursor
			page(&restarted, -1)
			if restarted.cursor == before {
				break
			}
		}
		want := serverState(t, s, p)
		if !maps.Equal(restarted.cases, want) {
			t.Errorf("the restarted reader holds %d cases, the server %d; they differ", len(restarted.cases), len(want))
		}
	})
}

func TestFeedCarriesNoPersonalData(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s *server) {
		p, err := s.CreatePerson(as(orgAOp, "CreatePerson"), &casesv1.CreatePersonRequest{Person: &casesv1.Person{
			GivenName: "Amina", FamilyName: "Benali", BirthDate: "1990-04-12", TaxCode: "BNLMNA90D52Z330X", Nationality: "MA",
			LegalBasis: casesv1.LegalBasis_LEGAL_BASIS_PUBLIC_TASK}})
		if err != nil {
			t.Fatal(err)
		}
		k := mustCreateCase(t, s, orgAOp, &casesv1.Case{PersonId: p.Id, MunicipalityCode: "019035", Category: casesv1.Category_CATEGORY_RENEWAL})
		if _, err := s.CreateCaseEvent(as(orgAOp, "CreateCaseEvent"), &casesv1.CreateCaseEventRequest{CaseId: k.Id,
			Event: &casesv1.CaseEvent{Kind: &casesv1.CaseEvent_Note{Note: &casesv1.Note{Text: "Amina waits since March"}}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeletePerson(as(orgAOp, "DeletePerson"), &casesv1.DeletePersonRequest{Id: p.Id}); err != nil {
			t.Fatal(err)
		}
		out, err := s.ListCaseChanges(as(adminP, "ListCaseChanges"), &casesv1.ListCaseChangesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Changes) != 3 {
			t.Errorf("%d changes, want person created, case created, person deleted", len(out.Changes))
		}
		if band := out.Changes[1].GetPayload().GetFields()["ageBand"].GetStringValue(); band != store.AgeBand("1990-04-12", time.Now()) || band == "" {
			t.Errorf("the case change carries age band %q, want the person's", band)
		}
		for _, ch := range out.Changes {
			raw := fmt.Sprint(ch)
			for _, secret := range []string{"Amina", "Benali", "1990", "BNLMNA", "March", "\"MA\""} {
				if strings.Contains(raw, secret) {
					t.Errorf("change %s carries personal data %q", raw, secret)
				}
			}
		}
	})
}

func TestAgeBand(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct{ birth, want string }{
		{"2010-03-02", "0-17"},
		{"2008-03-01", "18-24"},
		{"2008-03-02", "0-17"},
		{"1991-06-30", "25-34"},
		{"1980-01-01", "35-49"},
		{"1970-01-01", "50-64"},
		{"1950-12-31", "65+"},
		{"", ""},
		{"1990-13-01", ""},
	}
	for _, tt := range tests {
		if got := store.AgeBand(tt.birth, at); got != tt.want {
			t.Errorf("AgeBand(%q) = %q, want %q", tt.birth, got, tt.want)
		}
	}
}
