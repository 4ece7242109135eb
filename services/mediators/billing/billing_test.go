package billing_test

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"

	"github.com/ponte-network/ponte/services/mediators/billing"
)

var rome, _ = time.LoadLocation("Europe/Rome")

const (
	school = mediatorsv1.ServiceType_SERVICE_TYPE_SCHOOL
	health = mediatorsv1.ServiceType_SERVICE_TYPE_HEALTH
)

// cards: from 2026-01-01 school 25.00/h, health 28.50/h, minimum 60, step 15, travel 7.50,
// late if under 24h, late minutes 60; from 2026-11-15 school 27.00/h.
func cards() []*mediatorsv1.RateCard {
	return []*mediatorsv1.RateCard{
		{ValidFrom: "2026-01-01", Rates: []*mediatorsv1.ServiceRate{{ServiceType: school, HourlyCents: 2500}, {ServiceType: health, HourlyCents: 2850}},
			MinimumMinutes: 60, RoundingMinutes: 15, TravelAllowanceCents: 750, LateCancellationNoticeHours: 24, LateCancellationMinutes: 60},
		{ValidFrom: "2026-11-15", Rates: []*mediatorsv1.ServiceRate{{ServiceType: school, HourlyCents: 2700}},
			MinimumMinutes: 60, RoundingMinutes: 15, TravelAllowanceCents: 750, LateCancellationNoticeHours: 24},
	}
}

func at(date, clock string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", date+" "+clock, rome)
	if err != nil {
		panic(err)
	}
	return t
}

func completed(id, date string, st mediatorsv1.ServiceType, mode mediatorsv1.Mode, actualMinutes int) *mediatorsv1.Booking {
	start := at(date, "10:00")
	return &mediatorsv1.Booking{
		Id: id, MediatorId: "m-1", RequestingOrganizationId: "school-1", ServiceType: st, Language: "ar", Mode: mode,
		StartTime: timestamppb.New(start), DurationMinutes: 60, State: mediatorsv1.BookingState_BOOKING_STATE_COMPLETED,
		Completion: &mediatorsv1.Completion{ActualStartTime: timestamppb.New(start), ActualEndTime: timestamppb.New(start.Add(time.Duration(actualMinutes) * time.Minute))},
	}
}

func TestFee(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		hourly  int64
		minutes int32
		want    int64
	}{
		{"an hour is the hourly rate", 2500, 60, 2500},
		{"75 minutes at 25.00 is 31.25", 2500, 75, 3125},
		{"half a cent rounds up", 2850, 1, 48},         // 47.5
		{"below half a cent rounds down", 2830, 1, 47}, // 47.1666
		{"no time is nothing", 2500, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := billing.Fee(tt.hourly, tt.minutes); got != tt.want {
				t.Errorf("Fee(%d, %d) = %d, want %d", tt.hourly, tt.minutes, got, tt.want)
			}
		})
	}
}

