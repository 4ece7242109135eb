package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/libs/storage/storagetest"
	"github.com/ponte-network/ponte/services/reporting/catalog"
	"github.com/ponte-network/ponte/services/reporting/ingest"
	"github.com/ponte-network/ponte/services/reporting/store"
	"github.com/ponte-network/ponte/services/reporting/store/sqlcore"
)

// caseLog is a reporting projection held in memory: the entries cases would send, in
// order, each with the case's events as ListReportingCases reads them.
type caseLog struct{ entries []*casesv1.ReportingCase }

func (l *caseLog) add(op string, k *casesv1.Case, events ...*casesv1.ReportingEvent) {
	l.entries = append(l.entries, &casesv1.ReportingCase{
		Position: int64(len(l.entries) + 1), Op: op, Time: timestamppb.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)),
		Case: k, Sex: casesv1.Sex_SEX_FEMALE, Citizenship: "MA", Events: events,
	})
}

func (l *caseLog) ListReportingCases(_ context.Context, req *casesv1.ListReportingCasesRequest, _ ...grpc.CallOption) (*casesv1.ListReportingCasesResponse, error) {
	resp := &casesv1.ListReportingCasesResponse{NextAfter: req.GetAfter(), Head: int64(len(l.entries))}
	for _, e := range l.entries {
		if e.Position > req.GetAfter() && len(resp.Cases) < int(req.GetPageSize()) {
			resp.Cases = append(resp.Cases, e)
			resp.NextAfter = e.Position
		}
	}
	return resp, nil
}

func on(day int) *timestamppb.Timestamp {
	return timestamppb.New(time.Date(2026, 3, day, 10, 0, 0, 0, time.UTC))
}

func consultation(id string, day int, municipality string, topic casesv1.Category) *casesv1.ReportingEvent {
	return &casesv1.ReportingEvent{Id: id, OccurTime: on(day), Kind: &casesv1.ReportingEvent_Consultation{Consultation: &casesv1.ReportingConsultation{
		RequesterMunicipalityCode: municipality, TopicCategory: topic}}}
}

func intervention(id string, day int, kind string) *casesv1.ReportingEvent {
	return &casesv1.ReportingEvent{Id: id, OccurTime: on(day), Kind: &casesv1.ReportingEvent_Intervention{Intervention: &casesv1.ReportingIntervention{Kind: kind}}}
}

func referral(id, first string, day int, term string, s casesv1.ReferralStatus) *casesv1.ReportingEvent {
	return &casesv1.ReportingEvent{Id: id, OccurTime: on(day), Kind: &casesv1.ReportingEvent_Referral{Referral: &casesv1.ReportingReferral{
		TaxonomyTermId: term, Status: s, ReferralId: first}}}
}

func issue(id string, day int, code string) *casesv1.ReportingEvent {
	return &casesv1.ReportingEvent{Id: id, OccurTime: on(day), Kind: &casesv1.ReportingEvent_Issue{Issue: &casesv1.ReportingIssue{Code: code}}}
}

func note(id string, day int) *casesv1.ReportingEvent {
	return &casesv1.ReportingEvent{Id: id, OccurTime: on(day), Kind: &casesv1.ReportingEvent_Note{Note: &casesv1.ReportingNote{}}}
}

