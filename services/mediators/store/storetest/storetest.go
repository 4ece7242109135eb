// Package storetest is the conformance suite every mediators store runs: each behaviour
// the service promises of its storage is asserted here once, on both stores.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"

	"github.com/ponte-network/ponte/services/mediators/store"
)

// NewStore returns an empty store for one test; the suite closes it.
type NewStore func(t *testing.T) store.Store

// Run runs the whole suite against the stores newStore makes.
func Run(t *testing.T, newStore NewStore) {
	t.Run("mediators are created, read, updated and audited", func(t *testing.T) { t.Parallel(); testMediators(t, newStore) })
	t.Run("a tax code is unique in the network", func(t *testing.T) { t.Parallel(); testTaxCode(t, newStore) })
	t.Run("bookings and series are created once per request id", func(t *testing.T) { t.Parallel(); testCreateBookings(t, newStore) })
	t.Run("a mediator's time is never taken twice", func(t *testing.T) { t.Parallel(); testSlots(t, newStore) })
	t.Run("concurrent assignments of overlapping bookings: exactly one per slot succeeds", func(t *testing.T) { t.Parallel(); testRace(t, newStore) })
	t.Run("bookings are listed by reach, state and time, page by page", func(t *testing.T) { t.Parallel(); testListBookings(t, newStore) })
	t.Run("the change feed carries facts without personal data", func(t *testing.T) { t.Parallel(); testFeed(t, newStore) })
	t.Run("a closed month is frozen and records what it paid", func(t *testing.T) { t.Parallel(); testCloseMonth(t, newStore) })
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
	ctx   = context.Background()
	admin = store.Actor{Subject: "admin-1", Method: "/test/Admin"}
	rome  = mustLoad("Europe/Rome")
)

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

const (
	crema = "019035"
	lodi  = "098031"
)

func mediator(id, taxCode string) *mediatorsv1.Mediator {
	return &mediatorsv1.Mediator{
		Id: id, DisplayName: "Mediator " + id, TaxCode: taxCode, Email: id + "@example.org",
		Languages:     []*mediatorsv1.Language{{Code: "ar", Level: mediatorsv1.LanguageLevel_LANGUAGE_LEVEL_C1}},
		DistrictCodes: []string{"cremasco"},
		Status:        mediatorsv1.MediatorStatus_MEDIATOR_STATUS_ACTIVE,
	}
}

// booking is an Arabic school booking of the cremasco district; mediator "" = requested.
func booking(org, mediatorID, municipality string, mode mediatorsv1.Mode, start time.Time, minutes int32) (*mediatorsv1.Booking, store.Slot) {
	state := mediatorsv1.BookingState_BOOKING_STATE_REQUESTED
	if mediatorID != "" {
		state = mediatorsv1.BookingState_BOOKING_STATE_ASSIGNED
	}
	b := &mediatorsv1.Booking{
		RequestingOrganizationId: org, PayerOrganizationId: org,
		RequestingOrganizationType: mediatorsv1.OrganizationType_ORGANIZATION_TYPE_SCHOOL,
		ServiceType:                mediatorsv1.ServiceType_SERVICE_TYPE_SCHOOL, Language: "ar",
		DistrictCode: "cremasco", MunicipalityCode: municipality, Mode: mode,
		Address: "Via Segreta 1", Notes: "ask for Fatima at the door", MeetingLink: "",
		StartTime: timestamppb.New(start), DurationMinutes: minutes, MediatorId: mediatorID, State: state,
	}
	return b, slotOf(b)
}

func slotOf(b *mediatorsv1.Booking) store.Slot {
	start := b.GetStartTime().AsTime()
	return store.Slot{
		Start: start, End: start.Add(time.Duration(b.GetDurationMinutes()) * time.Minute),
		Municipality: b.GetMunicipalityCode(), InPerson: b.GetMode() == mediatorsv1.Mode_MODE_IN_PERSON,
		Buffer: 30 * time.Minute,
	}
}

func create(t *testing.T, s store.Store, b *mediatorsv1.Booking, slot store.Slot) *mediatorsv1.Booking {
	t.Helper()
	out, err := s.CreateBookings(ctx, admin, "", []*mediatorsv1.Booking{b}, []store.Slot{slot})
	if err != nil {
		t.Fatalf("create booking: %v", err)
	}
	return out[0]
}

