package cases

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"
)

// CSVColumns are the columns `ponte cases import` reads, by header name (any order;
// external_id, municipality_code and category are required, the others optional):
//
//   - external_id: the case's id in the district system
//   - municipality_code: six-digit ISTAT code
//   - category: residence_permit, renewal, family_reunification, citizenship,
//     international_protection, health_registration, school_enrolment, housing,
//     employment, italian_course, legal_aid, social_benefits, other — or as the API
//     spells them (CATEGORY_HOUSING), in any case; so for phase (PHASE_INTAKE)
//   - district_code, organization_id, person_id, person_organization_id,
//     assigned_operator: as in the API
//   - phase: intake, taken_in_charge, planning, delivery, monitoring, closed (empty: keep)
//   - needs: need codes separated by ";"
//   - expected_version: refuse the row as a conflict unless the case is at this version
var CSVColumns = []string{"external_id", "municipality_code", "category", "district_code", "organization_id",
	"person_id", "person_organization_id", "assigned_operator", "phase", "needs", "expected_version"}

// CSVRowError is a rejected row: its line in the file (the header is line 1) and why.
type CSVRowError struct {
	Line   int
	Reason string
}

// CSVSummary is what an import did.
type CSVSummary struct {
	Rows, Created, Updated, Unchanged int
	Rejected                          []CSVRowError // invalid rows and conflicts, by line
}

// Upserter sends one batch; BatchUpsertCases of a CaseServiceClient or server fits.
type Upserter func(ctx context.Context, req *casesv1.BatchUpsertCasesRequest) (*casesv1.BatchUpsertCasesResponse, error)

// ImportCSV reads cases from r (CSVColumns) and upserts them under source in batches
// of batchSize (at most 1000), calling progress after each batch with the rows done and
// the total. Rows that do not parse are rejected without being sent. It is safe to run
// again on the same file: unchanged rows stay unchanged. An error is returned only when
// the file cannot be read or a batch fails as a whole.
func ImportCSV(ctx context.Context, r io.Reader, source string, batchSize int, upsert Upserter, progress func(done, total int)) (CSVSummary, error) {
	if batchSize <= 0 || batchSize > 1000 {
		batchSize = 500
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return CSVSummary{}, fmt.Errorf("read the header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if !slices.Contains(CSVColumns, h) {
			return CSVSummary{}, fmt.Errorf("header: unknown column %q (known: %s)", h, strings.Join(CSVColumns, ", "))
		}
		col[h] = i
	}
	for _, need := range []string{"external_id", "municipality_code", "category"} {
		if _, ok := col[need]; !ok {
			return CSVSummary{}, fmt.Errorf("header: missing column %q", need)
		}
	}
	type row struct {
		line int
		item *casesv1.CaseUpsert
	}
	var rows []row
	var sum CSVSummary
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var perr *csv.ParseError
			if errors.As(err, &perr) {
				sum.Rows++
				sum.Rejected = append(sum.Rejected, CSVRowError{Line: perr.StartLine, Reason: perr.Err.Error()})
				continue
			}
			return sum, fmt.Errorf("read the file: %w", err)
		}
		line, _ := cr.FieldPos(0)
		sum.Rows++
		item, reason := parseRow(rec, col, source)
		if reason != "" {
			sum.Rejected = append(sum.Rejected, CSVRowError{Line: line, Reason: reason})
			continue
		}
		rows = append(rows, row{line, item})
	}
	done := sum.Rows - len(rows)
	for start := 0; start < len(rows); start += batchSize {
		batch := rows[start:min(start+batchSize, len(rows))]
		req := &casesv1.BatchUpsertCasesRequest{}
		for _, r := range batch {
			req.Items = append(req.Items, r.item)
		}
		resp, err := upsert(ctx, req)
		if err != nil {
			return sum, fmt.Errorf("send lines %d to %d: %w", batch[0].line, batch[len(batch)-1].line, err)
		}
		for _, res := range resp.GetResults() {
			line := batch[res.GetIndex()].line
			switch res.GetOutcome() {
			case casesv1.UpsertOutcome_UPSERT_OUTCOME_CREATED:
				sum.Created++
			case casesv1.UpsertOutcome_UPSERT_OUTCOME_UPDATED:
				sum.Updated++
			case casesv1.UpsertOutcome_UPSERT_OUTCOME_UNCHANGED:
				sum.Unchanged++
			default:
				reason := res.GetReason()
				if f := res.GetField(); f != "" {
					reason = strings.TrimPrefix(f, "case.") + ": " + reason
				}
				sum.Rejected = append(sum.Rejected, CSVRowError{Line: line, Reason: reason})
			}
		}
		done += len(batch)
		if progress != nil {
			progress(done, sum.Rows)
		}
	}
	slices.SortFunc(sum.Rejected, func(a, b CSVRowError) int { return a.Line - b.Line })
	return sum, nil
}

