package assign_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ponte-network/ponte/services/mediators/assign"
)

var rome = mustLoad("Europe/Rome")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// at is a wall-clock time in Rome.
func at(date, clock string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", date+" "+clock, rome)
	if err != nil {
		panic(err)
	}
	return t
}

var cfg = assign.Config{TravelBuffer: 30 * time.Minute, Location: rome}

const (
	crema  = "019035"
	lodi   = "098031"
	school = int32(1)
	health = int32(2)
)

// weekdays are Monday to Friday, 08:00–18:00.
func weekdays() []assign.Window {
	var ws []assign.Window
	for d := 1; d <= 5; d++ {
		ws = append(ws, assign.Window{Weekday: d, StartMin: 8 * 60, EndMin: 18 * 60})
	}
	return ws
}

func candidate(id string, mod ...func(*assign.Candidate)) assign.Candidate {
	c := assign.Candidate{
		ID: id, Active: true,
		Languages:      []assign.Language{{Code: "ar", Level: 5, Variety: "Maghrebi"}, {Code: "fr", Level: 4}},
		Districts:      []string{"cremasco"},
		Qualifications: []assign.Qualification{{Name: "Mediatore linguistico-culturale", ValidUntil: "2027-12-31"}},
		Availability:   weekdays(),
	}
	for _, m := range mod {
		m(&c)
	}
	return c
}

// request is an in-person Arabic school meeting in Crema, Tuesday 1 December 2026 10:00–11:00.
func request(mod ...func(*assign.Request)) assign.Request {
	r := assign.Request{
		BookingID: "b-new", Language: "ar", MinLevel: 4, District: "cremasco", Municipality: crema,
		InPerson: true, ServiceType: school, Start: at("2026-12-01", "10:00"), End: at("2026-12-01", "11:00"),
	}
	for _, m := range mod {
		m(&r)
	}
	return r
}