// fact returns the stored fact id with its cell decoded, or ok false.
func fact(t *testing.T, st store.Store, id string) (store.Fact, map[string]string, bool) {
	t.Helper()
	f, err := st.Fact(t.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Fact{}, nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return f, store.DecodeCell(f.Cell), true
}

func TestCaseEventsMakeFactsThatFollowTheirCase(t *testing.T) {
	t.Parallel()
	keys, err := ingest.NewKeys([]byte("a reporting secret of the test"))
	if err != nil {
		t.Fatal(err)
	}
	k := &casesv1.Case{Id: "c1", PersonId: "p1", MunicipalityCode: "019035", DistrictCode: "cremona", Category: casesv1.Category_CATEGORY_RENEWAL, Phase: casesv1.Phase_PHASE_INTAKE, CreateTime: on(1)}
	events := []*casesv1.ReportingEvent{
		consultation("1", 2, "019036", casesv1.Category_CATEGORY_RESIDENCE_PERMIT),
		intervention("2", 3, "civic_orientation"),
		referral("3", "3", 4, "ponte:l2-italian", casesv1.ReferralStatus_REFERRAL_STATUS_SENT),
		issue("4", 5, "immigration_office_wait"),
		note("5", 5),
		referral("6", "3", 9, "ponte:l2-italian", casesv1.ReferralStatus_REFERRAL_STATUS_COMPLETED),
		issue("7", 8, "immigration_office_wait"),
		consultation("8", 9, "", casesv1.Category_CATEGORY_UNSPECIFIED),
	}
	moved := &casesv1.Case{Id: "c1", PersonId: "p1", MunicipalityCode: "019037", DistrictCode: "cremona", Category: casesv1.Category_CATEGORY_RENEWAL, Phase: casesv1.Phase_PHASE_INTAKE, CreateTime: on(1)}
	day := func(d int) int32 { return store.DayOf(on(d).AsTime()) }
	person, _ := keys.Person("p1")
	authority, _ := keys.Authority("019036")

	storagetest.Both(t, sqlcore.Migrations(), func(t *testing.T, newConfig storagetest.NewConfig) {
		tests := []struct {
			name  string
			feed  func(l *caseLog)
			check func(t *testing.T, st store.Store)
		}{
			{"every kind of event makes its fact, codes only, and notes none", func(l *caseLog) {
				l.add("upsert", k)
				for i := range events {
					l.add("upsert", k, events[:i+1]...) // each event's entry: the events as read then
				}
			}, func(t *testing.T, st store.Store) {
				f, c, ok := fact(t, st, "case:c1:event:1")
				if !ok || f.Kind != catalog.KindConsultation || f.Day != day(2) || c[catalog.DimMunicipality] != "019036" || c[catalog.DimDistrict] != "cremona" || c[catalog.DimTopic] != "residence_permit" || f.Person != authority {
					t.Errorf("consultation = %+v %v, want day 2, the requesting municipality, topic, the authority's pseudonym", f, c)
				}
				if f, c, ok := fact(t, st, "case:c1:event:8"); !ok || f.Person != "" || c[catalog.DimMunicipality] != "" || c[catalog.DimTopic] != "" {
					t.Errorf("consultation without municipality = %+v %v, want no authority, no topic", f, c)
				}
				f, c, ok = fact(t, st, "case:c1:event:2")
				if !ok || f.Kind != catalog.KindIntervention || f.Person != person || c[catalog.DimInterventionKind] != "civic_orientation" || c[catalog.DimSex] != "F" || c[catalog.DimMunicipality] != "019035" {
					t.Errorf("intervention = %+v %v, want the case's person and cell, its kind", f, c)
				}
				f, c, ok = fact(t, st, "case:c1:referral:3")
				if !ok || f.Day != day(4) || c[catalog.DimOutcome] != "completed" || c[catalog.DimTaxonomyTerm] != "ponte:l2-italian" || f.Person != "" {
					t.Errorf("referral = %+v %v, want one referral, first day, latest outcome", f, c)
				}
				if _, _, ok := fact(t, st, "case:c1:referral:6"); ok {
					t.Error("the second event of a referral made a second referral")
				}
				f, c, ok = fact(t, st, "case:c1:issue:immigration_office_wait")
				if !ok || f.Day != day(5) || c[catalog.DimIssue] != "immigration_office_wait" {
					t.Errorf("issue = %+v %v, want one per case and tag, first day", f, c)
				}
				if _, _, ok := fact(t, st, "case:c1:event:5"); ok {
					t.Error("a note made a fact")
				}
			}},
			{"a corrected municipality moves the case's event facts, not the consultation's", func(l *caseLog) {
				l.add("upsert", k, events...)
				l.add("upsert", moved, events...)
			}, func(t *testing.T, st store.Store) {
				for _, id := range []string{"case:c1:event:2", "case:c1:referral:3", "case:c1:issue:immigration_office_wait"} {
					if _, c, ok := fact(t, st, id); !ok || c[catalog.DimMunicipality] != "019037" {
						t.Errorf("%s cell = %v, want moved to 019037", id, c)
					}
				}
				if _, c, _ := fact(t, st, "case:c1:event:1"); c[catalog.DimMunicipality] != "019036" {
					t.Errorf("consultation cell = %v, want the requesting municipality still", c)
				}
			}},
			{"events on the case's last entry of a page only: the same facts, in the last cell", func(l *caseLog) {
				l.add("upsert", k)
				l.add("upsert", k)
				l.add("upsert", moved, events...)
			}, func(t *testing.T, st store.Store) {
				if _, c, ok := fact(t, st, "case:c1:event:2"); !ok || c[catalog.DimMunicipality] != "019037" {
					t.Errorf("intervention cell = %v, want in 019037", c)
				}
				if _, _, ok := fact(t, st, "case:c1:referral:3"); !ok {
					t.Error("no referral fact")
				}
			}},
			{"a deleted case takes every event fact away", func(l *caseLog) {
				l.add("upsert", k, events...)
				l.add("delete", k, events...)
			}, func(t *testing.T, st store.Store) {
				for _, kind := range []string{catalog.KindConsultation, catalog.KindIntervention, catalog.KindReferral, catalog.KindIssueRaised} {
					rows, err := st.Counts(t.Context(), kind, 0, 40000, false)
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range rows {
						if r.N != 0 {
							t.Errorf("%s: %d facts left in %s after the delete", kind, r.N, r.Cell)
						}
					}
					persons, err := st.Persons(t.Context(), kind, 0, 40000)
					if err != nil || len(persons) != 0 {
						t.Errorf("%s: presences %v, %v after the delete", kind, persons, err)
					}
				}
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				st, err := sqlcore.Open(t.Context(), newConfig(t))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = st.Close() })
				l := &caseLog{}
				tt.feed(l)
				f := &ingest.Follower{Sources: []ingest.Source{ingest.CaseSource{Feed: l, Keys: keys}}, Store: st}
				if _, err := f.Sync(t.Context()); err != nil {
					t.Fatal(err)
				}
				tt.check(t, st)
				// A rebuild from zero gives the same facts.
				before := snapshot(t, st)
				if err := f.Rebuild(t.Context(), st.Reset); err != nil {
					t.Fatal(err)
				}
				if after := snapshot(t, st); after != before {
					t.Errorf("after a rebuild:\n%s\nwant\n%s", after, before)
				}
				tt.check(t, st)
			})
		}
	})
}

// snapshot is the rollups and presences of the case events' facts, as text.
func snapshot(t *testing.T, st store.Store) string {
	t.Helper()
	var out string
	for _, kind := range []string{catalog.KindConsultation, catalog.KindIntervention, catalog.KindReferral, catalog.KindIssueRaised} {
		rows, err := st.Counts(t.Context(), kind, 0, 40000, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.N != 0 {
				out += fmt.Sprintln(kind, r.Period, r.Cell, r.N, r.KeySum)
			}
		}
		persons, err := st.Persons(t.Context(), kind, 0, 40000)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range persons {
			out += fmt.Sprintln(kind, "presence", p.Day, p.Cell, p.Person, p.PersonKey)
		}
	}
	return out
}
