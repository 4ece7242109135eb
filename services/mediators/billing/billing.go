// Package billing turns bookings into statement lines under the network's protocol, as
// a payroll office would: a pure function of the bookings, the mediators' rate cards,
// the months already closed and what they paid.
//
// The rules (docs/mediators.md):
//   - The rate card applied is the one in force on the booking's date (Europe/Rome): the
//     latest valid_from not after it. Without a card, or without a rate for the service
//     type, a booking bills nothing.
//   - A completed booking bills max(minimum, actual minutes rounded up to the rounding
//     step) at the hourly rate of its service type, plus the travel allowance when in
//     person. Actual minutes count started minutes.
//   - A late cancellation bills the card's late-cancellation minutes (or the minimum),
//     no travel; a no-show of the person assisted bills the same, plus travel when in
//     person (the mediator came). A void cancellation bills nothing.
//   - A completed booking whose times the requester disputes is listed as held, for 0,
//     until the times are corrected or confirmed.
//   - The fee is hourly rate x minutes / 60, rounded half up to the cent; a line's
//     amount is fee + travel; a statement's total is the sum of its lines, so totals add
//     up to the cent by construction.
//   - A closed month never changes. A booking of a closed month whose amount changes
//     later (a correction, a dispute resolved, a new rate card) appears as an adjustment
//     line — the difference from what closed months paid — in the first open month
//     after its own.
package billing

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"time"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"
)

// CardOn returns the rate card in force on date (YYYY-MM-DD), or nil.
func CardOn(cards []*mediatorsv1.RateCard, date string) *mediatorsv1.RateCard {
	var best *mediatorsv1.RateCard
	for _, c := range cards {
		if c.GetValidFrom() <= date && (best == nil || c.GetValidFrom() > best.GetValidFrom()) {
			best = c
		}
	}
	return best
}

// Rate returns the card's hourly rate for a service type.
func Rate(card *mediatorsv1.RateCard, st mediatorsv1.ServiceType) (int64, bool) {
	for _, r := range card.GetRates() {
		if r.GetServiceType() == st {
			return r.GetHourlyCents(), true
		}
	}
	return 0, false
}

// Fee is hourly x minutes / 60, rounded half up to the cent.
func Fee(hourlyCents int64, minutes int32) int64 {
	return (hourlyCents*int64(minutes)*2 + 60) / 120
}

// BilledMinutes applies the minimum and the rounding step to actual minutes.
func BilledMinutes(actual, minimum, step int32) int32 {
	if step > 1 && actual%step != 0 {
		actual += step - actual%step
	}
	return max(actual, minimum)
}

// LateMinutes are the minutes a late cancellation or a no-show bills under card.
func LateMinutes(card *mediatorsv1.RateCard) int32 {
	if m := card.GetLateCancellationMinutes(); m > 0 {
		return m
	}
	return card.GetMinimumMinutes()
}

// IsLate reports whether a requester's cancellation at at, of a booking starting at
// start, is late under card.
func IsLate(card *mediatorsv1.RateCard, at, start time.Time) bool {
	if card == nil {
		return false
	}
	return start.Sub(at) < time.Duration(card.GetLateCancellationNoticeHours())*time.Hour
}

// Date is a booking's date in loc (YYYY-MM-DD).
func Date(b *mediatorsv1.Booking, loc *time.Location) string {
	return b.GetStartTime().AsTime().In(loc).Format(time.DateOnly)
}

// Month is a booking's month in loc (YYYY-MM).
func Month(b *mediatorsv1.Booking, loc *time.Location) string { return Date(b, loc)[:7] }