func busy(id, municipality string, inPerson bool, start, end time.Time) func(*assign.Candidate) {
	return func(c *assign.Candidate) {
		c.Busy = append(c.Busy, assign.Busy{BookingID: id, Municipality: municipality, InPerson: inPerson, Start: start, End: end})
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	day := "2026-12-01"
	tests := []struct {
		name string
		req  assign.Request
		c    assign.Candidate
		want assign.Rule // "" = passes
	}{
		{"a mediator who meets every rule passes", request(), candidate("m1"), ""},
		{"a suspended mediator is refused for status", request(), candidate("m1", func(c *assign.Candidate) { c.Active = false }), assign.RuleStatus},
		{"a mediator without the language is refused", request(func(r *assign.Request) { r.Language = "ti" }), candidate("m1"), assign.RuleLanguage},
		{"a level below the one asked is refused", request(func(r *assign.Request) { r.Language, r.MinLevel = "fr", 5 }), candidate("m1"), assign.RuleLanguage},
		{"a mediator not serving the district is refused", request(func(r *assign.Request) { r.District = "casalasco" }), candidate("m1"), assign.RuleDistrict},
		{"a qualification expired the day before is refused", request(),
			candidate("m1", func(c *assign.Candidate) { c.Qualifications[0].ValidUntil = "2026-11-30" }), assign.RuleQualification},
		{"a qualification valid until the booking's day passes", request(),
			candidate("m1", func(c *assign.Candidate) { c.Qualifications[0].ValidUntil = "2026-12-01" }), ""},
		{"a qualification for other languages only is refused", request(),
			candidate("m1", func(c *assign.Candidate) { c.Qualifications[0].Languages = []string{"fr"} }), assign.RuleQualification},
		{"a qualification for health only does not cover a school", request(),
			candidate("m1", func(c *assign.Candidate) { c.Qualifications[0].ServiceTypes = []int32{health} }), assign.RuleQualification},
		{"an expired qualification is replaced by another valid one", request(),
			candidate("m1", func(c *assign.Candidate) {
				c.Qualifications = []assign.Qualification{{Name: "old", ValidUntil: "2025-01-01"}, {Name: "new", Languages: []string{"ar"}}}
			}), ""},
		{"a Saturday booking is outside weekday availability", request(func(r *assign.Request) {
			r.Start, r.End = at("2026-12-05", "10:00"), at("2026-12-05", "11:00")
		}), candidate("m1"), assign.RuleAvailability},
		{"a booking running past the window's end is refused", request(func(r *assign.Request) {
			r.Start, r.End = at(day, "17:30"), at(day, "18:30")
		}), candidate("m1"), assign.RuleAvailability},
		{"a booking ending exactly at the window's end passes", request(func(r *assign.Request) {
			r.Start, r.End = at(day, "17:00"), at(day, "18:00")
		}), candidate("m1"), ""},
		{"an absence over the booking is refused", request(),
			candidate("m1", func(c *assign.Candidate) {
				c.Absences = []assign.Interval{{Start: at("2026-11-30", "00:00"), End: at("2026-12-02", "00:00")}}
			}), assign.RuleAbsence},
		{"an absence ending when the booking starts passes", request(),
			candidate("m1", func(c *assign.Candidate) {
				c.Absences = []assign.Interval{{Start: at(day, "08:00"), End: at(day, "10:00")}}
			}), ""},
		{"an overlapping booking is refused", request(), candidate("m1", busy("b1", crema, true, at(day, "10:30"), at(day, "11:30"))), assign.RuleOverlap},
		{"an overlapping remote booking is refused too", request(), candidate("m1", busy("b1", lodi, false, at(day, "09:30"), at(day, "10:01"))), assign.RuleOverlap},
		{"back to back in the same municipality passes", request(), candidate("m1", busy("b1", crema, true, at(day, "09:00"), at(day, "10:00"))), ""},
		{"twenty minutes after an in-person booking elsewhere is within the travel buffer", request(),
			candidate("m1", busy("b1", lodi, true, at(day, "08:40"), at(day, "09:40"))), assign.RuleTravelBuffer},
		{"twenty minutes before an in-person booking elsewhere is within the travel buffer", request(),
			candidate("m1", busy("b1", lodi, true, at(day, "11:20"), at(day, "12:00"))), assign.RuleTravelBuffer},
		{"exactly the travel buffer after an in-person booking elsewhere passes", request(),
			candidate("m1", busy("b1", lodi, true, at(day, "08:30"), at(day, "09:30"))), ""},
		{"no travel buffer between a remote booking and an in-person one", request(),
			candidate("m1", busy("b1", lodi, false, at(day, "09:00"), at(day, "10:00"))), ""},
		{"no travel buffer when the new booking is by phone", request(func(r *assign.Request) { r.InPerson = false }),
			candidate("m1", busy("b1", lodi, true, at(day, "09:00"), at(day, "10:00"))), ""},
		{"the booking being rescheduled does not overlap itself", request(func(r *assign.Request) { r.BookingID = "b1" }),
			candidate("m1", busy("b1", crema, true, at(day, "10:30"), at(day, "11:30"))), ""},
		{"after the October clock change a Monday 08:00 window is 07:00 UTC", request(func(r *assign.Request) {
			r.Start = time.Date(2026, 10, 26, 7, 0, 0, 0, time.UTC)
			r.End = r.Start.Add(time.Hour)
		}), candidate("m1", func(c *assign.Candidate) {
			c.Availability = []assign.Window{{Weekday: 1, StartMin: 8 * 60, EndMin: 9 * 60}}
		}), ""},
		{"before the October clock change 07:00 UTC on a Monday is 09:00 in Rome, outside an 08:00–09:00 window", request(func(r *assign.Request) {
			r.Start = time.Date(2026, 10, 19, 7, 0, 0, 0, time.UTC)
			r.End = r.Start.Add(time.Hour)
		}), candidate("m1", func(c *assign.Candidate) {
			c.Availability = []assign.Window{{Weekday: 1, StartMin: 8 * 60, EndMin: 9 * 60}}
		}), assign.RuleAvailability},
		{"a booking across midnight is outside any window", request(func(r *assign.Request) {
			r.Start, r.End = at(day, "23:30"), at("2026-12-02", "00:30")
		}), candidate("m1", func(c *assign.Candidate) {
			c.Availability = []assign.Window{{Weekday: 2, StartMin: 0, EndMin: 24 * 60}, {Weekday: 3, StartMin: 0, EndMin: 24 * 60}}
		}), assign.RuleAvailability},
		{"a booking ending at midnight fits a window to 24:00", request(func(r *assign.Request) {
			r.Start, r.End = at(day, "23:00"), at("2026-12-02", "00:00")
		}), candidate("m1", func(c *assign.Candidate) {
			c.Availability = []assign.Window{{Weekday: 2, StartMin: 20 * 60, EndMin: 24 * 60}}
		}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := assign.Check(tt.req, tt.c, cfg)
			switch {
			case tt.want == "" && v != nil:
				t.Fatalf("refused: %v", v)
			case tt.want != "" && v == nil:
				t.Fatalf("passed, want refused for %s", tt.want)
			case tt.want != "" && v.Rule != tt.want:
				t.Fatalf("refused for %s (%s), want %s", v.Rule, v.Detail, tt.want)
			}
		})
	}
}

func minutes(m int) func(*assign.Candidate) { return func(c *assign.Candidate) { c.MonthMinutes = m } }

func TestChoose(t *testing.T) {
	t.Parallel()
	day := "2026-12-01"
	tests := []struct {
		name         string
		req          assign.Request
		candidates   []assign.Candidate
		wantRanked   []string
		wantWhyLower []string // of each alternative, by substring
		wantReason   string   // a substring of one of the reasons
		wantExcluded map[assign.Rule]int
	}{
		{
			name:         "the fewest hours this month wins, the others explained by their hours",
			req:          request(),
			candidates:   []assign.Candidate{candidate("m-a", minutes(600)), candidate("m-b", minutes(120)), candidate("m-c", minutes(300))},
			wantRanked:   []string{"m-b", "m-c", "m-a"},
			wantWhyLower: []string{"more hours this month: 5h00 against 2h00 for m-b", "more hours this month: 10h00 against 5h00 for m-c"},
			wantReason:   "fair share: 2h00 assigned this month (next candidate 5h00)",
			wantExcluded: map[assign.Rule]int{},
		},
		{
			name:         "the mediator to keep wins over a fairer share",
			req:          request(func(r *assign.Request) { r.Keep = "m-a" }),
			candidates:   []assign.Candidate{candidate("m-a", minutes(600)), candidate("m-b", minutes(0))},
			wantRanked:   []string{"m-a", "m-b"},
			wantWhyLower: []string{"not the mediator already on this booking or its series (m-a is)"},
			wantReason:   "kept: already the mediator",
			wantExcluded: map[assign.Rule]int{},
		},
		{
			name: "a mediator to keep who is no longer free is passed over",
			req:  request(func(r *assign.Request) { r.Keep = "m-a" }),
			candidates: []assign.Candidate{
				candidate("m-a", busy("other", crema, true, at(day, "10:00"), at(day, "12:00"))),
				candidate("m-b", minutes(60)),
			},
			wantRanked:   []string{"m-b"},
			wantReason:   "the only mediator who meets every rule",
			wantExcluded: map[assign.Rule]int{assign.RuleOverlap: 1},
		},
		{
			name: "the variety asked ranks before hours",
			req:  request(func(r *assign.Request) { r.Variety = "maghrebi" }),
			candidates: []assign.Candidate{
				candidate("m-a", minutes(0), func(c *assign.Candidate) { c.Languages[0].Variety = "Levantine" }),
				candidate("m-b", minutes(900)),
			},
			wantRanked:   []string{"m-b", "m-a"},
			wantWhyLower: []string{"does not offer the variety asked (maghrebi)"},
			wantReason:   "offers the variety asked",
			wantExcluded: map[assign.Rule]int{},
		},
		{
			name: "with equal hours the higher level wins, then the id",
			req:  request(),
			candidates: []assign.Candidate{
				candidate("m-c", minutes(60)),
				candidate("m-b", minutes(60), func(c *assign.Candidate) { c.Languages[0].Level = 7 }),
				candidate("m-a", minutes(60)),
			},
			wantRanked:   []string{"m-b", "m-a", "m-c"},
			wantWhyLower: []string{"same hours this month, lower level: C1 against native for m-b", "same hours and level as m-a: ties go by id"},
			wantReason:   "works in ar at level native (asked B2)",
			wantExcluded: map[assign.Rule]int{},
		},
		{
			name: "each rule's exclusions are counted and nobody is chosen when all fail",
			req:  request(),
			candidates: []assign.Candidate{
				candidate("m-a", func(c *assign.Candidate) { c.Active = false }),
				candidate("m-b", func(c *assign.Candidate) { c.Districts = []string{"casalasco"} }),
				candidate("m-c", busy("x", lodi, true, at(day, "09:00"), at(day, "09:45"))),
				candidate("m-d", busy("y", lodi, true, at(day, "11:00"), at(day, "11:10"))),
			},
			wantRanked:   nil,
			wantExcluded: map[assign.Rule]int{assign.RuleStatus: 1, assign.RuleDistrict: 1, assign.RuleTravelBuffer: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := assign.Choose(tt.req, tt.candidates, cfg)
			if !reflect.DeepEqual(d.Ranked, tt.wantRanked) {
				t.Fatalf("ranked %v, want %v", d.Ranked, tt.wantRanked)
			}
			if !reflect.DeepEqual(d.Excluded, tt.wantExcluded) {
				t.Errorf("excluded %v, want %v", d.Excluded, tt.wantExcluded)
			}
			if len(d.Alternatives) != len(tt.wantWhyLower) {
				t.Fatalf("%d alternatives, want %d: %+v", len(d.Alternatives), len(tt.wantWhyLower), d.Alternatives)
			}
			for i, want := range tt.wantWhyLower {
				if a := d.Alternatives[i]; a.MediatorID != tt.wantRanked[i+1] || !strings.Contains(a.WhyLower, want) {
					t.Errorf("alternative %d = %s %q, want %s %q", i, a.MediatorID, a.WhyLower, tt.wantRanked[i+1], want)
				}
			}
			if tt.wantReason != "" && !strings.Contains(strings.Join(d.Reasons, "\n"), tt.wantReason) {
				t.Errorf("reasons %q lack %q", d.Reasons, tt.wantReason)
			}
		})
	}
}

func TestChooseExplainsAtMostFiveAlternatives(t *testing.T) {
	t.Parallel()
	var cs []assign.Candidate
	for _, id := range []string{"m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"} {
		cs = append(cs, candidate(id))
	}
	d := assign.Choose(request(), cs, cfg)
	if len(d.Ranked) != 8 || len(d.Alternatives) != 5 {
		t.Fatalf("ranked %d, alternatives %d; want 8 and 5", len(d.Ranked), len(d.Alternatives))
	}
}