func TestBilledMinutes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                  string
		actual, minimum, step int32
		want                  int32
	}{
		{"a short meeting bills the minimum", 20, 60, 15, 60},
		{"61 minutes round up to 75", 61, 60, 15, 75},
		{"a multiple of the step stays", 90, 60, 15, 90},
		{"no step bills by the minute", 67, 30, 0, 67},
		{"a step of one bills by the minute", 67, 30, 1, 67},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := billing.BilledMinutes(tt.actual, tt.minimum, tt.step); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestLine(t *testing.T) {
	t.Parallel()
	late := completed("b", "2026-11-10", school, mediatorsv1.Mode_MODE_IN_PERSON, 0)
	late.State, late.Completion = mediatorsv1.BookingState_BOOKING_STATE_CANCELLED, nil
	late.Cancellation = &mediatorsv1.Cancellation{Kind: mediatorsv1.CancellationKind_CANCELLATION_KIND_LATE}
	void := completed("b", "2026-11-10", school, mediatorsv1.Mode_MODE_IN_PERSON, 0)
	void.State, void.Cancellation = mediatorsv1.BookingState_BOOKING_STATE_CANCELLED, &mediatorsv1.Cancellation{Kind: mediatorsv1.CancellationKind_CANCELLATION_KIND_VOID}
	noShow := completed("b", "2026-11-10", health, mediatorsv1.Mode_MODE_IN_PERSON, 0)
	noShow.State = mediatorsv1.BookingState_BOOKING_STATE_NO_SHOW
	disputed := completed("b", "2026-11-10", school, mediatorsv1.Mode_MODE_IN_PERSON, 90)
	disputed.Completion.Review = mediatorsv1.CompletionReview_COMPLETION_REVIEW_DISPUTED
	confirmed := completed("b", "2026-11-10", school, mediatorsv1.Mode_MODE_PHONE, 90)
	confirmed.State = mediatorsv1.BookingState_BOOKING_STATE_CONFIRMED
	tests := []struct {
		name        string
		b           *mediatorsv1.Booking
		wantOK      bool
		wantKind    mediatorsv1.LineKind
		wantMinutes int32
		wantAmount  int64
		wantCard    string
	}{
		{"an in-person school meeting of 61 minutes bills 75 minutes and travel", completed("b", "2026-11-10", school, mediatorsv1.Mode_MODE_IN_PERSON, 61),
			true, mediatorsv1.LineKind_LINE_KIND_SERVICE, 75, 3125 + 750, "2026-01-01"},
		{"a phone call of 20 minutes bills the minimum hour and no travel", completed("b", "2026-11-10", school, mediatorsv1.Mode_MODE_PHONE, 20),
			true, mediatorsv1.LineKind_LINE_KIND_SERVICE, 60, 2500, "2026-01-01"},
		{"a booking after the new card's date takes the new rate", completed("b", "2026-11-20", school, mediatorsv1.Mode_MODE_PHONE, 60),
			true, mediatorsv1.LineKind_LINE_KIND_SERVICE, 60, 2700, "2026-11-15"},
		{"a service without a rate on the card in force bills nothing", completed("b", "2026-11-20", health, mediatorsv1.Mode_MODE_PHONE, 60),
			false, 0, 0, 0, ""},
		{"a booking before any card bills nothing", completed("b", "2025-12-20", school, mediatorsv1.Mode_MODE_PHONE, 60), false, 0, 0, 0, ""},
		{"a late cancellation bills the late minutes without travel", late, true, mediatorsv1.LineKind_LINE_KIND_LATE_CANCELLATION, 60, 2500, "2026-01-01"},
		{"a void cancellation bills nothing", void, false, 0, 0, 0, ""},
		{"a no-show bills the late minutes and travel", noShow, true, mediatorsv1.LineKind_LINE_KIND_NO_SHOW, 60, 2850 + 750, "2026-01-01"},
		{"disputed times are held for nothing", disputed, true, mediatorsv1.LineKind_LINE_KIND_HELD, 90, 0, "2026-01-01"},
		{"a booking not yet completed bills nothing", confirmed, false, 0, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, ok := billing.Line(tt.b, cards(), rome)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v (%v)", ok, tt.wantOK, l)
			}
			if !ok {
				return
			}
			if l.GetKind() != tt.wantKind || l.GetBilledMinutes() != tt.wantMinutes || l.GetAmountCents() != tt.wantAmount || l.GetRateCard() != tt.wantCard {
				t.Errorf("line %v, want kind %v, %d minutes, %d cents, card %s", l, tt.wantKind, tt.wantMinutes, tt.wantAmount, tt.wantCard)
			}
			if l.GetAmountCents() != l.GetFeeCents()+l.GetTravelCents() {
				t.Errorf("amount %d != fee %d + travel %d", l.GetAmountCents(), l.GetFeeCents(), l.GetTravelCents())
			}
		})
	}
}

func TestIsLate(t *testing.T) {
	t.Parallel()
	card := cards()[0]
	start := at("2026-11-10", "10:00")
	if !billing.IsLate(card, start.Add(-23*time.Hour), start) {
		t.Error("23 hours before is not late")
	}
	if billing.IsLate(card, start.Add(-24*time.Hour), start) {
		t.Error("24 hours before is late")
	}
}