// assignTo assigns booking id to mediator m.
func assignTo(s store.Store, id, m string) error {
	_, err := s.UpdateBooking(ctx, admin, id, "", func(b *mediatorsv1.Booking) (*mediatorsv1.Booking, store.Slot, error) {
		b.MediatorId, b.State = m, mediatorsv1.BookingState_BOOKING_STATE_ASSIGNED
		return b, slotOf(b), nil
	})
	return err
}

func day(h, m int) time.Time { return time.Date(2026, 12, 1, h, m, 0, 0, rome) }

func testMediators(t *testing.T, newStore NewStore) {
	s := open(t, newStore)
	m, err := s.CreateMediator(ctx, admin, mediator("m-1", "RSSMRA80A01H501U"))
	if err != nil {
		t.Fatal(err)
	}
	if m.GetEtag() != "1" || m.GetCreateTime() == nil {
		t.Errorf("created etag %q create_time %v", m.GetEtag(), m.GetCreateTime())
	}
	if _, err := s.CreateMediator(ctx, admin, mediator("m-1", "")); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("duplicate id: %v, want ErrAlreadyExists", err)
	}
	got, err := s.GetMediator(ctx, admin, "m-1", true)
	if err != nil || got.GetTaxCode() != "RSSMRA80A01H501U" {
		t.Fatalf("get: %v %v", got, err)
	}
	if _, err := s.GetMediator(ctx, admin, "nobody", true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get unknown: %v", err)
	}
	up, err := s.UpdateMediator(ctx, admin, "m-1", func(cur *mediatorsv1.Mediator) (*mediatorsv1.Mediator, error) {
		cur.DistrictCodes = []string{"casalasco", "cremasco"}
		cur.Languages = append(cur.Languages, &mediatorsv1.Language{Code: "ti", Level: mediatorsv1.LanguageLevel_LANGUAGE_LEVEL_NATIVE})
		return cur, nil
	})
	if err != nil || up.GetEtag() != "2" {
		t.Fatalf("update: %v etag %q", err, up.GetEtag())
	}
	for _, f := range []store.MediatorFilter{{Districts: []string{"casalasco"}}, {Language: "ti"}, {IDs: []string{"m-1"}}} {
		ms, err := s.ListMediators(ctx, admin, f, false)
		if err != nil || len(ms) != 1 {
			t.Errorf("list %+v: %d mediators, %v", f, len(ms), err)
		}
	}
	if ms, _ := s.ListMediators(ctx, admin, store.MediatorFilter{Language: "ps"}, false); len(ms) != 0 {
		t.Errorf("a language nobody speaks lists %d mediators", len(ms))
	}
	events, err := s.ListAuditEvents(ctx, "m-1", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events {
		actions = append(actions, e.GetAction())
	}
	if strings.Join(actions, ",") != "create,read,update" {
		t.Errorf("audit actions %v, want create,read,update (unaudited lists leave none)", actions)
	}
	if err := s.SetCalendarToken(ctx, "m-1", "hash-1"); err != nil {
		t.Fatal(err)
	}
	if h, err := s.CalendarTokenHash(ctx, "m-1"); err != nil || h != "hash-1" {
		t.Errorf("calendar token hash %q %v", h, err)
	}
	if err := s.SetCalendarToken(ctx, "nobody", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("token of unknown mediator: %v", err)
	}
}

func testTaxCode(t *testing.T, newStore NewStore) {
	s := open(t, newStore)
	if _, err := s.CreateMediator(ctx, admin, mediator("m-1", "RSSMRA80A01H501U")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateMediator(ctx, admin, mediator("m-2", "RSSMRA80A01H501U")); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("second mediator with the tax code: %v, want ErrAlreadyExists", err)
	}
	// Several mediators without a tax code are fine.
	for _, id := range []string{"m-3", "m-4"} {
		if _, err := s.CreateMediator(ctx, admin, mediator(id, "")); err != nil {
			t.Errorf("mediator without tax code: %v", err)
		}
	}
	if _, err := s.CreateMediator(ctx, admin, mediator("m-5", "BNCGVN85B02F205X")); err != nil {
		t.Fatal(err)
	}
	_, err := s.UpdateMediator(ctx, admin, "m-5", func(cur *mediatorsv1.Mediator) (*mediatorsv1.Mediator, error) {
		cur.TaxCode = "RSSMRA80A01H501U"
		return cur, nil
	})
	if !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("update to a taken tax code: %v", err)
	}
}

