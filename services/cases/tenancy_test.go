package cases

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/libs/auth"
)

// grpcClient serves s over gRPC on 127.0.0.1:0 behind the real token check and Policy,
// and returns a client and a function giving the outgoing context of a principal.
func grpcClient(t *testing.T, s *server) (casesv1.CaseServiceClient, func(auth.Principal) context.Context) {
	t.Helper()
	key := []byte("0123456789abcdef0123456789abcdef")
	v, err := auth.NewVerifier(t.Context(), auth.VerifierConfig{HMACKey: key})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(auth.UnaryServerInterceptor(v, Policy())),
		grpc.ChainStreamInterceptor(auth.StreamServerInterceptor(v, Policy())))
	casesv1.RegisterCaseServiceServer(srv, s)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return casesv1.NewCaseServiceClient(conn), func(p auth.Principal) context.Context {
		tok, err := auth.MintHS256(key, p, "", time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+tok)
	}
}

// The principals of the tenancy tests, with what each may reach: reaches says whether a
// case (organization, district, municipality) lies within their reach, written out
// here from the package doc, independently of store.Scope.
var tenancyCallers = []struct {
	name    string
	p       auth.Principal
	reaches func(org, district, municipality string) bool
}{
	{"a partner operator of org-a", auth.Principal{Subject: "po-a", Organization: "org-a", Roles: []string{auth.RolePartnerOperator}},
		func(org, _, _ string) bool { return org == "org-a" }},
	{"a partner admin of org-b", auth.Principal{Subject: "pa-b", Organization: "org-b", Roles: []string{auth.RolePartnerAdmin}},
		func(org, _, _ string) bool { return org == "org-b" }},
	{"a district operator of Cremasco", auth.Principal{Subject: "do-cr", Territory: "cremasco", Roles: []string{auth.RoleDistrictOperator}},
		func(_, d, m string) bool { return d == "cremasco" || m == "019035" || m == "019004" }},
	{"a district admin of Cremasco", auth.Principal{Subject: "da-cr", Organization: "ats-cr", Territory: "cremasco", Roles: []string{auth.RoleDistrictAdmin}},
		func(org, d, m string) bool { return d == "cremasco" || m == "019035" || m == "019004" }},
	{"a district admin of the province of Cremona", auth.Principal{Subject: "da-019", Territory: "019", Roles: []string{auth.RoleDistrictAdmin}},
		func(_, _, m string) bool { return strings.HasPrefix(m, "019") }},
	{"a district operator of the province of Verona", auth.Principal{Subject: "do-023", Territory: "023", Roles: []string{auth.RoleDistrictOperator}},
		func(_, _, m string) bool { return strings.HasPrefix(m, "023") }},
	{"a region admin of Lombardy", auth.Principal{Subject: "ra", Territory: "03", Roles: []string{auth.RoleRegionAdmin}},
		func(string, string, string) bool { return false }},
	{"a mediator of org-a", auth.Principal{Subject: "me", Organization: "org-a", Roles: []string{auth.RoleMediator}},
		func(string, string, string) bool { return false }},
}

// placements are where a write tries to put a case: every municipality of the test
// districts and one in none, with a right, wrong, unknown or no district, and the
// writer's own, another or no organization ("" = the writer's default).
var placements = func() []*casesv1.Case {
	var out []*casesv1.Case
	for _, m := range []string{"019035", "019004", "023083", "019021"} {
		for _, d := range []string{"", "cremasco", "sona", "nowhere"} {
			for _, org := range []string{"", "org-a", "org-b", "org-unknown"} {
				out = append(out, &casesv1.Case{MunicipalityCode: m, DistrictCode: d, OrganizationId: org, Category: casesv1.Category_CATEGORY_HOUSING})
			}
		}
	}
	return out
}()

