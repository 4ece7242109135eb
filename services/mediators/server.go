package mediators

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"

	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/libs/pagetoken"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/updatemask"
	"github.com/ponte-network/ponte/libs/validate"
	"github.com/ponte-network/ponte/services/mediators/store"
)

type server struct {
	mediatorsv1.UnimplementedMediatorServiceServer
	deps  Deps
	store store.Store
}

const defaultPageSize = 100

func pageSize(n int32) int {
	if n <= 0 {
		return defaultPageSize
	}
	return int(n)
}

// checkRecord checks m, the resource of request field field, against the text rules
// (checkText: no control characters either, as mediators' text ends in CSV statements and
// calendars) and then libs/validate's.
func checkRecord(field string, m proto.Message) grpcerr.Violations {
	if bad := checkText(field, m); len(bad) > 0 {
		return bad
	}
	return validate.Message(field, m)
}

func notFound(kind, id string) error {
	return storage.Errorf(store.ErrNotFound, "%s %s not found", kind, id)
}

// ---------------------------------------------------------------- mediators

// checkMediator validates a mediator beyond its proto rules: known districts are not
// checked (they are the directory's), dates are real dates, windows end after they
// start, absences end after they start, rate cards have distinct dates.
func (s *server) checkMediator(m *mediatorsv1.Mediator) error {
	bad := checkRecord("mediator", m)
	for i, q := range m.GetQualifications() {
		if d := q.GetValidUntil(); d != "" && !realDate(d) {
			bad.Add(fmt.Sprintf("mediator.qualifications[%d].valid_until", i), "%q is not a date", d)
		}
	}
	for i, w := range m.GetAvailability() {
		if minutesOf(w.GetEnd()) <= minutesOf(w.GetStart()) {
			bad.Add(fmt.Sprintf("mediator.availability[%d].end", i), "must be after the start")
		}
	}
	for i, a := range m.GetAbsences() {
		if !a.GetEndTime().AsTime().After(a.GetStartTime().AsTime()) {
			bad.Add(fmt.Sprintf("mediator.absences[%d].end_time", i), "must be after the start")
		}
	}
	seen := map[string]bool{}
	for i, c := range m.GetRateCards() {
		if !realDate(c.GetValidFrom()) {
			bad.Add(fmt.Sprintf("mediator.rate_cards[%d].valid_from", i), "%q is not a date", c.GetValidFrom())
		}
		if seen[c.GetValidFrom()] {
			bad.Add(fmt.Sprintf("mediator.rate_cards[%d].valid_from", i), "two rate cards from %s", c.GetValidFrom())
		}
		seen[c.GetValidFrom()] = true
		types := map[mediatorsv1.ServiceType]bool{}
		for j, r := range c.GetRates() {
			if types[r.GetServiceType()] {
				bad.Add(fmt.Sprintf("mediator.rate_cards[%d].rates[%d].service_type", i, j), "two rates for one service type")
			}
			types[r.GetServiceType()] = true
		}
	}
	if m.GetStatus() == mediatorsv1.MediatorStatus_MEDIATOR_STATUS_UNSPECIFIED {
		m.Status = mediatorsv1.MediatorStatus_MEDIATOR_STATUS_ACTIVE
	}
	return bad.Err()
}

func realDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

func minutesOf(hhmm string) int {
	if hhmm == "24:00" {
		return 24 * 60
	}
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		return -1
	}
	return t.Hour()*60 + t.Minute()
}

// present returns m redacted for c, auditing the read if personal data remains.
func (s *server) present(ctx context.Context, c caller, ms ...*mediatorsv1.Mediator) error {
	var personal []string
	for _, m := range ms {
		m.Etag = m.GetEtag()
		if c.redact(m) {
			personal = append(personal, m.GetId())
		}
	}
	if len(personal) == 0 {
		return nil
	}
	_, err := s.store.ListMediators(ctx, c.actor, store.MediatorFilter{IDs: personal, Limit: len(personal)}, true)
	return err
}