func testCreateBookings(t *testing.T, newStore NewStore) {
	s := open(t, newStore)
	var bs []*mediatorsv1.Booking
	var slots []store.Slot
	for i := range 4 {
		b, sl := booking("school-1", "", crema, mediatorsv1.Mode_MODE_IN_PERSON, day(10, 0).AddDate(0, 0, 7*i), 60)
		bs, slots = append(bs, b), append(slots, sl)
	}
	first, err := s.CreateBookings(ctx, admin, "req-1", bs, slots)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 4 || first[0].GetSeriesId() == "" || first[3].GetSeriesId() != first[0].GetSeriesId() {
		t.Fatalf("series: %d bookings, series ids %q %q", len(first), first[0].GetSeriesId(), first[len(first)-1].GetSeriesId())
	}
	again, err := s.CreateBookings(ctx, admin, "req-1", bs, slots)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 4 || again[0].GetId() != first[0].GetId() {
		t.Errorf("a retried request created new bookings: %d, first %s vs %s", len(again), again[0].GetId(), first[0].GetId())
	}
	all, err := s.ListBookings(ctx, store.BookingFilter{SeriesID: first[0].GetSeriesId()})
	if err != nil || len(all) != 4 {
		t.Errorf("series lists %d bookings, %v", len(all), err)
	}
	// Another organization may use the same request id.
	b, sl := booking("school-2", "", crema, mediatorsv1.Mode_MODE_PHONE, day(15, 0), 30)
	if _, err := s.CreateBookings(ctx, admin, "req-1", []*mediatorsv1.Booking{b}, []store.Slot{sl}); err != nil {
		t.Errorf("same request id, other organization: %v", err)
	}
	got, err := s.GetBooking(ctx, first[1].GetId())
	if err != nil || got.GetStartTime().AsTime() != day(10, 0).AddDate(0, 0, 7).UTC() {
		t.Errorf("get occurrence: %v, %v", got.GetStartTime(), err)
	}
	if _, err := s.GetBooking(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown booking: %v", err)
	}
}

func slotRule(err error) string {
	var se *store.SlotError
	if errors.As(err, &se) {
		return se.Rule
	}
	return ""
}