// Line computes what booking b, as it stands, bills under its mediator's cards. ok is
// false when it bills nothing.
func Line(b *mediatorsv1.Booking, cards []*mediatorsv1.RateCard, loc *time.Location) (line *mediatorsv1.StatementLine, ok bool) {
	if b.GetMediatorId() == "" {
		return nil, false
	}
	date := Date(b, loc)
	card := CardOn(cards, date)
	if card == nil {
		return nil, false
	}
	rate, ok := Rate(card, b.GetServiceType())
	if !ok {
		return nil, false
	}
	inPerson := b.GetMode() == mediatorsv1.Mode_MODE_IN_PERSON
	l := &mediatorsv1.StatementLine{
		BookingId: b.GetId(), Date: date, ServiceType: b.GetServiceType(), Language: b.GetLanguage(),
		HourlyCents: rate, RateCard: card.GetValidFrom(),
	}
	switch b.GetState() {
	case mediatorsv1.BookingState_BOOKING_STATE_COMPLETED:
		c := b.GetCompletion()
		actual := c.GetActualEndTime().AsTime().Sub(c.GetActualStartTime().AsTime())
		started := int32((actual + time.Minute - 1) / time.Minute)
		l.Kind = mediatorsv1.LineKind_LINE_KIND_SERVICE
		l.BilledMinutes = BilledMinutes(max(started, 0), card.GetMinimumMinutes(), card.GetRoundingMinutes())
		if inPerson {
			l.TravelCents = card.GetTravelAllowanceCents()
		}
		if c.GetReview() == mediatorsv1.CompletionReview_COMPLETION_REVIEW_DISPUTED {
			l.Kind, l.TravelCents = mediatorsv1.LineKind_LINE_KIND_HELD, 0
			l.FeeCents, l.AmountCents = 0, 0
			return l, true
		}
	case mediatorsv1.BookingState_BOOKING_STATE_CANCELLED:
		if b.GetCancellation().GetKind() != mediatorsv1.CancellationKind_CANCELLATION_KIND_LATE {
			return nil, false
		}
		l.Kind = mediatorsv1.LineKind_LINE_KIND_LATE_CANCELLATION
		l.BilledMinutes = LateMinutes(card)
	case mediatorsv1.BookingState_BOOKING_STATE_NO_SHOW:
		l.Kind = mediatorsv1.LineKind_LINE_KIND_NO_SHOW
		l.BilledMinutes = LateMinutes(card)
		if inPerson {
			l.TravelCents = card.GetTravelAllowanceCents()
		}
	default:
		return nil, false
	}
	l.FeeCents = Fee(rate, l.BilledMinutes)
	l.AmountCents = l.FeeCents + l.TravelCents
	if l.AmountCents == 0 {
		return nil, false
	}
	return l, true
}

// Entry is a statement line with the statement it belongs to.
type Entry struct {
	MediatorID string
	Payer      string
	District   string
	Line       *mediatorsv1.StatementLine
}

// Input is what an open month's lines are computed from.
type Input struct {
	Month    string // YYYY-MM, open
	District string
	// Bookings are the billable bookings of the district in Month and in ClosedBefore.
	Bookings []*mediatorsv1.Booking
	// ClosedBefore are the closed months right before Month (the run of closed months
	// whose corrections Month takes).
	ClosedBefore []string
	// Cards are the mediators' rate cards, by mediator id.
	Cards map[string][]*mediatorsv1.RateCard
	// Billed is what closed months paid, by booking id.
	Billed   map[string]int64
	Location *time.Location
}

// MonthLines returns the lines of an open month: the bookings of the month, and an
// adjustment for every booking of the closed months just before whose amount differs
// from what was paid.
func MonthLines(in Input) []Entry {
	var out []Entry
	for _, b := range in.Bookings {
		month := Month(b, in.Location)
		line, ok := Line(b, in.Cards[b.GetMediatorId()], in.Location)
		switch {
		case month == in.Month:
			if ok {
				out = append(out, Entry{b.GetMediatorId(), payer(b), in.District, line})
			}
		case slices.Contains(in.ClosedBefore, month):
			now := int64(0)
			if ok {
				now = line.GetAmountCents()
			}
			diff := now - in.Billed[b.GetId()]
			if diff == 0 {
				continue
			}
			adj := &mediatorsv1.StatementLine{
				BookingId: b.GetId(), Date: Date(b, in.Location), Kind: mediatorsv1.LineKind_LINE_KIND_ADJUSTMENT,
				ServiceType: b.GetServiceType(), Language: b.GetLanguage(), AmountCents: diff, AdjustsMonth: month,
			}
			if ok {
				adj.BilledMinutes, adj.HourlyCents, adj.RateCard = line.GetBilledMinutes(), line.GetHourlyCents(), line.GetRateCard()
			}
			out = append(out, Entry{b.GetMediatorId(), payer(b), in.District, adj})
		}
	}
	sortEntries(out)
	return out
}

func payer(b *mediatorsv1.Booking) string {
	return cmp.Or(b.GetPayerOrganizationId(), b.GetRequestingOrganizationId())
}

func sortEntries(es []Entry) {
	slices.SortStableFunc(es, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(a.MediatorID, b.MediatorID), cmp.Compare(a.Payer, b.Payer),
			cmp.Compare(a.Line.GetDate(), b.Line.GetDate()), cmp.Compare(a.Line.GetBookingId(), b.Line.GetBookingId()),
			cmp.Compare(a.Line.GetKind(), b.Line.GetKind()))
	})
}

