package cases

import (
	"encoding/csv"
	"strings"
	"testing"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"
)

var rowColumns = map[string]int{"external_id": 0, "municipality_code": 1, "category": 2, "phase": 3, "needs": 4, "expected_version": 5}

func TestParseRow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		rec      []string
		category casesv1.Category
		phase    casesv1.Phase
		problems []string // each must appear in the reason
	}{
		{"a short category name is accepted", []string{"e1", "019035", "housing", "", "", ""}, casesv1.Category_CATEGORY_HOUSING, 0, nil},
		{"the API's category name is accepted", []string{"e1", "019035", "CATEGORY_HOUSING", "", "", ""}, casesv1.Category_CATEGORY_HOUSING, 0, nil},
		{"names are read in any case", []string{"e1", "019035", "Category_Renewal", "Phase_Intake", "", ""}, casesv1.Category_CATEGORY_RENEWAL, casesv1.Phase_PHASE_INTAKE, nil},
		{"a short phase name is accepted", []string{"e1", "019035", "other", "closed", "", ""}, casesv1.Category_CATEGORY_OTHER, casesv1.Phase_PHASE_CLOSED, nil},
		{"the unspecified value is refused", []string{"e1", "019035", "CATEGORY_UNSPECIFIED", "", "", ""}, 0, 0, []string{"category: unknown"}},
		{"every problem of a row is reported, with the values allowed", []string{"", "019035", "casa", "later", "", "-1"}, 0, 0,
			[]string{"external_id: empty", `category: unknown "casa" (one of residence_permit`, `phase: unknown "later"`, "expected_version: not a version"}},
	}
	for _, tt := range tests {
		item, reason := parseRow(tt.rec, rowColumns, "sil")
		if len(tt.problems) == 0 {
			if item == nil {
				t.Errorf("%s: refused: %s", tt.name, reason)
				continue
			}
			if item.GetCase().GetCategory() != tt.category || item.GetCase().GetPhase() != tt.phase {
				t.Errorf("%s: category %v phase %v, want %v %v", tt.name, item.GetCase().GetCategory(), item.GetCase().GetPhase(), tt.category, tt.phase)
			}
			continue
		}
		if item != nil {
			t.Errorf("%s: accepted, want refused", tt.name)
		}
		for _, p := range tt.problems {
			if !strings.Contains(reason, p) {
				t.Errorf("%s: reason %q lacks %q", tt.name, reason, p)
			}
		}
	}
}

// FuzzParseRow feeds CSV lines to the row parser: it never panics, and a row it accepts
// has an external id and a category, as the batch requires.
func FuzzParseRow(f *testing.F) {
	for _, seed := range []string{
		"e1,019035,housing,intake,documents;language,3",
		"e2,019035,CATEGORY_RENEWAL,,,",
		",,,,,",
		"\"quoted, id\",019035,other,closed,,0",
		"e\x00,019035,housing,,,",
		"e3,\xff,housing,,,99999999999",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r := csv.NewReader(strings.NewReader(line))
		r.FieldsPerRecord = -1
		rec, err := r.Read()
		if err != nil {
			return
		}
		item, reason := parseRow(rec, rowColumns, "sil")
		if item == nil {
			if reason == "" {
				t.Errorf("row %q refused without a reason", line)
			}
			return
		}
		if item.GetCase().GetExternalId() == "" || item.GetCase().GetCategory() == 0 || item.GetExpectedVersion() < 0 {
			t.Errorf("row %q accepted as %v", line, item)
		}
	})
}
