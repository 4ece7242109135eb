// Package assign decides which mediator takes a booking: a pure function over the
// booking, the candidates (their languages, districts, qualifications, weekly
// availability, absences and the bookings they already hold) and the network's rules,
// with no database and no clock, so that every decision is reproducible and
// table-tested.
//
// Hard rules, checked in this order (the first that fails is the one reported): the
// mediator is active; speaks the language at the level asked; serves the district;
// holds a qualification valid on the booking's date that covers its language and
// service; is available then (a weekly window, Europe/Rome wall-clock time, holding
// the whole booking); is not absent; holds no overlapping booking; and, between two
// in-person bookings in different municipalities, leaves the travel buffer free.
//
// Among those who pass, the ranking (Cal.com's round-robin with fairness) is: the
// mediator to keep (already on the booking when it is rescheduled, or on the series it
// belongs to); then who offers the variety asked; then the fewest minutes already
// assigned in the booking's month (a fair share of the month's hours); then the higher
// level; then the id, so that ties are decided the same way every time.
package assign

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Rule names a hard rule; the names are part of the API (excluded_by_rule, errors).
type Rule string

// The hard rules, in the order they are checked.
const (
	RuleStatus        Rule = "status"
	RuleLanguage      Rule = "language"
	RuleDistrict      Rule = "district"
	RuleQualification Rule = "qualification"
	RuleAvailability  Rule = "availability"
	RuleAbsence       Rule = "absence"
	RuleOverlap       Rule = "overlap"
	RuleTravelBuffer  Rule = "travel_buffer"
)

// Level is a language level, ordered: A1 = 1 ... C2 = 6, native = 7 (the proto's values).
type Level int

// String is the level's usual name.
func (l Level) String() string {
	names := []string{"unspecified", "A1", "A2", "B1", "B2", "C1", "C2", "native"}
	if l < 0 || int(l) >= len(names) {
		return fmt.Sprintf("level %d", int(l))
	}
	return names[l]
}

// Request is the booking to assign.
type Request struct {
	BookingID    string // excluded from the candidate's own bookings (rescheduling)
	Language     string
	MinLevel     Level
	Variety      string // preferred, not required
	District     string
	Municipality string
	InPerson     bool
	ServiceType  int32
	Start, End   time.Time
	// Keep is the mediator to prefer when they pass every rule: the booking's own
	// mediator when it is rescheduled, or that of its series.
	Keep string
}

// Language is one language a candidate works in.
type Language struct {
	Code    string
	Level   Level
	Variety string
}

// Qualification allows work in some languages and services until a date.
type Qualification struct {
	Name         string
	Languages    []string // empty = all
	ServiceTypes []int32  // empty = all
	ValidUntil   string   // YYYY-MM-DD, last valid day; "" = no expiry
}

// Window is a weekly slot in local wall-clock minutes: Weekday 1 = Monday ... 7 =
// Sunday, StartMin and EndMin minutes since midnight (EndMin up to 1440).
type Window struct {
	Weekday          int
	StartMin, EndMin int
}

// Interval is a span of time [Start, End).
type Interval struct{ Start, End time.Time }

// Busy is a booking a candidate already holds.
type Busy struct {
	BookingID    string
	Start, End   time.Time
	Municipality string
	InPerson     bool
}

// Candidate is a mediator as the rules see them.
type Candidate struct {
	ID             string
	Active         bool
	Languages      []Language
	Districts      []string
	Qualifications []Qualification
	Availability   []Window
	Absences       []Interval
	Busy           []Busy
	// MonthMinutes are the minutes of the bookings already assigned to the candidate
	// in the month of the request's start (Europe/Rome).
	MonthMinutes int
}

// Config holds the network's settings.
type Config struct {
	// TravelBuffer is the time kept free between in-person bookings in different
	// municipalities.
	TravelBuffer time.Duration
	// Location is the time zone of availability windows and dates (Europe/Rome).
	Location *time.Location
}

// Violation is the first hard rule a candidate fails.
type Violation struct {
	Rule   Rule
	Detail string // for the caller; names no other booking's details
}

// Error returns the violation as a sentence.
func (v *Violation) Error() string { return string(v.Rule) + ": " + v.Detail }

// Alternative is a candidate that passed every rule but ranked lower.
type Alternative struct {
	MediatorID   string
	WhyLower     string // why it ranked below the candidate just before it
	MonthMinutes int
}

// Decision is the outcome of Choose.
type Decision struct {
	// Ranked are the ids of every candidate that passed, best first; empty when none.
	Ranked []string
	// Reasons say why Ranked[0] was chosen.
	Reasons []string
	// Alternatives are Ranked[1:6] with why each ranked lower.
	Alternatives []Alternative
	// Excluded counts the candidates each rule excluded.
	Excluded map[Rule]int
}