// CreateMediator implements mediatorsv1.MediatorServiceServer.
func (s *server) CreateMediator(ctx context.Context, req *mediatorsv1.CreateMediatorRequest) (*mediatorsv1.Mediator, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	m := proto.Clone(req.GetMediator()).(*mediatorsv1.Mediator)
	if err := s.checkMediator(m); err != nil {
		return nil, err
	}
	if !c.managesMediator(m) {
		return nil, grpcerr.PermissionDenied("district admins register mediators serving their district")
	}
	m.Etag, m.CreateTime, m.UpdateTime = "", nil, nil
	out, err := s.store.CreateMediator(ctx, c.actor, m)
	if err != nil {
		return nil, grpcerr.From(err)
	}
	c.redact(out)
	return out, nil
}

// GetMediator implements mediatorsv1.MediatorServiceServer.
func (s *server) GetMediator(ctx context.Context, req *mediatorsv1.GetMediatorRequest) (*mediatorsv1.Mediator, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.store.GetMediator(ctx, c.actor, req.GetId(), false)
	if err != nil || !c.seesMediator(m) {
		return nil, grpcerr.From(notFound("mediator", req.GetId()))
	}
	if err := s.present(ctx, c, m); err != nil {
		return nil, grpcerr.From(err)
	}
	return m, nil
}

// ListMediators implements mediatorsv1.MediatorServiceServer.
func (s *server) ListMediators(ctx context.Context, req *mediatorsv1.ListMediatorsRequest) (*mediatorsv1.ListMediatorsResponse, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	query := pagetoken.Query(req.GetDistrictCode(), req.GetLanguage())
	after, err := pagetoken.Decode(req.GetPageToken(), query)
	if err != nil {
		return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "page_token", Description: "not a token of this query"})
	}
	f := store.MediatorFilter{Language: req.GetLanguage(), After: after, Limit: pageSize(req.GetPageSize()) + 1}
	if req.GetDistrictCode() != "" {
		f.Districts = []string{req.GetDistrictCode()}
	}
	if !c.admin && c.org == "" && !c.districtStaff {
		f.IDs = []string{c.mediator} // a mediator sees their own entry only
	}
	ms, err := s.store.ListMediators(ctx, c.actor, f, false)
	if err != nil {
		return nil, grpcerr.From(err)
	}
	resp := &mediatorsv1.ListMediatorsResponse{}
	if len(ms) > pageSize(req.GetPageSize()) {
		ms = ms[:pageSize(req.GetPageSize())]
		resp.NextPageToken = pagetoken.Encode(query, ms[len(ms)-1].GetId())
	}
	if err := s.present(ctx, c, ms...); err != nil {
		return nil, grpcerr.From(err)
	}
	resp.Mediators = ms
	return resp, nil
}

// mediatorSelfFields are what a mediator may change of their own entry.
var mediatorSelfFields = map[string]bool{"availability": true, "absences": true, "email": true, "phone": true}