// Group gathers lines into statements, one per mediator, payer and district, with
// their totals; names are the mediators' display names.
func Group(entries []Entry, names map[string]string) []*mediatorsv1.Statement {
	sortEntries(entries)
	var out []*mediatorsv1.Statement
	var cur *mediatorsv1.Statement
	for _, e := range entries {
		if cur == nil || cur.MediatorId != e.MediatorID || cur.PayerOrganizationId != e.Payer || cur.DistrictCode != e.District {
			cur = &mediatorsv1.Statement{MediatorId: e.MediatorID, MediatorName: names[e.MediatorID], PayerOrganizationId: e.Payer, DistrictCode: e.District}
			out = append(out, cur)
		}
		cur.Lines = append(cur.Lines, e.Line)
		cur.TotalCents += e.Line.GetAmountCents()
	}
	slices.SortStableFunc(out, func(a, b *mediatorsv1.Statement) int {
		return cmp.Or(cmp.Compare(a.MediatorId, b.MediatorId), cmp.Compare(a.PayerOrganizationId, b.PayerOrganizationId), cmp.Compare(a.DistrictCode, b.DistrictCode))
	})
	return out
}

// CSVHeader are the columns of the CSV statement.
var CSVHeader = []string{
	"month", "district", "mediator_id", "mediator_name", "payer", "booking_id", "date", "kind", "service_type",
	"language", "billed_minutes", "hourly_cents", "fee_cents", "travel_cents", "amount_cents", "adjusts_month", "rate_card",
}

// CSV writes a report as CSV: one row per line, then one "total" row per statement
// and a final "grand_total" row; amounts are integer cents.
func CSV(r *mediatorsv1.StatementReport) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(CSVHeader)
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, s := range r.GetStatements() {
		for _, l := range s.GetLines() {
			_ = w.Write([]string{
				r.GetMonth(), s.GetDistrictCode(), s.GetMediatorId(), safe(s.GetMediatorName()), s.GetPayerOrganizationId(),
				l.GetBookingId(), l.GetDate(), kindName(l.GetKind()), serviceName(l.GetServiceType()), l.GetLanguage(),
				strconv.Itoa(int(l.GetBilledMinutes())), i64(l.GetHourlyCents()), i64(l.GetFeeCents()), i64(l.GetTravelCents()),
				i64(l.GetAmountCents()), l.GetAdjustsMonth(), l.GetRateCard(),
			})
		}
		_ = w.Write([]string{r.GetMonth(), s.GetDistrictCode(), s.GetMediatorId(), safe(s.GetMediatorName()), s.GetPayerOrganizationId(),
			"", "", "total", "", "", "", "", "", "", i64(s.GetTotalCents()), "", ""})
	}
	_ = w.Write([]string{r.GetMonth(), "", "", "", "", "", "", "grand_total", "", "", "", "", "", "", i64(r.GetTotalCents()), "", ""})
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("write CSV: %w", err)
	}
	return buf.Bytes(), nil
}

// safe keeps a spreadsheet from reading a name as a formula (CSV injection).
func safe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}

func kindName(k mediatorsv1.LineKind) string {
	switch k {
	case mediatorsv1.LineKind_LINE_KIND_SERVICE:
		return "service"
	case mediatorsv1.LineKind_LINE_KIND_LATE_CANCELLATION:
		return "late_cancellation"
	case mediatorsv1.LineKind_LINE_KIND_NO_SHOW:
		return "no_show"
	case mediatorsv1.LineKind_LINE_KIND_ADJUSTMENT:
		return "adjustment"
	case mediatorsv1.LineKind_LINE_KIND_HELD:
		return "held"
	}
	return ""
}

func serviceName(s mediatorsv1.ServiceType) string {
	switch s {
	case mediatorsv1.ServiceType_SERVICE_TYPE_SCHOOL:
		return "school"
	case mediatorsv1.ServiceType_SERVICE_TYPE_HEALTH:
		return "health"
	case mediatorsv1.ServiceType_SERVICE_TYPE_SOCIAL:
		return "social"
	case mediatorsv1.ServiceType_SERVICE_TYPE_LEGAL:
		return "legal"
	case mediatorsv1.ServiceType_SERVICE_TYPE_HOUSING:
		return "housing"
	}
	return ""
}

// PreviousMonth returns the month before month (YYYY-MM).
func PreviousMonth(month string) string {
	t, err := time.Parse("2006-01", month)
	if err != nil {
		return ""
	}
	return t.AddDate(0, -1, 0).Format("2006-01")
}
