package cases

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/libs/auth"
)

func TestReportingProjectionCarriesSexAndCitizenshipToReportingOnly(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s *server) {
		p, err := s.CreatePerson(as(orgAOp, "CreatePerson"), &casesv1.CreatePersonRequest{Person: &casesv1.Person{
			GivenName: "Amina", Sex: casesv1.Sex_SEX_FEMALE, Nationality: "MA", LegalBasis: casesv1.LegalBasis_LEGAL_BASIS_PUBLIC_TASK}})
		if err != nil {
			t.Fatal(err)
		}
		k := mustCreateCase(t, s, orgAOp, &casesv1.Case{PersonId: p.Id, MunicipalityCode: "019035", Category: casesv1.Category_CATEGORY_RENEWAL})
		mustCreateCase(t, s, orgAOp, &casesv1.Case{MunicipalityCode: "019036", Category: casesv1.Category_CATEGORY_HOUSING})

		tests := []struct {
			name string
			p    auth.Principal
			want codes.Code
		}{
			{"the reporting service reads the projection", auth.ServicePrincipal("reporting"), codes.OK},
			{"another service may not", auth.ServicePrincipal("housing"), codes.PermissionDenied},
			{"an admin may not: it is no one's personal view", adminP, codes.PermissionDenied},
			{"a partner operator may not", orgAOp, codes.PermissionDenied},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out, err := s.ListReportingCases(as(tt.p, "ListReportingCases"), &casesv1.ListReportingCasesRequest{})
				if code(err) != tt.want {
					t.Fatalf("code = %v, want %v", code(err), tt.want)
				}
				if tt.want != codes.OK {
					return
				}
				if len(out.Cases) != 2 || out.Head != out.NextAfter {
					t.Fatalf("cases = %d, head %d, next %d; want both cases and the head reached", len(out.Cases), out.Head, out.NextAfter)
				}
				first := out.Cases[0]
				if first.Case.GetId() != k.Id || first.Sex != casesv1.Sex_SEX_FEMALE || first.Citizenship != "MA" {
					t.Fatalf("first = %v, want the person's sex and citizenship", first)
				}
				if first.Case.GetPersonId() != p.Id || out.Cases[1].Sex != casesv1.Sex_SEX_UNSPECIFIED {
					t.Fatalf("second = %v, want no sex without a person", out.Cases[1])
				}
			})
		}
		// Erasing the person erases what reporting can read of them.
		if _, err := s.DeletePerson(as(orgAOp, "DeletePerson"), &casesv1.DeletePersonRequest{Id: p.Id}); err != nil {
			t.Fatal(err)
		}
		out, err := s.ListReportingCases(as(auth.ServicePrincipal("reporting"), "ListReportingCases"), &casesv1.ListReportingCasesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if c := out.Cases[0]; c.Sex != casesv1.Sex_SEX_UNSPECIFIED || c.Citizenship != "" {
			t.Fatalf("after erasure = %v, want neither sex nor citizenship", c)
		}
	})
}

