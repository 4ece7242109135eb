package mediators

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"
	"google.golang.org/protobuf/types/known/timestamppb"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"

	"github.com/ponte-network/ponte/libs/territory"
)

// TestCalendarAcrossTheOctoberClockChange reads the feed with a second, independent
// iCalendar library (emersion/go-ical): a 10:00 booking on the Friday before the last
// Sunday of October 2026 is 08:00 UTC, one on the Monday after is 09:00 UTC, both 10:00
// in Rome; a cancelled booking stays, as CANCELLED with a higher SEQUENCE.
func TestCalendarAcrossTheOctoberClockChange(t *testing.T) {
	t.Parallel()
	cat, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	st, err := OpenStore(t.Context(), StoreConfig{SQLitePath: filepath.Join(t.TempDir(), "mediators.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc, err := New(Deps{Store: st, Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	rome := svc.server.deps.Location
	booking := func(id string, start time.Time, state mediatorsv1.BookingState, etag string) *mediatorsv1.Booking {
		mediator := "m-1"
		if id == "b-other" {
			mediator = "m-2"
		}
		return &mediatorsv1.Booking{Id: id, MediatorId: mediator, Language: "ar", ServiceType: mediatorsv1.ServiceType_SERVICE_TYPE_SCHOOL,
			Mode: mediatorsv1.Mode_MODE_IN_PERSON, Address: "Via Mazzini 1", MunicipalityCode: "019035",
			StartTime: timestamppb.New(start), DurationMinutes: 90, State: state, Etag: etag}
	}
	friday := time.Date(2026, 10, 23, 10, 0, 0, 0, rome)
	monday := time.Date(2026, 10, 26, 10, 0, 0, 0, rome)
	feed := svc.server.calendar("m-1", []*mediatorsv1.Booking{
		booking("b-fri", friday, mediatorsv1.BookingState_BOOKING_STATE_CONFIRMED, "3"),
		booking("b-mon", monday, mediatorsv1.BookingState_BOOKING_STATE_CANCELLED, "5"),
		booking("b-other", monday, mediatorsv1.BookingState_BOOKING_STATE_CONFIRMED, "1"),
	}, time.Date(2026, 10, 20, 9, 0, 0, 0, time.UTC))

	cal, err := goical.NewDecoder(strings.NewReader(feed)).Decode()
	if err != nil {
		t.Fatalf("the feed does not parse: %v\n%s", err, feed)
	}
	var tz bool
	for _, c := range cal.Children {
		if c.Name == goical.CompTimezone && c.Props.Get(goical.PropTimezoneID).Value == "Europe/Rome" && len(c.Children) == 2 {
			tz = true
		}
	}
	if !tz {
		t.Errorf("no VTIMEZONE Europe/Rome with its standard and daylight rules:\n%s", feed)
	}
	events := map[string]goical.Event{}
	for _, e := range cal.Events() {
		events[e.Props.Get(goical.PropUID).Value] = e
	}
	if len(events) != 2 {
		t.Fatalf("%d events, want 2 (another mediator's booking left out)", len(events))
	}
	tests := []struct {
		uid      string
		wantUTC  time.Time
		status   string
		sequence string
	}{
		{"b-fri@ponte", time.Date(2026, 10, 23, 8, 0, 0, 0, time.UTC), "CONFIRMED", "3"},
		{"b-mon@ponte", time.Date(2026, 10, 26, 9, 0, 0, 0, time.UTC), "CANCELLED", "5"},
	}
	for _, tt := range tests {
		e, ok := events[tt.uid]
		if !ok {
			t.Fatalf("no event %s", tt.uid)
		}
		start, err := e.DateTimeStart(nil)
		if err != nil {
			t.Fatal(err)
		}
		end, err := e.DateTimeEnd(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !start.Equal(tt.wantUTC) || end.Sub(start) != 90*time.Minute {
			t.Errorf("%s: %s–%s, want %s for 90 minutes", tt.uid, start.UTC(), end.UTC(), tt.wantUTC)
		}
		if local := start.In(rome); local.Hour() != 10 || local.Minute() != 0 {
			t.Errorf("%s: %s in Rome, want 10:00", tt.uid, local)
		}
		if got := e.Props.Get(goical.PropStatus).Value; got != tt.status {
			t.Errorf("%s: status %s, want %s", tt.uid, got, tt.status)
		}
		if got := e.Props.Get(goical.PropSequence).Value; got != tt.sequence {
			t.Errorf("%s: sequence %s, want %s", tt.uid, got, tt.sequence)
		}
		if loc := e.Props.Get(goical.PropLocation).Value; !strings.Contains(loc, "Crema") {
			t.Errorf("%s: location %q, want the municipality", tt.uid, loc)
		}
	}
}