// maxAlternatives is how many alternatives a decision explains.
const maxAlternatives = 5

// Check applies the hard rules to one candidate and returns the first that fails, or
// nil.
func Check(r Request, c Candidate, cfg Config) *Violation {
	loc := cfg.location()
	if !c.Active {
		return &Violation{RuleStatus, "the mediator is suspended"}
	}
	lang, ok := c.language(r.Language)
	if !ok {
		return &Violation{RuleLanguage, fmt.Sprintf("the mediator does not work in %q", r.Language)}
	}
	if lang.Level < r.MinLevel {
		return &Violation{RuleLanguage, fmt.Sprintf("level %s in %q is below the %s asked", lang.Level, r.Language, r.MinLevel)}
	}
	if !slices.Contains(c.Districts, r.District) {
		return &Violation{RuleDistrict, fmt.Sprintf("the mediator does not serve district %s", r.District)}
	}
	date := r.Start.In(loc).Format(time.DateOnly)
	if _, ok := c.qualification(r, date); !ok {
		return &Violation{RuleQualification, fmt.Sprintf("no qualification valid on %s covers %q for this service", date, r.Language)}
	}
	if _, ok := c.window(r, loc); !ok {
		return &Violation{RuleAvailability, "outside the mediator's weekly availability"}
	}
	for _, a := range c.Absences {
		if a.Start.Before(r.End) && r.Start.Before(a.End) {
			return &Violation{RuleAbsence, "the mediator is absent then"}
		}
	}
	for _, b := range c.Busy {
		if b.BookingID != "" && b.BookingID == r.BookingID {
			continue
		}
		if b.Start.Before(r.End) && r.Start.Before(b.End) {
			return &Violation{RuleOverlap, "the mediator holds another booking then"}
		}
		if r.InPerson && b.InPerson && b.Municipality != r.Municipality && gap(r, b) < cfg.TravelBuffer {
			return &Violation{RuleTravelBuffer, fmt.Sprintf("less than %s to travel from or to another in-person booking", formatDuration(cfg.TravelBuffer))}
		}
	}
	return nil
}

// gap is the free time between the request and a booking that does not overlap it.
func gap(r Request, b Busy) time.Duration {
	if !b.End.After(r.Start) {
		return r.Start.Sub(b.End)
	}
	return b.Start.Sub(r.End)
}

func (cfg Config) location() *time.Location {
	if cfg.Location == nil {
		return time.UTC
	}
	return cfg.Location
}

func (c Candidate) language(code string) (Language, bool) {
	best, found := Language{}, false
	for _, l := range c.Languages {
		if l.Code == code && (!found || l.Level > best.Level) {
			best, found = l, true
		}
	}
	return best, found
}

func (c Candidate) hasVariety(code, variety string) bool {
	for _, l := range c.Languages {
		if l.Code == code && strings.EqualFold(strings.TrimSpace(l.Variety), strings.TrimSpace(variety)) {
			return true
		}
	}
	return false
}

// qualification returns a qualification valid on date covering the request.
func (c Candidate) qualification(r Request, date string) (Qualification, bool) {
	for _, q := range c.Qualifications {
		if q.ValidUntil != "" && q.ValidUntil < date {
			continue
		}
		if len(q.Languages) > 0 && !slices.Contains(q.Languages, r.Language) {
			continue
		}
		if len(q.ServiceTypes) > 0 && !slices.Contains(q.ServiceTypes, r.ServiceType) {
			continue
		}
		return q, true
	}
	return Qualification{}, false
}

// window returns the weekly window holding the whole request, in local wall-clock time
// (bookings start on whole minutes: the server refuses others).
func (c Candidate) window(r Request, loc *time.Location) (Window, bool) {
	s, e := r.Start.In(loc), r.End.In(loc)
	startMin := s.Hour()*60 + s.Minute()
	endMin := e.Hour()*60 + e.Minute()
	sy, sm, sd := s.Date()
	ey, em, ed := e.Date()
	sameDay := sy == ey && sm == em && sd == ed
	if !sameDay {
		next := time.Date(sy, sm, sd+1, 0, 0, 0, 0, loc)
		if !e.Equal(next) {
			return Window{}, false // crosses midnight
		}
		endMin = 24 * 60
	}
	weekday := int(s.Weekday())
	if weekday == 0 {
		weekday = 7
	}
	for _, w := range c.Availability {
		if w.Weekday == weekday && w.StartMin <= startMin && endMin <= w.EndMin {
			return w, true
		}
	}
	return Window{}, false
}

