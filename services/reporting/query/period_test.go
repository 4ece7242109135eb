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

func TestLowerMedian(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		dist map[int64]int64
		want int64
	}{
		{"an empty distribution has median zero", map[int64]int64{}, 0},
		{"one value is its own median", map[int64]int64{7: 1}, 7},
		{"an odd count takes the middle value", map[int64]int64{1: 1, 5: 1, 9: 1}, 5},
		{"an even count takes the lower of the two middle values", map[int64]int64{1: 2, 9: 2}, 1},
		{"repeated values weigh by their count", map[int64]int64{2: 1, 3: 5, 100: 3}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := lowerMedian(tt.dist); got != tt.want {
				t.Fatalf("lowerMedian(%v) = %d, want %d", tt.dist, got, tt.want)
			}
		})
	}
}