// UpdateMediator implements mediatorsv1.MediatorServiceServer.
func (s *server) UpdateMediator(ctx context.Context, req *mediatorsv1.UpdateMediatorRequest) (*mediatorsv1.Mediator, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	m := req.GetMediator()
	if m == nil {
		return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "mediator", Description: "is required"})
	}
	if m.GetId() != "" && m.GetId() != req.GetId() {
		return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "mediator.id", Description: "differs from the id of the path"})
	}
	if bad := checkText("mediator", m); len(bad) > 0 {
		return nil, bad.Err()
	}
	out, err := s.store.UpdateMediator(ctx, c.actor, req.GetId(), func(cur *mediatorsv1.Mediator) (*mediatorsv1.Mediator, error) {
		self := c.mediator == cur.GetId() && !c.managesMediator(cur)
		if !c.managesMediator(cur) && !self {
			if c.seesMediator(cur) {
				return nil, grpcerr.PermissionDenied("district admins change the mediators serving their district")
			}
			return nil, notFound("mediator", req.GetId())
		}
		if self {
			paths := req.GetUpdateMask().GetPaths()
			if len(paths) == 0 {
				return nil, grpcerr.PermissionDenied("a mediator changes only availability, absences, email and phone: name them in update_mask")
			}
			for _, p := range paths {
				if !mediatorSelfFields[p] {
					return nil, grpcerr.PermissionDenied(fmt.Sprintf("a mediator may not change %s", p))
				}
			}
		}
		if m.GetEtag() != "" && m.GetEtag() != cur.GetEtag() {
			return nil, storage.FieldErrorf(store.ErrConflict, "etag", "mediator %s is at version %s, not %s", cur.GetId(), cur.GetEtag(), m.GetEtag())
		}
		next, err := updatemask.Apply(cur, m, req.GetUpdateMask(), protoreflect.Name("id"), "etag", "create_time", "update_time")
		if err != nil {
			return nil, err
		}
		if err := s.checkMediator(next); err != nil {
			return nil, err
		}
		if !self && !c.admin && !c.servesOurDistrict(next) {
			return nil, grpcerr.PermissionDenied("the mediator would no longer serve your district")
		}
		return next, nil
	})
	if err != nil {
		return nil, grpcerr.From(err)
	}
	c.redact(out)
	return out, nil
}

