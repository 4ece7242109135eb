package cases

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/services/cases/store"
)

// reportingService is the service principal that may read the reporting projection.
const reportingService = "reporting"

// RecordReportingFeed is an audit record type: a read of the reporting projection,
// whose record id is the range read. Each person whose sex and citizenship it reads is
// audited as a person read too.
const RecordReportingFeed = "reporting_feed"

// ListReportingCases implements casesv1.CaseServiceServer: the case feed with the sex
// and citizenship of each case's person and, on the case's last entry of the page, the
// anonymous part of all its events (ReportingEvent; an entry of topic case_event,
// written when an event is added, is sent as an upsert of its case), for service:reporting only (the policy lets
// nobody else in; the check here is defence in depth). Sex and citizenship are read from
// the person's record when the entry is read: a rebuild after a correction uses the
// corrected values, and an erased person has none.
func (s *server) ListReportingCases(ctx context.Context, req *casesv1.ListReportingCasesRequest) (*casesv1.ListReportingCasesResponse, error) {
	p, ok := auth.FromContext(ctx)
	if name, isService := p.ServiceName(); !ok || !isService || name != reportingService {
		return nil, grpcerr.PermissionDenied("only the reporting service reads this projection")
	}
	method := "/ponte.cases.v1.CaseService/ListReportingCases"
	actor := store.Actor{Subject: p.Subject, Method: method}
	head, err := s.store.Changes().Head(ctx)
	if err != nil {
		return nil, grpcerr.From(fmt.Errorf("read case feed head: %w", err))
	}
	entries, err := s.store.Changes().List(ctx, req.GetAfter(), pageSize(req.GetPageSize()))
	if err != nil {
		return nil, grpcerr.From(fmt.Errorf("read case changes: %w", err))
	}
	resp := &casesv1.ListReportingCasesResponse{NextAfter: req.GetAfter(), Head: head}
	persons := map[store.PersonRef]*casesv1.Person{}
	all := store.Scope{All: true}
	// Each case's events ride on its last entry of the page only: reporting applies a page
	// in one transaction, so the facts are the same, and a case with many events written
	// one by one does not make a page of n entries carrying n events each.
	var caseIDs []string
	lastOf := map[string]int64{}
	for _, e := range entries {
		if e.Topic == store.TopicCase || e.Topic == store.TopicCaseEvent {
			if _, seen := lastOf[e.Key]; !seen {
				caseIDs = append(caseIDs, e.Key)
			}
			lastOf[e.Key] = e.Position
		}
	}
	events, err := s.store.ReportingEvents(ctx, caseIDs)
	if err != nil {
		return nil, grpcerr.From(err)
	}
	for _, e := range entries {
		resp.NextAfter = e.Position
		if e.Topic != store.TopicCase && e.Topic != store.TopicCaseEvent {
			continue
		}
		k := &casesv1.Case{}
		if err := protojson.Unmarshal(e.Payload, k); err != nil {
			return nil, grpcerr.From(fmt.Errorf("change %d payload: %w", e.Position, err))
		}
		rc := &casesv1.ReportingCase{Position: e.Position, Op: string(e.Op), Time: timestamppb.New(e.Time), Case: k}
		var caseEvents []*casesv1.CaseEvent
		if lastOf[e.Key] == e.Position {
			caseEvents = events[e.Key]
		}
		firstReferral := map[string]string{} // service id → the id of the case's first referral event to it
		for _, ev := range caseEvents {
			re := ReportingEvent(ev)
			if r := ev.GetReferral(); r != nil {
				first, ok := firstReferral[r.GetServiceId()]
				if !ok {
					first = ev.GetId()
					firstReferral[r.GetServiceId()] = first
				}
				re.GetReferral().ReferralId = first
			}
			rc.Events = append(rc.Events, re)
		}
		if id := k.GetPersonId(); id != "" {
			ref := store.PersonRef{ID: id, Owner: k.GetPersonOrganizationId()}
			person, seen := persons[ref]
			if !seen {
				person, err = s.store.GetPerson(ctx, actor, all, ref)
				if err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, store.ErrAmbiguousPerson) {
					return nil, grpcerr.From(err)
				}
				persons[ref] = person // nil when deleted: no sex, no citizenship
			}
			rc.Sex, rc.Citizenship = person.GetSex(), person.GetNationality()
		}
		resp.Cases = append(resp.Cases, rc)
	}
	rng := fmt.Sprintf("%d-%d", req.GetAfter(), resp.NextAfter)
	if err := s.store.RecordAudit(ctx, actor, store.ActionRead, RecordReportingFeed, rng); err != nil {
		return nil, grpcerr.From(err)
	}
	return resp, nil
}

// ReportingEvent is the anonymous part of a case event: its id, when it happened, its
// kind and its codes. It copies fields one by one, never the event, so that a field
// added to an event later reaches reporting only when it is added here:
// descriptions, topics, notes, reasons, the author, the requesting organization, the
// referral's service and the minutes spent never do.
func ReportingEvent(ev *casesv1.CaseEvent) *casesv1.ReportingEvent {
	out := &casesv1.ReportingEvent{Id: ev.GetId(), OccurTime: ev.GetOccurTime()}
	switch k := ev.GetKind().(type) {
	case *casesv1.CaseEvent_Consultation:
		out.Kind = &casesv1.ReportingEvent_Consultation{Consultation: &casesv1.ReportingConsultation{
			RequesterMunicipalityCode: k.Consultation.GetRequesterMunicipalityCode(),
			TopicCategory:             k.Consultation.GetTopicCategory(),
		}}
	case *casesv1.CaseEvent_Intervention:
		out.Kind = &casesv1.ReportingEvent_Intervention{Intervention: &casesv1.ReportingIntervention{Kind: k.Intervention.GetKind()}}
	case *casesv1.CaseEvent_Referral:
		out.Kind = &casesv1.ReportingEvent_Referral{Referral: &casesv1.ReportingReferral{
			TaxonomyTermId: k.Referral.GetTaxonomyTermId(),
			Status:         k.Referral.GetStatus(),
		}}
	case *casesv1.CaseEvent_PhaseChange:
		out.Kind = &casesv1.ReportingEvent_PhaseChange{PhaseChange: &casesv1.ReportingPhaseChange{From: k.PhaseChange.GetFrom(), To: k.PhaseChange.GetTo()}}
	case *casesv1.CaseEvent_Note:
		out.Kind = &casesv1.ReportingEvent_Note{Note: &casesv1.ReportingNote{}}
	case *casesv1.CaseEvent_Issue:
		out.Kind = &casesv1.ReportingEvent_Issue{Issue: &casesv1.ReportingIssue{Code: k.Issue.GetCode()}}
	}
	return out
}
