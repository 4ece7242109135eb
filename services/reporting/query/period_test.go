package query

import (
	"testing"
	"time"

	"github.com/ponte-network/ponte/services/reporting/store"
)

func TestPeriodsAreNamedAsSDMXSpellsThem(t *testing.T) {
	t.Parallel()
	day := func(s string) int32 {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return int32(d.Unix() / 86400)
	}
	tests := []struct {
		name string
		day  string
		g    Granularity
		want string
	}{
		{"a day is its date", "2026-03-05", Day, "2026-03-05"},
		{"the first of January 2027 is in ISO week 53 of 2026", "2027-01-01", Week, "2026-W53"},
		{"a month is year and month", "2026-03-05", Month, "2026-03"},
		{"March is in the first quarter", "2026-03-31", Quarter, "2026-Q1"},
		{"April is in the second quarter", "2026-04-01", Quarter, "2026-Q2"},
		{"a year is its number", "2026-12-31", Year, "2026"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := periodLabel(day(tt.day), tt.g); got != tt.want {
				t.Fatalf("periodLabel(%s, %d) = %q, want %q", tt.day, tt.g, got, tt.want)
			}
			if tt.g >= Month {
				if got := monthLabel(store.MonthOf(day(tt.day)), tt.g); got != tt.want {
					t.Fatalf("monthLabel = %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func TestCivilDaysAreCountedInRome(t *testing.T) {
	t.Parallel()
	// 23:30 UTC on 31 December is already 1 January in Rome.
	late := time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC)
	if got := store.Date(store.DayOf(late)).Format(time.DateOnly); got != "2026-01-01" {
		t.Fatalf("civil day = %s, want 2026-01-01", got)
	}
}