// RotateCalendarToken implements mediatorsv1.MediatorServiceServer.
func (s *server) RotateCalendarToken(ctx context.Context, req *mediatorsv1.RotateCalendarTokenRequest) (*mediatorsv1.RotateCalendarTokenResponse, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.store.GetMediator(ctx, c.actor, req.GetId(), false)
	if err != nil || !(c.managesMediator(m) || c.mediator == m.GetId()) {
		return nil, grpcerr.From(notFound("mediator", req.GetId()))
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, grpcerr.From(fmt.Errorf("calendar token: %w", err))
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	if err := s.store.SetCalendarToken(ctx, m.GetId(), tokenHash(token)); err != nil {
		return nil, grpcerr.From(err)
	}
	return &mediatorsv1.RotateCalendarTokenResponse{
		Token:        token,
		CalendarPath: "/v1/mediators/" + m.GetId() + "/calendar.ics?token=" + token,
	}, nil
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// calendarAllowed checks a calendar token in constant time.
func (s *server) calendarAllowed(ctx context.Context, id, token string) error {
	hash, err := s.store.CalendarTokenHash(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return grpcerr.From(err)
	}
	got := tokenHash(token)
	if hash == "" || subtle.ConstantTimeCompare([]byte(hash), []byte(got)) != 1 {
		return grpcerr.From(notFound("calendar of mediator", id)) // unknown mediator and bad token look alike
	}
	return nil
}

// ---------------------------------------------------------------- bookings

func (s *server) slot(b *mediatorsv1.Booking) store.Slot {
	start := b.GetStartTime().AsTime()
	return store.Slot{
		Start: start, End: start.Add(time.Duration(b.GetDurationMinutes()) * time.Minute),
		Municipality: b.GetMunicipalityCode(), InPerson: b.GetMode() == mediatorsv1.Mode_MODE_IN_PERSON,
		Buffer: s.deps.TravelBuffer,
	}
}

func (s *server) transition(c caller, b *mediatorsv1.Booking, to mediatorsv1.BookingState, note string) {
	b.Transitions = append(b.Transitions, &mediatorsv1.Transition{
		From: b.GetState(), To: to, Actor: c.p.Subject, Time: timestamppb.New(s.deps.Now()), Note: note,
	})
	b.State = to
}

// checkBooking validates a booking to create.
func (s *server) checkBooking(field string, b *mediatorsv1.Booking) grpcerr.Violations {
	bad := checkRecord(field, b)
	if b.GetMunicipalityCode() != "" {
		if _, ok := s.deps.Catalog.Municipality(b.GetMunicipalityCode()); !ok {
			bad.Add(field+".municipality_code", "unknown ISTAT municipality %s", b.GetMunicipalityCode())
		}
	}
	if st := b.GetStartTime(); st != nil {
		t := st.AsTime()
		if t.Second() != 0 || t.Nanosecond() != 0 {
			bad.Add(field+".start_time", "must be on a whole minute")
		}
		if t.Year() < 2000 || t.Year() > 2100 {
			bad.Add(field+".start_time", "is out of range")
		}
	}
	switch b.GetMode() {
	case mediatorsv1.Mode_MODE_IN_PERSON:
		if strings.TrimSpace(b.GetAddress()) == "" {
			bad.Add(field+".address", "is required for an in-person booking")
		}
	case mediatorsv1.Mode_MODE_VIDEO:
		if b.GetMeetingLink() == "" {
			bad.Add(field+".meeting_link", "is required for a video booking")
		}
	}
	return bad
}

// CreateBooking implements mediatorsv1.MediatorServiceServer.
func (s *server) CreateBooking(ctx context.Context, req *mediatorsv1.CreateBookingRequest) (*mediatorsv1.Booking, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	in := proto.Clone(req.GetBooking()).(*mediatorsv1.Booking)
	if bad := s.checkBooking("booking", in); len(bad) > 0 {
		return nil, bad.Err()
	}
	if n := req.GetWeeklyOccurrences(); n == 1 {
		return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "weekly_occurrences", Description: "a series has 2 to 52 occurrences (0 for a single booking)"})
	}
	if in.RequestingOrganizationId == "" {
		in.RequestingOrganizationId = c.p.Organization
	}
	switch {
	case c.admin:
	case c.districtStaff && c.coversPlace(in.GetDistrictCode(), in.GetMunicipalityCode()):
	case c.org != "" && in.GetRequestingOrganizationId() == c.org:
	default:
		return nil, grpcerr.PermissionDenied(fmt.Sprintf("you may not request bookings for organization %q in district %q",
			in.GetRequestingOrganizationId(), in.GetDistrictCode()))
	}
	if in.RequestingOrganizationId == "" {
		return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "booking.requesting_organization_id", Description: "is required when your token names no organization"})
	}
	if in.PayerOrganizationId == "" {
		in.PayerOrganizationId = in.RequestingOrganizationId
	}
	if in.MinimumLevel == 0 {
		in.MinimumLevel = mediatorsv1.LanguageLevel_LANGUAGE_LEVEL_B2
	}
	if in.Urgency == 0 {
		in.Urgency = mediatorsv1.Urgency_URGENCY_NORMAL
	}
	in.Id, in.SeriesId, in.MediatorId, in.Etag = "", "", "", ""
	in.Transitions, in.Cancellation, in.Completion = nil, nil, nil
	in.State = 0
	s.transition(c, in, mediatorsv1.BookingState_BOOKING_STATE_REQUESTED, "requested")
	n := max(1, int(req.GetWeeklyOccurrences()))
	bs := make([]*mediatorsv1.Booking, n)
	slots := make([]store.Slot, n)
	for i := range n {
		b := proto.Clone(in).(*mediatorsv1.Booking)
		// The same wall-clock time every week, across clock changes.
		local := in.GetStartTime().AsTime().In(s.deps.Location)
		b.StartTime = timestamppb.New(local.AddDate(0, 0, 7*i))
		bs[i], slots[i] = b, s.slot(b)
	}
	out, err := s.store.CreateBookings(ctx, c.actor, req.GetRequestId(), bs, slots)
	if err != nil {
		return nil, grpcerr.From(err)
	}
	if !c.seesBooking(out[0]) {
		return nil, grpcerr.From(notFound("booking", out[0].GetId())) // a request id of another's booking
	}
	return out[0], nil
}