// ranked is a candidate that passed, with its ranking keys.
type ranked struct {
	c       Candidate
	keep    bool
	variety bool
	level   Level
}

// compare orders a before b when a ranks higher.
func compare(a, b ranked) int {
	if a.keep != b.keep {
		return boolFirst(a.keep)
	}
	if a.variety != b.variety {
		return boolFirst(a.variety)
	}
	if c := cmp.Compare(a.c.MonthMinutes, b.c.MonthMinutes); c != 0 {
		return c
	}
	if c := cmp.Compare(b.level, a.level); c != 0 {
		return c
	}
	return cmp.Compare(a.c.ID, b.c.ID)
}

func boolFirst(a bool) int {
	if a {
		return -1
	}
	return 1
}

// Choose applies the rules to every candidate and ranks those who pass.
func Choose(r Request, candidates []Candidate, cfg Config) Decision {
	d := Decision{Excluded: map[Rule]int{}}
	var ok []ranked
	for _, c := range candidates {
		if v := Check(r, c, cfg); v != nil {
			d.Excluded[v.Rule]++
			continue
		}
		lang, _ := c.language(r.Language)
		ok = append(ok, ranked{
			c:       c,
			keep:    r.Keep != "" && c.ID == r.Keep,
			variety: r.Variety != "" && c.hasVariety(r.Language, r.Variety),
			level:   lang.Level,
		})
	}
	if len(ok) == 0 {
		return d
	}
	slices.SortFunc(ok, compare)
	for _, k := range ok {
		d.Ranked = append(d.Ranked, k.c.ID)
	}
	d.Reasons = reasons(r, ok, cfg)
	for i := 1; i < len(ok) && i <= maxAlternatives; i++ {
		d.Alternatives = append(d.Alternatives, Alternative{
			MediatorID:   ok[i].c.ID,
			WhyLower:     whyLower(r, ok[i], ok[i-1]),
			MonthMinutes: ok[i].c.MonthMinutes,
		})
	}
	return d
}

// reasons explain the choice of ok[0].
func reasons(r Request, ok []ranked, cfg Config) []string {
	best := ok[0]
	loc := cfg.location()
	var out []string
	if best.keep {
		out = append(out, "kept: already the mediator of this booking or its series")
	}
	if best.variety {
		out = append(out, fmt.Sprintf("offers the variety asked (%s)", r.Variety))
	}
	if len(ok) > 1 {
		out = append(out, fmt.Sprintf("fair share: %s assigned this month (next candidate %s)",
			formatMinutes(best.c.MonthMinutes), formatMinutes(ok[1].c.MonthMinutes)))
	} else {
		out = append(out, fmt.Sprintf("the only mediator who meets every rule (%s assigned this month)", formatMinutes(best.c.MonthMinutes)))
	}
	out = append(out, fmt.Sprintf("works in %s at level %s (asked %s)", r.Language, best.level, r.MinLevel))
	out = append(out, fmt.Sprintf("serves district %s", r.District))
	date := r.Start.In(loc).Format(time.DateOnly)
	if q, ok := best.c.qualification(r, date); ok {
		until := "no expiry"
		if q.ValidUntil != "" {
			until = "valid until " + q.ValidUntil
		}
		out = append(out, fmt.Sprintf("qualification %q, %s", q.Name, until))
	}
	if w, ok := best.c.window(r, loc); ok {
		out = append(out, fmt.Sprintf("available %s %s–%s", weekdayName(w.Weekday), clock(w.StartMin), clock(w.EndMin)))
	}
	return out
}

// whyLower says why a ranked below prev, by the first ranking key that differs.
func whyLower(r Request, a, prev ranked) string {
	switch {
	case prev.keep && !a.keep:
		return "not the mediator already on this booking or its series (" + prev.c.ID + " is)"
	case prev.variety && !a.variety:
		return fmt.Sprintf("does not offer the variety asked (%s)", r.Variety)
	case a.c.MonthMinutes != prev.c.MonthMinutes:
		return fmt.Sprintf("more hours this month: %s against %s for %s", formatMinutes(a.c.MonthMinutes), formatMinutes(prev.c.MonthMinutes), prev.c.ID)
	case a.level != prev.level:
		return fmt.Sprintf("same hours this month, lower level: %s against %s for %s", a.level, prev.level, prev.c.ID)
	default:
		return "same hours and level as " + prev.c.ID + ": ties go by id"
	}
}

func formatMinutes(m int) string { return fmt.Sprintf("%dh%02d", m/60, m%60) }

func formatDuration(d time.Duration) string { return formatMinutes(int(d / time.Minute)) }

func clock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

func weekdayName(w int) string {
	return []string{"", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}[w]
}