func testSlots(t *testing.T, newStore NewStore) {
	s := open(t, newStore)
	for _, id := range []string{"m-1", "m-2"} {
		if _, err := s.CreateMediator(ctx, admin, mediator(id, "")); err != nil {
			t.Fatal(err)
		}
	}
	base, sl := booking("school-1", "m-1", crema, mediatorsv1.Mode_MODE_IN_PERSON, day(10, 0), 60)
	held := create(t, s, base, sl)
	tests := []struct {
		name         string
		mediator     string
		municipality string
		mode         mediatorsv1.Mode
		start        time.Time
		minutes      int32
		wantRule     string
	}{
		{"an overlapping booking of the same mediator is refused", "m-1", crema, mediatorsv1.Mode_MODE_IN_PERSON, day(10, 30), 60, "overlap"},
		{"an overlapping phone booking is refused too", "m-1", lodi, mediatorsv1.Mode_MODE_PHONE, day(9, 30), 45, "overlap"},
		{"another mediator at the same time is fine", "m-2", crema, mediatorsv1.Mode_MODE_IN_PERSON, day(10, 0), 60, ""},
		{"back to back in the same municipality is fine", "m-1", crema, mediatorsv1.Mode_MODE_IN_PERSON, day(11, 0), 60, ""},
		{"ten minutes after, in another municipality, is within the travel buffer", "m-1", lodi, mediatorsv1.Mode_MODE_IN_PERSON, day(12, 10), 30, "travel_buffer"},
		{"ten minutes before, in another municipality, is within the travel buffer", "m-1", lodi, mediatorsv1.Mode_MODE_IN_PERSON, day(9, 20), 30, "travel_buffer"},
		{"exactly the buffer before, in another municipality, is fine", "m-1", lodi, mediatorsv1.Mode_MODE_IN_PERSON, day(9, 0), 30, ""},
		{"a video call right after an in-person booking elsewhere is fine", "m-1", lodi, mediatorsv1.Mode_MODE_VIDEO, day(12, 0), 30, ""},
	}
	for _, tt := range tests { // in order: each success takes time the later rows see
		b, sl := booking("school-1", tt.mediator, tt.municipality, tt.mode, tt.start, tt.minutes)
		_, err := s.CreateBookings(ctx, admin, "", []*mediatorsv1.Booking{b}, []store.Slot{sl})
		if got := slotRule(err); got != tt.wantRule || (tt.wantRule == "" && err != nil) {
			t.Errorf("%s: err %v (rule %q), want rule %q", tt.name, err, got, tt.wantRule)
		}
		if tt.wantRule != "" && !errors.Is(err, store.ErrFailedPrecondition) {
			t.Errorf("%s: a slot error is not a failed precondition: %v", tt.name, err)
		}
	}
	// A cancelled booking frees the time; moving a booking onto taken time is refused.
	_, err := s.UpdateBooking(ctx, admin, held.GetId(), "", func(b *mediatorsv1.Booking) (*mediatorsv1.Booking, store.Slot, error) {
		b.State = mediatorsv1.BookingState_BOOKING_STATE_CANCELLED
		return b, slotOf(b), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b, sl := booking("school-1", "m-1", crema, mediatorsv1.Mode_MODE_IN_PERSON, day(10, 0), 60)
	if _, err := s.CreateBookings(ctx, admin, "", []*mediatorsv1.Booking{b}, []store.Slot{sl}); err != nil {
		t.Errorf("the time of a cancelled booking is still taken: %v", err)
	}
	later, sl := booking("school-1", "m-1", crema, mediatorsv1.Mode_MODE_IN_PERSON, day(16, 0), 60)
	moved := create(t, s, later, sl)
	_, err = s.UpdateBooking(ctx, admin, moved.GetId(), moved.GetEtag(), func(b *mediatorsv1.Booking) (*mediatorsv1.Booking, store.Slot, error) {
		b.StartTime = timestamppb.New(day(10, 15))
		return b, slotOf(b), nil
	})
	if slotRule(err) != "overlap" {
		t.Errorf("moving onto taken time: %v", err)
	}
	// Moving a booking within its own time is not an overlap with itself.
	_, err = s.UpdateBooking(ctx, admin, moved.GetId(), moved.GetEtag(), func(b *mediatorsv1.Booking) (*mediatorsv1.Booking, store.Slot, error) {
		b.StartTime = timestamppb.New(day(16, 15))
		return b, slotOf(b), nil
	})
	if err != nil {
		t.Errorf("moving a booking within its own time: %v", err)
	}
	_, err = s.UpdateBooking(ctx, admin, moved.GetId(), moved.GetEtag(), func(b *mediatorsv1.Booking) (*mediatorsv1.Booking, store.Slot, error) {
		return b, slotOf(b), nil
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("a stale etag: %v, want ErrConflict", err)
	}
}

func testRace(t *testing.T, newStore NewStore) {
	s := open(t, newStore)
	if _, err := s.CreateMediator(ctx, admin, mediator("m-1", "")); err != nil {
		t.Fatal(err)
	}
	// Eight slots two hours apart, four bookings competing for each (starting five
	// minutes apart, all overlapping, alternately in two municipalities, so that both
	// exclusion rules are raced). Exactly one booking per slot may win.
	const hours, perHour = 8, 4
	type attempt struct {
		id   string
		hour int
	}
	var attempts []attempt
	for h := range hours {
		for k := range perHour {
			muni := crema
			if k%2 == 1 {
				muni = lodi
			}
			b, sl := booking("school-1", "", muni, mediatorsv1.Mode_MODE_IN_PERSON, day(8+2*h, 5*k), 50)
			attempts = append(attempts, attempt{create(t, s, b, sl).GetId(), h})
		}
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		won     = map[int][]string{}
		refused int
		other   []error
	)
	start := make(chan struct{})
	for _, a := range attempts {
		wg.Go(func() {
			<-start
			err := assignTo(s, a.id, "m-1")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won[a.hour] = append(won[a.hour], a.id)
			case slotRule(err) != "":
				refused++
			default:
				other = append(other, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(other) > 0 {
		t.Fatalf("%d assignments failed otherwise, first: %v", len(other), other[0])
	}
	for h := range hours {
		if len(won[h]) != 1 {
			t.Errorf("hour %d: %d assignments succeeded, want exactly 1", h, len(won[h]))
		}
	}
	// What is stored agrees: the mediator's bookings never overlap nor break the buffer.
	held, err := s.MediatorBookings(ctx, []string{"m-1"}, day(0, 0), day(23, 0))
	if err != nil {
		t.Fatal(err)
	}
	bs := held["m-1"]
	for i := range bs {
		for j := i + 1; j < len(bs); j++ {
			a, b := slotOf(bs[i]), slotOf(bs[j])
			gap := b.Start.Sub(a.End)
			if a.Start.After(b.Start) {
				gap = a.Start.Sub(b.End)
			}
			if gap < 0 || (a.Municipality != b.Municipality && gap < 30*time.Minute) {
				t.Errorf("stored bookings %s and %s conflict (gap %s)", bs[i].GetId(), bs[j].GetId(), gap)
			}
		}
	}
	if len(bs)+refused != len(attempts) {
		t.Errorf("%d held + %d refused != %d attempts", len(bs), refused, len(attempts))
	}
}

func testListBookings(t *testing.T, newStore NewStore) {
	s := open(t, newStore)
	if _, err := s.CreateMediator(ctx, admin, mediator("m-1", "")); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		org := "school-1"
		if i%2 == 1 {
			org = "clinic-1"
		}
		m := ""
		if i == 4 {
			m = "m-1"
		}
		b, sl := booking(org, m, crema, mediatorsv1.Mode_MODE_PHONE, day(9+i, 0), 30)
		create(t, s, b, sl)
	}
	other, sl := booking("school-9", "", "019036", mediatorsv1.Mode_MODE_PHONE, day(9, 0), 30)
	other.DistrictCode = "casalasco"
	create(t, s, other, sl)
	tests := []struct {
		name string
		f    store.BookingFilter
		want int
	}{
		{"everything", store.BookingFilter{}, 6},
		{"an organization's own", store.BookingFilter{RequestingOrgs: []string{"school-1"}}, 3},
		{"a district's", store.BookingFilter{Districts: []string{"casalasco"}}, 1},
		{"a province by municipality prefix", store.BookingFilter{Municipalities: []string{"019"}}, 6},
		{"an empty reach reaches nothing", store.BookingFilter{RequestingOrgs: []string{}}, 0},
		{"a mediator's", store.BookingFilter{MediatorID: "m-1"}, 1},
		{"by state", store.BookingFilter{State: mediatorsv1.BookingState_BOOKING_STATE_REQUESTED}, 5},
		{"by time", store.BookingFilter{StartAfter: day(10, 0), StartBefore: day(12, 0)}, 2},
	}
	for _, tt := range tests {
		bs, err := s.ListBookings(ctx, tt.f)
		if err != nil || len(bs) != tt.want {
			t.Errorf("%s: %d bookings, %v; want %d", tt.name, len(bs), err, tt.want)
		}
	}
	// Pages of two follow (start, id) order without loss or repetition.
	var seen []string
	f := store.BookingFilter{Limit: 2}
	for {
		page, err := s.ListBookings(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page {
			seen = append(seen, b.GetId())
		}
		if len(page) < 2 {
			break
		}
		last := page[len(page)-1]
		f.AfterStart, f.AfterID = last.GetStartTime().AsTime(), last.GetId()
	}
	if len(seen) != 6 {
		t.Errorf("paged %d bookings, want 6", len(seen))
	}
	minutes, err := s.MonthMinutes(ctx, []string{"m-1", "m-2"}, "2026-12")
	if err != nil || minutes["m-1"] != 30 || minutes["m-2"] != 0 {
		t.Errorf("month minutes %v, %v", minutes, err)
	}
}

func testFeed(t *testing.T, newStore NewStore) {
	s := open(t, newStore)
	if _, err := s.CreateMediator(ctx, admin, mediator("m-1", "RSSMRA80A01H501U")); err != nil {
		t.Fatal(err)
	}
	b, sl := booking("school-1", "", crema, mediatorsv1.Mode_MODE_IN_PERSON, day(10, 0), 60)
	created := create(t, s, b, sl)
	if err := assignTo(s, created.GetId(), "m-1"); err != nil {
		t.Fatal(err)
	}
	entries, err := s.Changes().List(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("%d entries, want 2 (create, assign)", len(entries))
	}
	for _, e := range entries {
		if e.Topic != store.TopicBooking || e.Key != created.GetId() {
			t.Errorf("entry %s/%s", e.Topic, e.Key)
		}
		for _, secret := range []string{"Segreta", "Fatima", "m-1", "RSSMRA", "school-1"} {
			if strings.Contains(string(e.Payload), secret) {
				t.Errorf("the feed carries %q: %s", secret, e.Payload)
			}
		}
		var f mediatorsv1.BookingFact
		if err := protojson.Unmarshal(e.Payload, &f); err != nil {
			t.Fatalf("payload: %v", err)
		}
		if f.GetLanguage() != "ar" || f.GetDistrictCode() != "cremasco" || f.GetDate() != "2026-12-01" || f.GetPlannedMinutes() != 60 {
			t.Errorf("fact %v", &f)
		}
	}
	var last mediatorsv1.BookingFact
	_ = protojson.Unmarshal(entries[1].Payload, &last)
	if last.GetState() != mediatorsv1.BookingState_BOOKING_STATE_ASSIGNED {
		t.Errorf("the last fact is in state %v", last.GetState())
	}
}

func testCloseMonth(t *testing.T, newStore NewStore) {
	s := open(t, newStore)
	line := func(booking string, cents int64) store.FrozenLine {
		return store.FrozenLine{MediatorID: "m-1", Payer: "school-1", Line: &mediatorsv1.StatementLine{BookingId: booking, AmountCents: cents, Kind: mediatorsv1.LineKind_LINE_KIND_SERVICE}}
	}
	cl := store.Closed{District: "cremasco", Month: "2026-10", Time: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), By: "admin-1"}
	got, err := s.CloseMonth(ctx, cl, func(context.Context) ([]store.FrozenLine, error) {
		return []store.FrozenLine{line("b-1", 2500), line("b-2", 1999)}, nil
	})
	if err != nil || got.Total != 4499 {
		t.Fatalf("close: total %d, %v", got.Total, err)
	}
	if _, err := s.CloseMonth(ctx, cl, func(context.Context) ([]store.FrozenLine, error) { return nil, nil }); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("closing twice: %v", err)
	}
	frozen, err := s.FrozenLines(ctx, "cremasco", "2026-10")
	if err != nil || len(frozen) != 2 || frozen[1].Line.GetAmountCents() != 1999 {
		t.Errorf("frozen lines %v, %v", frozen, err)
	}
	nov := cl
	nov.Month = "2026-11"
	if _, err := s.CloseMonth(ctx, nov, func(context.Context) ([]store.FrozenLine, error) {
		return []store.FrozenLine{line("b-1", -500)}, nil
	}); err != nil {
		t.Fatal(err)
	}
	billed, err := s.Billed(ctx, []string{"b-1", "b-2", "b-3"})
	if err != nil || billed["b-1"] != 2000 || billed["b-2"] != 1999 || len(billed) != 2 {
		t.Errorf("billed %v, %v", billed, err)
	}
	months, err := s.ClosedMonths(ctx, "cremasco")
	if err != nil || len(months) != 2 || months[0].Month != "2026-10" || months[1].Total != -500 {
		t.Errorf("closed months %+v, %v", months, err)
	}
	if others, _ := s.ClosedMonths(ctx, "casalasco"); len(others) != 0 {
		t.Errorf("another district has %d closed months", len(others))
	}
	failing := store.Closed{District: "cremasco", Month: "2026-12", Time: cl.Time, By: "x"}
	if _, err := s.CloseMonth(ctx, failing, func(context.Context) ([]store.FrozenLine, error) { return nil, fmt.Errorf("boom") }); err == nil {
		t.Error("a failed computation closed the month")
	}
	if months, _ := s.ClosedMonths(ctx, "cremasco"); len(months) != 2 {
		t.Errorf("a failed close left %d closed months", len(months))
	}
}