// GetBooking implements mediatorsv1.MediatorServiceServer.
func (s *server) GetBooking(ctx context.Context, req *mediatorsv1.GetBookingRequest) (*mediatorsv1.Booking, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	b, err := s.store.GetBooking(ctx, req.GetId())
	if err != nil || !c.seesBooking(b) {
		return nil, grpcerr.From(notFound("booking", req.GetId()))
	}
	return b, nil
}

// ListBookings implements mediatorsv1.MediatorServiceServer.
func (s *server) ListBookings(ctx context.Context, req *mediatorsv1.ListBookingsRequest) (*mediatorsv1.ListBookingsResponse, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	query := pagetoken.Query(req.GetMediatorId(), req.GetState().String(), req.GetSeriesId(),
		req.GetStartAfter().String(), req.GetStartBefore().String())
	cursor, err := pagetoken.Decode(req.GetPageToken(), query)
	if err != nil {
		return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "page_token", Description: "not a token of this query"})
	}
	f := c.bookingFilter()
	if req.GetMediatorId() != "" {
		if f.MediatorID != "" && f.MediatorID != req.GetMediatorId() {
			return &mediatorsv1.ListBookingsResponse{}, nil
		}
		f.MediatorID = req.GetMediatorId()
	}
	f.State, f.SeriesID = req.GetState(), req.GetSeriesId()
	if req.GetStartAfter() != nil {
		f.StartAfter = req.GetStartAfter().AsTime()
	}
	if req.GetStartBefore() != nil {
		f.StartBefore = req.GetStartBefore().AsTime()
	}
	if cursor != "" {
		us, id, ok := strings.Cut(cursor, "/")
		t, perr := time.Parse(time.RFC3339Nano, us)
		if !ok || perr != nil {
			return nil, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "page_token", Description: "malformed"})
		}
		f.AfterStart, f.AfterID = t, id
	}
	size := pageSize(req.GetPageSize())
	f.Limit = size + 1
	bs, err := s.store.ListBookings(ctx, f)
	if err != nil {
		return nil, grpcerr.From(err)
	}
	resp := &mediatorsv1.ListBookingsResponse{}
	if len(bs) > size {
		bs = bs[:size]
		last := bs[len(bs)-1]
		resp.NextPageToken = pagetoken.Encode(query, last.GetStartTime().AsTime().Format(time.RFC3339Nano)+"/"+last.GetId())
	}
	resp.Bookings = bs
	return resp, nil
}

// update loads a booking the caller sees, runs fn on it in the store's transaction and
// returns the result; fn returns the slot to keep (s.slot(b) unless it changes).
func (s *server) update(ctx context.Context, c caller, id string, fn func(b *mediatorsv1.Booking) error) (*mediatorsv1.Booking, error) {
	out, err := s.store.UpdateBooking(ctx, c.actor, id, "", func(b *mediatorsv1.Booking) (*mediatorsv1.Booking, store.Slot, error) {
		if !c.seesBooking(b) {
			return nil, store.Slot{}, notFound("booking", id)
		}
		if err := fn(b); err != nil {
			return nil, store.Slot{}, err
		}
		return b, s.slot(b), nil
	})
	if err != nil {
		return nil, grpcerr.From(slotStatus(err))
	}
	return out, nil
}

// slotStatus gives a slot error its rule as the field of a failed precondition.
func slotStatus(err error) error {
	var se *store.SlotError
	if errors.As(err, &se) {
		return storage.FieldErrorf(store.ErrFailedPrecondition, "mediator_id", "%s (rule %s)", se.Error(), se.Rule)
	}
	return err
}

func stateError(b *mediatorsv1.Booking, action string) error {
	return storage.Errorf(store.ErrFailedPrecondition, "a booking in state %s cannot be %s", stateName(b.GetState()), action)
}

func stateName(s mediatorsv1.BookingState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "BOOKING_STATE_"))
}