func TestNoWriteLandsOutsideTheCallersReach(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s *server) {
		client, as := grpcClient(t, s)
		admin := as(adminP)
		snap := testDistricts().S
		// A case in every district and none, for the updates to start from.
		var seeds []*casesv1.Case
		for _, k := range []*casesv1.Case{
			{OrganizationId: "org-a", MunicipalityCode: "019035", Category: casesv1.Category_CATEGORY_HOUSING},
			{OrganizationId: "org-b", MunicipalityCode: "023083", Category: casesv1.Category_CATEGORY_HOUSING},
			{MunicipalityCode: "019021", Category: casesv1.Category_CATEGORY_HOUSING},
		} {
			out, err := client.CreateCase(admin, &casesv1.CreateCaseRequest{Case: k})
			if err != nil {
				t.Fatal(err)
			}
			seeds = append(seeds, out)
		}
		var landed, refused, outside int
		// check asserts that a case that landed lies within the writer's reach, that its
		// district is one the directory says contains its municipality, and that a writer
		// who may not assign organizations left it in their own or the previous one.
		check := func(t *testing.T, who int, what string, k, prev *casesv1.Case) {
			t.Helper()
			c := tenancyCallers[who]
			landed++
			switch {
			case !c.reaches(k.GetOrganizationId(), k.GetDistrictCode(), k.GetMunicipalityCode()):
				outside++
				t.Errorf("%s: %s landed outside their reach: %v", c.name, what, k)
			case k.GetDistrictCode() != "" && !snap.Contains(k.GetDistrictCode(), k.GetMunicipalityCode()):
				outside++
				t.Errorf("%s: %s landed in district %s, which does not contain %s", c.name, what, k.GetDistrictCode(), k.GetMunicipalityCode())
			case k.GetDistrictCode() == "" && len(snap.Containing(k.GetMunicipalityCode())) == 1:
				outside++
				t.Errorf("%s: %s landed without the district of %s", c.name, what, k.GetMunicipalityCode())
			case !c.p.HasRole(auth.RoleAdmin, auth.RoleDistrictAdmin) && k.GetOrganizationId() != c.p.Organization &&
				(prev == nil || k.GetOrganizationId() != prev.GetOrganizationId()):
				outside++
				t.Errorf("%s: %s gave the case to organization %q", c.name, what, k.GetOrganizationId())
			}
		}
		for who, c := range tenancyCallers {
			ctx := as(c.p)
			for i, want := range placements {
				what := fmt.Sprintf("placement %d %v", i, want)
				// CreateCase.
				if out, err := client.CreateCase(ctx, &casesv1.CreateCaseRequest{Case: want}); err == nil {
					check(t, who, "CreateCase "+what, out, nil)
				} else {
					refused++
				}
				// BatchUpsertCases: a new key, then the same key again.
				item := &casesv1.Case{Source: "sync", ExternalId: fmt.Sprintf("%d-%d", who, i), MunicipalityCode: want.MunicipalityCode,
					DistrictCode: want.DistrictCode, OrganizationId: want.OrganizationId, Category: want.Category}
				resp, err := client.BatchUpsertCases(ctx, &casesv1.BatchUpsertCasesRequest{Items: []*casesv1.CaseUpsert{{Case: item}}})
				if err == nil && resp.Results[0].Outcome == casesv1.UpsertOutcome_UPSERT_OUTCOME_CREATED {
					k, err := client.GetCase(admin, &casesv1.GetCaseRequest{Id: resp.Results[0].Id})
					if err != nil {
						t.Fatal(err)
					}
					check(t, who, "BatchUpsertCases "+what, k, nil)
				} else {
					refused++
				}
				// UpdateCase of every seed case to this placement.
				for _, seed := range seeds {
					before, err := client.GetCase(admin, &casesv1.GetCaseRequest{Id: seed.Id})
					if err != nil {
						t.Fatal(err)
					}
					out, err := client.UpdateCase(ctx, &casesv1.UpdateCaseRequest{Id: seed.Id, Case: want,
						UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"municipality_code", "district_code", "organization_id"}}})
					if err != nil {
						refused++
						after, err := client.GetCase(admin, &casesv1.GetCaseRequest{Id: seed.Id})
						if err != nil || after.Version != before.Version {
							t.Errorf("%s: a refused UpdateCase %s still wrote: %v, %v", c.name, what, after, err)
						}
						continue
					}
					check(t, who, "UpdateCase "+what, out, before)
					// Put it back, as admin, for the next placement.
					back := &casesv1.Case{MunicipalityCode: before.MunicipalityCode, DistrictCode: before.DistrictCode, OrganizationId: before.OrganizationId}
					if _, err := client.UpdateCase(admin, &casesv1.UpdateCaseRequest{Id: seed.Id, Case: back,
						UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"municipality_code", "district_code", "organization_id"}}}); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		t.Logf("%d writes landed, %d refused, %d outside the caller's reach", landed, refused, outside)
		if landed == 0 || refused == 0 {
			t.Errorf("landed %d, refused %d: the matrix proves nothing unless both happen", landed, refused)
		}
	})
}

