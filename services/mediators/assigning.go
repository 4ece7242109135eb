package mediators

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"

	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/services/mediators/assign"
	"github.com/ponte-network/ponte/services/mediators/billing"
	"github.com/ponte-network/ponte/services/mediators/store"
)

// maxAttempts is how many ranked candidates an auto-assignment tries when concurrent
// writes take the first ones' time between ranking and writing.
const maxAttempts = 5

func cardOn(cards []*mediatorsv1.RateCard, b *mediatorsv1.Booking, loc *time.Location) *mediatorsv1.RateCard {
	return billing.CardOn(cards, billing.Date(b, loc))
}

func lateNotice(card *mediatorsv1.RateCard, at, start time.Time) bool {
	return billing.IsLate(card, at, start)
}

func (s *server) assignConfig() assign.Config {
	return assign.Config{TravelBuffer: s.deps.TravelBuffer, Location: s.deps.Location}
}

func (s *server) request(b *mediatorsv1.Booking, keep string) assign.Request {
	sl := s.slot(b)
	return assign.Request{
		BookingID: b.GetId(), Language: b.GetLanguage(), MinLevel: assign.Level(b.GetMinimumLevel()), Variety: b.GetVariety(),
		District: b.GetDistrictCode(), Municipality: b.GetMunicipalityCode(), InPerson: sl.InPerson,
		ServiceType: int32(b.GetServiceType()), Start: sl.Start, End: sl.End, Keep: keep,
	}
}

// candidates turns mediators into the assign package's candidates, with the bookings
// they hold around the request and their minutes in its month.
func (s *server) candidates(ctx context.Context, ms []*mediatorsv1.Mediator, r assign.Request) ([]assign.Candidate, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.GetId()
	}
	margin := s.deps.TravelBuffer + time.Minute
	held, err := s.store.MediatorBookings(ctx, ids, r.Start.Add(-margin), r.End.Add(margin))
	if err != nil {
		return nil, err
	}
	minutes, err := s.store.MonthMinutes(ctx, ids, r.Start.In(s.deps.Location).Format("2006-01"))
	if err != nil {
		return nil, err
	}
	out := make([]assign.Candidate, len(ms))
	for i, m := range ms {
		c := assign.Candidate{
			ID: m.GetId(), Active: m.GetStatus() == mediatorsv1.MediatorStatus_MEDIATOR_STATUS_ACTIVE,
			Districts: m.GetDistrictCodes(), MonthMinutes: minutes[m.GetId()],
		}
		for _, l := range m.GetLanguages() {
			c.Languages = append(c.Languages, assign.Language{Code: l.GetCode(), Level: assign.Level(l.GetLevel()), Variety: l.GetVariety()})
		}
		for _, q := range m.GetQualifications() {
			aq := assign.Qualification{Name: q.GetName(), Languages: q.GetLanguages(), ValidUntil: q.GetValidUntil()}
			for _, st := range q.GetServiceTypes() {
				aq.ServiceTypes = append(aq.ServiceTypes, int32(st))
			}
			c.Qualifications = append(c.Qualifications, aq)
		}
		for _, w := range m.GetAvailability() {
			c.Availability = append(c.Availability, assign.Window{Weekday: int(w.GetWeekday()), StartMin: minutesOf(w.GetStart()), EndMin: minutesOf(w.GetEnd())})
		}
		for _, a := range m.GetAbsences() {
			c.Absences = append(c.Absences, assign.Interval{Start: a.GetStartTime().AsTime(), End: a.GetEndTime().AsTime()})
		}
		for _, b := range held[m.GetId()] {
			sl := s.slot(b)
			c.Busy = append(c.Busy, assign.Busy{BookingID: b.GetId(), Start: sl.Start, End: sl.End, Municipality: sl.Municipality, InPerson: sl.InPerson})
		}
		out[i] = c
	}
	return out, nil
}

// seriesMediator is the mediator of the series' other occurrences, if one.
func (s *server) seriesMediator(ctx context.Context, b *mediatorsv1.Booking) (string, error) {
	if b.GetSeriesId() == "" {
		return "", nil
	}
	bs, err := s.store.ListBookings(ctx, store.BookingFilter{SeriesID: b.GetSeriesId(), Limit: 60})
	if err != nil {
		return "", err
	}
	for _, o := range bs {
		if o.GetId() != b.GetId() && o.GetMediatorId() != "" && o.GetState() != mediatorsv1.BookingState_BOOKING_STATE_CANCELLED {
			return o.GetMediatorId(), nil
		}
	}
	return "", nil
}

