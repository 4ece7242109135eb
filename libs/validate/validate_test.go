package validate_test

import (
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/libs/validate"
)

func fields(v grpcerr.Violations) map[string]string {
	out := map[string]string{}
	for _, f := range v {
		out[f.Field] = f.Description
	}
	return out
}

func TestMessageNamesTheRefusedStrings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		want string // the violation's description, "" for none
	}{
		{"plain", "Cremona", ""},
		{"arabic", "مرحبا", ""},
		{"nul", "a\x00b", "contains a NUL byte"},
		{"invalid utf-8", "a\xffb", "is not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := &structpb.Struct{Fields: map[string]*structpb.Value{"note": structpb.NewStringValue(tc.in)}}
			got := fields(validate.Message("item", m))
			if tc.want == "" {
				if len(got) != 0 {
					t.Fatalf("violations %v, want none", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("violations %v, want one", got)
			}
			for f, d := range got {
				if d != tc.want || len(f) <= len("item.") || f[:5] != "item." {
					t.Fatalf("violation %s: %s, want item.…: %s", f, d, tc.want)
				}
			}
		})
	}
}

func TestCivilDate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		date string
		ok   bool
	}{
		{"", true},
		{"2026-12-02", true},
		{"2028-02-29", true},
		{"2027-02-29", false},
		{"2099-02-31", false},
		{"2026-13-01", false},
		{"02/12/2026", false},
	} {
		var bad grpcerr.Violations
		validate.CivilDate(&bad, "start_date", tc.date)
		if got := len(bad) == 0; got != tc.ok {
			t.Errorf("CivilDate(%q): accepted %v, want %v (%v)", tc.date, got, tc.ok, bad)
		}
		if !tc.ok && len(bad) == 1 && bad[0].Field != "start_date" {
			t.Errorf("CivilDate(%q) names %q", tc.date, bad[0].Field)
		}
	}
}

func TestMunicipality(t *testing.T) {
	t.Parallel()
	catalog, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		code string
		ok   bool
	}{
		{"", true},
		{"019036", true}, // Cremona
		{"999999", false},
		{"019", false}, // a province, not a municipality
	} {
		var bad grpcerr.Violations
		validate.Municipality(&bad, catalog, "municipality_code", tc.code)
		if got := len(bad) == 0; got != tc.ok {
			t.Errorf("Municipality(%q): accepted %v, want %v", tc.code, got, tc.ok)
		}
	}
}
