package cases

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/libs/auth"
)

// importFile is a 5,000-row file whose rows with known line numbers are wrong; it
// returns the file and those lines.
func importFile() (string, []int) {
	var b strings.Builder
	b.WriteString("external_id,municipality_code,category,phase,needs,expected_version\n")
	var bad []int
	for i := range 5000 {
		line := i + 2
		muni, cat, phase, version := "019035", "renewal", "intake", ""
		switch {
		case i%500 == 11:
			cat = "astrology" // unknown category: refused before sending
		case i%500 == 222:
			muni = "999999" // unknown municipality: refused by the service
		case i%1000 == 333:
			version = "x" // not a version
		case i%1000 == 444:
			version = "5" // the case does not exist at version 5: a conflict
		case i%1000 == 555:
			phase = "limbo"
		}
		switch {
		case i%500 == 11, i%500 == 222, i%1000 == 333, i%1000 == 444, i%1000 == 555:
			bad = append(bad, line)
		}
		fmt.Fprintf(&b, "R%04d,%s,%s,%s,\"documents;language\",%s\n", i, muni, cat, phase, version)
	}
	return b.String(), bad
}

func TestImportCSVReportsTheWrongLines(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s *server) {
		p := auth.Principal{Subject: "importer", Territory: "cremasco", Roles: []string{auth.RoleDistrictOperator}}
		upsert := func(_ context.Context, req *casesv1.BatchUpsertCasesRequest) (*casesv1.BatchUpsertCasesResponse, error) {
			return s.BatchUpsertCases(as(p, "BatchUpsertCases"), req)
		}
		file, bad := importFile()
		for run, want := range []CSVSummary{{Rows: 5000, Created: 5000 - len(bad)}, {Rows: 5000, Unchanged: 5000 - len(bad)}} {
			var last int
			sum, err := ImportCSV(context.Background(), strings.NewReader(file), "csv-cremasco", 500, upsert, func(done, total int) {
				if done < last || total != 5000 {
					t.Errorf("progress %d/%d after %d", done, total, last)
				}
				last = done
			})
			if err != nil {
				t.Fatalf("run %d: %v", run, err)
			}
			if last != 5000 {
				t.Errorf("run %d: progress ended at %d", run, last)
			}
			var lines []int
			for _, r := range sum.Rejected {
				lines = append(lines, r.Line)
				if r.Reason == "" {
					t.Errorf("run %d: line %d rejected without a reason", run, r.Line)
				}
			}
			if !slices.Equal(lines, bad) {
				t.Errorf("run %d: rejected lines %v, want %v", run, lines, bad)
			}
			if sum.Rows != want.Rows || sum.Created != want.Created || sum.Updated != want.Updated || sum.Unchanged != want.Unchanged {
				t.Errorf("run %d: summary %+v, want %+v", run, sum, want)
			}
		}
	})
}

func TestImportCSVRefusesAnUnknownHeader(t *testing.T) {
	t.Parallel()
	_, err := ImportCSV(context.Background(), strings.NewReader("external_id,colour\n"), "x", 0, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("ImportCSV with an unknown column: %v", err)
	}
}