// AssignBooking implements mediatorsv1.MediatorServiceServer.
func (s *server) AssignBooking(ctx context.Context, req *mediatorsv1.AssignBookingRequest) (*mediatorsv1.AssignBookingResponse, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	b, err := s.store.GetBooking(ctx, req.GetId())
	if err != nil || !c.seesBooking(b) {
		return nil, grpcerr.From(notFound("booking", req.GetId()))
	}
	if !c.staffFor(b) {
		return nil, grpcerr.PermissionDenied("the district's coordinators assign its bookings")
	}
	if !inState(b, mediatorsv1.BookingState_BOOKING_STATE_REQUESTED, mediatorsv1.BookingState_BOOKING_STATE_ASSIGNED) {
		return nil, grpcerr.From(stateError(b, "assigned"))
	}
	var ms []*mediatorsv1.Mediator
	keep := ""
	if id := req.GetMediatorId(); id != "" {
		m, err := s.store.GetMediator(ctx, c.actor, id, false)
		if err != nil {
			return nil, grpcerr.From(storage.FieldErrorf(store.ErrNotFound, "mediator_id", "mediator %s not found", id))
		}
		ms = []*mediatorsv1.Mediator{m}
	} else {
		if keep, err = s.seriesMediator(ctx, b); err != nil {
			return nil, grpcerr.From(err)
		}
		ms, err = s.allMediators(ctx, c, store.MediatorFilter{Districts: []string{b.GetDistrictCode()}, Language: b.GetLanguage()})
		if err != nil {
			return nil, grpcerr.From(err)
		}
	}
	r := s.request(b, keep)
	cands, err := s.candidates(ctx, ms, r)
	if err != nil {
		return nil, grpcerr.From(err)
	}
	if req.GetMediatorId() != "" {
		if v := assign.Check(r, cands[0], s.assignConfig()); v != nil {
			return nil, grpcerr.From(storage.FieldErrorf(store.ErrFailedPrecondition, "mediator_id",
				"mediator %s cannot take this booking: %s (rule %s)", req.GetMediatorId(), v.Detail, v.Rule))
		}
	}
	d := assign.Choose(r, cands, s.assignConfig())
	if len(d.Ranked) == 0 {
		return nil, grpcerr.From(storage.Errorf(store.ErrFailedPrecondition, "no mediator meets the rules for this booking (excluded: %s)", excludedSummary(d.Excluded)))
	}
	var lastErr error
	for i, id := range d.Ranked {
		if i == maxAttempts {
			break
		}
		out, err := s.store.UpdateBooking(ctx, c.actor, b.GetId(), "", func(cur *mediatorsv1.Booking) (*mediatorsv1.Booking, store.Slot, error) {
			if !inState(cur, mediatorsv1.BookingState_BOOKING_STATE_REQUESTED, mediatorsv1.BookingState_BOOKING_STATE_ASSIGNED) {
				return nil, store.Slot{}, stateError(cur, "assigned")
			}
			if !cur.GetStartTime().AsTime().Equal(b.GetStartTime().AsTime()) || cur.GetDurationMinutes() != b.GetDurationMinutes() {
				return nil, store.Slot{}, storage.Errorf(store.ErrConflict, "the booking was moved meanwhile: assign it again")
			}
			cur.MediatorId = id
			s.transition(c, cur, mediatorsv1.BookingState_BOOKING_STATE_ASSIGNED, "assigned "+id)
			return cur, s.slot(cur), nil
		})
		var se *store.SlotError
		if errors.As(err, &se) {
			lastErr = err
			continue // taken meanwhile: the next in the ranking
		}
		if err != nil {
			return nil, grpcerr.From(err)
		}
		return &mediatorsv1.AssignBookingResponse{Booking: out, Explanation: explanation(d, i)}, nil
	}
	return nil, grpcerr.From(slotStatus(lastErr))
}

// allMediators reads every mediator matching f, page by page.
func (s *server) allMediators(ctx context.Context, c caller, f store.MediatorFilter) ([]*mediatorsv1.Mediator, error) {
	var out []*mediatorsv1.Mediator
	f.Limit = 500
	for {
		page, err := s.store.ListMediators(ctx, c.actor, f, false)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < f.Limit {
			return out, nil
		}
		f.After = page[len(page)-1].GetId()
	}
}

