package cases_test

import (
	"testing"

	"buf.build/go/protovalidate"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"
)

// TestBirthDateMustBeARealDate checks the shared civil_date rule
// (proto/ponte/validate/v1/rules.proto) on a person's birth date.
func TestBirthDateMustBeARealDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		date  string
		valid bool
	}{
		{"an ordinary date is accepted", "1990-05-17", true},
		{"no date is accepted", "", true},
		{"the 29th of February of a leap year is accepted", "2000-02-29", true},
		{"the 31st of December is accepted", "1985-12-31", true},
		{"the 31st of February is refused", "2009-02-31", false},
		{"the 29th of February of a common year is refused", "2023-02-29", false},
		{"the 29th of February of a century not divisible by 400 is refused", "1900-02-29", false},
		{"the 31st of April is refused", "2001-04-31", false},
		{"month 13 is refused", "2001-13-01", false},
		{"day 0 is refused", "2001-01-00", false},
		{"a date without dashes is refused", "20010101", false},
		{"a date with a time is refused", "2001-01-01T00:00", false},
		{"letters are refused", "abcd-ef-gh", false},
	}
	for _, tt := range tests {
		err := protovalidate.Validate(&casesv1.Person{BirthDate: tt.date})
		if _, isViolation := err.(*protovalidate.ValidationError); err != nil && !isViolation {
			t.Errorf("%s: %q: the rule failed to evaluate: %v", tt.name, tt.date, err)
			continue
		}
		if (err == nil) != tt.valid {
			t.Errorf("%s: %q: valid = %v (%v), want %v", tt.name, tt.date, err == nil, err, tt.valid)
		}
	}
}