func inState(b *mediatorsv1.Booking, states ...mediatorsv1.BookingState) bool {
	for _, s := range states {
		if b.GetState() == s {
			return true
		}
	}
	return false
}

// ConfirmBooking implements mediatorsv1.MediatorServiceServer.
func (s *server) ConfirmBooking(ctx context.Context, req *mediatorsv1.ConfirmBookingRequest) (*mediatorsv1.Booking, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	return s.update(ctx, c, req.GetId(), func(b *mediatorsv1.Booking) error {
		if !c.mediatorOf(b) && !c.admin {
			return grpcerr.PermissionDenied("only the assigned mediator confirms a booking")
		}
		if !inState(b, mediatorsv1.BookingState_BOOKING_STATE_ASSIGNED) {
			return stateError(b, "confirmed")
		}
		s.transition(c, b, mediatorsv1.BookingState_BOOKING_STATE_CONFIRMED, "confirmed by the mediator")
		return nil
	})
}

// CancelBooking implements mediatorsv1.MediatorServiceServer.
func (s *server) CancelBooking(ctx context.Context, req *mediatorsv1.CancelBookingRequest) (*mediatorsv1.Booking, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	if bad := checkText("reason", &mediatorsv1.CancelBookingRequest{Reason: req.GetReason()}); len(bad) > 0 {
		return nil, bad.Err()
	}
	now := s.deps.Now()
	var cards []*mediatorsv1.RateCard
	if b, err := s.store.GetBooking(ctx, req.GetId()); err == nil && b.GetMediatorId() != "" {
		if m, err := s.store.GetMediator(ctx, c.actor, b.GetMediatorId(), false); err == nil {
			cards = m.GetRateCards()
		}
	}
	return s.update(ctx, c, req.GetId(), func(b *mediatorsv1.Booking) error {
		if !(c.staffFor(b) || c.requesterOf(b) || c.mediatorOf(b)) {
			return grpcerr.PermissionDenied("you may not cancel this booking")
		}
		if !inState(b, mediatorsv1.BookingState_BOOKING_STATE_REQUESTED, mediatorsv1.BookingState_BOOKING_STATE_ASSIGNED,
			mediatorsv1.BookingState_BOOKING_STATE_CONFIRMED) {
			return stateError(b, "cancelled")
		}
		kind := mediatorsv1.CancellationKind_CANCELLATION_KIND_VOID
		start := b.GetStartTime().AsTime()
		card := cardOn(cards, b, s.deps.Location)
		if b.GetMediatorId() != "" && !c.mediatorOf(b) && lateNotice(card, now, start) {
			kind = mediatorsv1.CancellationKind_CANCELLATION_KIND_LATE
		}
		b.Cancellation = &mediatorsv1.Cancellation{Kind: kind, CancelledBy: c.p.Subject, Time: timestamppb.New(now), Reason: req.GetReason()}
		note := "void cancellation"
		if kind == mediatorsv1.CancellationKind_CANCELLATION_KIND_LATE {
			note = "late cancellation"
		}
		s.transition(c, b, mediatorsv1.BookingState_BOOKING_STATE_CANCELLED, note)
		return nil
	})
}