func TestMonthLines(t *testing.T) {
	t.Parallel()
	// October is closed and paid b-oct (school, 75 minutes in person: 38.75) and b-held
	// (disputed: 0). Since then b-oct's times were corrected to 120 minutes and b-held's
	// dispute was resolved at 60 minutes; November has b-nov.
	oct := completed("b-oct", "2026-10-20", school, mediatorsv1.Mode_MODE_IN_PERSON, 120)
	held := completed("b-held", "2026-10-21", school, mediatorsv1.Mode_MODE_PHONE, 60)
	same := completed("b-same", "2026-10-22", school, mediatorsv1.Mode_MODE_PHONE, 60)
	nov := completed("b-nov", "2026-11-03", school, mediatorsv1.Mode_MODE_PHONE, 45)
	in := billing.Input{
		Month: "2026-11", District: "cremasco",
		Bookings:     []*mediatorsv1.Booking{oct, held, same, nov},
		ClosedBefore: []string{"2026-10"},
		Cards:        map[string][]*mediatorsv1.RateCard{"m-1": cards()},
		Billed:       map[string]int64{"b-oct": 3875, "b-held": 0, "b-same": 2500},
		Location:     rome,
	}
	lines := billing.MonthLines(in)
	want := map[string]struct {
		kind   mediatorsv1.LineKind
		amount int64
	}{
		"b-oct":  {mediatorsv1.LineKind_LINE_KIND_ADJUSTMENT, 5750 - 3875},
		"b-held": {mediatorsv1.LineKind_LINE_KIND_ADJUSTMENT, 2500},
		"b-nov":  {mediatorsv1.LineKind_LINE_KIND_SERVICE, 2500},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d: %v", len(lines), len(want), lines)
	}
	var sum int64
	for _, e := range lines {
		w, ok := want[e.Line.GetBookingId()]
		if !ok || e.Line.GetKind() != w.kind || e.Line.GetAmountCents() != w.amount {
			t.Errorf("line %v, want %v", e.Line, w)
		}
		if e.Line.GetKind() == mediatorsv1.LineKind_LINE_KIND_ADJUSTMENT && e.Line.GetAdjustsMonth() != "2026-10" {
			t.Errorf("adjustment of %s adjusts %q", e.Line.GetBookingId(), e.Line.GetAdjustsMonth())
		}
		sum += e.Line.GetAmountCents()
	}
	statements := billing.Group(lines, map[string]string{"m-1": "Amina"})
	if len(statements) != 1 || statements[0].GetTotalCents() != sum || statements[0].GetMediatorName() != "Amina" {
		t.Fatalf("statements %v, want one totalling %d", statements, sum)
	}

	// With October open, its bookings are October's lines, not November's.
	in.ClosedBefore = nil
	if lines := billing.MonthLines(in); len(lines) != 1 || lines[0].Line.GetBookingId() != "b-nov" {
		t.Errorf("with October open November has %v", lines)
	}
}

func TestCSVAddsUpToTheCent(t *testing.T) {
	t.Parallel()
	var entries []billing.Entry
	for i, minutes := range []int{61, 20, 95, 133} {
		b := completed("b-"+strconv.Itoa(i), "2026-11-1"+strconv.Itoa(i), health, mediatorsv1.Mode_MODE_PHONE, minutes)
		l, _ := billing.Line(b, cards(), rome)
		entries = append(entries, billing.Entry{MediatorID: "m-1", Payer: "clinic-1", District: "cremasco", Line: l})
	}
	sts := billing.Group(entries, map[string]string{"m-1": "=HYPERLINK(\"x\")"})
	report := &mediatorsv1.StatementReport{Month: "2026-11", Statements: sts, TotalCents: sts[0].GetTotalCents()}
	out, err := billing.CSV(report)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var sum, total int64
	for _, r := range rows[1:] {
		v, _ := strconv.ParseInt(r[14], 10, 64)
		switch r[7] {
		case "total":
			total = v
		case "grand_total":
			if v != total {
				t.Errorf("grand total %d, statement total %d", v, total)
			}
		default:
			sum += v
			if r[3][0] != '\'' {
				t.Errorf("a name starting with = is not neutralised: %q", r[3])
			}
		}
	}
	// 61→75 min: 3562.5→3563; 20→60: 2850; 95→105: 4987.5→4988; 133→135: 6412.5→6413
	if sum != total || total != 3563+2850+4988+6413 {
		t.Errorf("lines sum to %d, total %d, want %d", sum, total, 3563+2850+4988+6413)
	}
}
