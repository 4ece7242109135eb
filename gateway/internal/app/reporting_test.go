package app_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ponte-network/ponte/libs/auth"
)

type cellJSON struct {
	Codes  []string `json:"codes"`
	Value  *float64 `json:"value"`
	Status string   `json:"status"`
	Reason string   `json:"reason"`
}

type answerJSON struct {
	Columns      []string   `json:"columns"`
	Rows         []cellJSON `json:"rows"`
	Totals       []cellJSON `json:"totals"`
	Threshold    string     `json:"threshold"`
	MaxDeviation string     `json:"maxDeviation"`
}

func (a answerJSON) cell(codes ...string) (cellJSON, bool) {
	for _, c := range append(slices.Clone(a.Rows), a.Totals...) {
		if slices.Equal(c.Codes, codes) {
			return c, true
		}
	}
	return cellJSON{}, false
}

// waitIngested polls the ingestion status until reporting has read the case feed to
// its head and past position min.
func waitIngested(t *testing.T, n *node, admin string, min int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		r := n.do(t, "GET", "/v1/reporting/ingestion", admin, nil)
		if r.status == http.StatusOK {
			st := decode[struct {
				Sources []struct {
					Source, Cursor, Head string
				} `json:"sources"`
			}](t, r)
			for _, s := range st.Sources {
				var cur, head int
				fmt.Sscan(s.Cursor, &cur)
				fmt.Sscan(s.Head, &head)
				if s.Source == "cases" && cur >= min && cur >= head {
					return
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("reporting did not catch up with the case feed within 20s")
}

func TestReportingIndicatorsFromCasesDrivenThroughTheAPI(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, n *node) {
		n.createDistrict(t, "cremasco", "019035", "019004")
		n.createDistrict(t, "cremonese", "019036")
		op := n.token(t, auth.Principal{Subject: "op-a", Organization: "org-a", Roles: []string{auth.RolePartnerOperator}})
		admin := n.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
		analyst := n.token(t, auth.Principal{Subject: "an", Territory: "03", Roles: []string{auth.RoleRegionAnalyst}})
		otherRegion := n.token(t, auth.Principal{Subject: "an2", Territory: "01", Roles: []string{auth.RoleRegionAnalyst}})

		// Twelve women from Morocco with a renewal case in Crema; two cases in Cremona.
		var crema []string
		for i := range 12 {
			r := n.do(t, "POST", "/v1/persons", op, map[string]any{"givenName": fmt.Sprint("P", i), "sex": "SEX_FEMALE", "nationality": "MA",
				"birthDate": "1990-01-01", "legalBasis": "LEGAL_BASIS_PUBLIC_TASK"})
			if r.status != http.StatusCreated {
				t.Fatalf("create person = %d %s", r.status, r.body)
			}
			person := decode[map[string]any](t, r)
			r = n.do(t, "POST", "/v1/cases", op, map[string]any{"personId": person["id"], "municipalityCode": "019035", "districtCode": "cremasco", "category": "CATEGORY_RENEWAL"})
			if r.status != http.StatusCreated {
				t.Fatalf("create case = %d %s", r.status, r.body)
			}
			crema = append(crema, decode[caseJSON](t, r).ID)
		}
		for range 2 {
			if r := n.do(t, "POST", "/v1/cases", op, map[string]any{"municipalityCode": "019036", "districtCode": "cremonese", "category": "CATEGORY_HOUSING"}); r.status != http.StatusCreated {
				t.Fatalf("create case = %d %s", r.status, r.body)
			}
		}
		// Seven of the Crema cases reach delivery.
		for _, id := range crema[:7] {
			for _, phase := range []string{"PHASE_TAKEN_IN_CHARGE", "PHASE_PLANNING", "PHASE_DELIVERY"} {
				if r := n.do(t, "POST", "/v1/cases/"+id+":transition", op, map[string]any{"phase": phase}); r.status != http.StatusOK {
					t.Fatalf("transition to %s = %d %s", phase, r.status, r.body)
				}
			}
		}
		// 12 persons, 14 cases and 21 transitions: 47 entries in the case feed.
		waitIngested(t, n, admin, 47)

		year := time.Now().In(time.FixedZone("CET", 3600)).Format("2006")
		base := "/v1/indicators/cases_opened:query?from=" + year + "-01-01&to=" + year + "-12-31&granularity=GRANULARITY_YEAR"
		check := func(t *testing.T, label string) {
			t.Helper()
			r := n.do(t, "GET", base+"&groupBy=municipality", analyst, nil)
			if r.status != http.StatusOK {
				t.Fatalf("%s: query = %d %s", label, r.status, r.body)
			}
			ans := decode[answerJSON](t, r)
			small, ok := ans.cell(year, "019036")
			if !ok || small.Status != "CELL_STATUS_PRIMARY" || small.Value != nil || small.Reason != "below_threshold" {
				t.Fatalf("%s: Cremona's two cases = %+v, want suppressed as primary without a value: %s", label, small, r.body)
			}
			big, _ := ans.cell(year, "019035")
			if big.Status != "CELL_STATUS_SECONDARY" {
				t.Fatalf("%s: Crema = %+v, want suppressed as its complement (the total would reveal Cremona)", label, big)
			}
			total, _ := ans.cell(year, "_T")
			if total.Value == nil || *total.Value < 14-3 || *total.Value > 14+3 {
				t.Fatalf("%s: the total = %+v, want 14 within the deviation of 3", label, total)
			}
			// By sex and citizenship, from the reporting projection of the cases.
			r = n.do(t, "GET", base+"&groupBy=sex&groupBy=citizenship&filter=municipality:019035", analyst, nil)
			ans = decode[answerJSON](t, r)
			women, ok := ans.cell(year, "F", "MA")
			if r.status != http.StatusOK || !ok || women.Value == nil || *women.Value < 12-3 || *women.Value > 12+3 {
				t.Fatalf("%s: Moroccan women in Crema = %d %+v, want 12 within 3", label, r.status, women)
			}
			// Persons who reached delivery.
			r = n.do(t, "GET", strings.Replace(base, "cases_opened", "persons_reached_delivery", 1), analyst, nil)
			ans = decode[answerJSON](t, r)
			if c, _ := ans.cell(year); r.status != http.StatusOK || c.Value == nil || *c.Value < 7-3 || *c.Value > 7+3 {
				t.Fatalf("%s: persons who reached delivery = %d %+v, want 7 within 3", label, r.status, c)
			}
		}
		check(t, "as ingested")

		// A region analyst of another region sees nothing of Lombardy.
		r := n.do(t, "GET", base, otherRegion, nil)
		if total, _ := decode[answerJSON](t, r).cell(year); r.status != http.StatusOK || total.Value == nil || *total.Value != 0 {
			t.Fatalf("another region's analyst = %d %s, want a zero total", r.status, r.body)
		}
		// CSV and SDMX-CSV on the same URL.
		r = n.do(t, "GET", base+"&groupBy=municipality&format=sdmx-csv", analyst, nil)
		rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
		if err != nil || r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
			t.Fatalf("SDMX-CSV = %d %s %v", r.status, r.body, err)
		}
		if !slices.Contains(rows[0], "REF_AREA") || !slices.Contains(rows[0], "OBS_STATUS") {
			t.Fatalf("SDMX-CSV header = %v", rows[0])
		}
		confidential := 0
		for _, row := range rows[1:] {
			if slices.Contains(row, "019036") && row[len(row)-2] == "C" && row[len(row)-3] == "" {
				confidential++
			}
		}
		if confidential != 2 { // the year and the period total
			t.Fatalf("SDMX-CSV rows = %v, want Cremona confidential without a value", rows)
		}
		if r = n.do(t, "GET", base, "", nil, "Accept", "text/csv"); r.status != http.StatusOK || !strings.HasPrefix(string(r.body), "period,value,status,reason") {
			t.Fatalf("Accept: text/csv = %d %s", r.status, r.body)
		}

		// Bad input is a clear 400, never a 500.
		for _, q := range []string{
			"/v1/indicators/cases_opened:query?from=2026-02-30&to=2026-03-01",
			"/v1/indicators/cases_opened:query?from=2026-03-01&to=2026-01-01",
			"/v1/indicators/cases_opened:query?from=2000-01-01&to=2026-01-01",
			"/v1/indicators/cases_opened:query?from=2026-01-01&to=2026-02-01&groupBy=name",
			"/v1/indicators/cases_opened:query?from=2026-01-01&to=2026-02-01&groupBy=district&groupBy=municipality",
			"/v1/indicators/cases_opened:query?from=2026-01-01&to=2026-02-01&filter=sex",
			"/v1/indicators/cases_opened:query?from=2026-01-01&to=2026-02-01&filter=sex:%00",
		} {
			if r := n.do(t, "GET", q, analyst, nil); r.status != http.StatusBadRequest {
				t.Errorf("%s = %d %s, want 400", q, r.status, r.body)
			}
		}
		if r := n.do(t, "GET", "/v1/indicators/nope:query?from=2026-01-01&to=2026-02-01", analyst, nil); r.status != http.StatusNotFound {
			t.Errorf("an unknown indicator = %d, want 404", r.status)
		}
		if r := n.do(t, "POST", "/v1/reporting/ingestion:rebuild", analyst, map[string]any{}); r.status != http.StatusForbidden {
			t.Errorf("an analyst's rebuild = %d, want 403", r.status)
		}

		// A rebuild from zero gives the same answers.
		if r := n.do(t, "POST", "/v1/reporting/ingestion:rebuild", admin, map[string]any{}); r.status != http.StatusOK {
			t.Fatalf("rebuild = %d %s", r.status, r.body)
		}
		check(t, "after a rebuild from zero")

		// The catalog: public indicators for anyone, with their AMIF mapping.
		r = n.do(t, "GET", "/v1/indicators", "", nil)
		cat := decode[struct {
			Indicators []struct {
				ID            string `json:"id"`
				AmifIndicator string `json:"amifIndicator"`
				Title         struct{ It, En string }
			} `json:"indicators"`
		}](t, r)
		amif := 0
		for _, ind := range cat.Indicators {
			if ind.Title.It == "" || ind.Title.En == "" {
				t.Errorf("indicator %s lacks a title in both languages", ind.ID)
			}
			if ind.AmifIndicator != "" {
				amif++
			}
		}
		if r.status != http.StatusOK || len(cat.Indicators) < 6 || amif < 3 {
			t.Fatalf("catalog = %d %s", r.status, r.body)
		}
	})
}
