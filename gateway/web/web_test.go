package web

import (
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"
)

func TestParseQueryRefusesHostileValuesByName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     string
		problem string // a substring of the one expected problem; empty: none
	}{
		{"an everyday search has no problem", "q=corso+di+italiano&mun=Crema&language=ar&open=now&r=5", ""},
		{"invalid UTF-8 in the text is named", "q=%FF%FE", "q: not valid UTF-8"},
		{"a NUL byte in the municipality is named", "mun=Crema%00", "mun: contains a NUL"},
		{"a position that is not lat,lon is refused", "near=45.3,abc", "near:"},
		{"a radius outside 1–200 km is refused", "r=0", "r:"},
		{"a date that does not exist is refused", "at=2099-02-31T10:00", "at:"},
		{"a language that is not an ISO 639 code is refused", "language=arabic", "language:"},
		{"text over 200 characters is refused", "q=" + strings.Repeat("a", 201), "q: at most 200"},
		{"a parameter over the size of any page token is refused", "page=" + strings.Repeat("x", 2000), "page: too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := url.ParseQuery(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			_, problems := parseQuery(v)
			if tt.problem == "" {
				if len(problems) != 0 {
					t.Fatalf("problems %q, want none", problems)
				}
				return
			}
			if len(problems) != 1 || !strings.Contains(problems[0], tt.problem) {
				t.Fatalf("problems %q, want one containing %q", problems, tt.problem)
			}
		})
	}
}

func TestQueryValuesRoundTrip(t *testing.T) {
	t.Parallel()
	q := Query{Q: "avvocato", Category: "c1", Municipality: "Crema", Language: "ar", OpenNow: true, Near: "45.364,9.685", RadiusKm: 5, Page: "tok"}
	got, problems := parseQuery(q.Values("fr", true))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if got != q {
		t.Fatalf("round trip gave %+v, want %+v", got, q)
	}
	if v := q.Values("fr", false); v.Has("page") || v.Get("hl") != "fr" {
		t.Fatalf("without page: %v", v)
	}
}

func sched(wd directoryv1.Weekday, opens, closes string) *directoryv1.Schedule {
	return &directoryv1.Schedule{Weekday: wd, OpensAt: opens, ClosesAt: closes}
}

func TestHoursOnFollowsTheSearchRules(t *testing.T) {
	t.Parallel()
	tuesday := time.Date(2026, 11, 24, 10, 0, 0, 0, rome)
	tests := []struct {
		name   string
		scheds []*directoryv1.Schedule
		want   DayHours
	}{
		{"no schedule at all is unknown, not closed", nil, DayHours{}},
		{"two openings of the day are listed earliest first",
			[]*directoryv1.Schedule{sched(2, "14:00", "17:00"), sched(2, "09:00", "12:30"), sched(3, "09:00", "12:00")},
			DayHours{Known: true, Intervals: []string{"09:00–12:30", "14:00–17:00"}}},
		{"openings on other days only mean closed today",
			[]*directoryv1.Schedule{sched(1, "09:00", "12:00")},
			DayHours{Known: true, Closed: true}},
		{"an opening not yet valid does not count",
			[]*directoryv1.Schedule{{Weekday: 2, OpensAt: "09:00", ClosesAt: "12:00", ValidFrom: "2026-12-01"}},
			DayHours{Known: true, Closed: true}},
		{"an exception closing the date wins over the weekly hours",
			[]*directoryv1.Schedule{sched(2, "09:00", "12:00"), {ExceptionDate: "2026-11-24", Closed: true}},
			DayHours{Known: true, Closed: true}},
		{"an exception's hours replace the weekly ones",
			[]*directoryv1.Schedule{sched(2, "09:00", "12:00"), {ExceptionDate: "2026-11-24", OpensAt: "15:00", ClosesAt: "18:00"}},
			DayHours{Known: true, Intervals: []string{"15:00–18:00"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := hoursOn(tt.scheds, tuesday)
			if got.Known != tt.want.Known || got.Closed != tt.want.Closed || !slices.Equal(got.Intervals, tt.want.Intervals) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestHoursOnReadsTheDayInRome(t *testing.T) {
	t.Parallel()
	// 23:30 UTC on Monday is already Tuesday in Rome.
	got := hoursOn([]*directoryv1.Schedule{sched(2, "09:00", "12:00")}, time.Date(2026, 11, 23, 23, 30, 0, 0, time.UTC))
	if got.Closed || len(got.Intervals) != 1 {
		t.Fatalf("got %+v, want Tuesday's hours", got)
	}
}

func TestEveryLocaleHasTheSameMessages(t *testing.T) {
	t.Parallel()
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	public := func(loc string) int { // the observatory's messages are in it and en only
		n := 0
		for key := range c.messages[loc] {
			if !strings.HasPrefix(key, "obs_") {
				n++
			}
		}
		return n
	}
	for _, loc := range Locales {
		for key := range c.messages[loc] {
			if _, ok := c.messages["it"][key]; !ok {
				t.Errorf("%s has %q, which Italian lacks (a typo of a key?)", loc, key)
			}
		}
		if public(loc) != public("it") {
			t.Errorf("%s has %d messages, Italian %d", loc, public(loc), public("it"))
		}
	}
	if len(c.messages["en"]) != len(c.messages["it"]) {
		t.Errorf("English has %d messages with the observatory's, Italian %d", len(c.messages["en"]), len(c.messages["it"]))
	}
}

func TestPickLocale(t *testing.T) {
	t.Parallel()
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, url, acceptLanguage, want string
	}{
		{"hl wins over the browser's languages", "/?hl=ar", "fr-FR,fr;q=0.9", "ar"},
		{"the browser's first known language is taken", "/", "de-DE,uk;q=0.8,en;q=0.5", "uk"},
		{"a regional variant matches its language", "/", "es-AR", "es"},
		{"an unknown hl falls back to the browser", "/?hl=xx", "ro", "ro"},
		{"nothing known is Italian", "/", "ja", "it"},
		{"a malformed header is Italian", "/", ";;;", "it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", tt.url, nil)
			r.Header.Set("Accept-Language", tt.acceptLanguage)
			if got := c.pick(r); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestPickTextMarksFallbacks(t *testing.T) {
	t.Parallel()
	if got := pickText(map[string]string{"it": "Corso", "ar": "دورة"}, "ar"); got.Fallback || got.Lang != "ar" {
		t.Fatalf("got %+v", got)
	}
	if got := pickText(map[string]string{"it": "Corso"}, "uk"); !got.Fallback || got.Lang != "it" || got.Value != "Corso" {
		t.Fatalf("got %+v", got)
	}
	if got := pickText(map[string]string{"fr": "Cours", "en": "Course"}, "uk"); !got.Fallback || got.Lang != "en" {
		t.Fatalf("got %+v, want the alphabetically first locale without Italian", got)
	}
}
