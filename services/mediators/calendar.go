package mediators

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
	"google.golang.org/genproto/googleapis/api/httpbody"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"

	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/services/mediators/store"
)

// The calendar feed holds the bookings of the past 60 days and the next 400.
const (
	calendarPast   = 60 * 24 * time.Hour
	calendarFuture = 400 * 24 * time.Hour
	calendarMax    = 2000
)

// GetMediatorCalendar implements mediatorsv1.MediatorServiceServer.
func (s *server) GetMediatorCalendar(ctx context.Context, req *mediatorsv1.GetMediatorCalendarRequest) (*httpbody.HttpBody, error) {
	if err := s.calendarAllowed(ctx, req.GetId(), req.GetToken()); err != nil {
		return nil, err
	}
	now := s.deps.Now()
	bs, err := s.store.ListBookings(ctx, store.BookingFilter{
		MediatorID: req.GetId(), StartAfter: now.Add(-calendarPast), StartBefore: now.Add(calendarFuture), Limit: calendarMax,
	})
	if err != nil {
		return nil, grpcerr.From(err)
	}
	data := s.calendar(req.GetId(), bs, now)
	return &httpbody.HttpBody{ContentType: "text/calendar; charset=utf-8", Data: []byte(data)}, nil
}

// calendar renders bookings as an iCalendar feed in Europe/Rome, with its VTIMEZONE.
// Each booking is one VEVENT whose UID never changes and whose SEQUENCE is the
// booking's version, so a move or a cancellation (STATUS:CANCELLED) supersedes what a
// phone calendar kept.
func (s *server) calendar(mediatorID string, bs []*mediatorsv1.Booking, now time.Time) string {
	cal := ics.NewCalendarFor("Ponte")
	cal.SetMethod(ics.MethodPublish)
	cal.SetName("Ponte — " + mediatorID)
	cal.SetXWRCalName("Ponte — " + mediatorID)
	tzid := s.deps.Location.String()
	cal.SetXWRTimezone(tzid)
	cal.AddVTimezone(vtimezone(tzid))
	for _, b := range bs {
		if b.GetMediatorId() != mediatorID {
			continue
		}
		e := cal.AddEvent(b.GetId() + "@ponte")
		e.SetDtStampTime(now)
		start := b.GetStartTime().AsTime().In(s.deps.Location)
		end := start.Add(time.Duration(b.GetDurationMinutes()) * time.Minute)
		e.SetProperty(ics.ComponentPropertyDtStart, start.Format("20060102T150405"), ics.WithTZID(tzid))
		e.SetProperty(ics.ComponentPropertyDtEnd, end.Format("20060102T150405"), ics.WithTZID(tzid))
		seq, _ := strconv.Atoi(b.GetEtag())
		e.SetSequence(seq)
		if t := b.GetUpdateTime(); t != nil {
			e.SetModifiedAt(t.AsTime())
		}
		e.SetSummary(fmt.Sprintf("Mediazione %s — %s", strings.ToUpper(b.GetLanguage()), serviceLabel(b.GetServiceType())))
		switch b.GetMode() {
		case mediatorsv1.Mode_MODE_IN_PERSON:
			place := b.GetAddress()
			if m, ok := s.deps.Catalog.Municipality(b.GetMunicipalityCode()); ok {
				place = strings.TrimSuffix(place+", "+m.Name, ", ")
			}
			e.SetLocation(place)
		case mediatorsv1.Mode_MODE_VIDEO:
			e.SetLocation(b.GetMeetingLink())
		case mediatorsv1.Mode_MODE_PHONE:
			e.SetLocation("telefono")
		}
		if n := b.GetNotes(); n != "" {
			e.SetDescription(n)
		}
		switch b.GetState() {
		case mediatorsv1.BookingState_BOOKING_STATE_CANCELLED:
			e.SetStatus(ics.ObjectStatusCancelled)
		case mediatorsv1.BookingState_BOOKING_STATE_ASSIGNED:
			e.SetStatus(ics.ObjectStatusTentative)
		default:
			e.SetStatus(ics.ObjectStatusConfirmed)
		}
	}
	return cal.Serialize()
}

// vtimezone describes Europe/Rome's rules (CET/CEST, EU rules since 1996): last Sunday
// of March 02:00 to summer time, last Sunday of October 03:00 back.
func vtimezone(tzid string) *ics.VTimezone {
	tz := ics.NewTimezone(tzid)
	std := &ics.Standard{}
	std.SetProperty(ics.ComponentPropertyDtStart, "19961027T030000")
	std.SetProperty(ics.ComponentProperty("TZOFFSETFROM"), "+0200")
	std.SetProperty(ics.ComponentProperty("TZOFFSETTO"), "+0100")
	std.SetProperty(ics.ComponentProperty("TZNAME"), "CET")
	std.SetProperty(ics.ComponentPropertyRrule, "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU")
	day := &ics.Daylight{}
	day.SetProperty(ics.ComponentPropertyDtStart, "19960331T020000")
	day.SetProperty(ics.ComponentProperty("TZOFFSETFROM"), "+0100")
	day.SetProperty(ics.ComponentProperty("TZOFFSETTO"), "+0200")
	day.SetProperty(ics.ComponentProperty("TZNAME"), "CEST")
	day.SetProperty(ics.ComponentPropertyRrule, "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU")
	tz.Components = append(tz.Components, std, day)
	return tz
}

func serviceLabel(st mediatorsv1.ServiceType) string {
	switch st {
	case mediatorsv1.ServiceType_SERVICE_TYPE_SCHOOL:
		return "scuola"
	case mediatorsv1.ServiceType_SERVICE_TYPE_HEALTH:
		return "sanità"
	case mediatorsv1.ServiceType_SERVICE_TYPE_SOCIAL:
		return "servizi sociali"
	case mediatorsv1.ServiceType_SERVICE_TYPE_LEGAL:
		return "sportello legale"
	case mediatorsv1.ServiceType_SERVICE_TYPE_HOUSING:
		return "casa"
	}
	return "servizio"
}