// idPattern matches the ids and keys the oracle test puts in requests, so that two
// answers can be compared whatever id they name.
var idPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f-]{27}|foreign-\w+|missing-\w+`)

// answer is a call's outcome with the ids in it blanked.
func answer(err error) string {
	st := status.Convert(err)
	return st.Code().String() + ": " + idPattern.ReplaceAllString(st.Message(), "ID")
}

func TestForeignRecordsAnswerLikeMissingOnes(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s *server) {
		client, as := grpcClient(t, s)
		owner, other := as(orgAOp), as(auth.Principal{Subject: "op-b", Organization: "org-b", Roles: []string{auth.RolePartnerOperator}})
		person, err := client.CreatePerson(owner, &casesv1.CreatePersonRequest{Person: &casesv1.Person{
			GivenName: "Amina", LegalBasis: casesv1.LegalBasis_LEGAL_BASIS_PUBLIC_TASK}})
		if err != nil {
			t.Fatal(err)
		}
		foreign, err := client.CreateCase(owner, &casesv1.CreateCaseRequest{Case: &casesv1.Case{PersonId: person.Id,
			Source: "sil", ExternalId: "foreign-seed", MunicipalityCode: "019035", Category: casesv1.Category_CATEGORY_HOUSING}})
		if err != nil {
			t.Fatal(err)
		}
		missingID := "0190dd2a-0000-7000-8000-000000000000"
		newCase := func(personID, external string) *casesv1.Case {
			return &casesv1.Case{PersonId: personID, Source: "sil", ExternalId: external, MunicipalityCode: "019035", Category: casesv1.Category_CATEGORY_OTHER}
		}
		mask := func(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }
		// Each path is called by org-b once with a record of org-a (exists elsewhere) and
		// once with one that exists nowhere; the answers must be the same.
		tests := []struct {
			name string
			call func(id, personID, external string) string
		}{
			{"UpdatePerson", func(_, pid, _ string) string {
				_, err := client.UpdatePerson(other, &casesv1.UpdatePersonRequest{Id: pid, Person: &casesv1.Person{GivenName: "X"},
					UpdateMask: mask("given_name")})
				return answer(err)
			}},
			{"DeletePerson", func(_, pid, _ string) string {
				_, err := client.DeletePerson(other, &casesv1.DeletePersonRequest{Id: pid})
				return answer(err)
			}},
			{"CreateCase with a chosen id", func(id, _, _ string) string {
				_, err := client.CreateCase(other, &casesv1.CreateCaseRequest{Case: &casesv1.Case{Id: id, MunicipalityCode: "019035", Category: casesv1.Category_CATEGORY_OTHER}})
				return answer(err)
			}},
			{"CreateCase for a person", func(_, pid, _ string) string {
				_, err := client.CreateCase(other, &casesv1.CreateCaseRequest{Case: newCase(pid, "")})
				return answer(err)
			}},
			{"CreateCase with a source and external id", func(_, _, ext string) string {
				_, err := client.CreateCase(other, &casesv1.CreateCaseRequest{Case: newCase("", ext)})
				return answer(err)
			}},
			{"UpdateCase", func(id, _, _ string) string {
				_, err := client.UpdateCase(other, &casesv1.UpdateCaseRequest{Id: id, Case: &casesv1.Case{Needs: []string{"x"}}, UpdateMask: mask("needs")})
				return answer(err)
			}},
			{"UpdateCase to a source and external id", func(_, _, ext string) string {
				mine, err := client.CreateCase(other, &casesv1.CreateCaseRequest{Case: newCase("", "")})
				if err != nil {
					return answer(err)
				}
				_, err = client.UpdateCase(other, &casesv1.UpdateCaseRequest{Id: mine.Id, Case: &casesv1.Case{Source: "sil", ExternalId: ext},
					UpdateMask: mask("source", "external_id")})
				return answer(err)
			}},
			{"DeleteCase", func(id, _, _ string) string {
				_, err := client.DeleteCase(other, &casesv1.DeleteCaseRequest{Id: id})
				return answer(err)
			}},
			{"TransitionCase", func(id, _, _ string) string {
				_, err := client.TransitionCase(other, &casesv1.TransitionCaseRequest{Id: id, Phase: casesv1.Phase_PHASE_TAKEN_IN_CHARGE})
				return answer(err)
			}},
			{"CreateCaseEvent", func(id, _, _ string) string {
				_, err := client.CreateCaseEvent(other, &casesv1.CreateCaseEventRequest{CaseId: id, Event: &casesv1.CaseEvent{
					Kind: &casesv1.CaseEvent_Note{Note: &casesv1.Note{Text: "x"}}}})
				return answer(err)
			}},
			{"a batch item with a source and external id", func(_, _, ext string) string {
				resp, err := client.BatchUpsertCases(other, &casesv1.BatchUpsertCasesRequest{Items: []*casesv1.CaseUpsert{{Case: newCase("", ext)}}})
				if err != nil {
					return answer(err)
				}
				r := resp.Results[0]
				return r.Outcome.String() + " " + r.Field + " " + idPattern.ReplaceAllString(r.Reason, "ID")
			}},
			{"a batch item for a person", func(_, pid, ext string) string {
				resp, err := client.BatchUpsertCases(other, &casesv1.BatchUpsertCasesRequest{Items: []*casesv1.CaseUpsert{{Case: newCase(pid, ext+"-p")}}})
				if err != nil {
					return answer(err)
				}
				r := resp.Results[0]
				return r.Outcome.String() + " " + r.Field + " " + idPattern.ReplaceAllString(r.Reason, "ID")
			}},
			// Last: it gives org-b a person of its own with org-a's id, which the paths
			// above must not find.
			{"CreatePerson with a chosen id", func(_, pid, _ string) string {
				p, err := client.CreatePerson(other, &casesv1.CreatePersonRequest{Person: &casesv1.Person{Id: pid, GivenName: "B",
					LegalBasis: casesv1.LegalBasis_LEGAL_BASIS_PUBLIC_TASK}})
				if err != nil {
					return answer(err)
				}
				return fmt.Sprintf("created, owner %s, version %d", p.GetOrganizationId(), p.GetVersion())
			}},
		}
		for i, tt := range tests {
			// Each path gets a key of org-a's of its own: an earlier path may have used
			// the same key in org-b's namespace, as it may.
			ext := fmt.Sprintf("foreign-%d", i)
			if _, err := client.CreateCase(owner, &casesv1.CreateCaseRequest{Case: newCase("", ext)}); err != nil {
				t.Fatal(err)
			}
			t.Run(tt.name, func(t *testing.T) {
				elsewhere := tt.call(foreign.Id, person.Id, ext)
				nowhere := tt.call(missingID, "missing-person", fmt.Sprintf("missing-%d", i))
				if elsewhere != nowhere {
					t.Errorf("exists elsewhere answers %q, does not exist answers %q", elsewhere, nowhere)
				}
			})
		}
		// And the owner's records are untouched.
		if k, err := client.GetCase(owner, &casesv1.GetCaseRequest{Id: foreign.Id}); err != nil || k.Version != 1 || k.Source != "sil" {
			t.Errorf("org-a's case after org-b's attempts = %v, %v; want it at version 1", k, err)
		}
		if p, err := client.GetPerson(owner, &casesv1.GetPersonRequest{Id: person.Id}); err != nil || p.Version != 1 || p.GivenName != "Amina" {
			t.Errorf("org-a's person after org-b's attempts = %v, %v; want it at version 1", p, err)
		}
	})
}

func TestConcurrentFirstCreationsOfOneKeyGiveOneCreated(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s *server) {
		client, as := grpcClient(t, s)
		ctx := as(auth.Principal{Subject: "sync", Territory: "cremasco", Roles: []string{auth.RoleDistrictOperator}})
		const writers, keys = 8, 40
		type tally struct{ created, unchanged, other int }
		var (
			mu     sync.Mutex
			perKey = map[string]*tally{}
			wg     sync.WaitGroup
		)
		start := make(chan struct{})
		for w := range writers {
			wg.Go(func() {
				var items []*casesv1.CaseUpsert
				for k := range keys {
					items = append(items, &casesv1.CaseUpsert{Case: &casesv1.Case{Source: "sil", ExternalId: fmt.Sprint(k),
						MunicipalityCode: "019035", Category: casesv1.Category_CATEGORY_EMPLOYMENT}})
				}
				// A key of its own too, so that each batch also creates something.
				items = append(items, &casesv1.CaseUpsert{Case: &casesv1.Case{Source: "sil", ExternalId: fmt.Sprintf("own-%d", w),
					MunicipalityCode: "019004", Category: casesv1.Category_CATEGORY_EMPLOYMENT}})
				<-start
				resp, err := client.BatchUpsertCases(ctx, &casesv1.BatchUpsertCasesRequest{Items: items})
				if err != nil {
					t.Errorf("writer %d: the whole batch failed: %v", w, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for i, r := range resp.Results {
					key := items[i].Case.ExternalId
					if perKey[key] == nil {
						perKey[key] = &tally{}
					}
					switch r.Outcome {
					case casesv1.UpsertOutcome_UPSERT_OUTCOME_CREATED:
						perKey[key].created++
					case casesv1.UpsertOutcome_UPSERT_OUTCOME_UNCHANGED, casesv1.UpsertOutcome_UPSERT_OUTCOME_UPDATED:
						perKey[key].unchanged++
					default:
						perKey[key].other++
						t.Errorf("writer %d item %d: %v", w, i, r)
					}
				}
			})
		}
		close(start)
		wg.Wait()
		for key, n := range perKey {
			total := writers
			if strings.HasPrefix(key, "own-") {
				total = 1
			}
			if n.created != 1 || n.unchanged != total-1 {
				t.Errorf("key %s: %d created, %d unchanged, %d other; want 1 created and %d unchanged", key, n.created, n.unchanged, n.other, total-1)
			}
		}
		if len(perKey) != keys+writers {
			t.Errorf("%d keys answered, want %d", len(perKey), keys+writers)
		}
	})
}

// Writes that place a case need current districts; other writes and reads do not.
func TestWritesThatPlaceACaseWaitForTheDistricts(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s *server) {
		client, as := grpcClient(t, s)
		ctx := as(orgAOp)
		k, err := client.CreateCase(ctx, &casesv1.CreateCaseRequest{Case: &casesv1.Case{MunicipalityCode: "019035", Category: casesv1.Category_CATEGORY_OTHER}})
		if err != nil || k.DistrictCode != "cremasco" {
			t.Fatalf("CreateCase with the districts known = %v, %v; want it derived into cremasco", k, err)
		}
		s.districts = staleDistricts{last: testDistricts().S}
		if _, err := client.CreateCase(ctx, &casesv1.CreateCaseRequest{Case: &casesv1.Case{MunicipalityCode: "019035", Category: casesv1.Category_CATEGORY_OTHER}}); code(err) != codes.Unavailable {
			t.Errorf("CreateCase with stale districts: %v, want Unavailable", err)
		}
		if _, err := client.BatchUpsertCases(ctx, &casesv1.BatchUpsertCasesRequest{Items: []*casesv1.CaseUpsert{{Case: &casesv1.Case{
			Source: "s", ExternalId: "1", MunicipalityCode: "019035", Category: casesv1.Category_CATEGORY_OTHER}}}}); code(err) != codes.Unavailable {
			t.Errorf("BatchUpsertCases with stale districts: %v, want Unavailable", err)
		}
		if _, err := client.UpdateCase(ctx, &casesv1.UpdateCaseRequest{Id: k.Id, Case: &casesv1.Case{MunicipalityCode: "019004"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"municipality_code"}}}); code(err) != codes.Unavailable {
			t.Errorf("moving a case with stale districts: %v, want Unavailable", err)
		}
		if _, err := client.UpdateCase(ctx, &casesv1.UpdateCaseRequest{Id: k.Id, Case: &casesv1.Case{Needs: []string{"documents"}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"needs"}}}); err != nil {
			t.Errorf("an update that does not move the case with stale districts: %v, want it to work", err)
		}
		district := as(auth.Principal{Subject: "do", Territory: "cremasco", Roles: []string{auth.RoleDistrictOperator}})
		if _, err := client.GetCase(district, &casesv1.GetCaseRequest{Id: k.Id}); err != nil {
			t.Errorf("a read with stale districts: %v, want it to work", err)
		}
	})
}