// CompleteBooking implements mediatorsv1.MediatorServiceServer.
func (s *server) CompleteBooking(ctx context.Context, req *mediatorsv1.CompleteBookingRequest) (*mediatorsv1.Booking, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	as, ae := req.GetActualStartTime().AsTime(), req.GetActualEndTime().AsTime()
	var bad grpcerr.Violations
	if !ae.After(as) {
		bad.Add("actual_end_time", "must be after the actual start")
	}
	if ae.Sub(as) > 12*time.Hour {
		bad.Add("actual_end_time", "at most 12 hours after the actual start")
	}
	if as.After(s.deps.Now().Add(5 * time.Minute)) {
		bad.Add("actual_start_time", "is in the future")
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	return s.update(ctx, c, req.GetId(), func(b *mediatorsv1.Booking) error {
		start := b.GetStartTime().AsTime()
		if as.Before(start.Add(-12*time.Hour)) || as.After(start.Add(12*time.Hour)) {
			return grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "actual_start_time", Description: "must be within 12 hours of the booked start"})
		}
		correction := inState(b, mediatorsv1.BookingState_BOOKING_STATE_COMPLETED)
		switch {
		case correction:
			// Times are corrected after a dispute, by the coordinators only.
			if !(c.admin || c.districtAdmin && c.staffFor(b)) {
				return grpcerr.PermissionDenied("completed times are corrected by the district admin")
			}
		case inState(b, mediatorsv1.BookingState_BOOKING_STATE_ASSIGNED, mediatorsv1.BookingState_BOOKING_STATE_CONFIRMED):
			if !(c.mediatorOf(b) || c.staffFor(b)) {
				return grpcerr.PermissionDenied("the mediator or the district records a completion")
			}
		default:
			return stateError(b, "completed")
		}
		b.Completion = &mediatorsv1.Completion{
			ActualStartTime: timestamppb.New(as), ActualEndTime: timestamppb.New(ae), RecordedBy: c.p.Subject,
		}
		note := "completed"
		if correction {
			note = "times corrected"
		}
		s.transition(c, b, mediatorsv1.BookingState_BOOKING_STATE_COMPLETED, note)
		return nil
	})
}

// ReviewCompletion implements mediatorsv1.MediatorServiceServer.
func (s *server) ReviewCompletion(ctx context.Context, req *mediatorsv1.ReviewCompletionRequest) (*mediatorsv1.Booking, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	if bad := checkText("note", &mediatorsv1.ReviewCompletionRequest{Note: req.GetNote()}); len(bad) > 0 {
		return nil, bad.Err()
	}
	return s.update(ctx, c, req.GetId(), func(b *mediatorsv1.Booking) error {
		if !c.requesterOf(b) && !c.admin {
			return grpcerr.PermissionDenied("the requesting organization reviews the recorded times")
		}
		if !inState(b, mediatorsv1.BookingState_BOOKING_STATE_COMPLETED) {
			return stateError(b, "reviewed")
		}
		b.Completion.Review, b.Completion.ReviewNote = req.GetReview(), req.GetNote()
		note := "times confirmed by the requester"
		if req.GetReview() == mediatorsv1.CompletionReview_COMPLETION_REVIEW_DISPUTED {
			note = "times disputed by the requester"
		}
		b.Transitions = append(b.Transitions, &mediatorsv1.Transition{From: b.GetState(), To: b.GetState(), Actor: c.p.Subject,
			Time: timestamppb.New(s.deps.Now()), Note: note})
		return nil
	})
}

// MarkNoShow implements mediatorsv1.MediatorServiceServer.
func (s *server) MarkNoShow(ctx context.Context, req *mediatorsv1.MarkNoShowRequest) (*mediatorsv1.Booking, error) {
	c, err := s.who(ctx)
	if err != nil {
		return nil, err
	}
	return s.update(ctx, c, req.GetId(), func(b *mediatorsv1.Booking) error {
		if !(c.staffFor(b) || c.requesterOf(b) || c.mediatorOf(b)) {
			return grpcerr.PermissionDenied("you may not mark this booking")
		}
		if !inState(b, mediatorsv1.BookingState_BOOKING_STATE_ASSIGNED, mediatorsv1.BookingState_BOOKING_STATE_CONFIRMED) {
			return stateError(b, "marked as a no-show")
		}
		if s.deps.Now().Before(b.GetStartTime().AsTime()) {
			return storage.Errorf(store.ErrFailedPrecondition, "a booking is a no-show only once it has started")
		}
		s.transition(c, b, mediatorsv1.BookingState_BOOKING_STATE_NO_SHOW, "the person did not come")
		return nil
	})
}
