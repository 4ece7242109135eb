package web

import (
	"cmp"
	"slices"
	"time"
	_ "time/tzdata" // Europe/Rome on machines without a zone database

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"
)

// rome is the time zone the directory's schedules are written in.
var rome = mustLoadLocation("Europe/Rome")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // embedded by time/tzdata
	}
	return loc
}

// DayHours are the opening hours of one day.
type DayHours struct {
	// Known is false when no schedule says anything (the page says "not given", never
	// "closed").
	Known bool
	// Closed is true when the schedules are known and say closed that day.
	Closed bool
	// Intervals are "09:00–12:30" spans, earliest first.
	Intervals []string
}

// hoursOn returns the hours of date (read in Europe/Rome) by the same rules as the
// directory's open_at search: on a date with exceptions only the exceptions count;
// otherwise the weekly openings of that weekday valid on that date.
func hoursOn(scheds []*directoryv1.Schedule, date time.Time) DayHours {
	if len(scheds) == 0 {
		return DayHours{}
	}
	local := date.In(rome)
	day := local.Format(time.DateOnly)
	var exceptions, regular []*directoryv1.Schedule
	for _, sc := range scheds {
		switch {
		case sc.GetExceptionDate() == day:
			exceptions = append(exceptions, sc)
		case sc.GetExceptionDate() == "" && int(sc.GetWeekday()) == isoWeekday(local) &&
			(sc.GetValidFrom() == "" || sc.GetValidFrom() <= day) && (sc.GetValidTo() == "" || day <= sc.GetValidTo()):
			regular = append(regular, sc)
		}
	}
	chosen := regular
	if len(exceptions) > 0 {
		chosen = exceptions
	}
	h := DayHours{Known: true}
	for _, sc := range chosen {
		if sc.GetClosed() || sc.GetOpensAt() == "" || sc.GetClosesAt() == "" {
			continue
		}
		h.Intervals = append(h.Intervals, sc.GetOpensAt()+"–"+sc.GetClosesAt())
	}
	slices.SortFunc(h.Intervals, cmp.Compare[string])
	h.Intervals = slices.Compact(h.Intervals)
	h.Closed = len(h.Intervals) == 0
	return h
}

// isoWeekday is the ISO 8601 weekday of t: Monday 1 … Sunday 7, as directoryv1.Weekday.
func isoWeekday(t time.Time) int {
	if wd := int(t.Weekday()); wd != 0 {
		return wd
	}
	return 7
}

// WeekRow is one weekday of a week's opening hours.
type WeekRow struct {
	Weekday int // 1 = Monday
	Hours   DayHours
}

// weekHours returns the hours of the seven days starting at from's Monday, for the
// detail page's table.
func weekHours(scheds []*directoryv1.Schedule, from time.Time) []WeekRow {
	local := from.In(rome)
	monday := time.Date(local.Year(), local.Month(), local.Day()-(isoWeekday(local)-1), 12, 0, 0, 0, rome)
	rows := make([]WeekRow, 7)
	for i := range rows {
		rows[i] = WeekRow{Weekday: i + 1, Hours: hoursOn(scheds, monday.AddDate(0, 0, i))}
	}
	return rows
}