// enumValue reads an enum column, spelled as the API does (CATEGORY_HOUSING) or short
// (housing), in any case.
func enumValue(values map[string]int32, prefix, name string) (int32, bool) {
	name = strings.ToUpper(strings.TrimSpace(name))
	v, ok := values[prefix+strings.TrimPrefix(name, prefix)]
	return v, ok && v != 0
}

// CSVValues lists the short spellings an enum column accepts (housing, renewal, ...), in
// the enum's order, for usage texts.
func CSVValues(values map[string]int32, prefix string) []string {
	type value struct {
		name string
		n    int32
	}
	var vs []value
	for name, n := range values {
		if n != 0 {
			vs = append(vs, value{strings.ToLower(strings.TrimPrefix(name, prefix)), n})
		}
	}
	slices.SortFunc(vs, func(a, b value) int { return int(a.n - b.n) })
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.name
	}
	return out
}

// parseRow turns a record into a batch item, or says why it cannot.
func parseRow(rec []string, col map[string]int, source string) (*casesv1.CaseUpsert, string) {
	get := func(name string) string {
		i, ok := col[name]
		if !ok || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	k := &casesv1.Case{
		Source: source, ExternalId: get("external_id"), MunicipalityCode: get("municipality_code"),
		DistrictCode: get("district_code"), OrganizationId: get("organization_id"), PersonId: get("person_id"),
		PersonOrganizationId: get("person_organization_id"), AssignedOperator: get("assigned_operator"),
	}
	// Every problem of the row is reported, so that one pass fixes the file.
	var problems []string
	if k.ExternalId == "" {
		problems = append(problems, "external_id: empty")
	}
	if cat, ok := enumValue(casesv1.Category_value, "CATEGORY_", get("category")); ok {
		k.Category = casesv1.Category(cat)
	} else {
		problems = append(problems, fmt.Sprintf("category: unknown %q (one of %s)", get("category"),
			strings.Join(CSVValues(casesv1.Category_value, "CATEGORY_"), ", ")))
	}
	if p := get("phase"); p != "" {
		if ph, ok := enumValue(casesv1.Phase_value, "PHASE_", p); ok {
			k.Phase = casesv1.Phase(ph)
		} else {
			problems = append(problems, fmt.Sprintf("phase: unknown %q (one of %s)", p,
				strings.Join(CSVValues(casesv1.Phase_value, "PHASE_"), ", ")))
		}
	}
	for n := range strings.SplitSeq(get("needs"), ";") {
		if n = strings.TrimSpace(n); n != "" {
			k.Needs = append(k.Needs, n)
		}
	}
	item := &casesv1.CaseUpsert{Case: k}
	if v := get("expected_version"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 0 {
			problems = append(problems, fmt.Sprintf("expected_version: not a version %q", v))
		}
		item.ExpectedVersion = int32(max(n, 0))
	}
	if len(problems) > 0 {
		return nil, strings.Join(problems, "; ")
	}
	return item, ""
}