func TestReportingProjectionCarriesTheCodesOfEventsAndNoText(t *testing.T) {
	t.Parallel()
	const marker = "MARKER-7f3a"
	stores(t, func(t *testing.T, s *server) {
		k := mustCreateCase(t, s, orgAOp, &casesv1.Case{MunicipalityCode: "019035", Category: casesv1.Category_CATEGORY_RENEWAL})
		day := timestamppb.New(time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC))
		events := []*casesv1.CaseEvent{
			{OccurTime: day, Kind: &casesv1.CaseEvent_Consultation{Consultation: &casesv1.Consultation{
				RequesterOrganizationId: "org-" + marker, RequesterMunicipalityCode: "019036", Topic: marker, MinutesSpent: 45,
				TopicCategory: casesv1.Category_CATEGORY_RESIDENCE_PERMIT}}},
			{Kind: &casesv1.CaseEvent_Intervention{Intervention: &casesv1.Intervention{Kind: "civic_orientation", Description: marker}}},
			{Kind: &casesv1.CaseEvent_Referral{Referral: &casesv1.Referral{ServiceId: "svc-" + marker, Status: casesv1.ReferralStatus_REFERRAL_STATUS_ACCEPTED, TaxonomyTermId: "ponte:l2-italian"}}},
			{Kind: &casesv1.CaseEvent_Note{Note: &casesv1.Note{Text: marker}}},
			{Kind: &casesv1.CaseEvent_Issue{Issue: &casesv1.IssueTag{Code: "immigration_office_wait"}}},
			{Kind: &casesv1.CaseEvent_Referral{Referral: &casesv1.Referral{ServiceId: "svc-" + marker, Status: casesv1.ReferralStatus_REFERRAL_STATUS_COMPLETED, TaxonomyTermId: "ponte:l2-italian"}}},
		}
		for _, ev := range events {
			if _, err := s.CreateCaseEvent(as(orgAOp, "CreateCaseEvent"), &casesv1.CreateCaseEventRequest{CaseId: k.Id, Event: ev}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.TransitionCase(as(orgAOp, "TransitionCase"), &casesv1.TransitionCaseRequest{Id: k.Id, Phase: casesv1.Phase_PHASE_TAKEN_IN_CHARGE, Reason: marker}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteCase(as(orgAOp, "DeleteCase"), &casesv1.DeleteCaseRequest{Id: k.Id}); err != nil {
			t.Fatal(err)
		}
		out, err := s.ListReportingCases(as(auth.ServicePrincipal("reporting"), "ListReportingCases"), &casesv1.ListReportingCasesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		// created, six events, the transition, the delete.
		if len(out.Cases) != 9 {
			t.Fatalf("%d entries, want 9 (create, 6 events, transition, delete)", len(out.Cases))
		}
		for i, rc := range out.Cases[1:7] {
			if rc.Op != "upsert" || rc.Case.GetId() != k.Id {
				t.Errorf("event entry %d = %s %s, want an upsert of the case", i, rc.Op, rc.Case.GetId())
			}
		}
		last := out.Cases[8]
		if last.Op != "delete" || len(last.Events) != 7 {
			t.Fatalf("the delete carries %d events (op %s), want all 7, so reporting can take their facts away", len(last.Events), last.Op)
		}
		got := last.Events
		if c := got[0].GetConsultation(); c.GetRequesterMunicipalityCode() != "019036" || c.GetTopicCategory() != casesv1.Category_CATEGORY_RESIDENCE_PERMIT || !got[0].GetOccurTime().AsTime().Equal(day.AsTime()) {
			t.Errorf("consultation = %v, want municipality, topic category and day", got[0])
		}
		if got[1].GetIntervention().GetKind() != "civic_orientation" {
			t.Errorf("intervention = %v", got[1])
		}
		if r := got[2].GetReferral(); r.GetTaxonomyTermId() != "ponte:l2-italian" || r.GetStatus() != casesv1.ReferralStatus_REFERRAL_STATUS_ACCEPTED {
			t.Errorf("referral = %v", got[2])
		}
		if got[3].GetNote() == nil || got[4].GetIssue().GetCode() != "immigration_office_wait" || got[6].GetPhaseChange().GetTo() != casesv1.Phase_PHASE_TAKEN_IN_CHARGE {
			t.Errorf("note, issue, phase change = %v %v %v", got[3], got[4], got[6])
		}
		if r := got[5].GetReferral(); r.GetReferralId() != got[2].GetId() || got[2].GetReferral().GetReferralId() != got[2].GetId() || r.GetStatus() != casesv1.ReferralStatus_REFERRAL_STATUS_COMPLETED {
			t.Errorf("referrals %v and %v: want the second to the same service to carry the first's id as its referral", got[2], got[5])
		}
		for i, rc := range out.Cases[:8] {
			if len(rc.Events) != 0 {
				t.Errorf("entry %d carries %d events, want them on the case's last entry of the page only", i, len(rc.Events))
			}
		}
		// A page that ends before the delete carries the events on its last entry of the case.
		page, err := s.ListReportingCases(as(auth.ServicePrincipal("reporting"), "ListReportingCases"), &casesv1.ListReportingCasesRequest{PageSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Cases) != 2 || len(page.Cases[0].Events) != 0 || len(page.Cases[1].Events) != 7 {
			t.Errorf("a page of two entries carries %d and %d events, want 0 and all 7 (read now)", len(page.Cases[0].Events), len(page.Cases[1].Events))
		}
		raw, err := protojson.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), marker) {
			t.Fatalf("the projection carries free text or an organization/service id: %s", raw)
		}
		if strings.Contains(string(raw), "45") && strings.Contains(string(raw), "minutes") {
			t.Fatalf("the projection carries the minutes spent: %s", raw)
		}
		// The sync feed stays as it was: events are not in it.
		feed, err := s.ListCaseChanges(as(adminP, "ListCaseChanges"), &casesv1.ListCaseChangesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(feed.Changes) != 3 {
			t.Errorf("the sync feed has %d entries, want 3 (create, transition, delete)", len(feed.Changes))
		}
	})
}