// explanation is the decision as the API shows it, when the i-th ranked was written.
func explanation(d assign.Decision, i int) *mediatorsv1.AssignmentExplanation {
	e := &mediatorsv1.AssignmentExplanation{MediatorId: d.Ranked[i], Reasons: d.Reasons, ExcludedByRule: map[string]int32{}}
	if i > 0 {
		e.Reasons = append([]string{fmt.Sprintf("the %d mediators ranked before were booked by others meanwhile", i)}, e.Reasons...)
	}
	for rule, n := range d.Excluded {
		e.ExcludedByRule[string(rule)] = int32(n)
	}
	for _, a := range d.Alternatives {
		if a.MediatorID == d.Ranked[i] {
			continue
		}
		e.Alternatives = append(e.Alternatives, &mediatorsv1.Alternative{MediatorId: a.MediatorID, WhyLower: a.WhyLower, MonthMinutes: int32(a.MonthMinutes)})
	}
	return e
}

func excludedSummary(ex map[assign.Rule]int) string {
	if len(ex) == 0 {
		return "no mediator serves the district in this language"
	}
	var parts []string
	for r, n := range ex {
		parts = append(parts, fmt.Sprintf("%s %d", r, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// RescheduleBooking implements mediatorsv1.MediatorServiceServer.
func (s *server) RescheduleBooking(ctx context.Context, req *mediatorsv1.RescheduleBookingRequest) (*mediatorsv1.Booking, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	start := req.GetStartTime().AsTime()
	if start.Second() != 0 || start.Nanosecond() != 0 || start.Year() < 2000 || start.Year() > 2100 {
		return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "start_time", Description: "must be on a whole minute, between 2000 and 2100"})
	}
	if d := req.GetDurationMinutes(); d != 0 && d < 15 {
		return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "duration_minutes", Description: "15 to 480 minutes, or 0 to keep"})
	}
	b, err := s.store.GetBooking(ctx, req.GetId())
	if err != nil || !c.seesBooking(b) {
		return nil, grpcerr.From(notFound("booking", req.GetId()))
	}
	if !(c.staffFor(b) || c.requesterOf(b)) {
		return nil, grpcerr.PermissionDenied("the requester or the district reschedules a booking")
	}
	moved := func(cur *mediatorsv1.Booking) {
		cur.StartTime = timestamppb.New(start)
		if d := req.GetDurationMinutes(); d != 0 {
			cur.DurationMinutes = d
		}
	}
	// Does the mediator still pass every rule at the new time?
	keep := false
	var why string
	if b.GetMediatorId() != "" {
		next := cloneBooking(b)
		moved(next)
		m, err := s.store.GetMediator(ctx, c.actor, b.GetMediatorId(), false)
		if err == nil {
			r := s.request(next, b.GetMediatorId())
			cands, err := s.candidates(ctx, []*mediatorsv1.Mediator{m}, r)
			if err != nil {
				return nil, grpcerr.From(err)
			}
			if v := assign.Check(r, cands[0], s.assignConfig()); v == nil {
				keep = true
			} else {
				why = string(v.Rule)
			}
		}
	}
	write := func(keep bool) (*mediatorsv1.Booking, error) {
		return s.store.UpdateBooking(ctx, c.actor, b.GetId(), "", func(cur *mediatorsv1.Booking) (*mediatorsv1.Booking, store.Slot, error) {
			if !inState(cur, mediatorsv1.BookingState_BOOKING_STATE_REQUESTED, mediatorsv1.BookingState_BOOKING_STATE_ASSIGNED,
				mediatorsv1.BookingState_BOOKING_STATE_CONFIRMED) {
				return nil, store.Slot{}, stateError(cur, "rescheduled")
			}
			if cur.GetMediatorId() != b.GetMediatorId() {
				return nil, store.Slot{}, storage.Errorf(store.ErrConflict, "the booking was reassigned meanwhile: reschedule it again")
			}
			moved(cur)
			switch {
			case cur.GetMediatorId() == "":
				s.transition(c, cur, mediatorsv1.BookingState_BOOKING_STATE_REQUESTED, "rescheduled")
			case keep:
				s.transition(c, cur, mediatorsv1.BookingState_BOOKING_STATE_ASSIGNED, "rescheduled, mediator kept: to confirm again")
			default:
				note := "rescheduled; the mediator is no longer free"
				if why != "" {
					note += " (rule " + why + ")"
				}
				cur.MediatorId = ""
				s.transition(c, cur, mediatorsv1.BookingState_BOOKING_STATE_REQUESTED, note)
			}
			return cur, s.slot(cur), nil
		})
	}
	out, err := write(keep)
	var se *store.SlotError
	if errors.As(err, &se) && keep {
		why = se.Rule // taken meanwhile: release the mediator
		out, err = write(false)
	}
	if err != nil {
		return nil, grpcerr.From(slotStatus(err))
	}
	return out, nil
}
